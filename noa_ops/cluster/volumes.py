"""The cluster's storage: a default StorageClass whose claims this small provisioner serves.

Every pending claim of the class gets a `local` PersistentVolume, a directory under
<state>/volumes/<volume> on the node, bound to that claim alone. Kubernetes applies the pod's
fsGroup to `local` volumes (a hostPath would stay root's), so the non-root workloads can write.
A volume whose claim is gone (reclaim policy Delete) loses its directory, then its object.
`up` starts it as one of the cluster's processes (`python -m noa_ops.cluster.volumes`); it polls
the API through the operator kubeconfig every POLL seconds and writes <state>/volumes.ready after
its first pass, which is its health.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from noa_ops.cluster import ClusterError, client
from noa_ops.cluster.config import ClusterConfig

CLASS = "local"
PROVISIONER = "noa.local/volumes"
POLL = 1.0
KUBECTL_TIMEOUT = 60.0  # a pass that hangs on the API gives up and the next one tries again


def storage_class() -> dict[str, Any]:
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": CLASS,
                         "annotations": {"storageclass.kubernetes.io/is-default-class": "true"}},
            "provisioner": PROVISIONER, "reclaimPolicy": "Delete",
            # One node: binding at once lets a harness fill a claim before any pod starts.
            "volumeBindingMode": "Immediate"}


def volumes_dir(cfg: ClusterConfig) -> Path:
    return cfg.state_dir / "volumes"


def volume_for(cfg: ClusterConfig, claim: dict[str, Any]) -> dict[str, Any]:
    """The PersistentVolume that serves `claim`: named after its uid, bound to it by claimRef."""
    meta = claim["metadata"]
    name = f"pvc-{meta['uid']}"
    return {
        "apiVersion": "v1", "kind": "PersistentVolume",
        "metadata": {"name": name, "annotations": {"pv.kubernetes.io/provisioned-by": PROVISIONER}},
        "spec": {
            "capacity": {"storage": claim["spec"]["resources"]["requests"]["storage"]},
            "accessModes": claim["spec"].get("accessModes") or ["ReadWriteOnce"],
            "volumeMode": "Filesystem",
            "persistentVolumeReclaimPolicy": "Delete",
            "storageClassName": CLASS,
            "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": meta["namespace"],
                         "name": meta["name"], "uid": meta["uid"]},
            "local": {"path": str(volumes_dir(cfg) / name)},
            "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [cfg.node_name]}]}]}},
        },
    }


def pending_claims(claims: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for item in claims.get("items", [])
            if item.get("spec", {}).get("storageClassName") == CLASS
            and not item["spec"].get("volumeName") and item.get("status", {}).get("phase") == "Pending"
            and not item["metadata"].get("deletionTimestamp")]


def released_volumes(volumes: dict[str, Any]) -> list[dict[str, Any]]:
    return [item for item in volumes.get("items", []) if _provisioner(item) == PROVISIONER
            and item.get("status", {}).get("phase") in ("Released", "Failed")]


def _provisioner(volume: dict[str, Any]) -> str:
    return str((volume["metadata"].get("annotations") or {}).get("pv.kubernetes.io/provisioned-by", ""))


def host_path(cfg: ClusterConfig, volume: dict[str, Any]) -> Path:
    """The volume's directory on this machine (refused unless it lies in the volumes directory)."""
    path = Path(volume["spec"]["local"]["path"])
    if path.parent != volumes_dir(cfg):
        raise ClusterError(f"volume {volume['metadata']['name']} is not one of ours: {path}")
    return path


def put_file(directory: Path, source: Path, name: str) -> Path:
    """Copy `source` into a volume's directory as `name`, read-only, all at once (a partial file
    under another name, then a rename); a file already there is left as it is."""
    target = directory / name
    if target.exists():
        return target
    partial = directory / f".{name}.partial"
    with source.open("rb") as reader, partial.open("wb") as writer:
        shutil.copyfileobj(reader, writer, 1 << 20)
    partial.chmod(0o444)
    partial.rename(target)
    return target


def _kubectl(cfg: ClusterConfig, *args: str, stdin: str | None = None) -> str:
    return client.kubectl(cfg, *args, stdin=stdin, timeout=KUBECTL_TIMEOUT)


def reconcile(cfg: ClusterConfig) -> list[str]:
    """One pass: provision the pending claims, delete the released volumes; what was done."""
    done = []
    for claim in pending_claims(json.loads(_kubectl(cfg, "get", "pvc", "-A", "-o", "json"))):
        volume = volume_for(cfg, claim)
        directory = host_path(cfg, volume)
        directory.mkdir(mode=0o770, parents=True, exist_ok=True)
        _kubectl(cfg, "create", "-f", "-", stdin=json.dumps(volume))
        done.append(f"provisioned {volume['metadata']['name']} for "
                    f"{claim['metadata']['namespace']}/{claim['metadata']['name']}")
    for volume in released_volumes(json.loads(_kubectl(cfg, "get", "pv", "-o", "json"))):
        shutil.rmtree(host_path(cfg, volume), ignore_errors=True)
        _kubectl(cfg, "delete", "pv", volume["metadata"]["name"], "--wait=false")
        done.append(f"deleted {volume['metadata']['name']} (its claim is gone)")
    return done


def serve(cfg: ClusterConfig) -> None:
    volumes_dir(cfg).mkdir(mode=0o700, parents=True, exist_ok=True)
    ready = cfg.state_dir / "volumes.ready"
    while True:
        try:
            for line in reconcile(cfg):
                print(time.strftime("%Y-%m-%dT%H:%M:%S"), line, flush=True)
            ready.write_text("ok\n")
        except (ClusterError, subprocess.TimeoutExpired, json.JSONDecodeError) as error:
            print(time.strftime("%Y-%m-%dT%H:%M:%S"), f"pass failed: {error}", flush=True)
        time.sleep(POLL)


if __name__ == "__main__":
    serve(ClusterConfig.from_env())
