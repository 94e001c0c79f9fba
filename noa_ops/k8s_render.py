"""The Kubernetes variants that ship, and rendering them with `kubectl kustomize`.

A variant is an overlay, optionally with components on top. The list below is the one place that
says which combinations ship: `nox -s validate` renders every one of them, and a deploy picks one.
Staging and prod get their Secret from a component (External Secrets or Sealed Secrets), so those
overlays alone are rendered and checked too, but are not complete deployments.

Rendering happens in a temporary copy of k8s/: the dev overlay reads its Secret from a git-ignored
`secrets.env`, which the copy gets with throwaway random values, and each overlay+component
combination gets a generated kustomization (`resources: [overlay]`, `components: [...]`). The
default load restrictions stay on, exactly as `kubectl apply -k` applies them.

Standard library only: the checkov session renders with it too, in a venv without the project's
dependencies.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from noa_ops import envfile, paths

DEV_SECRETS_FILE = Path("overlays/dev/secrets.env")  # relative to the k8s directory
DEFAULT_OUT = Path("build/k8s-render")
# The keys of the noa-secrets Secret: the generated secrets of the settings catalogue, the same
# ones `invoke env-init` writes (tests/policy proves every secret source provides exactly these).
SECRET_KEYS: tuple[str, ...] = envfile.GENERATED_SECRETS


class RenderError(RuntimeError):
    """kubectl kustomize failed for a variant; the message names it and kustomize's reason."""


@dataclass(frozen=True)
class Variant:
    name: str
    overlay: str
    components: tuple[str, ...] = ()
    # False: renders and passes every check, but lacks the Secret a component supplies.
    complete: bool = True

    @property
    def namespace(self) -> str:
        return f"noa-server-{self.overlay}"

    def kustomization(self) -> str:
        """The generated kustomization of an overlay+component combination (relative paths).

        It repeats the overlay's namespace: the objects a component adds are outside the overlay.
        """
        lines = [
            "apiVersion: kustomize.config.k8s.io/v1beta1",
            "kind: Kustomization",
            f"namespace: {self.namespace}",
            "resources:",
            f"  - ../../overlays/{self.overlay}",
            "components:",
            *(f"  - ../../components/{component}" for component in self.components),
        ]
        return "\n".join(lines) + "\n"


VARIANTS: tuple[Variant, ...] = (
    Variant("dev", "dev"),
    Variant("staging", "staging", complete=False),
    Variant("prod", "prod", complete=False),
    Variant("staging+external-secrets", "staging", ("external-secrets",)),
    Variant("staging+sealed-secrets", "staging", ("sealed-secrets",)),
    Variant("prod+external-secrets", "prod", ("external-secrets",)),
    Variant("prod+sealed-secrets", "prod", ("sealed-secrets",)),
)


def variant(name: str) -> Variant:
    for candidate in VARIANTS:
        if candidate.name == name:
            return candidate
    raise KeyError(f"unknown variant {name!r}; valid: {', '.join(v.name for v in VARIANTS)}")


def throwaway_secrets() -> str:
    """A dev secrets.env with fresh random values, for renders that are never applied.

    The same format and generator as `invoke env-init` (a real dev deploy copies .noa/dev.env).
    """
    return envfile.render("validation", {key: envfile.generate_value(key) for key in SECRET_KEYS})


def stage(source: Path, dest: Path) -> Path:
    """Copy the k8s tree to dest/k8s with throwaway dev secrets and the combinations' kustomizations."""
    staged = dest / "k8s"
    shutil.copytree(source, staged, ignore=shutil.ignore_patterns("secrets.env", "variants"))
    (staged / DEV_SECRETS_FILE).write_text(throwaway_secrets())
    for item in VARIANTS:
        if item.components:
            directory = staged / "variants" / item.name
            directory.mkdir(parents=True)
            (directory / "kustomization.yaml").write_text(item.kustomization())
    return staged


def variant_dir(staged: Path, item: Variant) -> Path:
    return staged / "variants" / item.name if item.components else staged / "overlays" / item.overlay


def render(directory: Path, kubectl: str = "kubectl") -> str:
    """`kubectl kustomize DIRECTORY` with the default load restrictions."""
    try:
        result = subprocess.run(
            [kubectl, "kustomize", str(directory)], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise RenderError(f"{kubectl} not found: install kubectl (it bundles kustomize)") from None
    if result.returncode != 0:
        reason = result.stderr.strip().splitlines()[-1:] or [f"exit {result.returncode}"]
        raise RenderError(f"kubectl kustomize {directory} failed: {reason[0]}")
    return result.stdout


def count_objects(rendered: str) -> int:
    """Top-level objects in kustomize output (every document starts its own `kind:` line at column 0)."""
    return len(re.findall(r"^kind: ", rendered, flags=re.MULTILINE))


def render_variants(
    source: Path, out: Path, variants: Sequence[Variant] = VARIANTS, kubectl: str = "kubectl"
) -> dict[str, Path]:
    """Render each variant of the k8s tree at `source` to out/<variant>.yaml."""
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="noa-k8s-") as scratch:
        staged = stage(source, Path(scratch))
        for item in variants:
            try:
                rendered = render(variant_dir(staged, item), kubectl)
            except RenderError as error:
                raise RenderError(f"{item.name}: {error}") from None
            path = out / f"{item.name}.yaml"
            path.write_text(rendered)
            written[item.name] = path
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render every shipped Kubernetes variant to files.")
    parser.add_argument("--k8s", type=Path, default=paths.K8S,
                        help="the k8s tree (default: the repository's k8s/)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument("--variant", action="append", help="only this variant (repeatable)")
    args = parser.parse_args(argv)
    chosen = [variant(name) for name in args.variant] if args.variant else list(VARIANTS)
    if args.out.exists():
        for stale in args.out.glob("*.yaml"):
            stale.unlink()
    try:
        written = render_variants(args.k8s, args.out, chosen)
    except (RenderError, KeyError) as error:
        print(f"render: {error}", file=sys.stderr)
        return 1
    for name, path in written.items():
        print(f"rendered {name:<26} {count_objects(path.read_text()):>3} objects  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
