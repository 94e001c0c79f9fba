"""The local cluster's configuration rendering: pure functions, no root, network or cluster."""

from __future__ import annotations

import itertools
import json
import tomllib
from pathlib import Path

import pytest
import yaml

from noa_ops.cluster import render
from noa_ops.cluster.config import ClusterConfig

BINS = {name: Path("/cache/bin") / name for name in (
    "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy",
    "containerd", "runc", "bridge", "coredns", "kube-network-policies", "ctr", "pause")}


@pytest.fixture
def cfg(tmp_path: Path) -> ClusterConfig:
    return ClusterConfig.from_env({}, state_dir=tmp_path / "state")


def test_settings_come_from_the_environment_then_overrides() -> None:
    cfg = ClusterConfig.from_env({"NOA_CLUSTER_CONTEXT": "kind-noa-dev", "NOA_CLUSTER_REGISTRY_PORT": "5077",
                                  "NOA_CLUSTER_STATE_DIR": "/x"})
    assert (cfg.context, cfg.registry_port, cfg.state_dir) == ("kind-noa-dev", 5077, Path("/x"))
    assert ClusterConfig.from_env({"NOA_CLUSTER_CONTEXT": "a"}, context="b").context == "b"
    assert ClusterConfig.from_env({}, context=None).context == "noa-local"
    assert ClusterConfig.from_env({}).registry == "127.0.0.1:5055"


def test_kubelet_never_writes_host_sysctls_and_accepts_cgroup_v1(cfg: ClusterConfig) -> None:
    doc = yaml.safe_load(render.kubelet_config(cfg))
    assert doc["protectKernelDefaults"] is True
    assert doc["makeIPTablesUtilChains"] is False
    assert doc["failCgroupV1"] is False
    assert doc["cgroupRoot"] == "/noa-cluster"
    assert doc["readOnlyPort"] == 0 and doc["authentication"]["anonymous"]["enabled"] is False
    assert doc["resolvConf"].startswith(str(cfg.state_dir))
    assert doc["clusterDNS"] == [cfg.dns_service_ip]
    # The values shown to it through the read-only bind mounts are the ones it insists on.
    assert render.KUBELET_SYSCTLS["vm/overcommit_memory"] == "1"
    assert render.KUBELET_SYSCTLS["kernel/panic_on_oops"] == "1"


def test_kube_proxy_leaves_machine_wide_conntrack_alone(cfg: ClusterConfig) -> None:
    doc = yaml.safe_load(render.kube_proxy_config(cfg))
    assert doc["conntrack"]["maxPerCore"] == 0 and doc["conntrack"]["min"] == 0
    assert doc["iptables"]["masqueradeAll"] is True
    assert doc["bindAddress"] == cfg.node_ip


def test_containerd_config_is_its_own_and_restricts_oom_score_adj(cfg: ClusterConfig) -> None:
    doc = tomllib.loads(render.containerd_config(cfg, BINS))
    assert doc["version"] == 3
    assert doc["grpc"]["address"] == str(cfg.containerd_socket)
    assert "/run/containerd/containerd.sock" not in render.containerd_config(cfg, BINS)
    assert doc["root"].startswith(str(cfg.state_dir))
    runtime = doc["plugins"]["io.containerd.cri.v1.runtime"]
    assert runtime["restrict_oom_score_adj"] is True
    assert runtime["netns_mounts_under_state_dir"] is True
    runc = runtime["containerd"]["runtimes"]["runc"]["options"]
    assert runc["BinaryName"] == str(BINS["runc"])
    assert runtime["cni"]["bin_dirs"] == ["/cache/bin"]
    images = doc["plugins"]["io.containerd.cri.v1.images"]
    assert images["pinned_images"]["sandbox"] == render.PAUSE_IMAGE
    assert images["registry"]["config_path"] == str(cfg.conf_dir / "certs.d")
    assert "io.containerd.nri.v1.nri" in doc["disabled_plugins"]


def test_registry_is_plain_http_on_loopback(cfg: ClusterConfig) -> None:
    hosts = tomllib.loads(render.registry_hosts_toml(cfg))
    assert hosts["server"] == "http://127.0.0.1:5055"
    assert hosts["host"]["http://127.0.0.1:5055"]["capabilities"] == ["pull", "resolve"]
    registry = yaml.safe_load(render.registry_config(cfg))
    assert registry["http"]["addr"] == "127.0.0.1:5055"
    assert "auth" not in registry


def test_cni_is_a_bridge_with_host_local_under_our_state(cfg: ClusterConfig) -> None:
    doc = json.loads(render.cni_conflist(cfg))
    bridge = doc["plugins"][0]
    assert bridge["type"] == "bridge" and bridge["ipam"]["type"] == "host-local"
    assert bridge["ipam"]["dataDir"].startswith(str(cfg.state_dir))
    assert bridge["ipam"]["ranges"][0][0] == {"subnet": "10.244.0.0/24", "gateway": "10.244.0.1"}


def test_corefile_never_forwards_outside(cfg: ClusterConfig) -> None:
    text = render.corefile(cfg)
    assert not any(line.strip().startswith("forward") for line in text.splitlines())
    assert "kubernetes cluster.local" in text
    assert f"bind {cfg.node_ip}" in text


def flag_values(args: list[str]) -> dict[str, str]:
    """--flag value and --flag=value pairs of a command line."""
    values: dict[str, str] = {}
    words = iter(args)
    for word in words:
        name, equals, value = word.partition("=")
        values[name] = value if equals else next(words)
    return values


def test_apiserver_command_line(cfg: ClusterConfig) -> None:
    command = render.apiserver_command(cfg, BINS)
    flags = flag_values(command[1:])
    assert flags["--authorization-mode"] == "Node,RBAC"
    assert "PodSecurity" in flags["--enable-admission-plugins"]
    assert "NodeRestriction" in flags["--enable-admission-plugins"]
    assert flags["--etcd-servers"] == "http://127.0.0.1:2379"
    assert flags["--bind-address"] == cfg.node_ip
    assert "--anonymous-auth=false" in command
    assert "--allow-privileged=true" in command
    assert "--cloud-provider" not in flags
    assert flags["--service-account-signing-key-file"].endswith("sa.key")


def test_etcd_listens_on_loopback_only(cfg: ClusterConfig) -> None:
    command = render.etcd_command(cfg, BINS)
    urls = [value for flag, value in itertools.pairwise(command) if flag.startswith("--listen")]
    assert urls and all(url.startswith("http://127.0.0.1:") for url in urls)


def test_kubeconfig_context_is_the_setting(cfg: ClusterConfig) -> None:
    named = ClusterConfig.from_env({}, state_dir=cfg.state_dir, context="kind-noa-dev")
    doc = yaml.safe_load(render.kubeconfig(named, "admin", named.host_api_url, named.context))
    assert doc["current-context"] == "kind-noa-dev"
    assert doc["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:16443"


def test_bootstrap_manifests_point_dns_at_the_node(cfg: ClusterConfig) -> None:
    docs = list(yaml.safe_load_all(render.bootstrap_manifests(cfg)))
    service = next(d for d in docs if d["kind"] == "Service")
    assert service["spec"]["clusterIP"] == cfg.dns_service_ip and "selector" not in service["spec"]
    slice_ = next(d for d in docs if d["kind"] == "EndpointSlice")
    assert slice_["endpoints"][0]["addresses"] == [cfg.node_ip]
    assert {d["kind"] for d in docs} >= {"ClusterRole", "ClusterRoleBinding", "ServiceAccount", "Secret"}
