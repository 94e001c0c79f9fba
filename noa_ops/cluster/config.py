"""Settings of the local cluster: paths, addresses, ports and names, each overridable from the
environment (NOA_CLUSTER_<NAME>), plus the paths derived from them."""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
MODULES_DIR = REPO_ROOT / "cluster" / "modules"
MANIFESTS_DIR = REPO_ROOT / "cluster" / "manifests"


@dataclass(frozen=True)
class ClusterConfig:
    """One local cluster. Defaults are chosen to collide with nothing else on the machine."""

    state_dir: Path = Path("/var/lib/noa-cluster")
    cache_dir: Path = Path("/var/cache/noa-cluster")
    netns: str = "noa-cluster"
    node_name: str = "noa-local"
    # The node's address inside the namespace (on a veth pair whose both ends stay inside it).
    node_ip: str = "10.250.0.2"
    node_prefix: int = 24
    pod_cidr: str = "10.244.0.0/24"
    service_cidr: str = "10.96.0.0/16"
    kubernetes_service_ip: str = "10.96.0.1"
    dns_service_ip: str = "10.96.0.10"
    cluster_domain: str = "cluster.local"
    api_port: int = 6443
    # The API server as the host sees it: 127.0.0.1:host_api_port, forwarded into the namespace.
    host_api_port: int = 16443
    # docker-registry listens on the host's 127.0.0.1:registry_port; the same address inside the
    # namespace is forwarded to it, so `127.0.0.1:PORT/noa/...` means one registry on both sides.
    registry_port: int = 5055
    context: str = "noa-local"
    go: str = "/usr/local/go/bin/go"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> ClusterConfig:
        """Defaults, then NOA_CLUSTER_<FIELD> variables, then explicit overrides (None = unset)."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for field in fields(cls):
            raw = env.get(f"NOA_CLUSTER_{field.name.upper()}")
            if raw is None:
                continue
            default = getattr(cls, field.name)
            if isinstance(default, Path):
                values[field.name] = Path(raw)
            elif isinstance(default, int):
                values[field.name] = int(raw)
            else:
                values[field.name] = raw
        values.update({key: value for key, value in overrides.items() if value is not None})
        return replace(cls(), **values)  # type: ignore[arg-type]

    # Derived paths -----------------------------------------------------------------------------
    @property
    def pki_dir(self) -> Path:
        return self.state_dir / "pki"

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def pids_dir(self) -> Path:
        return self.state_dir / "pids"

    @property
    def conf_dir(self) -> Path:
        return self.state_dir / "conf"

    @property
    def kubeconfig(self) -> Path:
        """The operator's kubeconfig (context `context`, server 127.0.0.1:host_api_port)."""
        return self.state_dir / "kubeconfig"

    @property
    def run_dir(self) -> Path:
        """Inside the private mount namespace only: a tmpfs mounted over /run there."""
        return Path("/run/noa-cluster")

    @property
    def containerd_socket(self) -> Path:
        return self.run_dir / "containerd" / "containerd.sock"

    @property
    def api_url(self) -> str:
        return f"https://{self.node_ip}:{self.api_port}"

    @property
    def host_api_url(self) -> str:
        return f"https://127.0.0.1:{self.host_api_port}"

    @property
    def registry(self) -> str:
        return f"127.0.0.1:{self.registry_port}"
