"""checkov over what `nox -s validate` checks, in one process.

    python -m noa_ops.checkov_scan RENDER_DIR

Four scans, each as its own `checkov` command line would run it:
- kubernetes: every render in RENDER_DIR, zero failures (suppressions only per object, as
  `checkov.io/skipN` annotations with a reason);
- dockerfile: docker/Dockerfile with its global ARG defaults put into the FROM lines, as a build
  without --build-arg uses them, so the base images a default build pulls are judged;
- secrets: the k8s and docker trees;
- the seeded defect: the dev render without any seccomp profile must fail CKV_K8S_31.

checkov is imported once (about 2.5 s of each of four processes before) and each scan runs in a
child forked from this process, as many at a time as there are cores; their outputs are printed in
the order above. Offline: BC_SKIP_MAPPING and --skip-download. Standard library and checkov only:
it runs in the validate-checkov session's venv, without the project's dependencies.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRATCH = ROOT / "build" / "checkov"
COMMON = ("--compact", "--quiet", "--skip-download")
SEEDED_CHECK = "CKV_K8S_31"
SEEDED_VARIANT = "dev.yaml"
_SECCOMP = re.compile(r"\n\s+seccompProfile:\n\s+type: RuntimeDefault")
Action = Callable[[], int]  # what a child runs; its exit code


@dataclass(frozen=True)
class Scan:
    name: str
    argv: tuple[str, ...]
    seeded: bool = False  # must fail, and name SEEDED_CHECK

    def verdict(self, code: int, output: str) -> str | None:
        """What is wrong with this outcome, or None when it is what the scan exists for."""
        if not self.seeded:
            return None if code == 0 else f"{self.name}: checkov failed (exit {code})"
        if code == 1 and SEEDED_CHECK in output:
            return None
        return f"{self.name}: checkov did not report the seeded defect (no seccomp profile) as {SEEDED_CHECK}"


def dockerfile_with_default_args(source: Path, target: Path) -> Path:
    """The Dockerfile with global ARG defaults substituted into FROM lines, as `docker build` does
    without --build-arg."""
    text = source.read_text()
    preamble = text.split("\nFROM ", 1)[0]
    defaults: dict[str, str] = dict(re.findall(r"^ARG ([A-Z0-9_]+)=(\S+)$", preamble, flags=re.MULTILINE))

    def resolve(match: re.Match[str]) -> str:
        return match.group(1) + defaults.get(match.group(2), match.group(0))

    target.write_text(re.sub(r"^(FROM\s+)\$\{([A-Z0-9_]+)\}", resolve, text, flags=re.MULTILINE))
    return target


def without_seccomp(render: str) -> str:
    """A render with every seccompProfile (RuntimeDefault) taken out; an error if it had none."""
    broken = _SECCOMP.sub("", render)
    if broken == render:
        raise ValueError("the seeded defect needs seccompProfile: type: RuntimeDefault in the dev render")
    return broken


def scans(render_dir: Path, scratch: Path, root: Path = ROOT) -> list[Scan]:
    """The four scans, their inputs written under `scratch` (emptied first), longest first."""
    shutil.rmtree(scratch, ignore_errors=True)
    (scratch / "broken").mkdir(parents=True)
    dockerfile = dockerfile_with_default_args(root / "docker" / "Dockerfile", scratch / "Dockerfile")
    broken = scratch / "broken" / SEEDED_VARIANT
    broken.write_text(without_seccomp((render_dir / SEEDED_VARIANT).read_text()))
    return [
        Scan("kubernetes", ("-d", str(render_dir), "--framework", "kubernetes", *COMMON)),
        Scan("secrets", ("-d", str(root / "k8s"), "-d", str(root / "docker"), "--framework", "secrets",
                         *COMMON)),
        Scan("seeded defect", ("-f", str(broken), "--framework", "kubernetes", *COMMON), seeded=True),
        Scan("dockerfile", ("-f", str(dockerfile), "--framework", "dockerfile", *COMMON)),
    ]


def in_child(action: Action, output: Path) -> int:
    """Fork; the child runs `action` with stdout and stderr going to `output` and exits with its code."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 2
    try:
        fd = os.open(output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        # One stream for both, in order; sys.stdout need not be fd 1 (a capturing test runner).
        sys.stdout = sys.stderr = open(fd, "w", buffering=1, closefd=False)  # noqa: SIM115
        code = action()
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:  # the child must never return into the parent's code
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def run_forked(actions: Sequence[Action], directory: Path, workers: int) -> list[tuple[int, str]]:
    """Each action in a forked child, `workers` at a time: (exit code, output) in the given order."""
    outputs = [directory / f"{index}.out" for index in range(len(actions))]
    codes: dict[int, int] = {}
    running: dict[int, int] = {}  # pid -> index
    for index, action in enumerate(actions):
        while len(running) >= workers:
            _reap(running, codes)
        running[in_child(action, outputs[index])] = index
    while running:
        _reap(running, codes)
    return [(codes[index], path.read_text(errors="replace")) for index, path in enumerate(outputs)]


def _reap(running: dict[int, int], codes: dict[int, int]) -> None:
    pid, status = os.wait()
    codes[running.pop(pid)] = os.waitstatus_to_exitcode(status)


def checkov_action(argv: Sequence[str]) -> Action:
    def run() -> int:
        from checkov.main import Checkov

        return int(Checkov(list(argv)).run() or 0)

    return run


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or not Path(args[0]).is_dir():
        print("usage: python -m noa_ops.checkov_scan RENDER_DIR (the renders of noa_ops.k8s_render)",
              file=sys.stderr)
        return 2
    os.environ["BC_SKIP_MAPPING"] = "TRUE"  # offline: no mapping download from Bridgecrew
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=SyntaxWarning)  # as checkov's own entry point
        import checkov.main  # noqa: F401  (once, before the forks)
    try:
        planned = scans(Path(args[0]), SCRATCH)
    except (OSError, ValueError) as error:
        print(f"checkov: {error}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="noa-checkov-") as outputs:
        results = run_forked([checkov_action(scan.argv) for scan in planned], Path(outputs),
                             workers=os.cpu_count() or 1)
    faults = [fault for scan, (code, output) in zip(planned, results, strict=True)
              if (fault := report(scan, code, output))]
    for fault in faults:
        print(f"checkov: {fault}", file=sys.stderr)
    if faults:
        return 1
    print(f"checkov reported the seeded defect (no seccomp profile): {SEEDED_CHECK}")
    return 0


def report(scan: Scan, code: int, output: str) -> str | None:
    """Print the scan's command and output (the seeded defect's only when it went wrong); its fault."""
    fault = scan.verdict(code, output)
    print(f"checkov {scan.name}: checkov {' '.join(scan.argv)}")
    if fault or not scan.seeded:
        print(output.rstrip() or "(no output)")
    return fault


if __name__ == "__main__":
    sys.exit(main())
