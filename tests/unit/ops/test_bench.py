"""The benchmark's bookkeeping: figures, their verdicts, the JSON it writes, the cold build times it
reads from the cluster's cache stamps, and how the validate section splits a run into its steps
(no figure is measured here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from noa_ops import paths, validation
from noa_ops.bench import __main__ as bench_main
from noa_ops.bench import cluster as bench_cluster
from noa_ops.bench import figures
from noa_ops.bench import validate as bench_validate
from noa_ops.bench.stack import BenchStack
from noa_ops.cluster import build
from noa_ops.cluster.config import ClusterConfig
from noa_ops.cluster.versions import COMPONENTS
from noa_ops.errors import NoaError

GO = "go1.26.0"


def test_a_figure_is_min_median_max_of_its_samples() -> None:
    figure = figures.Figure("cluster", "deploy", "s", (70.0, 50.0, 60.0), target=120)
    assert figure.stats() == (50.0, 60.0, 70.0)
    assert figure.verdict() == "meets < 120"


def test_the_verdict_goes_by_the_median_not_the_best_run() -> None:
    """A near miss: the fastest run is under the target, the median is not."""
    figure = figures.Figure("cluster", "rollback", "s", (10.0, 61.0, 62.0), target=60)
    assert figure.verdict() == "MISSES < 60"
    exactly = figures.Figure("cluster", "rollback", "s", (60.0,), target=60)
    assert exactly.verdict() == "MISSES < 60"


@pytest.mark.parametrize(("value", "text"), [(0.13848, "0.138"), (0.5, "0.5"), (0.0, "0"), (9.939, "9.9"),
                                             (48.19, "48.2"), (1234.5, "1234")])
def test_figures_under_1_keep_three_significant_digits(value: float, text: str) -> None:
    assert figures.shown(value) == text


def test_a_figure_without_samples_has_no_numbers_and_no_verdict() -> None:
    figure = figures.Figure("cluster", "warm up", "s", target=60, note="already up: not restarted")
    assert figure.stats() is None and figure.verdict() == ""


def test_the_report_names_the_machine_and_revision_and_every_sample(tmp_path: Path) -> None:
    measured = [figures.Figure("llama", "generation", "tokens/s", (40.0, 42.0, 41.0))]
    data = figures.report(measured)
    assert data["machine"]["cores"] >= 1 and data["machine"]["cpu"]
    assert data["revision"]
    [row] = data["figures"]
    assert (row["n"], row["samples"], row["min_median_max"]) == (3, [40.0, 42.0, 41.0], (40.0, 41.0, 42.0))
    path = figures.write(data, tmp_path)
    assert path.parent == tmp_path and path.suffix == ".json" and ":" not in path.name
    assert json.loads(path.read_text())["figures"][0]["name"] == "generation"
    assert figures.table(data, measured).row_count == 1
    noted = figures.Figure("cluster", "warm up", "s", note="already up")
    assert figures.notes([*measured, noted]) == ["[2] already up"]


def _stamp(cfg: ClusterConfig, name: str, text: str) -> None:
    comp = next(c for c in COMPONENTS if c.name == name)
    directory = build.bin_dir(cfg, comp, GO)
    directory.mkdir(parents=True)
    (directory / build.STAMP).write_text(text)


def test_cold_build_adds_up_the_stamps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = ClusterConfig(cache_dir=tmp_path)
    monkeypatch.setattr(build, "go_version", lambda _cfg: GO)
    for index, comp in enumerate(COMPONENTS):
        _stamp(cfg, comp.name, f"{comp.module} {comp.version()}\nseconds {10 * (index + 1)}.0\n")
    figure = bench_cluster.cold_build(cfg)
    assert figure.samples == (float(sum(10 * (i + 1) for i in range(len(COMPONENTS)))),)


@pytest.mark.parametrize("stamp", ["k8s.io/kubernetes v1.36.3\n", "x v1\nseconds soon\n",
                                   "x v1\nsecond 12\n"])
def test_a_stamp_without_a_readable_time_gives_no_number(
        stamp: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Stamps written before they kept the time, and near misses of the line, are unknown, not 0."""
    cfg = ClusterConfig(cache_dir=tmp_path)
    monkeypatch.setattr(build, "go_version", lambda _cfg: GO)
    for comp in COMPONENTS:
        _stamp(cfg, comp.name, stamp if comp is COMPONENTS[0] else "m v\nseconds 5\n")
    figure = bench_cluster.cold_build(cfg)
    assert figure.samples == ()
    assert COMPONENTS[0].name in figure.note


def test_bench_refuses_zero_runs_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert bench_main.main(["--runs", "0"]) == 2
    assert capsys.readouterr().err == "bench: --runs must be at least 1\n"


def test_the_compressed_size_counts_gzip_s_bytes_of_the_saved_image(monkeypatch: pytest.MonkeyPatch) -> None:
    """`docker save` faked by a process printing a known stream: the figure is what gzip -6 makes of
    it, without writing it anywhere."""
    import gzip
    import subprocess
    import sys

    from noa_ops.bench import images as bench_images

    stream = bytes(range(256)) * 4096  # 1 MiB that compresses little
    script = "import sys; sys.stdout.buffer.write(bytes(range(256)) * 4096)"
    real = subprocess.Popen
    monkeypatch.setattr(subprocess, "Popen",
                        lambda *_a, **kw: real([sys.executable, "-c", script], **kw))
    expected = len(gzip.compress(stream, compresslevel=6)) / bench_images.MB
    assert bench_images.compressed_mb("noa/mcp:x") == pytest.approx(expected, rel=0.001)


def test_a_failed_docker_save_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess
    import sys

    from noa_ops.bench import images as bench_images
    from noa_ops.errors import NoaError

    real = subprocess.Popen
    monkeypatch.setattr(subprocess, "Popen",
                        lambda *_a, **kw: real([sys.executable, "-c", "raise SystemExit(1)"], **kw))
    with pytest.raises(NoaError, match=r"docker save noa/mcp:x failed"):
        bench_images.compressed_mb("noa/mcp:x")


def test_only_the_app_images_carry_the_size_target() -> None:
    from noa_ops.bench import images as bench_images

    assert set(bench_images.APP_IMAGES) == {"mcp", "claude-flow", "agenticos"}
    assert bench_images.COMPRESSED_TARGET_MB == 55.0


def _steps() -> list[validation.Step]:
    return [validation.Step("render", ("python", "-m", "noa_ops.k8s_render", "--out", "build/r")),
            validation.Step("policy", ("pytest", "tests/policy")),
            validation.Step("checkov", ("python", "-m", "noa_ops.checkov_scan", "build/r"))]


def test_a_step_lasts_from_its_logged_command_to_the_next_line() -> None:
    lines = [(0.0, "Running session validate"), (0.1, "python -m noa_ops.k8s_render --out build/r"),
             (1.6, "pytest tests/policy -k probes"), (4.0, "Session validate was successful in 4 seconds."),
             (4.2, "python -m noa_ops.checkov_scan build/r"), (9.0, "Ran 2 sessions in 9 seconds:")]
    seconds = bench_validate.step_seconds(lines, 9.5, _steps())
    assert seconds == pytest.approx({"render": 1.5, "policy": 2.4, "checkov": 4.8})
    # Not a prefix match on a word: "pytest tests/policyx" is another command.
    assert bench_validate.step_seconds([(0.0, "pytest tests/policyx")], 1.0, _steps()) == {}
    # The last line of a run lasts to its end.
    assert bench_validate.step_seconds([(0.5, "pytest tests/policy")], 2.0, _steps()) == {"policy": 1.5}


def test_shares_sit_beside_the_step_alone_and_nox_gets_the_rest() -> None:
    runs = [(10.0, {"render": 2.0, "policy": 3.0}), (20.0, {"render": 4.0, "policy": 6.0})]
    alone = {"render": [1.0, 1.2], "policy": [2.0, 2.5]}
    measured = bench_validate.share_figures(["render", "policy"], runs, alone)
    assert [f.name for f in measured] == ["render: share of the run", "render: alone",
                                          "policy: share of the run", "policy: alone",
                                          f"{bench_validate.NOX_OWN}: share of the run"]
    assert measured[0].samples == (20.0, 20.0) and measured[0].unit == "%"
    assert measured[1].samples == (1.0, 1.2) and measured[1].unit == "s"
    assert measured[-1].samples == (50.0, 50.0)
    assert all(f.target is None for f in measured)
    assert "median 3.00 s in the run" in measured[0].note


def test_the_run_is_timed_and_nox_s_lines_kept(tmp_path: Path) -> None:
    """A stand-in nox that logs like nox does (lines on stderr, the tools' output between them)."""
    nox = tmp_path / "nox"
    nox.write_text("#!/bin/sh\necho 'nox > Running session validate' >&2\necho 'tool output'\n"
                   "echo 'nox > pytest tests/policy' >&2\nexit 0\n")
    nox.chmod(0o755)
    wall, lines = bench_validate.run_validate(nox)
    assert [text for _, text in lines] == ["Running session validate", "pytest tests/policy"]
    assert 0 <= lines[0][0] <= lines[1][0] <= wall
    nox.write_text("#!/bin/sh\nexit 3\n")
    with pytest.raises(NoaError, match=r"^nox -R -s validate failed \(exit 3\): run it to see why$"):
        bench_validate.run_validate(nox)
    with pytest.raises(NoaError, match="run scripts/bootstrap"):
        bench_validate.run_validate(tmp_path / "missing")


def test_a_step_alone_runs_in_its_session_s_venv_with_its_env(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """A stand-in tool in the venv that tells, as its last line, what it was run with, and fails."""
    monkeypatch.setattr(paths, "REPO", tmp_path)
    venv = tmp_path / ".nox" / "validate-checkov"
    (venv / "bin").mkdir(parents=True)
    tool = venv / "bin" / "tool"
    tool.write_text('#!/bin/sh\necho "$NOA_X $VIRTUAL_ENV $(command -v tool) $PWD" >&2\nexit 4\n')
    tool.chmod(0o755)
    told = f"1 {venv} {tool} {tmp_path}"
    with pytest.raises(NoaError, match=rf"^validate's t step alone failed \(exit 4\): {told}$"):
        bench_validate.run_alone(validation.Step("t", ("tool",), "validate-checkov", {"NOA_X": "1"}))
    tool.write_text("#!/bin/sh\necho fine\n")
    bench_validate.run_alone(validation.Step("t", ("tool",), "validate-checkov"))


def test_objects_are_counted_across_the_renders(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("kind: A\n---\nkind: B\nspec:\n  kind: nested\n")
    (tmp_path / "b.yaml").write_text("kind: C\n")
    assert bench_validate.rendered_objects(tmp_path) == (3, 2)


def test_the_validate_section_is_one_of_the_bench_s() -> None:
    assert bench_main.SECTIONS["validate"] is bench_validate.figures
    assert bench_validate.WALL_TARGET == 20.0


# -- The sections that act: their command lines, the alternation and the ratios (no timing asserted).

def test_pairs_alternate_first_then_second_and_ratios_are_per_pair() -> None:
    from noa_ops.bench import pairs

    calls: list[str] = []
    numbers = iter([10.0, 5.0, 12.0, 4.0, 9.0, 3.0])

    def side(name: str) -> float:
        calls.append(name)
        return next(numbers)

    firsts, seconds = pairs.alternate(3, lambda: side("A"), lambda: side("B"))
    assert calls == ["A", "B", "A", "B", "A", "B"]
    assert (firsts, seconds) == ([10.0, 12.0, 9.0], [5.0, 4.0, 3.0])
    assert pairs.ratios(firsts, seconds) == (2.0, 3.0, 3.0)  # not mean(A) / mean(B)
    assert pairs.ratios([1.0, 2.0], [0.0, 4.0]) == (0.5,)
    with pytest.raises(ValueError, match="not pairs"):
        pairs.ratios([1.0], [1.0, 2.0])


def _bench_stack(tmp_path: Path, prefix: str = "") -> BenchStack:
    from noa_ops.bench.stack import BenchStack

    stack = BenchStack(tmp_path / "home", "noa-bench-deploy-abc123", 23000, prefix)
    stack.write_config()
    return stack


def _release(stack: BenchStack, tag: str) -> str:
    from noa_ops import releases

    return releases.create("dev", "compose", tag, images={}, sources={}, rendered_text="services: {}\n",
                           state=stack.release_dir).id


def test_the_bench_stack_is_dev_with_a_project_env_file_ports_and_state_of_its_own(tmp_path: Path) -> None:
    import sys

    import yaml

    stack = _bench_stack(tmp_path)
    env = stack.environment()
    assert (env.name, env.project, env.port_offset, env.profiles) == (
        "dev", "noa-bench-deploy-abc123", 23000, ())
    assert env.env_file == stack.home / "dev.env" and env.image_prefix == "noa"
    written = yaml.safe_load(stack.config_file.read_text())
    assert written["noa"]["environments"]["dev"]["project"] == env.project
    assert stack.command("deploy", "--env", "dev") == \
        f"{sys.executable} -m invoke -f {stack.config_file} deploy --env dev"
    assert stack.environ() == {"NOA_STATE_DIR": str(stack.home / "state")}
    assert _bench_stack(tmp_path, "noa-bench").environment().image_prefix == "noa-bench"


def test_the_sandbox_refuses_a_project_that_has_containers_and_removes_its_own(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    from invoke.runners import Result

    from noa_ops.bench import stack as bench_stack
    from noa_ops.errors import NoaError

    from .helpers import mock_context, runs

    monkeypatch.setattr(bench_stack, "free_offset", lambda: 23000)
    listing = re.compile(r"docker ps -aq --filter label=com\.docker\.compose\.project=noa-bench-deploy-\w+$")
    taken = mock_context({listing: Result("f00\n")})
    with pytest.raises(NoaError, match="already has containers"), bench_stack.sandbox(taken, "deploy"):
        raise AssertionError("never reached")
    stop = re.compile(r".* -m invoke -f /\S+/invoke\.yaml stop --env dev --purge --yes$")
    c = mock_context({listing: Result(""), stop: Result("")})
    with bench_stack.sandbox(c, "deploy") as stack:
        (stack.home / "dev.env").write_text("")  # what the first deploy writes
        assert stack.port_offset == 23000
    assert stop.match(runs(c).call_args_list[-1].args[0])
    assert not stack.home.exists()


def test_deploy_alternates_invoke_and_plain_compose_of_one_release_each_from_down(tmp_path: Path) -> None:
    from invoke.runners import Result

    from noa_ops import compose_commands
    from noa_ops.bench import deploy as bench_deploy

    from .helpers import mock_context, runs

    stack = _bench_stack(tmp_path)
    release = _release(stack, "abc")
    env = stack.environment()
    invoked = stack.command("deploy", "--env", "dev")
    down = compose_commands.down(env)
    plain = compose_commands.up_release(env.project, stack.home / "state" / "releases" / "dev" / release /
                                        "compose.yaml", timeout=600)
    # The test's checkout root is tmp_path, so the stored file is shown relative to it.
    assert plain == (f"docker compose -p noa-bench-deploy-abc123 -f home/state/releases/dev/{release}/"
                     f"compose.yaml up -d --wait --wait-timeout 600 --no-build --pull never --remove-orphans")
    assert down == ("docker compose -p noa-bench-deploy-abc123 -f docker/docker-compose.yml --env-file "
                    "home/dev.env --profile monitoring down --remove-orphans")  # volumes kept
    c = mock_context({invoked: Result(""), down: Result(""), plain: Result("")})
    firsts, seconds = bench_deploy.deploy_pairs(c, stack, 2)
    assert len(firsts) == len(seconds) == 2
    commands = [call.args[0] for call in runs(c).call_args_list]
    assert commands == [invoked, down, invoked, down, plain, down, invoked, down, plain]
    made = bench_deploy.deploy_figures(firsts, seconds)
    assert [(f.name, f.unit, f.target) for f in made] == [
        ("invoke deploy --env dev, 7 services", "s", 30.0),
        ("plain docker compose up -d --wait, same release", "s", None),
        ("deploy, invoke / plain compose", "\N{MULTIPLICATION SIGN}", 1.3)]


def test_rollback_alternates_from_the_second_release_back_to_the_first(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from invoke.runners import Result

    from noa_ops import compose_commands, releases
    from noa_ops.bench import deploy as bench_deploy
    from noa_ops.bench.stack import BenchStack

    from .helpers import mock_context, runs

    stack = _bench_stack(tmp_path)
    good, second = _release(stack, "abc"), _release(stack, "abc")
    made = iter([good, second])
    monkeypatch.setattr(BenchStack, "latest_release",
                        lambda self: releases.load("dev", next(made), self.release_dir))
    deploy = stack.command("deploy", "--env", "dev")
    other = stack.command("deploy", "--env", "dev", "--service-image", "mcp=noa-bench/mcp:rollback-1")
    rollback = stack.command("rollback", "--env", "dev")
    back = stack.command("rollback", "--env", "dev", "--to", second)
    plain = compose_commands.up_release(stack.project, stack.rendered(good), timeout=600)
    said = Result(stderr=f"rollback: dev runs release {good} and is healthy\n")
    c = mock_context({deploy: Result(""), other: Result(""), rollback: said, back: Result(""),
                      plain: Result("")})
    firsts, seconds = bench_deploy.rollback_pairs(c, stack, "noa-bench/mcp:rollback-1", 2)
    assert len(firsts) == len(seconds) == 2
    commands = [call.args[0] for call in runs(c).call_args_list]
    assert commands == [deploy, other, rollback, back, plain, back, rollback, back, plain, back]


def test_a_rollback_that_went_elsewhere_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from invoke.runners import Result

    from noa_ops import releases
    from noa_ops.bench import deploy as bench_deploy
    from noa_ops.bench.stack import BenchStack
    from noa_ops.errors import NoaError

    from .helpers import mock_context

    stack = _bench_stack(tmp_path)
    good, second = _release(stack, "abc"), _release(stack, "abc")
    made = iter([good, second])
    monkeypatch.setattr(BenchStack, "latest_release",
                        lambda self: releases.load("dev", next(made), self.release_dir))
    elsewhere = Result(stderr=f"dev runs release {second} and is healthy\n")
    c = mock_context({stack.command("deploy", "--env", "dev"): Result(""),
                      stack.command("deploy", "--env", "dev", "--service-image", "mcp=x"): Result(""),
                      stack.command("rollback", "--env", "dev"): elsewhere})
    with pytest.raises(NoaError, match=f"did not go back to {good}"):
        bench_deploy.rollback_pairs(c, stack, "x", 1)


def test_a_derived_image_is_built_from_stdin_with_the_classic_builder() -> None:
    from invoke.runners import Result

    from noa_ops.bench import stack as bench_stack

    from .helpers import mock_context, runs

    command = ("printf '%s\\n' 'FROM noa/agenticos:abc' 'ENTRYPOINT [\"false\"]' 'CMD []' | "
               "docker build -q -t noa-bench/agenticos:crash -")
    c = mock_context({command: Result("sha256:1\n")})
    assert bench_stack.derived_image(c, "noa-bench/agenticos:crash", "noa/agenticos:abc",
                                     ['ENTRYPOINT ["false"]', "CMD []"]) == "noa-bench/agenticos:crash"
    assert runs(c).call_args.kwargs["env"] == {"DOCKER_BUILDKIT": "0"}


def test_faults_crash_every_process_but_tini_and_wait_for_a_restart_that_is_healthy() -> None:
    from invoke.runners import Result

    from noa_ops.bench import faults

    from .helpers import mock_context

    assert faults.crash_command("f00") == "docker exec f00 sh -c 'kill -KILL -1'"
    listing = ("docker ps -q --no-trunc --filter label=com.docker.compose.project=noa-bench-faults-1 "
               "--filter label=com.docker.compose.service=mcp")
    assert faults.container_of(mock_context({listing: Result("f00\n")}), "noa-bench-faults-1", "mcp") == "f00"
    assert not faults.recovered(2, "2 running healthy")  # not restarted yet: the crash is still to come
    assert not faults.recovered(2, "3 running starting")
    assert not faults.recovered(2, "3 restarting")
    assert not faults.recovered(2, "")
    assert faults.recovered(2, "3 running healthy")
    assert faults.all_healthy("healthy\nhealthy\n")
    assert not faults.all_healthy("healthy\nstarting\n") and not faults.all_healthy("")


def test_the_crash_looping_release_must_fail_and_say_it_rolled_back(tmp_path: Path) -> None:
    from invoke.runners import Result

    from noa_ops.bench import faults
    from noa_ops.errors import NoaError

    from .helpers import mock_context

    stack = _bench_stack(tmp_path)
    broken = "agenticos=noa-bench/agenticos:crash"
    command = stack.command("deploy", "--env", "dev", "--service-image", broken)
    rolled = Result(stderr="deploy: ...; rolled back to 2026-x,\nwhich is healthy (see above)\n", exited=1)
    faults.crash_loop_deploy(mock_context({command: rolled}), stack, "noa-bench/agenticos:crash")
    for result in (Result(""), Result(stderr="the rollback to x failed too\n", exited=1)):
        with pytest.raises(NoaError, match="was not rolled back"):
            faults.crash_loop_deploy(mock_context({command: result}), stack, "noa-bench/agenticos:crash")


def test_the_cold_build_runs_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    from noa_ops.bench import build as bench_build

    monkeypatch.setattr(bench_build, "warm_rebuilds", lambda _c, runs: (1.0,) * runs)
    monkeypatch.setattr(bench_build, "llama_compiles", lambda _c, runs: (2.0,) * runs)

    def never(_c: object) -> tuple[float, ...]:
        raise AssertionError("the cold build ran without --cold")

    monkeypatch.setattr(bench_build, "cold_build", never)
    warm, compiled, cold = bench_build.figures(2)
    assert (warm.samples, warm.target, compiled.samples) == ((1.0, 1.0), 20.0, (2.0,))  # the compile: once
    assert (cold.name, cold.samples, cold.note) == (
        "cold build, the stack's 7 images", (), "not run (pass --cold: it takes about 7 minutes on 2 cores)")
    monkeypatch.setattr(bench_build, "cold_build", lambda _c: (900.0,))
    assert bench_build.figures(2, cold=True)[-1].samples == (900.0,)


def test_the_cold_build_is_compose_build_no_cache_of_the_stack_under_a_bench_prefix(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import re

    from invoke.runners import Result

    from noa_ops import images
    from noa_ops.bench import build as bench_build

    from .helpers import mock_context, runs

    monkeypatch.setattr(images, "current_tag", lambda _c=None: "1a2b3c4d5e6f")
    monkeypatch.setattr(images, "builder_variables", lambda _c: {"DOCKER_BUILDKIT": "1"})
    build = re.compile(r"docker compose -p noa-bench-cold -f docker/docker-compose.yml "
                       r"--env-file /\S+/dev.env --profile monitoring build --no-cache "
                       r"postgres redis mcp claude-flow agenticos llama ui$")
    c = mock_context({"scripts/build-wheelhouse": Result(""), "scripts/fetch-llama-source": Result(""),
                      re.compile(r".* env-init --env dev$"): Result(""), build: Result(""),
                      re.compile(r"docker image rm -f noa-bench-cold/postgres:1a2b3c4d5e6f .*"): Result("")})
    assert len(bench_build.cold_build(c)) == 1
    [call] = [call for call in runs(c).call_args_list if build.match(call.args[0])]
    assert call.kwargs["env"] == {"NOA_IMAGE_PREFIX": "noa-bench-cold", "NOA_IMAGE_TAG": "1a2b3c4d5e6f",
                                  "COMPOSE_BAKE": "false", "DOCKER_BUILDKIT": "1"}
    removed = runs(c).call_args_list[-1].args[0].split()[4:]
    assert removed == [f"noa-bench-cold/{name}:1a2b3c4d5e6f" for name in
                       ("postgres", "redis", "mcp", "claude-flow", "agenticos", "llama", "ui")]


def test_the_warm_rebuild_and_the_llama_compile_commands(tmp_path: Path) -> None:
    from noa_ops import paths
    from noa_ops.bench import build as bench_build

    stack = _bench_stack(tmp_path, "noa-bench")
    assert bench_build.rebuild_command(stack, Path("/tmp/t")) == \
        f"cd /tmp/t && {stack.command('build', '--service', 'mcp')}"
    assert bench_build.stage_build_command(Path("/tmp/s/compose.yaml")) == \
        "docker compose -p noa-bench-build -f /tmp/s/compose.yaml build llama-build"
    service = bench_build.stage_compose("noa-bench/llama-build:1")["services"]["llama-build"]
    assert service["build"] == {"context": str(paths.REPO), "dockerfile": "docker/Dockerfile",
                                "target": "llama-build", "args": {"BASE_IMAGE": "debian:bookworm-slim"}}
    source = Path("/r/build/llama/llama-source.tar.gz")
    assert bench_build.compile_command("noa-bench/llama-build:1", source) == (
        "docker run --rm --network none -v /r/build/llama/llama-source.tar.gz:/tmp/llama-source.tar.gz:ro "
        "noa-bench/llama-build:1 build-llama-server /tmp/llama-source.tar.gz /tmp/llama-out")
    changed = tmp_path / "init.py"
    changed.write_text('"""doc."""\n')
    bench_build.change_one_line(changed)
    first = changed.read_text()
    bench_build.change_one_line(changed)
    lines = changed.read_text().splitlines()
    assert len(lines) == 3 and lines[1] != lines[2] and all(line.startswith("# ") for line in lines[1:])
    assert first.endswith("\n")


def test_llama_runs_both_sides_with_the_compose_file_s_settings(tmp_path: Path) -> None:
    from noa_ops.bench import llama

    settings = llama.compose_settings()
    assert settings == {"LLAMA_ARG_THREADS": "2", "LLAMA_ARG_CTX_SIZE": "4096",
                        "LLAMA_ARG_CHAT_TEMPLATE": "gemma", "LLAMA_ARG_BATCH": "512",
                        "LLAMA_ARG_N_GPU_LAYERS": "0"}
    command = llama.container_command("noa/llama:abc", "noa-dev_llama-models", "bench-1", settings)
    assert command.startswith("docker run -d --rm --name bench-1 --pull never --read-only ")
    assert "-v noa-dev_llama-models:/models:ro -p 127.0.0.1:19300:9300 " in command
    assert all(f"-e {key}={value} " in command for key, value in settings.items())
    assert command.endswith(" noa/llama:abc")
    image_env = {"PATH": "/usr/local/bin:/usr/bin", "OMP_WAIT_POLICY": "PASSIVE", "LLAMA_ARG_PORT": "9300",
                 "LLAMA_ARG_HOST": "0.0.0.0", "LLAMA_ARG_MODEL": "/models/m.gguf", "LLAMA_ARG_UI": "0"}
    bare = llama.bare_environment(image_env, settings, tmp_path / "bin", tmp_path / "m.gguf")
    assert bare["OMP_WAIT_POLICY"] == "PASSIVE" and bare["LLAMA_ARG_UI"] == "0"
    assert (bare["LLAMA_ARG_HOST"], bare["LLAMA_ARG_PORT"], bare["LLAMA_ARG_MODEL"]) == (
        "127.0.0.1", "19301", str(tmp_path / "m.gguf"))
    assert bare["LD_LIBRARY_PATH"] == str(tmp_path / "bin") and bare["PATH"] != image_env["PATH"]
    assert {key: bare[key] for key in settings} == settings


def test_the_bare_llama_server_is_copied_out_of_the_image_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import platform
    import re

    from invoke.runners import Result

    from noa_ops.bench import llama

    from .helpers import mock_context, runs

    monkeypatch.setattr(llama, "BINARIES_DIR", tmp_path / "llama-server")
    libraries = f"/usr/lib/{platform.machine()}-linux-gnu"
    inspect = "docker image inspect --format '{{.Id}}' noa/llama:abc"
    c = mock_context({inspect: Result("sha256:0123456789abcdef\n"),
                      re.compile(r"docker (create|cp|rm) .*"): Result("")})
    directory = llama.bare_binary(c, "noa/llama:abc")
    assert directory == tmp_path / "llama-server" / "0123456789ab"
    commands = [call.args[0] for call in runs(c).call_args_list]
    [name] = re.findall(r"--name (\S+) noa/llama:abc", commands[1])
    partial = tmp_path / "llama-server" / ".0123456789ab.partial"
    assert commands[2:] == [
        f"docker cp -L {name}:/usr/local/bin/llama-server {partial}/llama-server",
        f"docker cp -L {name}:{libraries}/libstdc++.so.6 {partial}/libstdc++.so.6",
        f"docker cp -L {name}:{libraries}/libgcc_s.so.1 {partial}/libgcc_s.so.1",
        f"docker cp -L {name}:{libraries}/libgomp.so.1 {partial}/libgomp.so.1",
        f"docker rm -f {name}"]
    (directory / "llama-server").write_text("")
    again = mock_context({inspect: Result("sha256:0123456789abcdef\n")})
    assert llama.bare_binary(again, "noa/llama:abc") == directory
    assert runs(again).call_count == 1  # the image ID only: nothing copied again


def test_llama_ratios_are_container_over_bare_per_pair() -> None:
    from noa_ops.bench import llama

    containers = [llama.Sample(2.0, 100.0, 20.0), llama.Sample(3.0, 90.0, 18.0)]
    bares = [llama.Sample(1.0, 200.0, 40.0), llama.Sample(1.5, 100.0, 20.0)]
    made = {figure.name: figure for figure in llama.ratio_figures(containers, bares, "m, 2 threads")}
    assert made["load to 200 /health, container / bare"].samples == (2.0, 2.0)
    assert made["prompt processing, container / bare"].samples == (0.5, 0.9)
    assert made["generation, container / bare"].samples == (0.5, 0.9)
    assert made["generation, bare"].samples == (40.0, 20.0)
    assert {figure.unit for name, figure in made.items() if "/ bare" in name} == {"\N{MULTIPLICATION SIGN}"}


def test_every_section_is_registered_and_cold_is_a_flag() -> None:
    assert list(bench_main.SECTIONS) == ["cli", "validate", "images", "llama", "build", "deploy", "rollback",
                                         "faults", "cluster"]
    assert bench_main.parser().parse_args(["--cold", "--only", "build"]).cold is True
    assert bench_main.parser().parse_args([]).cold is False


def test_a_port_something_listens_on_is_refused_and_one_let_go_is_free() -> None:
    """The llama pairs start on the port the previous run's container has just left."""
    import socket

    from noa_ops.bench import llama as bench_llama

    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen()
    port = held.getsockname()[1]
    with pytest.raises(NoaError, match=f"127.0.0.1:{port} is taken"):
        bench_llama.require_free(port)
    held.close()
    bench_llama.require_free(port)


def test_an_image_not_built_is_a_row_without_samples_but_a_missing_app_image_stops_the_bench() -> None:
    from noa_ops.bench import images as bench_images

    missing = "noa-bench-unit/never-built:none"
    [row] = bench_images.image_figures("prometheus", missing, None)
    assert row.samples == () and "not built at this revision" in row.note
    with pytest.raises(NoaError, match=f"no image {missing}"):
        bench_images.image_figures("mcp", missing, bench_images.COMPRESSED_TARGET_MB)


def test_a_port_left_in_time_wait_by_a_server_just_gone_is_free() -> None:
    """llama's container closes the connections on its port first, so they wait on the host side."""
    import socket

    from noa_ops import ports

    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the engine's proxy binds
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = server.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server's side closes first: 127.0.0.1:<port> enters TIME_WAIT
    client.recv(1)
    client.close()
    assert not ports.is_free(port)  # still listening
    server.close()
    assert ports.is_free(port)
