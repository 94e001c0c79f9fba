"""noa_ops/targets: one Target protocol, one module per target, and a CLI that never branches."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from noa_ops import environments, targets
from noa_ops.environments import Environment
from noa_ops.targets import compose, kubernetes

NOA_OPS = Path(__file__).resolve().parents[3] / "noa_ops"
# A comparison with a target's name (comparing a release's target with the environment's is fine).
NAME = r"""["'](compose|kubernetes)["']"""
TARGET_BRANCH = re.compile(rf"(==|!=|\bin\b)\s*[(\[]?\s*{NAME}|{NAME}\s*(==|!=)")


def test_every_configurable_target_has_an_implementation(dev: Environment) -> None:
    for name in environments.TARGETS:
        assert targets.of(Environment(**{**dev.__dict__, "target": name})).name == name


@pytest.mark.parametrize("target", [compose, kubernetes], ids=["compose", "kubernetes"])
def test_each_target_offers_every_method_of_the_protocol(target: targets.Target) -> None:
    wanted = {name for name in vars(targets.Target) if not name.startswith("_")}
    wanted |= set(targets.Target.__annotations__)
    assert {name for name in wanted if not hasattr(target, name)} == set()


@pytest.mark.parametrize("module", ["cli.py", "status.py", "release_cycle.py"])
def test_the_shared_layers_never_branch_on_a_target_name(module: str) -> None:
    source = (NOA_OPS / module).read_text()
    assert [line.strip() for line in source.splitlines() if TARGET_BRANCH.search(line)] == []


def test_the_branch_pattern_catches_what_it_is_for() -> None:
    assert TARGET_BRANCH.search('    if selected.target == "kubernetes":')
    assert TARGET_BRANCH.search("    if env.target in ('compose',):")
    assert TARGET_BRANCH.search('if name == "compose":')
    assert not TARGET_BRANCH.search("    where = targets.of(selected)")
    assert not TARGET_BRANCH.search("    if release.target != target.name:")
    assert not TARGET_BRANCH.search('    target: str = ""')


def test_only_the_cli_touches_invoke_exit() -> None:
    users = sorted(str(path.relative_to(NOA_OPS)) for path in NOA_OPS.rglob("*.py")
                   if re.search(r"import .*\bExit\b|\bExit\(", path.read_text()))
    assert users == ["cli.py"]
