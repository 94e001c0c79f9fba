"""Strict JSON schemas for the custom resources we validate, made from their CRDs.

The Prometheus Operator's CRDs (ServiceMonitor, PrometheusRule) come from its Go module at the
pinned version, through the Go module proxy (`go mod download`), which is the one place they are
published as files. Each CRD's openAPIV3Schema becomes a JSON schema in which every object that
lists its properties admits no others (as kubectl's strict field validation does), unless the CRD
marks it x-kubernetes-preserve-unknown-fields. The results are committed under noa_ops/schemas/
(offline validation needs them); `python -m noa_ops.crd_schemas` rewrites them from the pinned
version, and a unit test fails when a vendored schema names another version.

Layout: schemas/<group>/<kind lowercased>_<version>.json, which is also the kubeconform
-schema-location template {{ .Group }}/{{ .ResourceKind }}_{{ .ResourceAPIVersion }}.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SCHEMA_DIR = Path(__file__).parent / "schemas"
# The key each vendored schema carries, naming the module version and file it was made from.
SOURCE_KEY = "x-noa-source"


@dataclass(frozen=True)
class CrdSource:
    module: str
    version: str
    files: tuple[str, ...]  # CRD files inside the module


PROMETHEUS_OPERATOR = CrdSource(
    "github.com/prometheus-operator/prometheus-operator",
    "v0.85.0",
    (
        "example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml",
        "example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml",
    ),
)
SOURCES: tuple[CrdSource, ...] = (PROMETHEUS_OPERATOR,)


class CrdSchemaError(RuntimeError):
    """The module could not be fetched or a file in it is no CRD: one line saying which."""


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """An OpenAPI v3 schema of a CRD as a strict JSON schema (a new dict; the input is unchanged)."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "properties":
            out[key] = {name: strict(item) for name, item in value.items()}
        elif key in ("items", "additionalProperties", "not") and isinstance(value, dict):
            out[key] = strict(value)
        elif key in ("allOf", "anyOf", "oneOf"):
            out[key] = [strict(item) for item in value]
        else:
            out[key] = value
    if out.pop("nullable", False) and "type" in out:
        out["type"] = [out["type"], "null"]
    if out.get("x-kubernetes-int-or-string") and "type" not in out and "anyOf" not in out:
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    preserve = out.get("x-kubernetes-preserve-unknown-fields") is True
    if "properties" in out and "additionalProperties" not in out and not preserve:
        out["additionalProperties"] = False
    return out


def schemas_of_crd(crd: dict[str, Any], source: str) -> dict[Path, dict[str, Any]]:
    """{relative path: strict schema} for each served version of one CustomResourceDefinition."""
    if crd.get("kind") != "CustomResourceDefinition":
        raise CrdSchemaError(f"{source}: not a CustomResourceDefinition")
    spec = crd["spec"]
    kind = str(spec["names"]["kind"])
    schemas = {}
    for version in spec["versions"]:
        if not version.get("served", True):
            continue
        schema = strict(version["schema"]["openAPIV3Schema"])
        schema[SOURCE_KEY] = source
        schemas[Path(spec["group"]) / f"{kind.lower()}_{version['name']}.json"] = schema
    return schemas


def module_dir(source: CrdSource, go: str = "go") -> Path:
    """The pinned module's directory in the Go module cache (downloaded through the proxy once)."""
    command = [go, "mod", "download", "-json", f"{source.module}@{source.version}"]
    try:
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise CrdSchemaError(f"{go} not found: install Go to fetch {source.module}") from None
    try:
        info = json.loads(result.stdout or "{}")
    except json.JSONDecodeError:
        info = {}
    if result.returncode != 0 or "Dir" not in info:
        reason = info.get("Error") or (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise CrdSchemaError(f"go mod download {source.module}@{source.version} failed: {reason}")
    return Path(info["Dir"])


def expected(sources: Sequence[CrdSource] = SOURCES, go: str = "go") -> dict[Path, dict[str, Any]]:
    """Every vendored schema, by path relative to SCHEMA_DIR, as the pinned modules make it."""
    schemas: dict[Path, dict[str, Any]] = {}
    for source in sources:
        root = module_dir(source, go)
        for name in source.files:
            path = root / name
            if not path.is_file():
                raise CrdSchemaError(f"{source.module}@{source.version} has no {name}")
            origin = f"{source.module}@{source.version}/{name}"
            schemas |= schemas_of_crd(yaml.safe_load(path.read_text()), origin)
    return schemas


def dump(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=1, sort_keys=True) + "\n"


def write(schemas: dict[Path, dict[str, Any]], root: Path = SCHEMA_DIR) -> list[Path]:
    written = []
    for relative, schema in sorted(schemas.items()):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump(schema))
        written.append(path)
    return written


def vendored(root: Path = SCHEMA_DIR) -> dict[Path, dict[str, Any]]:
    """The committed schemas, by path relative to root."""
    return {path.relative_to(root): json.loads(path.read_text()) for path in sorted(root.rglob("*.json"))}


def schema_path(api_version: str, kind: str, root: Path = SCHEMA_DIR) -> Path | None:
    """The vendored schema for an apiVersion (group/version) and kind, if there is one."""
    group, _, version = api_version.rpartition("/")
    path = root / group / f"{kind.lower()}_{version}.json"
    return path if group and path.is_file() else None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Rewrite noa_ops/schemas/ from the pinned CRD modules.")
    parser.add_argument("--go", default="go", help="the go binary (default: go on PATH)")
    args = parser.parse_args(argv)
    try:
        schemas = expected(go=args.go)
    except CrdSchemaError as error:
        print(f"crd-schemas: {error}", file=sys.stderr)
        return 1
    for stale in set(vendored()) - set(schemas):
        (SCHEMA_DIR / stale).unlink()
    for path in write(schemas):
        print(f"wrote {path.relative_to(SCHEMA_DIR.parent.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
