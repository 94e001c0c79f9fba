"""noa_ops/crd_schemas.py: the vendored CRD schemas carry the pinned version and are strict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from noa_ops import crd_schemas

PINNED = f"{crd_schemas.PROMETHEUS_OPERATOR.module}@{crd_schemas.PROMETHEUS_OPERATOR.version}"
VENDORED = {
    Path("monitoring.coreos.com/servicemonitor_v1.json"),
    Path("monitoring.coreos.com/prometheusrule_v1.json"),
}


def test_the_vendored_schemas_are_the_pinned_version_s() -> None:
    schemas = crd_schemas.vendored()
    assert set(schemas) == VENDORED
    for path, schema in schemas.items():
        source = schema[crd_schemas.SOURCE_KEY]
        assert source.startswith(f"{PINNED}/"), f"{path}: from {source}; run python -m noa_ops.crd_schemas"
        assert source.removeprefix(f"{PINNED}/") in crd_schemas.PROMETHEUS_OPERATOR.files


def test_a_vendored_schema_is_what_the_converter_writes() -> None:
    """Each file is dump() of a schema (sorted keys), so a regeneration shows as a plain diff."""
    for path, schema in crd_schemas.vendored().items():
        assert (crd_schemas.SCHEMA_DIR / path).read_text() == crd_schemas.dump(schema)


def test_the_vendored_service_monitor_is_strict_where_it_names_fields() -> None:
    schema = crd_schemas.vendored()[Path("monitoring.coreos.com/servicemonitor_v1.json")]
    assert schema["additionalProperties"] is False
    spec = schema["properties"]["spec"]
    assert spec["additionalProperties"] is False
    assert spec["properties"]["endpoints"]["items"]["additionalProperties"] is False


def crd(schema: dict[str, Any], served: bool = True) -> dict[str, Any]:
    return {"kind": "CustomResourceDefinition",
            "spec": {"group": "example.com", "names": {"kind": "Widget"},
                     "versions": [{"name": "v1", "served": served, "schema": {"openAPIV3Schema": schema}}]}}


def test_objects_with_properties_admit_no_others() -> None:
    strict = crd_schemas.strict({"type": "object", "properties": {"a": {"type": "object", "properties": {}}}})
    assert strict["additionalProperties"] is False
    assert strict["properties"]["a"]["additionalProperties"] is False


def test_preserve_unknown_fields_and_maps_stay_open() -> None:
    """The near misses: an object the CRD leaves open, and a map (additionalProperties given)."""
    open_object = {"type": "object", "properties": {"a": {"type": "string"}},
                   "x-kubernetes-preserve-unknown-fields": True}
    assert "additionalProperties" not in crd_schemas.strict(open_object)
    a_map = {"type": "object", "additionalProperties": {"type": "string"}}
    assert crd_schemas.strict(a_map)["additionalProperties"] == {"type": "string"}
    assert "additionalProperties" not in crd_schemas.strict({"type": "object"})


def test_nullable_and_int_or_string_become_json_schema() -> None:
    assert crd_schemas.strict({"type": "string", "nullable": True})["type"] == ["string", "null"]
    assert crd_schemas.strict({"x-kubernetes-int-or-string": True})["anyOf"] == [
        {"type": "integer"}, {"type": "string"}]
    given = {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert crd_schemas.strict(given)["anyOf"] == given["anyOf"]


def test_each_served_version_gets_a_file_named_as_kubeconform_looks_for_it() -> None:
    schemas = crd_schemas.schemas_of_crd(crd({"type": "object", "properties": {}}), "m@v1/x.yaml")
    assert list(schemas) == [Path("example.com/widget_v1.json")]
    assert schemas[Path("example.com/widget_v1.json")][crd_schemas.SOURCE_KEY] == "m@v1/x.yaml"
    assert crd_schemas.schemas_of_crd(crd({"type": "object"}, served=False), "m@v1/x.yaml") == {}


def test_a_file_that_is_no_crd_is_one_clear_error() -> None:
    with pytest.raises(crd_schemas.CrdSchemaError, match=r"^m@v1/x.yaml: not a CustomResourceDefinition$"):
        crd_schemas.schemas_of_crd({"kind": "ConfigMap"}, "m@v1/x.yaml")


def test_schema_path_finds_the_vendored_kind_and_only_that_version() -> None:
    assert crd_schemas.schema_path("monitoring.coreos.com/v1", "ServiceMonitor") is not None
    assert crd_schemas.schema_path("monitoring.coreos.com/v1alpha1", "ServiceMonitor") is None
    assert crd_schemas.schema_path("v1", "ConfigMap") is None


def test_a_failed_download_is_one_line_naming_the_module(tmp_path: Path) -> None:
    go = tmp_path / "go"
    go.write_text('#!/bin/sh\necho \'{"Error": "module lookup disabled by GOPROXY=off"}\'\nexit 1\n')
    go.chmod(0o755)
    with pytest.raises(crd_schemas.CrdSchemaError) as caught:
        crd_schemas.module_dir(crd_schemas.PROMETHEUS_OPERATOR, str(go))
    assert str(caught.value) == (f"go mod download {PINNED} failed: module lookup disabled by GOPROXY=off")
    assert "\n" not in json.dumps(str(caught.value))
