"""Every shipped variant passes every rule of tests/policy/rule_set.py with zero violations."""

from __future__ import annotations

import pytest

from noa_ops.k8s_render import variants

from .manifest import Render
from .rule_set import RULES


@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize("variant", [v.name for v in variants()])
def test_variant_passes_rule(renders: dict[str, Render], variant: str, rule: str) -> None:
    violations = RULES[rule](renders[variant])
    assert not violations, f"{variant}: " + "\n".join(violations)
