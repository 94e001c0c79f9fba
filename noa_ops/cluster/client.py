"""kubectl on the local cluster: which binary, which context, and one way to run it (for `up`,
`status` and the volume provisioner alike)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess

import yaml

from noa_ops.cluster import ClusterError, build
from noa_ops.cluster.config import ClusterConfig


def written_context(cfg: ClusterConfig) -> str:
    """The context of the kubeconfig `up` wrote (a later --context may name another one)."""
    try:
        loaded = yaml.safe_load(cfg.kubeconfig.read_text())
    except (OSError, yaml.YAMLError):
        return cfg.context
    return str(loaded.get("current-context") or cfg.context) if isinstance(loaded, dict) else cfg.context


def kubectl_binary(cfg: ClusterConfig) -> str:
    """NOA_CLUSTER_KUBECTL, else the kubectl built with the cluster (same version), else PATH's."""
    chosen = os.environ.get("NOA_CLUSTER_KUBECTL")
    if chosen:
        return chosen
    with contextlib.suppress(ClusterError):
        built = build.built_binary(cfg, "kubectl")
        if built is not None:
            return str(built)
    found = shutil.which("kubectl")
    if found is None:
        raise ClusterError("no kubectl: `invoke cluster build` builds one (or set NOA_CLUSTER_KUBECTL)")
    return found


def kubectl(cfg: ClusterConfig, *args: str, stdin: str | None = None, check: bool = True,
            timeout: float | None = None) -> str:
    """kubectl on the cluster as its admin (the kubeconfig `up` wrote); ClusterError if it fails
    and `check`; subprocess.TimeoutExpired after `timeout` seconds (default: none)."""
    command = [kubectl_binary(cfg), "--kubeconfig", str(cfg.kubeconfig), "--context", written_context(cfg),
               *args]
    result = subprocess.run(command, input=stdin, capture_output=True, text=True, check=False,
                            timeout=timeout)
    if check and result.returncode != 0:
        raise ClusterError(f"kubectl {' '.join(args)} failed: {result.stderr.strip()}")
    return result.stdout
