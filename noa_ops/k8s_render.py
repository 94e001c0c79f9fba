"""The Kubernetes variants that ship, found on disk, and rendering them with `kubectl kustomize`.

A variant is a committed folder k8s/variants/<name>/ whose kustomization names one overlay
(`resources: [../../overlays/<overlay>]`) and optionally components (`../../components/<c>`),
repeating the overlay's namespace for the objects the components add. Every folder there ships:
`kubectl kustomize k8s/variants/<name>` (or `kubectl apply -k`) is exactly what `nox -s validate`
checks and a deploy applies, and the policy tests require each to provide the noa-secrets Secret
(dev from its secretGenerator, staging and prod from a secrets component). Overlays that no
variant ships alone (staging and prod: their Secret comes from a component) are rendered and
checked on their own too, as incomplete renders that are never deployed.

Rendering happens in a temporary copy of k8s/: the dev overlay reads its Secret from a git-ignored
`secrets.env`, which the copy gets with throwaway random values (an operator's own file is never
read or overwritten). The default load restrictions stay on, exactly as `kubectl apply -k` applies
them.

Standard library only: the checkov session renders with it too, in a venv without the project's
dependencies (so the kustomizations are read line by line, not with a YAML parser).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from noa_ops import envfile, paths
from noa_ops.settings_catalogue import env_catalogue

VARIANTS_DIR = Path("variants")  # relative to the k8s directory
DEV_SECRETS_FILE = Path("overlays/dev/secrets.env")  # relative to the k8s directory
# The operator's settings for dev, merged into noa-config by variants/dev (committed empty: a dev
# deploy writes it from the env file, as compose reads that file).
DEV_SETTINGS_FILE = Path("variants/dev/settings.env")  # relative to the k8s directory
DEFAULT_OUT = Path("build/k8s-render")
# The keys of the noa-secrets Secret: the generated secrets of the settings catalogue that a pod
# reads (`invoke env-init` writes them; the operator's own API key stays out of the cluster) and
# the values derived from them, API_CLIENTS (tests/policy proves every secret source provides
# exactly these).
SECRET_KEYS: tuple[str, ...] = (
    *(name for name in envfile.GENERATED_SECRETS
      if env_catalogue.variable(name).services - {env_catalogue.TASKS}),
    *(item.name for item in envfile.DERIVED),
)
_OVERLAY = re.compile(r"^\.\./\.\./overlays/([A-Za-z0-9._-]+)/?$")
_COMPONENT = re.compile(r"^\.\./\.\./components/([A-Za-z0-9._-]+)/?$")


class RenderError(RuntimeError):
    """kubectl kustomize failed for a variant; the message names it and kustomize's reason."""


class VariantError(ValueError):
    """A folder under k8s/variants is not a variant: one line naming the file and the fault."""


@dataclass(frozen=True)
class Variant:
    name: str
    overlay: str
    components: tuple[str, ...] = ()
    # True: a committed folder under k8s/variants, which ships and must provide noa-secrets.
    # False: an overlay rendered alone; it passes every check but lacks the Secret a component adds.
    complete: bool = True

    @property
    def directory(self) -> Path:
        """Where the variant's kustomization lives, relative to the k8s directory."""
        return VARIANTS_DIR / self.name if self.complete else Path("overlays") / self.overlay

    @property
    def namespace(self) -> str:
        return f"noa-server-{self.overlay}"


def list_entries(text: str, key: str) -> list[str]:
    """The entries of a top-level list (`key:` then `  - entry` lines, or `key: [a, b]`)."""
    entries: list[str] = []
    inside = False
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].rstrip()
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            name, _, rest = line.partition(":")
            inside = name == key and not rest.strip()
            if name == key and rest.strip().startswith("["):
                entries += [item.strip() for item in rest.strip()[1:-1].split(",") if item.strip()]
            continue
        if inside and line.lstrip().startswith("- "):
            entries.append(line.lstrip()[2:].strip().strip("'\""))
    return entries


def read_variant(k8s: Path, name: str) -> Variant:
    """The variant committed as k8s/variants/<name>/kustomization.yaml, or a one-line VariantError."""
    where = VARIANTS_DIR / name / "kustomization.yaml"
    path = k8s / where
    if not path.is_file():
        raise VariantError(f"k8s/{where} is missing: every folder under k8s/variants is a variant")
    text = path.read_text()
    resources = list_entries(text, "resources")
    overlays = [m.group(1) for m in map(_OVERLAY.match, resources) if m]
    if len(overlays) != 1 or len(resources) != 1:
        raise VariantError(f"k8s/{where}: resources must be exactly one ../../overlays/<overlay>, "
                           f"not {resources}")
    components: list[str] = []
    for entry in list_entries(text, "components"):
        match = _COMPONENT.match(entry)
        if match is None:
            raise VariantError(f"k8s/{where}: component {entry!r} is not ../../components/<name>")
        components.append(match.group(1))
    for kind, item in [("overlays", overlays[0]), *(("components", c) for c in components)]:
        if not (k8s / kind / item / "kustomization.yaml").is_file():
            present = ", ".join(sorted(p.name for p in (k8s / kind).iterdir() if p.is_dir()))
            raise VariantError(f"k8s/{where}: ../../{kind}/{item} does not exist (k8s/{kind} has: {present})")
    return Variant(name, overlays[0], tuple(components))


def variants(k8s: Path = paths.K8S) -> tuple[Variant, ...]:
    """Every committed variant (k8s/variants/*), and each overlay that no variant ships alone,
    sorted by name."""
    folder = k8s / VARIANTS_DIR
    found = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    shipped = [read_variant(k8s, name) for name in found]
    alone = {item.overlay for item in shipped if not item.components}
    names = {item.name for item in shipped}
    checked = []
    for overlay in sorted(p.name for p in (k8s / "overlays").iterdir() if p.is_dir()):
        if overlay in alone:
            continue
        if overlay in names:
            raise VariantError(f"k8s/variants/{overlay} adds components to another overlay, but overlay "
                               f"{overlay} is rendered alone under the same name: rename the folder")
        checked.append(Variant(overlay, overlay, complete=False))
    return tuple(sorted([*shipped, *checked], key=lambda item: item.name))


def shipped(k8s: Path = paths.K8S) -> tuple[Variant, ...]:
    """The variants an environment may deploy: the folders under k8s/variants."""
    return tuple(item for item in variants(k8s) if item.complete)


def variant(name: str, k8s: Path = paths.K8S) -> Variant:
    known = variants(k8s)
    for candidate in known:
        if candidate.name == name:
            return candidate
    raise KeyError(f"unknown variant {name!r}; valid: {', '.join(v.name for v in known)}")


def throwaway_secrets() -> str:
    """A dev secrets.env with fresh random values, for renders that are never applied.

    The same format and generator as `invoke env-init` (a real dev deploy copies .noa/dev.env).
    """
    return envfile.render("validation", secret_values(envfile.fresh_values("dev")))


def secret_values(values: dict[str, str]) -> dict[str, str]:
    """The noa-secrets keys and values from an env file's values (derived ones computed)."""
    merged = {**values, **envfile.derived_values(values)}
    return {key: merged[key] for key in SECRET_KEYS if merged.get(key)}


def setting_values(values: dict[str, str]) -> dict[str, str]:
    """The noa-config keys an env file sets: every non-secret setting a pod reads (the ports stay
    the manifests', which the probes and Services name)."""
    pods = {*env_catalogue.APP_SERVICES, env_catalogue.LLAMA, env_catalogue.UI}
    fixed = set(env_catalogue.PORT_VARIABLES.values())
    chosen = {}
    for key, value in values.items():
        with contextlib.suppress(KeyError):
            declared = env_catalogue.variable(key)
            if value and not declared.secret and declared.services & pods and key not in fixed:
                chosen[key] = value
    return chosen


def stage(source: Path, dest: Path) -> Path:
    """Copy the k8s tree (the committed variants included) to dest/k8s with throwaway dev secrets."""
    staged = dest / "k8s"
    shutil.copytree(source, staged, ignore=shutil.ignore_patterns("secrets.env"))
    (staged / DEV_SECRETS_FILE).write_text(throwaway_secrets())
    return staged


def variant_dir(staged: Path, item: Variant) -> Path:
    return staged / item.directory


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
    source: Path, out: Path, chosen: Sequence[Variant] | None = None, kubectl: str = "kubectl"
) -> dict[str, Path]:
    """Render each variant of the k8s tree at `source` (default: all it holds) to out/<variant>.yaml,
    a kubectl per core at a time."""
    chosen = variants(source) if chosen is None else chosen
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="noa-k8s-") as scratch:
        staged = stage(source, Path(scratch))
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            # map() raises the first failure in the variants' order.
            texts = list(pool.map(lambda item: render_variant(staged, item, kubectl), chosen))
    written: dict[str, Path] = {}
    for item, rendered in zip(chosen, texts, strict=True):
        path = out / f"{item.name}.yaml"
        path.write_text(rendered)
        written[item.name] = path
    return written


def render_variant(staged: Path, item: Variant, kubectl: str = "kubectl") -> str:
    """One variant of a staged tree; a failure names the variant."""
    try:
        return render(variant_dir(staged, item), kubectl)
    except RenderError as error:
        raise RenderError(f"{item.name}: {error}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render every shipped Kubernetes variant to files.")
    parser.add_argument("--k8s", type=Path, default=paths.K8S,
                        help="the k8s tree (default: the repository's k8s/)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory")
    parser.add_argument("--variant", action="append", help="only this variant (repeatable)")
    args = parser.parse_args(argv)
    try:
        chosen = [variant(name, args.k8s) for name in args.variant] if args.variant else None
        if args.out.exists():
            for stale in args.out.glob("*.yaml"):
                stale.unlink()
        written = render_variants(args.k8s, args.out, chosen)
    except KeyError as error:
        print(f"render: {error.args[0]}", file=sys.stderr)
        return 1
    except (RenderError, VariantError) as error:
        print(f"render: {error}", file=sys.stderr)
        return 1
    for name, path in written.items():
        print(f"rendered {name:<34} {count_objects(path.read_text()):>3} objects  {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
