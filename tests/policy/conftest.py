"""Renders every shipped variant once per test session (or reads the renders `nox -s validate` made).

NOA_K8S_RENDER=DIR reuses DIR/<variant>.yaml; otherwise the variants are rendered into a temporary
directory with kubectl. No Docker engine, no cluster, no network.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from noa_ops import k8s_render, k8s_validate

from .manifest import ROOT, Render


def load_render(path: Path, variant: k8s_render.Variant) -> Render:
    objects = [doc for doc in k8s_validate.load_manifests(path.read_text()) if doc]
    return Render(variant, objects)


@pytest.fixture(scope="session")
def render_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    given = os.environ.get("NOA_K8S_RENDER")
    if given and all((Path(given) / f"{v.name}.yaml").exists() for v in k8s_render.variants()):
        return Path(given)
    out = tmp_path_factory.mktemp("k8s-render")
    k8s_render.render_variants(ROOT / "k8s", out)
    return out


@pytest.fixture(scope="session")
def renders(render_dir: Path) -> dict[str, Render]:
    return {v.name: load_render(render_dir / f"{v.name}.yaml", v) for v in k8s_render.variants()}
