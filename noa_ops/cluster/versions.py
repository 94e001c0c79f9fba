"""What is built: one wrapper Go module per component under cluster/modules/<name>/ (its go.mod
pins the versions, its go.sum the checksums) and the recipe for its binaries. The cache key of a
component is a hash of everything that decides its binaries, so a changed pin rebuilds it."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from noa_ops.cluster import ClusterError
from noa_ops.cluster.config import MODULES_DIR


@dataclass(frozen=True)
class Component:
    """A wrapper module and the binaries built from it (name -> Go package)."""

    name: str
    module: str  # the upstream module whose version names the component
    binaries: dict[str, str]
    cgo: bool = False
    tags: tuple[str, ...] = ()
    # Go linker -X settings; "{version}" is replaced by the pinned version of `module`.
    ldflags_x: dict[str, str] = field(default_factory=dict)
    source: str = ""  # the folder of cluster/modules it is built from, when not its name

    @property
    def directory(self) -> Path:
        return MODULES_DIR / (self.source or self.name)

    def version(self) -> str:
        return pinned_version(self.directory / "go.mod", self.module)

    def ldflags(self) -> str:
        version = self.version()
        values = {key: value.format(version=version, bare=version.lstrip("v"),
                                    major=version.lstrip("v").split(".")[0],
                                    minor=version.lstrip("v").split(".")[1])
                  for key, value in self.ldflags_x.items()}
        return " ".join(["-s", "-w", *(f"-X {key}={value}" for key, value in sorted(values.items()))])


_K8S_VERSION_VARS = {
    f"{package}.{name}": value
    for package in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
    for name, value in (("gitVersion", "{version}"), ("gitMajor", "{major}"), ("gitMinor", "{minor}"),
                        ("gitTreeState", "clean"))
}

COMPONENTS: tuple[Component, ...] = (
    # The client first and on its own: validate and the unit tests render with it
    # (scripts/bootstrap builds it alone where no kubectl is installed). Its version matches the
    # server's, whatever /usr/bin holds.
    Component("kubectl", "k8s.io/kubernetes", {"kubectl": "k8s.io/kubernetes/cmd/kubectl"},
              tags=("providerless",), ldflags_x=_K8S_VERSION_VARS, source="kubernetes"),
    Component(
        "kubernetes", "k8s.io/kubernetes",
        {name: f"k8s.io/kubernetes/cmd/{name}" for name in (
            "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy")},
        # providerless: no in-tree cloud provider code at all.
        tags=("providerless",), ldflags_x=_K8S_VERSION_VARS,
    ),
    Component("etcd", "go.etcd.io/etcd/server/v3", {"etcd": "go.etcd.io/etcd/server/v3"}),
    Component(
        "containerd", "github.com/containerd/containerd/v2",
        {"containerd": "github.com/containerd/containerd/v2/cmd/containerd",
         "containerd-shim-runc-v2": "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2",
         "ctr": "github.com/containerd/containerd/v2/cmd/ctr"},
        tags=("no_btrfs", "no_devmapper", "no_zfs"),
        ldflags_x={"github.com/containerd/containerd/v2/version.Version": "{version}",
                   "github.com/containerd/containerd/v2/version.Package": "github.com/containerd/containerd"},
    ),
    # cgo + libseccomp (Debian's libseccomp-dev to build, libseccomp2 to run): RuntimeDefault works.
    Component("runc", "github.com/opencontainers/runc", {"runc": "github.com/opencontainers/runc"},
              cgo=True, tags=("seccomp",), ldflags_x={"main.version": "{bare}"}),
    Component(
        "cni-plugins", "github.com/containernetworking/plugins",
        {name: f"github.com/containernetworking/plugins/plugins/{kind}/{name}" for kind, name in (
            ("main", "bridge"), ("main", "loopback"), ("ipam", "host-local"), ("meta", "portmap"))},
    ),
    # Our own main (cluster/modules/coredns/main.go): only the plugins the Corefile uses.
    Component("coredns", "github.com/coredns/coredns", {"coredns": "noa.local/cluster/coredns"},
              ldflags_x={"github.com/coredns/coredns/coremain.GitCommit": "{version}"}),
    Component("kube-network-policies", "sigs.k8s.io/kube-network-policies",
              {"kube-network-policies": "sigs.k8s.io/kube-network-policies/cmd"}),
    # The pod sandbox ("pause") program: a module of our own with no dependencies.
    Component("pause", "noa.local/cluster/pause", {"pause": "noa.local/cluster/pause"}),
)


def component(name: str) -> Component:
    for candidate in COMPONENTS:
        if candidate.name == name:
            return candidate
    raise ClusterError(f"unknown component {name!r}; known: {', '.join(c.name for c in COMPONENTS)}")


def pinned_version(go_mod: Path, module: str) -> str:
    """The version go.mod requires for `module` (the module's own path: "local")."""
    text = go_mod.read_text()
    if re.search(rf"^module {re.escape(module)}$", text, flags=re.MULTILINE):
        return "local"
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(module)} (v\S+)", text, flags=re.MULTILINE)
    if not match:
        raise ClusterError(f"{go_mod} does not require {module}")
    return match.group(1)


def cache_key(comp: Component, go_version: str) -> str:
    """Hash of the module's files (go.mod, go.sum, *.go), the recipe and the Go version."""
    digest = hashlib.sha256()
    digest.update(f"{go_version}\n{comp.binaries}\n{comp.cgo}\n{comp.tags}\n{comp.ldflags()}\n".encode())
    for path in sorted(comp.directory.iterdir()):
        if path.is_file() and (path.suffix == ".go" or path.name in ("go.mod", "go.sum")):
            digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]
