"""noa_ops.k8s_render's variants and throwaway secrets (the real renders: tests/policy, nox -s validate)."""

from __future__ import annotations

from noa_ops import k8s_render


def test_every_variant_is_named_once_and_combinations_repeat_the_namespace() -> None:
    names = [v.name for v in k8s_render.VARIANTS]
    assert len(names) == len(set(names))
    assert {v.overlay for v in k8s_render.VARIANTS} == {"dev", "staging", "prod"}
    combination = k8s_render.variant("prod+sealed-secrets")
    text = combination.kustomization()
    assert "namespace: noa-server-prod\n" in text
    assert "  - ../../overlays/prod\n" in text and "  - ../../components/sealed-secrets\n" in text
    # Only the overlays whose Secret comes from a component are incomplete on their own.
    assert [v.name for v in k8s_render.VARIANTS if not v.complete] == ["staging", "prod"]


def test_throwaway_secrets_cover_every_generated_secret() -> None:
    lines = [
        line for line in k8s_render.throwaway_secrets().splitlines() if line and not line.startswith("#")
    ]
    assert [line.split("=", 1)[0] for line in lines] == list(k8s_render.SECRET_KEYS)
    assert all(len(line.split("=", 1)[1]) >= 16 for line in lines)
    assert k8s_render.throwaway_secrets() != k8s_render.throwaway_secrets()
