"""The local cluster's pins, cache keys and build command lines: no Go toolchain run, no network."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from noa_ops.cluster import ClusterError, build, host, netns, versions
from noa_ops.cluster.config import MODULES_DIR, ClusterConfig


def test_every_component_has_a_pinned_wrapper_module() -> None:
    for comp in versions.COMPONENTS:
        assert (comp.directory / "go.mod").is_file(), comp.name
        if comp.name != "pause":
            assert (comp.directory / "go.sum").is_file(), comp.name
            assert comp.version().startswith("v"), comp.name


def test_kubernetes_staging_modules_are_pinned_to_the_matching_release() -> None:
    go_mod = (MODULES_DIR / "kubernetes" / "go.mod").read_text()
    k8s = versions.pinned_version(MODULES_DIR / "kubernetes" / "go.mod", "k8s.io/kubernetes")
    minor = k8s.split(".")[1]
    staging = [line.split() for line in go_mod.splitlines() if " => k8s.io/" in line]
    assert len(staging) > 20
    assert all(parts[3] == f"v0.{minor}.{k8s.split('.')[2]}" for parts in staging)
    assert int(minor) >= 34


def test_version_of_a_require_line(tmp_path: Path) -> None:
    go_mod = tmp_path / "go.mod"
    go_mod.write_text("module x\n\nrequire example.com/a v1.2.3\n\n"
                      "require (\n\texample.com/b v0.1.0 // indirect\n)\n")
    assert versions.pinned_version(go_mod, "example.com/a") == "v1.2.3"
    assert versions.pinned_version(go_mod, "example.com/b") == "v0.1.0"
    assert versions.pinned_version(go_mod, "x") == "local"
    with pytest.raises(ClusterError):
        versions.pinned_version(go_mod, "example.com/c")


def test_cache_key_changes_with_pins_and_toolchain(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(MODULES_DIR / "etcd", tmp_path / "etcd")
    monkeypatch.setattr(versions, "MODULES_DIR", tmp_path)
    comp = versions.component("etcd")
    key = versions.cache_key(comp, "go1.26.8")
    assert key == versions.cache_key(comp, "go1.26.8")
    assert key != versions.cache_key(comp, "go1.27.3")
    go_sum = tmp_path / "etcd" / "go.sum"
    go_sum.write_text(go_sum.read_text() + "example.com/x v1.0.0 h1:AAAA=\n")
    assert key != versions.cache_key(comp, "go1.26.8")


def test_build_command_is_niced_two_jobs_and_carries_the_version(tmp_path: Path) -> None:
    cfg = ClusterConfig.from_env({}, cache_dir=tmp_path)
    comp = versions.component("kubernetes")
    command = build.build_command(cfg, comp, "kubelet", tmp_path)
    assert command[:3] == ["nice", "-n", "10"]
    assert command[command.index("-p") + 1] == "2"
    assert command[-1] == "k8s.io/kubernetes/cmd/kubelet"
    assert "providerless" in command[command.index("-tags") + 1]
    ldflags = command[command.index("-ldflags") + 1]
    assert f"k8s.io/component-base/version.gitVersion={comp.version()}" in ldflags
    env = build.go_env(cfg, versions.component("runc"))
    assert env["CGO_ENABLED"] == "1" and env["GOTOOLCHAIN"] == "local"
    assert env["GOMODCACHE"].startswith(str(tmp_path)) and env["GOCACHE"].startswith(str(tmp_path))


def test_unknown_component_is_one_clear_error() -> None:
    with pytest.raises(ClusterError, match="unknown component"):
        versions.component("kube-dns")


def test_host_differences() -> None:
    before = {"sysctls": {"vm/overcommit_memory": "0"}, "kube_chains": [], "nft_ours": []}
    assert host.differences(before, before) == []
    after = {"sysctls": {"vm/overcommit_memory": "1"}, "kube_chains": ["KUBE-SERVICES"], "nft_ours": []}
    problems = host.differences(before, after)
    assert any("vm.overcommit_memory 0 -> 1" in p for p in problems)
    assert any("KUBE-" in p for p in problems)
    assert host.kube_chains("*nat\n:KUBE-SVC-X - [0:0]\n:DOCKER - [0:0]\n") == ["KUBE-SVC-X"]
    ruleset = "table ip nat {\n\tchain DOCKER {\n\tchain KUBE-SERVICES {\n"
    assert host.nft_ours(ruleset) == ["chain KUBE-SERVICES"]


def test_netns_has_no_route_off_the_machine_and_no_host_interface() -> None:
    cfg = ClusterConfig.from_env({})
    commands = netns.setup_commands(cfg)
    assert all(command[:3] == ["ip", "-n", cfg.netns] for command in commands)
    assert not any("route" in command for command in commands)
    script = netns.holder_script(cfg)
    assert "mount -t tmpfs -o mode=0755,size=512m noa-run /run" in script
    assert "mount --bind" in script and "/proc/sys/vm/overcommit_memory" in script
    assert script.rstrip().endswith("exec sleep infinity")


def test_nfqueue_shim_stays_in_the_namespace_and_queues_only_new_pod_connections() -> None:
    cfg = ClusterConfig.from_env({})
    commands = netns.nfqueue_shim_commands(cfg)
    assert all(command[:2] == ["nsenter", f"--net=/run/netns/{cfg.netns}"] for command in commands)
    rules = [" ".join(command[4:]) for command in commands]
    assert not any("KUBE-" in rule for rule in rules)
    assert "-A NOA-NETPOL -m conntrack --ctstate ESTABLISHED,RELATED -j RETURN" in rules
    assert f"-A NOA-NETPOL -d {cfg.pod_cidr} -j NFQUEUE --queue-num 100 --queue-bypass" in rules
    assert rules[-1] == "-I FORWARD 1 -j NOA-NETPOL"


def test_kubectl_is_its_own_component_built_first_from_the_kubernetes_module() -> None:
    """bootstrap builds it alone; it must not drag the server binaries along, nor lose its version."""
    kubectl, kubernetes = versions.COMPONENTS[:2]
    assert (kubectl.name, list(kubectl.binaries)) == ("kubectl", ["kubectl"])
    assert kubectl.directory == kubernetes.directory == MODULES_DIR / "kubernetes"
    assert kubectl.version() == kubernetes.version()
    assert kubectl.ldflags() == kubernetes.ldflags() and kubectl.tags == kubernetes.tags
    assert "kubectl" not in kubernetes.binaries


def test_path_names_a_built_binary_and_refuses_one_not_built(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from noa_ops.cluster import __main__ as cluster_main

    monkeypatch.setenv("NOA_CLUSTER_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(build, "go_version", lambda _cfg: "go1.26.8")
    cfg = ClusterConfig.from_env()
    assert cfg.cache_dir == tmp_path
    assert cluster_main.main(["path", "kubectl"]) == 1
    assert capsys.readouterr().err == (
        "cluster path: kubectl is not built (`python -m noa_ops.cluster build` builds the components)\n")
    directory = build.bin_dir(cfg, versions.component("kubectl"), "go1.26.8")
    directory.mkdir(parents=True)
    assert cluster_main.main(["path", "kubectl"]) == 1, "a directory without its stamp is a partial build"
    capsys.readouterr()
    (directory / build.STAMP).write_text("k8s.io/kubernetes v1.36.3\n")
    assert cluster_main.main(["path", "kubectl"]) == 0
    assert capsys.readouterr().out == f"{directory / 'kubectl'}\n"
    assert cluster_main.main(["path", "kubelet"]) == 1, "another component's binary is not built"
