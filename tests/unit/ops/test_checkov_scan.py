"""noa_ops.checkov_scan without checkov: the scans it plans, the verdict on each outcome, and the
forked children that run them (checkov itself runs in `nox -s validate`)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from noa_ops import checkov_scan

from .helpers import REPO

DEV_RENDER = """\
kind: Deployment
spec:
  template:
    spec:
      securityContext:
        runAsNonRoot: true
        seccompProfile:
          type: RuntimeDefault
      containers: []
"""


def test_the_dockerfile_gets_its_global_arg_defaults_in_the_from_lines(tmp_path: Path) -> None:
    source = tmp_path / "Dockerfile"
    source.write_text("ARG BASE=debian:bookworm-slim\nARG OTHER\n\nFROM ${BASE} AS runtime\n"
                      "ARG BASE=ignored\nFROM ${OTHER} AS other\nFROM runtime\n")
    text = checkov_scan.dockerfile_with_default_args(source, tmp_path / "out").read_text()
    assert "FROM debian:bookworm-slim AS runtime\n" in text
    assert "FROM ${OTHER} AS other\n" in text  # no default: as written


def test_the_seeded_defect_takes_out_every_seccomp_profile() -> None:
    broken = checkov_scan.without_seccomp(DEV_RENDER + DEV_RENDER)
    assert "seccompProfile" not in broken and broken.count("runAsNonRoot: true") == 2
    with pytest.raises(ValueError, match="seccompProfile"):
        checkov_scan.without_seccomp(broken)


def test_four_scans_over_the_renders_the_dockerfile_and_the_trees(tmp_path: Path) -> None:
    renders = tmp_path / "render"
    renders.mkdir()
    (renders / "dev.yaml").write_text(DEV_RENDER)
    planned = checkov_scan.scans(renders, tmp_path / "scratch")
    assert [scan.name for scan in planned] == ["kubernetes", "secrets", "seeded defect", "dockerfile"]
    assert [scan.seeded for scan in planned] == [False, False, True, False]
    frameworks = [scan.argv[scan.argv.index("--framework") + 1] for scan in planned]
    assert frameworks == ["kubernetes", "secrets", "kubernetes", "dockerfile"]
    assert all(scan.argv[-3:] == checkov_scan.COMMON for scan in planned)
    assert planned[0].argv[:2] == ("-d", str(renders))
    assert planned[1].argv[:4] == ("-d", str(REPO / "k8s"), "-d", str(REPO / "docker"))
    broken = Path(planned[2].argv[1])
    assert broken.is_file() and "seccompProfile" not in broken.read_text()
    assert "FROM ${" not in Path(planned[3].argv[1]).read_text()


@pytest.mark.parametrize(("seeded", "code", "output", "fault"), [
    (False, 0, "Passed checks: 10, Failed checks: 0", None),
    (False, 1, "Failed checks: 1", "kubernetes: checkov failed (exit 1)"),
    (False, 2, "Traceback", "kubernetes: checkov failed (exit 2)"),
    (True, 1, "Check: CKV_K8S_31: seccomp", None),
    (True, 0, "Passed checks: 10", "did not report the seeded defect"),
    (True, 1, "Check: CKV_K8S_30: other", "did not report the seeded defect"),
    (True, 2, "Traceback ... CKV_K8S_31", "did not report the seeded defect"),
])
def test_each_outcome_is_judged_by_what_the_scan_exists_for(
        seeded: bool, code: int, output: str, fault: str | None) -> None:
    scan = checkov_scan.Scan("kubernetes", ("-d", "x"), seeded=seeded)
    verdict = scan.verdict(code, output)
    assert verdict is None if fault is None else fault in str(verdict)


def _prints(text: str, code: int) -> checkov_scan.Action:
    def action() -> int:
        print(text)
        print("on stderr", file=sys.stderr)
        return code

    return action


def _raises() -> int:
    raise RuntimeError("boom")


def _exits() -> int:
    sys.exit(3)


@pytest.mark.parametrize("workers", [1, 2, 8])
def test_forked_children_give_their_codes_and_outputs_in_order(tmp_path: Path, workers: int) -> None:
    actions = [_prints("first", 0), _prints("second", 1), _raises, _exits, _prints("", 0)]
    results = checkov_scan.run_forked(actions, tmp_path, workers)
    assert [code for code, _ in results] == [0, 1, 2, 3, 0]
    assert results[0][1] == "first\non stderr\n" and results[1][1] == "second\non stderr\n"
    assert "RuntimeError: boom" in results[2][1]


def test_the_scan_needs_a_render_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert checkov_scan.main([]) == 2
    assert checkov_scan.main([str(tmp_path / "missing")]) == 2
    assert "usage: python -m noa_ops.checkov_scan RENDER_DIR" in capsys.readouterr().err
