"""Strict schema validation of rendered manifests: unknown fields are errors.

kubeconform runs (by subprocess) when it is on PATH; otherwise kubernetes-validate runs in this
process. Both read the same strict JSON schemas, the ones kubernetes-validate bundles (kubeconform
is pointed at them, so it needs no network either), and both produce the same report: one line
per finding, naming the file, the object, the Kubernetes version and the field.

We support the oldest and the newest Kubernetes minor that kubernetes-validate bundles a schema
for at the pinned version, 1.30 and 1.37: every object must pass both.

Custom resources with a vendored schema (noa_ops/crd_schemas.py: the Prometheus Operator's
ServiceMonitor and PrometheusRule, from its CRDs at the pinned version) are validated as strictly:
their spec against that schema, and in process their metadata as the ObjectMeta of each
Kubernetes version (kubeconform reads the CRD's own, which leaves metadata open).
Those in CRD_KINDS have no published schema and are reported as skipped.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from noa_ops import crd_schemas

KUBERNETES_VERSIONS: tuple[str, ...] = ("1.30.0", "1.37.0")
# Custom resources whose controllers we do not own and whose schemas neither tool bundles. They are
# reported as skipped; a missing schema for any other kind is a finding.
CRD_KINDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("external-secrets.io/v1", "ExternalSecret"),
        ("bitnami.com/v1alpha1", "SealedSecret"),
    }
)


# kubeconform's template for the vendored custom-resource schemas (noa_ops/crd_schemas.py's layout).
CRD_SCHEMA_LOCATION = (
    f"{crd_schemas.SCHEMA_DIR}/{{{{ .Group }}}}/{{{{ .ResourceKind }}}}_{{{{ .ResourceAPIVersion }}}}.json"
)


@dataclass(frozen=True)
class Finding:
    source: str
    kind: str
    name: str
    version: str
    message: str

    def line(self) -> str:
        return f"{self.source}: {self.kind}/{self.name} (Kubernetes {self.version}): {self.message}"


@dataclass
class Report:
    engine: str
    versions: tuple[str, ...]
    checked: int = 0
    skipped: set[str] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def lines(self) -> list[str]:
        summary = (
            f"schema ({self.engine}, strict, Kubernetes {' and '.join(self.versions)}): "
            f"{self.checked} objects checked, {len(self.findings)} findings"
        )
        if self.skipped:
            summary += (
                f"; skipped custom resources without a bundled schema: {', '.join(sorted(self.skipped))}"
            )
        return [finding.line() for finding in self.findings] + [summary]


@dataclass(frozen=True)
class Document:
    source: str
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body.get("kind", "?"))

    @property
    def name(self) -> str:
        metadata = self.body.get("metadata") or {}
        return str(metadata.get("name", "?")) if isinstance(metadata, dict) else "?"

    @property
    def is_known_crd(self) -> bool:
        return (str(self.body.get("apiVersion")), self.kind) in CRD_KINDS

    @property
    def crd_schema(self) -> Path | None:
        """The vendored schema of a custom resource (noa_ops/schemas), if it has one."""
        return crd_schemas.schema_path(str(self.body.get("apiVersion")), self.kind)


def load_manifests(text: str) -> list[Any]:
    """The documents of a YAML stream, safely loaded by libyaml where PyYAML was built with it
    (seven times the pure-Python loader on the renders)."""
    return list(yaml.load_all(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader)))


def load_documents(paths: Iterable[Path]) -> list[Document]:
    documents = []
    for path in paths:
        for body in load_manifests(path.read_text()):
            if body is None:
                continue
            if not isinstance(body, dict):
                raise ValueError(f"{path}: a document is not a mapping")
            documents.append(Document(str(path), body))
    return documents


def _unique(documents: Sequence[Document]) -> list[Document]:
    """The variants share most objects verbatim; each distinct body is validated once."""
    seen: set[str] = set()
    unique = []
    for document in documents:
        key = json.dumps(document.body, sort_keys=True)
        if key not in seen:
            seen.add(key)
            unique.append(document)
    return unique


def _field_path(parts: Iterable[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "(top level)"


@cache
def _crd_validator(path: Path) -> Any:
    import jsonschema

    schema = json.loads(path.read_text())
    return jsonschema.Draft202012Validator(schema)


def _custom_resource_findings(document: Document, schema: Path, version: str) -> list[Finding]:
    """A custom resource against its CRD's strict schema, its metadata against this version's
    ObjectMeta (kubernetes-validate's, through a ConfigMap that carries nothing else)."""
    import kubernetes_validate

    errors = sorted(_crd_validator(schema).iter_errors(document.body), key=lambda e: list(e.absolute_path))
    findings = [
        Finding(document.source, document.kind, document.name, version,
                f"{_field_path(error.absolute_path)}: {error.message}")
        for error in errors
    ]
    carrier = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": document.body.get("metadata")}
    try:
        kubernetes_validate.validate(carrier, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        findings.append(Finding(document.source, document.kind, document.name, version,
                                f"{_field_path(error.path)}: {error.message}"))
    return findings


def _validate_one_version(documents: Sequence[Document], version: str) -> list[Finding]:
    import kubernetes_validate

    findings = []
    for document in documents:
        schema = document.crd_schema
        if schema is not None:
            findings += _custom_resource_findings(document, schema, version)
            continue
        try:
            kubernetes_validate.validate(document.body, version, strict=True)
        except kubernetes_validate.SchemaNotFoundError as error:
            findings.append(
                Finding(document.source, document.kind, document.name, version, f"no schema: {error.message}")
            )
        except kubernetes_validate.ValidationError as error:
            findings.append(
                Finding(
                    document.source,
                    document.kind,
                    document.name,
                    version,
                    f"{_field_path(error.path)}: {error.message}",
                )
            )
    return findings


def read_schemas_once() -> None:
    """kubernetes-validate reads and parses its schema files on every validate() call (the
    definitions alone are 1.8 MB), ten times the validation itself: keep each file it read."""
    from kubernetes_validate import utils

    if not hasattr(utils.schema_contents, "cache_info"):
        utils.schema_contents = cache(utils.schema_contents)


def validate_in_process(documents: Sequence[Document], versions: Sequence[str]) -> Report:
    """kubernetes-validate's Python API (installed in the validate session), one version after another."""
    read_schemas_once()
    report = Report("kubernetes-validate", tuple(versions))
    checked = []
    for document in _unique(documents):
        if document.is_known_crd:
            report.skipped.add(document.kind)
        else:
            checked.append(document)
    report.checked = len(checked)
    for version in versions:
        report.findings.extend(_validate_one_version(checked, version))
    return report


def bundled_schema_location(version: str) -> str | None:
    """kubernetes-validate's strict schemas as a kubeconform -schema-location, if it is installed."""
    try:
        from importlib.resources import files

        root = files("kubernetes_validate") / "kubernetes-json-schema" / f"v{version}-local-strict"
    except ModuleNotFoundError:
        return None
    return f"{root}/{{{{ .ResourceKind }}}}{{{{ .KindSuffix }}}}.json"


def kubeconform_command(binary: str, version: str, paths: Sequence[str]) -> list[str]:
    command = [
        binary,
        "-strict",
        "-summary",
        "-output",
        "json",
        "-kubernetes-version",
        version,
        "-skip",
        ",".join(sorted(kind for _, kind in CRD_KINDS)),
    ]
    location = bundled_schema_location(version)
    if location:
        command += ["-schema-location", location]
    command += ["-schema-location", CRD_SCHEMA_LOCATION]
    return [*command, *paths]


def validate_with_kubeconform(binary: str, paths: Sequence[Path], versions: Sequence[str]) -> Report:
    report = Report("kubeconform", tuple(versions))
    for version in versions:
        result = subprocess.run(
            kubeconform_command(binary, version, [str(p) for p in paths]),
            capture_output=True,
            text=True,
            check=False,
        )
        try:
            output = json.loads(result.stdout or "{}")
        except json.JSONDecodeError:
            message = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"kubeconform {version} gave no JSON report: {message[0]}") from None
        for resource in output.get("resources") or []:
            status = resource.get("status")
            if status == "statusSkipped":
                report.skipped.add(str(resource.get("kind")))
            elif status in ("statusInvalid", "statusError"):
                report.findings.append(
                    Finding(
                        str(resource.get("filename")),
                        str(resource.get("kind")),
                        str(resource.get("name")),
                        version,
                        str(resource.get("msg")),
                    )
                )
        summary = output.get("summary") or {}
        report.checked = max(
            report.checked,
            int(summary.get("valid", 0)) + int(summary.get("invalid", 0)) + int(summary.get("errors", 0)),
        )
        if result.returncode not in (0, 1):
            raise RuntimeError(f"kubeconform {version} failed (exit {result.returncode})")
    return report


def validate(
    paths: Sequence[Path], versions: Sequence[str] = KUBERNETES_VERSIONS, engine: str = "auto"
) -> Report:
    binary = shutil.which("kubeconform") if engine in ("auto", "kubeconform") else None
    if engine == "kubeconform" and binary is None:
        raise RuntimeError("kubeconform is not on PATH")
    if binary:
        return validate_with_kubeconform(binary, paths, versions)
    return validate_in_process(load_documents(paths), versions)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Validate rendered manifests strictly against schemas.")
    parser.add_argument("paths", nargs="+", type=Path, help="YAML files (directories: their *.yaml)")
    parser.add_argument(
        "--kubernetes-version",
        action="append",
        dest="versions",
        help=f"repeatable; default {' and '.join(KUBERNETES_VERSIONS)}",
    )
    parser.add_argument("--engine", choices=("auto", "kubeconform", "kubernetes-validate"), default="auto")
    args = parser.parse_args(argv)
    paths: list[Path] = []
    for path in args.paths:
        paths.extend(sorted(path.glob("*.yaml")) if path.is_dir() else [path])
    if not paths:
        print("schema: no manifests to validate", file=sys.stderr)
        return 1
    try:
        report = validate(paths, tuple(args.versions or KUBERNETES_VERSIONS), args.engine)
    except (RuntimeError, ValueError, yaml.YAMLError) as error:
        print(f"schema: {error}", file=sys.stderr)
        return 1
    print("\n".join(report.lines()))
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
