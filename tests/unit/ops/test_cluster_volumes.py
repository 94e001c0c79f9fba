"""The local cluster's provisioner: which claims it serves, the volume it makes, what it deletes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from noa_ops.cluster import ClusterError, lifecycle, render, volumes
from noa_ops.cluster.config import REPO_ROOT as REPO
from noa_ops.cluster.config import ClusterConfig


@pytest.fixture
def cfg(tmp_path: Path) -> ClusterConfig:
    return ClusterConfig.from_env({}, state_dir=tmp_path / "state")


def claim(name: str = "data-postgres-0", *, storage_class: str = "local", phase: str = "Pending",
          volume: str = "", deleting: bool = False) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": "noa-server-dev", "uid": f"uid-{name}"}
    if deleting:
        meta["deletionTimestamp"] = "2026-12-01T00:00:00Z"
    spec: dict[str, Any] = {"storageClassName": storage_class, "accessModes": ["ReadWriteOnce"],
                            "resources": {"requests": {"storage": "20Gi"}}}
    if volume:
        spec["volumeName"] = volume
    return {"metadata": meta, "spec": spec, "status": {"phase": phase}}


def test_only_pending_unbound_claims_of_the_class_are_served() -> None:
    served = claim("served")
    listing = {"items": [served, claim("other-class", storage_class="locall"), claim("bound", phase="Bound"),
                         claim("named", volume="pv-1"), claim("going", deleting=True)]}
    assert volumes.pending_claims(listing) == [served]


def test_the_volume_is_bound_to_its_claim_on_this_node_in_the_volumes_directory(cfg: ClusterConfig) -> None:
    volume = volumes.volume_for(cfg, claim())
    assert volume["metadata"]["name"] == "pvc-uid-data-postgres-0"
    spec = volume["spec"]
    assert spec["claimRef"] == {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                "namespace": "noa-server-dev", "name": "data-postgres-0",
                                "uid": "uid-data-postgres-0"}
    assert spec["capacity"] == {"storage": "20Gi"}
    # `local`, not hostPath: the kubelet applies the pod's fsGroup to it.
    assert spec["local"] == {"path": str(cfg.state_dir / "volumes" / "pvc-uid-data-postgres-0")}
    assert "hostPath" not in spec
    term = spec["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"][0]
    assert term == {"key": "kubernetes.io/hostname", "operator": "In", "values": [cfg.node_name]}
    assert volumes.host_path(cfg, volume) == cfg.state_dir / "volumes" / "pvc-uid-data-postgres-0"


def _volume(path: str, phase: str = "Released", provisioner: str = volumes.PROVISIONER) -> dict[str, Any]:
    return {"metadata": {"name": "pvc-x", "annotations": {"pv.kubernetes.io/provisioned-by": provisioner}},
            "spec": {"local": {"path": path}}, "status": {"phase": phase}}


def test_only_released_volumes_of_this_provisioner_are_deleted(cfg: ClusterConfig) -> None:
    mine = _volume("/x")
    listing = {"items": [mine, _volume("/y", phase="Bound"), _volume("/z", provisioner="noa.local/volume")]}
    assert volumes.released_volumes(listing) == [mine]


@pytest.mark.parametrize("path", ["/", "{state}", "{state}/volumes", "{state}/volumes/a/b",
                                  "{state}/volumes-old/pvc-x", "/var/lib/postgresql"])
def test_a_volume_outside_the_volumes_directory_is_never_removed(cfg: ClusterConfig, path: str) -> None:
    with pytest.raises(ClusterError, match="not one of ours"):
        volumes.host_path(cfg, _volume(path.format(state=cfg.state_dir)))


def test_the_class_is_the_default_and_up_applies_it(cfg: ClusterConfig) -> None:
    docs = list(yaml.safe_load_all(render.bootstrap_manifests(cfg)))
    classes = [doc for doc in docs if doc["kind"] == "StorageClass"]
    assert classes == [volumes.storage_class()]
    assert classes[0]["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"
    assert classes[0]["provisioner"] == volumes.PROVISIONER


def test_up_starts_the_provisioner_after_the_api_and_down_stops_every_process() -> None:
    names = [spec.name for spec in lifecycle.SPECS]
    assert names.index("volumes") > names.index("kube-apiserver")
    assert sorted(names) == sorted([*lifecycle.STOP_ORDER, *lifecycle.LATE_STOP_ORDER])


def test_a_file_is_put_whole_and_read_only_and_never_over_one_already_there(tmp_path: Path) -> None:
    source = tmp_path / "model.gguf"
    source.write_bytes(b"GGUF" + bytes(range(256)) * 4096)
    volume = tmp_path / "volume"
    volume.mkdir()
    placed = volumes.put_file(volume, source, "m.gguf")
    assert placed.read_bytes() == source.read_bytes()
    assert placed.stat().st_mode & 0o777 == 0o444
    assert sorted(p.name for p in volume.iterdir()) == ["m.gguf"]
    source.write_bytes(b"GGUF other")
    assert volumes.put_file(volume, source, "m.gguf").read_bytes() != b"GGUF other"


def test_the_dev_environment_targets_the_local_cluster_it_writes() -> None:
    """invoke.yaml repeats two facts of noa_ops/cluster/config.py: the context `up` writes and the
    registry it runs. This ties them, so changing one without the other fails here."""
    dev = yaml.safe_load((REPO / "invoke.yaml").read_text())["noa"]["environments"]["dev"]
    defaults = ClusterConfig()
    assert dev["kube_context"] == defaults.context
    assert dev["registry"].split("/", 1)[0] == defaults.registry
