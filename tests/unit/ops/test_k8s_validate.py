"""noa_ops.k8s_validate's kubeconform path (a stand-in binary), and what the in-process path
reads once.

The kubernetes-validate path and the real renders are exercised by tests/policy (nox -s validate).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml

from noa_ops import k8s_validate

REPORT = {
    "resources": [
        {
            "filename": "prod.yaml",
            "kind": "Deployment",
            "name": "mcp",
            "version": "apps/v1",
            "status": "statusInvalid",
            "msg": "For field spec.template.spec.containers.0: Additional property "
            "imagePullPolicey is not allowed",
        },
        {
            "filename": "prod.yaml",
            "kind": "ExternalSecret",
            "name": "noa-secrets",
            "version": "v1",
            "status": "statusSkipped",
            "msg": "",
        },
    ],
    "summary": {"valid": 47, "invalid": 1, "errors": 0, "skipped": 1},
}


@pytest.fixture
def fake_kubeconform(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    calls = tmp_path / "calls"
    script = tmp_path / "bin" / "kubeconform"
    script.parent.mkdir()
    script.write_text(
        f"#!/bin/sh\necho \"$@\" >> {calls}\ncat <<'JSON'\n{json.dumps(REPORT)}\nJSON\nexit 1\n"
    )
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{script.parent}{os.pathsep}{os.environ['PATH']}")
    return calls


def test_kubeconform_runs_when_on_path_with_one_report_format(fake_kubeconform: Path, tmp_path: Path) -> None:
    manifest = tmp_path / "prod.yaml"
    manifest.write_text("kind: List\n")
    report = k8s_validate.validate([manifest])
    assert report.engine == "kubeconform"
    assert not report.ok
    assert report.skipped == {"ExternalSecret"}
    assert report.checked == 48
    assert report.findings[0].line() == (
        "prod.yaml: Deployment/mcp (Kubernetes 1.30.0): For field spec.template.spec.containers.0: "
        "Additional property imagePullPolicey is not allowed"
    )
    assert {f.version for f in report.findings} == set(k8s_validate.KUBERNETES_VERSIONS)
    calls = fake_kubeconform.read_text().splitlines()
    assert len(calls) == len(k8s_validate.KUBERNETES_VERSIONS)
    assert all("-strict" in call and "-skip ExternalSecret,SealedSecret" in call for call in calls)


def test_kubeconform_uses_bundled_schemas_when_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        k8s_validate, "bundled_schema_location", lambda version: f"/schemas/v{version}/x.json"
    )
    command = k8s_validate.kubeconform_command("kubeconform", "1.37.0", ["a.yaml"])
    assert command[command.index("-schema-location") + 1] == "/schemas/v1.37.0/x.json"
    assert command[command.index("-kubernetes-version") + 1] == "1.37.0"
    assert command[-1] == "a.yaml"


def test_kubeconform_also_reads_the_vendored_custom_resource_schemas() -> None:
    """A second location, after the built-in kinds': the ServiceMonitor and PrometheusRule schemas."""
    command = k8s_validate.kubeconform_command("kubeconform", "1.30.0", ["a.yaml"])
    locations = [command[i + 1] for i, word in enumerate(command) if word == "-schema-location"]
    assert locations[-1] == k8s_validate.CRD_SCHEMA_LOCATION
    sample = locations[-1].replace("{{ .Group }}", "monitoring.coreos.com").replace(
        "{{ .ResourceKind }}", "servicemonitor").replace("{{ .ResourceAPIVersion }}", "v1")
    assert Path(sample).is_file()
    assert "ServiceMonitor" not in command[command.index("-skip") + 1]


def test_explicit_kubeconform_engine_needs_the_binary(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="kubeconform is not on PATH"):
        k8s_validate.validate([tmp_path / "x.yaml"], engine="kubeconform")


CONFIG_MAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": {"k": "v"}}


def test_in_process_validation_reads_each_schema_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two runs over two versions: the definitions and the ConfigMap schema are read once per version."""
    from kubernetes_validate import utils

    # The library's own reader, uncached however earlier tests left it; restored after the test.
    reader = getattr(utils.schema_contents, "__wrapped__", utils.schema_contents)
    monkeypatch.setattr(utils, "schema_contents", reader)
    manifest = tmp_path / "a.yaml"
    manifest.write_text(yaml.safe_dump(CONFIG_MAP))
    misspelt = tmp_path / "b.yaml"
    misspelt.write_text(yaml.safe_dump({**CONFIG_MAP, "dta": {"k": "v"}}))
    assert k8s_validate.validate([manifest], engine="kubernetes-validate").ok
    report = k8s_validate.validate([misspelt], engine="kubernetes-validate")
    assert [f.version for f in report.findings] == list(k8s_validate.KUBERNETES_VERSIONS)
    assert all("'dta' was unexpected" in f.message for f in report.findings)
    reads = utils.schema_contents.cache_info()
    assert reads.misses == 2 * len(k8s_validate.KUBERNETES_VERSIONS)


def test_manifests_load_as_the_safe_loader_loads_them() -> None:
    text = "kind: A\nvalue: 010\nwhen: 2024-01-01\n---\n---\nkind: B\nlist: [1, 'x', null]\n"
    assert k8s_validate.load_manifests(text) == list(yaml.safe_load_all(text))
