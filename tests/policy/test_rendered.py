"""Every shipped variant passes every rule of tests/policy/rule_set.py with zero violations."""

from __future__ import annotations

import pytest

from noa_ops import catalogue
from noa_ops.k8s_render import variants
from noa_ops.targets.kubernetes import image_service

from .manifest import Render
from .pods import containers, pod_template, workloads
from .rule_set import RULES


@pytest.mark.parametrize("rule", sorted(RULES))
@pytest.mark.parametrize("variant", [v.name for v in variants()])
def test_variant_passes_rule(renders: dict[str, Render], variant: str, rule: str) -> None:
    violations = RULES[rule](renders[variant])
    assert not violations, f"{variant}: " + "\n".join(violations)


@pytest.mark.parametrize("variant", [v.name for v in variants()])
def test_every_noa_image_is_one_that_build_and_push_make(renders: dict[str, Render], variant: str) -> None:
    """A deploy pins each of these to a pushed digest; one that `invoke build` cannot make would
    leave the deploy with nothing to pin (the gpu component's llama-cuda and the monitoring
    component's exporters are built when named)."""
    used = {image_service(str(container.get("image", "")), "noa")
            for obj in workloads(renders[variant]) for _, container in containers(pod_template(obj)["spec"])}
    assert used - {None} <= set(catalogue.image_names())
    assert "llama" in used or "llama-cuda" in used
