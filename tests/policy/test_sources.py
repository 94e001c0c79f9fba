"""The k8s tree itself: copies that must equal their sources, patches that must hit something,
no label transformer that rewrites selectors, no secret values in git."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from noa_ops import k8s_render, k8s_validate

from .manifest import DASHBOARD, INIT_SQL, NGINX_CONF, ROOT, Render

K8S = ROOT / "k8s"
COPIES = {
    K8S / "base/files/nginx.conf": NGINX_CONF,
    K8S / "base/files/init-db.sql": INIT_SQL,
    K8S / "components/monitoring/grafana-dashboard.json": DASHBOARD,
}


def kustomizations(k8s_dir: Path) -> list[Path]:
    return sorted(k8s_dir.rglob("kustomization.yaml"))


def load(path: Path) -> dict[str, Any]:
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict), f"{path}: not a mapping"
    return loaded


def overlay_components(k8s_dir: Path, overlay: str) -> list[str]:
    """The components an overlay itself names (`../../components/<name>`)."""
    entries = load(k8s_dir / "overlays" / overlay / "kustomization.yaml").get("components") or []
    return [Path(entry).name for entry in entries]


def render_for(kustomization: Path, k8s_dir: Path) -> str:
    """The variant whose render contains what this kustomization produces."""
    relative = kustomization.parent.relative_to(k8s_dir)
    if relative.parts[0] in ("overlays", "variants"):
        return relative.parts[1]
    if relative.parts[0] == "components":
        return next(
            v.name
            for v in k8s_render.variants(k8s_dir)
            if relative.parts[1] in (*v.components, *overlay_components(k8s_dir, v.overlay))
        )
    return "dev"


def patch_target_misses(k8s_dir: Path, renders: dict[str, Render]) -> list[str]:
    """kustomize silently skips a patch whose `target` matches nothing; this does not."""
    misses = []
    for kustomization in kustomizations(k8s_dir):
        render = renders[render_for(kustomization, k8s_dir)]
        for index, patch in enumerate(load(kustomization).get("patches") or []):
            target = patch.get("target")
            if not target:
                continue  # a strategic-merge patch without a target fails the render by itself
            matched = [
                o
                for o in render.objects
                if re.fullmatch(str(target.get("kind", ".*")), str(o.get("kind")))
                and re.fullmatch(str(target.get("name", ".*")), str(o["metadata"].get("name")))
            ]
            if not matched:
                misses.append(
                    f"{kustomization.relative_to(k8s_dir)}: patches[{index}] target {target} matches nothing"
                )
    return misses


def test_copies_equal_their_sources_byte_for_byte() -> None:
    for copy, source in COPIES.items():
        assert copy.read_bytes() == source.read_bytes(), (
            f"{copy.relative_to(ROOT)} differs from {source.relative_to(ROOT)}: "
            f"cp {source.relative_to(ROOT)} {copy.relative_to(ROOT)}"
        )


def test_every_patch_target_exists(renders: dict[str, Render]) -> None:
    assert not patch_target_misses(K8S, renders)


def test_a_patch_on_a_missing_object_is_caught(renders: dict[str, Render], tmp_path: Path) -> None:
    staged = k8s_render.stage(K8S, tmp_path)
    kustomization = staged / "overlays" / "staging" / "kustomization.yaml"
    kustomization.write_text(
        kustomization.read_text() + "  - path: patches/two-replicas.yaml\n"
        "    target: {kind: Deployment, name: frontend}\n"
    )
    misses = patch_target_misses(staged, renders)
    assert any("overlays/staging/kustomization.yaml" in m and "frontend" in m for m in misses), misses


def test_every_manifest_file_is_used() -> None:
    """Patches that exist but are never referenced were an upstream defect."""
    referenced: set[Path] = set()
    for kustomization in kustomizations(K8S):
        spec = load(kustomization)
        entries = [
            *(spec.get("resources") or []),
            *(p["path"] for p in spec.get("patches") or [] if "path" in p),
        ]
        referenced |= {(kustomization.parent / entry).resolve() for entry in entries}
    files = {p.resolve() for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml"}
    assert not sorted(str(p.relative_to(ROOT)) for p in files - referenced)


def test_no_label_transformer_rewrites_selectors() -> None:
    for kustomization in kustomizations(K8S):
        spec = load(kustomization)
        assert "commonLabels" not in spec, f"{kustomization}: commonLabels rewrites selectors; use labels:"
        for entry in spec.get("labels") or []:
            assert entry.get("includeSelectors") is False, (
                f"{kustomization}: labels need includeSelectors: false"
            )


@pytest.mark.parametrize("overlay", ["dev", "staging", "prod"])
def test_overlay_sets_its_namespace(overlay: str) -> None:
    assert load(K8S / "overlays" / overlay / "kustomization.yaml").get("namespace") == f"noa-server-{overlay}"


def test_no_secret_values_in_git() -> None:
    for path in K8S.rglob("*.yaml"):
        for document in k8s_validate.load_manifests(path.read_text()):
            if isinstance(document, dict) and document.get("kind") == "Secret":
                pytest.fail(f"{path.relative_to(ROOT)}: a Secret in git")
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "k8s/overlays/dev/secrets.env"], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0, "k8s/overlays/dev/secrets.env must be git-ignored"
