"""up, status and down: the order of things, what is checked, and what is cleaned up."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from noa_ops.cluster import ClusterError, build, host, images, netns, pki, procs, render
from noa_ops.cluster.client import kubectl, written_context
from noa_ops.cluster.config import ClusterConfig
from noa_ops.cluster.health import admin_tls, http_ok, insecure_tls, tcp_ok, unix_socket_ok

HOLDER = "holder"
Binaries = dict[str, Path]


@dataclass(frozen=True)
class Spec:
    """A supervised component: command, where it runs, its health probe and deadline."""

    name: str
    command: Callable[[ClusterConfig, Binaries], list[str]]
    healthy: Callable[[ClusterConfig, int], bool]  # (cfg, holder pid) -> ok
    timeout: float
    in_ns: bool = True


def _holder_root(holder_pid: int, path: Path) -> Path:
    """A path as the holder's mount namespace sees it (its private /run included)."""
    return Path(f"/proc/{holder_pid}/root") / path.relative_to("/")


def _registry_command(cfg: ClusterConfig, bins: Binaries) -> list[str]:
    return [registry_binary(), "serve", str(cfg.conf_dir / "registry.yaml")]


def _forward_command(cfg: ClusterConfig, bins: Binaries) -> list[str]:
    return [sys.executable, "-m", "noa_ops.cluster.forward", cfg.netns,
            f"host:127.0.0.1:{cfg.host_api_port}=ns:{cfg.node_ip}:{cfg.api_port}",
            f"ns:127.0.0.1:{cfg.registry_port}=host:127.0.0.1:{cfg.registry_port}"]


def _volumes_command(cfg: ClusterConfig, bins: Binaries) -> list[str]:
    return [sys.executable, "-m", "noa_ops.cluster.volumes"]


def registry_binary() -> str:
    found = shutil.which("docker-registry")
    if found is None:
        raise ClusterError("docker-registry is missing: apt-get install docker-registry")
    return found


SPECS: tuple[Spec, ...] = (
    Spec("registry", _registry_command,
         lambda cfg, _: http_ok(cfg, "127.0.0.1", cfg.registry_port, "/v2/", in_ns=False), 20, in_ns=False),
    Spec("forward", _forward_command, lambda cfg, _: tcp_ok("127.0.0.1", cfg.host_api_port) and
         tcp_ok("127.0.0.1", cfg.registry_port), 10, in_ns=False),
    Spec("etcd", render.etcd_command,
         lambda cfg, _: http_ok(cfg, "127.0.0.1", 2379, "/health"), 30),
    Spec("kube-apiserver", render.apiserver_command,
         lambda cfg, _: http_ok(cfg, cfg.node_ip, cfg.api_port, "/readyz", tls=admin_tls(cfg)), 120),
    Spec("kube-controller-manager", render.controller_manager_command,
         lambda cfg, _: http_ok(cfg, "127.0.0.1", 10257, "/healthz", tls=insecure_tls()), 60),
    Spec("volumes", _volumes_command, lambda cfg, _: (cfg.state_dir / "volumes.ready").is_file(), 30,
         in_ns=False),
    Spec("kube-scheduler", render.scheduler_command,
         lambda cfg, _: http_ok(cfg, "127.0.0.1", 10259, "/healthz", tls=insecure_tls()), 60),
    Spec("containerd", render.containerd_command,
         lambda cfg, pid: unix_socket_ok(_holder_root(pid, cfg.containerd_socket)), 30),
    Spec("kubelet", render.kubelet_command,
         lambda cfg, _: http_ok(cfg, "127.0.0.1", 10248, "/healthz"), 90),
    Spec("kube-proxy", render.kube_proxy_command,
         lambda cfg, _: http_ok(cfg, "127.0.0.1", 10256, "/livez"), 60),
    Spec("coredns", render.coredns_command,
         lambda cfg, _: http_ok(cfg, "127.0.0.1", 8181, "/ready"), 60),
    Spec("kube-network-policies", render.network_policies_command,
         lambda cfg, _: http_ok(cfg, "127.0.0.1", 9080, "/metrics"), 60),
)


def spec(name: str) -> Spec:
    return next(s for s in SPECS if s.name == name)


def log(message: str) -> None:
    print(message, flush=True)


# Files ---------------------------------------------------------------------------------------
def write_configs(cfg: ClusterConfig, bins: Binaries) -> None:
    conf = cfg.conf_dir
    (conf / "cni").mkdir(parents=True, exist_ok=True)
    host_port = cfg.registry
    (conf / "certs.d" / host_port).mkdir(parents=True, exist_ok=True)
    files = {
        conf / "containerd.toml": render.containerd_config(cfg, bins),
        conf / "certs.d" / host_port / "hosts.toml": render.registry_hosts_toml(cfg),
        conf / "cni" / "10-noa-pods.conflist": render.cni_conflist(cfg),
        conf / "kubelet.yaml": render.kubelet_config(cfg),
        conf / "kube-proxy.yaml": render.kube_proxy_config(cfg),
        conf / "Corefile": render.corefile(cfg),
        conf / "resolv.conf": render.pod_resolv_conf(),
        conf / "registry.yaml": render.registry_config(cfg),
        conf / "bootstrap.yaml": render.bootstrap_manifests(cfg),
    }
    for user, name in (("controller-manager", "controller-manager"), ("scheduler", "scheduler"),
                       ("kubelet-client", "kubelet"), ("kube-proxy", "kube-proxy"), ("coredns", "coredns"),
                       ("admin", "admin")):
        files[conf / f"{name}.kubeconfig"] = render.kubeconfig(cfg, user, cfg.api_url, cfg.context)
    for path, text in files.items():
        path.write_text(text)
        path.chmod(0o600)
    write_operator_kubeconfig(cfg)


def write_operator_kubeconfig(cfg: ClusterConfig) -> None:
    """The kubeconfig for the host (127.0.0.1:host_api_port), credentials embedded, mode 0600."""
    cfg.kubeconfig.write_text(render.kubeconfig(cfg, "admin", cfg.host_api_url, cfg.context, embed=True))
    cfg.kubeconfig.chmod(0o600)


# up ------------------------------------------------------------------------------------------
ENFORCER = "kube-network-policies"


def disabled_reason(cfg: ClusterConfig, name: str) -> str | None:
    """Why `up` did not start component `name` on this machine (only ever the enforcer)."""
    path = cfg.state_dir / f"{name}.disabled"
    return path.read_text().strip() if path.is_file() else None


def is_up(cfg: ClusterConfig) -> bool:
    wanted = [s.name for s in SPECS if disabled_reason(cfg, s.name) is None]
    return netns.netns_exists(cfg) and all(procs.running(cfg, name) for name in wanted) and \
        procs.running(cfg, HOLDER) is not None


def anything_left(cfg: ClusterConfig) -> bool:
    return netns.netns_exists(cfg) or any(procs.read(cfg, n) for n in (HOLDER, *(s.name for s in SPECS)))


def _prepare(cfg: ClusterConfig, bins: Binaries) -> None:
    """State directories, the host snapshot, PKI, config files and the CNI cache mount point."""
    for directory in (cfg.state_dir, cfg.logs_dir, cfg.pids_dir, cfg.conf_dir,
                      cfg.state_dir / "cni" / "cache"):
        directory.mkdir(parents=True, exist_ok=True)
    cfg.state_dir.chmod(0o700)
    (cfg.state_dir / "volumes.ready").unlink(missing_ok=True)
    host.save(cfg.state_dir / "host-before.json", host.snapshot())
    pki.ensure_pki(cfg)
    write_configs(cfg, bins)
    _make_cgroups()
    if not netns.CNI_CACHE_MOUNTPOINT.exists():
        netns.CNI_CACHE_MOUNTPOINT.mkdir(parents=True)
        (cfg.state_dir / "made-cni-mountpoint").write_text(f"{netns.CNI_CACHE_MOUNTPOINT}\n")


def _start_holder(cfg: ClusterConfig) -> procs.Proc:
    netns.create_netns(cfg)
    (cfg.state_dir / "holder.ready").unlink(missing_ok=True)
    holder = procs.start(cfg, HOLDER, netns.holder_command(cfg))
    netns.wait_holder(cfg, time.monotonic() + 10)
    (cfg.state_dir / "holder.mntns").write_text(os.readlink(f"/proc/{holder.pid}/ns/mnt") + "\n")
    return holder


def _start(cfg: ClusterConfig, s: Spec, bins: Binaries, holder: procs.Proc) -> procs.Proc:
    env = {"PATH": f"{bins['containerd'].parent}:{bins['runc'].parent}:/usr/sbin:/usr/bin:/sbin:/bin",
           "HOME": str(cfg.state_dir)}
    if s.name == ENFORCER:
        _network_policies_credentials(cfg, holder.pid)
        env |= {"KUBERNETES_SERVICE_HOST": cfg.node_ip, "KUBERNETES_SERVICE_PORT": str(cfg.api_port)}
    command = s.command(cfg, bins)
    if s.in_ns:
        command = [*netns.enter(holder.pid), *command]
    proc = procs.start(cfg, s.name, command, env=env if s.in_ns else None)
    procs.wait_healthy(cfg, proc, lambda: s.healthy(cfg, holder.pid), s.timeout)
    if s.name == "kube-apiserver":
        kubectl(cfg, "apply", "--server-side", "--force-conflicts", "-f", "-",
                stdin=(cfg.conf_dir / "bootstrap.yaml").read_text())
    if s.name == "containerd":
        _import_pause(cfg, holder.pid, bins)
    return proc


def require_root(action: str) -> None:
    if os.geteuid() != 0:
        raise ClusterError(f"{action} needs root (network and mount namespaces, cgroups, mounts)")


def up(cfg: ClusterConfig) -> dict[str, float]:
    """Bring the cluster up (idempotent); returns seconds since the start per milestone."""
    require_root("up")
    if is_up(cfg):
        write_operator_kubeconfig(cfg)  # the context name may differ from the last up
        log(f"cluster {cfg.context} is already up; kubeconfig: {cfg.kubeconfig} (context {cfg.context})")
        return {}
    if anything_left(cfg):
        log("a previous cluster is partly up: taking it down first")
        down(cfg)
    t0 = time.monotonic()
    times: dict[str, float] = {}
    bins = build.binaries(cfg)
    _prepare(cfg, bins)
    try:
        holder = _start_holder(cfg)
        for marker_name in (f"{ENFORCER}.disabled", f"{ENFORCER}.shim"):
            (cfg.state_dir / marker_name).unlink(missing_ok=True)
        for s in SPECS:
            if s.name == ENFORCER and (reason := netns.nft_queue_missing(cfg)) is not None:
                try:
                    netns.install_nfqueue_shim(cfg)
                except ClusterError as error:
                    (cfg.state_dir / f"{ENFORCER}.disabled").write_text(f"{reason}; {error}\n")
                    log(f"  {s.name:<24} NOT started: {reason}; {error}. NetworkPolicies are "
                        "accepted by the API server but NOT enforced on this machine.")
                    continue
                (cfg.state_dir / f"{ENFORCER}.shim").write_text(reason + "\n")
                log(f"  {s.name:<24} {reason}: its packets reach it through iptables NFQUEUE "
                    f"rules ({netns.SHIM_CHAIN}) in the namespace instead")
            proc = _start(cfg, s, bins, holder)
            times[s.name] = time.monotonic() - t0
            log(f"  {s.name:<24} healthy at {times[s.name]:5.1f} s (pid {proc.pid})")
        wait_node_ready(cfg, deadline=time.monotonic() + 120)
        times["node-ready"] = time.monotonic() - t0
        log(f"  node {cfg.node_name} Ready at {times['node-ready']:.1f} s")
    except ClusterError:
        log("up failed: what started is left running for inspection; "
            "`python -m noa_ops.cluster down` stops it")
        raise
    problems = host.differences(host.load(cfg.state_dir / "host-before.json") or {}, host.snapshot())
    if problems:
        raise ClusterError("the host changed during up: " + "; ".join(problems))
    log(f"cluster {cfg.context} is up; host iptables, nftables and sysctls unchanged")
    log(f"kubeconfig: {cfg.kubeconfig} (context {cfg.context})")
    return times


def _network_policies_credentials(cfg: ClusterConfig, holder_pid: int) -> None:
    """kube-network-policies only knows in-cluster config: put its token and CA where a pod would
    have them, under the private /run (/var/run is /run) of the mount namespace."""
    secret = f"{render.NETWORK_POLICIES_SA}-token"
    deadline = time.monotonic() + 30
    token = ""
    while time.monotonic() < deadline:
        token = kubectl(cfg, "-n", "kube-system", "get", "secret", secret, "-o",
                        "jsonpath={.data.token}", check=False)
        if token:
            break
        time.sleep(0.3)
    if not token:
        raise ClusterError(f"the token controller did not fill kube-system/{secret}")
    directory = "/run/secrets/kubernetes.io/serviceaccount"
    netns.shell(holder_pid, f"umask 077; cat > {directory}/token", stdin=base64.b64decode(token).decode())
    netns.shell(holder_pid, f"cat > {directory}/ca.crt; echo kube-system > {directory}/namespace",
                stdin=(cfg.pki_dir / "ca.crt").read_text())


def _import_pause(cfg: ClusterConfig, holder_pid: int, bins: Binaries) -> None:
    tar = cfg.state_dir / "pause-image.tar"
    images.pause_image_tar(bins["pause"], tar)
    ctr = [str(bins["ctr"]), "--address", str(cfg.containerd_socket), "-n", "k8s.io"]
    result = subprocess.run([*netns.enter(holder_pid), *ctr, "images", "import", "--local", str(tar)],
                            capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ClusterError(f"importing the pause image failed: {result.stderr.strip()}")


def node_ready(cfg: ClusterConfig) -> bool:
    out = kubectl(cfg, "get", "node", cfg.node_name, "-o",
                  'jsonpath={.status.conditions[?(@.type=="Ready")].status}', check=False)
    return out.strip() == "True"


def wait_node_ready(cfg: ClusterConfig, deadline: float) -> None:
    while time.monotonic() < deadline:
        if node_ready(cfg):
            return
        proc = procs.read(cfg, "kubelet")
        if proc is None or not proc.alive():
            raise ClusterError(f"kubelet exited:\n{procs.log_tail(cfg, 'kubelet')}")
        time.sleep(0.5)
    raise ClusterError(f"node {cfg.node_name} not Ready in time; kubelet log:\n"
                       f"{procs.log_tail(cfg, 'kubelet')}")


# status --------------------------------------------------------------------------------------
def status(cfg: ClusterConfig) -> bool:
    holder = procs.running(cfg, HOLDER)
    ok = holder is not None and netns.netns_exists(cfg)
    log(f"cluster {cfg.context}: netns {cfg.netns} {'present' if netns.netns_exists(cfg) else 'absent'}, "
        f"holder {'pid ' + str(holder.pid) if holder else 'not running'}")
    for s in SPECS:
        proc = procs.running(cfg, s.name)
        if proc is None and (reason := disabled_reason(cfg, s.name)) is not None:
            log(f"  {s.name:<24} not started: {reason} (NetworkPolicies NOT enforced)")
            continue
        if proc is None:
            log(f"  {s.name:<24} not running")
            ok = False
            continue
        healthy = False
        if holder is not None:
            try:
                healthy = s.healthy(cfg, holder.pid)
            except (OSError, ClusterError):
                healthy = False
        shim = cfg.state_dir / f"{s.name}.shim"
        if shim.is_file():
            log(f"  {'':<24} (packets through iptables NFQUEUE: {shim.read_text().strip()})")
        rss = procs.rss_mib(proc.pid)
        log(f"  {s.name:<24} pid {proc.pid:<7} {'healthy' if healthy else 'UNHEALTHY':<9} "
            f"rss {rss or 0:6.0f} MiB")
        ok = ok and healthy
    if ok:
        ready = node_ready(cfg)
        log(f"  node {cfg.node_name}: {'Ready' if ready else 'NOT Ready'}")
        ok = ready
    log(f"kubeconfig: {cfg.kubeconfig} (context {written_context(cfg)})")
    return ok


# down ----------------------------------------------------------------------------------------
STOP_ORDER = ("volumes", "kube-network-policies", "coredns", "kube-proxy", "kubelet")
LATE_STOP_ORDER = ("containerd", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd",
                   "forward", "registry")
CGROUP_ROOT = Path("/sys/fs/cgroup")


def _cgroup_dirs() -> list[Path]:
    """Every cgroup directory under our kubelet cgroupRoot (/noa-cluster), deepest first."""
    found: list[Path] = []
    for hierarchy in CGROUP_ROOT.iterdir():
        top = hierarchy / "noa-cluster"
        if top.is_dir():
            found += [Path(d) for d, _, _ in os.walk(top)]
    return sorted(found, key=lambda p: len(p.parts), reverse=True)


def _make_cgroups() -> None:
    """The kubelet's cgroupRoot must exist in every hierarchy; `down` removes it again."""
    for hierarchy in CGROUP_ROOT.iterdir():
        if (hierarchy / "cgroup.procs").is_file():
            (hierarchy / "noa-cluster").mkdir(exist_ok=True)


def _kill_cgroup_members() -> int:
    killed = 0
    for directory in _cgroup_dirs():
        try:
            pids = (directory / "cgroup.procs").read_text().split()
        except OSError:
            continue
        for pid in pids:
            procs.kill(int(pid), signal.SIGKILL)
            killed += 1
    return killed


def _pids_whose(link: str, matches: Callable[[str], bool]) -> list[int]:
    """Pids whose /proc/<pid>/<link> symlink target satisfies `matches`."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if matches(os.readlink(entry / link)):
                    pids.append(int(entry.name))
            except OSError:
                continue
    return pids


def _in_mount_ns(mntns: str) -> list[int]:
    return _pids_whose("ns/mnt", lambda target: target == mntns)


def _shims(cfg: ClusterConfig) -> list[int]:
    """containerd shims started from our cache (they leave containerd's session on purpose)."""
    prefix = str(cfg.cache_dir / "bin") + "/"
    return _pids_whose("exe", lambda exe: exe.startswith(prefix) and exe.endswith("/containerd-shim-runc-v2"))


def _stop_everything(cfg: ClusterConfig) -> None:
    """Node agents, then every container (by cgroup) and shim, then the control plane."""
    for name in STOP_ORDER:
        procs.stop(cfg, name)
    _kill_cgroup_members()
    for pid in _shims(cfg):
        procs.kill(pid, signal.SIGKILL)
    for name in LATE_STOP_ORDER:
        procs.stop(cfg, name)
    mntns_file = cfg.state_dir / "holder.mntns"
    mntns = mntns_file.read_text().strip() if mntns_file.is_file() else None
    procs.stop(cfg, HOLDER, timeout=2)
    if mntns:
        deadline = time.monotonic() + 10
        while (left := _in_mount_ns(mntns)) and time.monotonic() < deadline:
            for pid in left:
                procs.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
        if left:
            raise ClusterError(f"processes still in the cluster's mount namespace: {left}")
        mntns_file.unlink()


def _remove_cgroups() -> None:
    for directory in _cgroup_dirs():
        deadline = time.monotonic() + 5
        while directory.exists():
            try:
                directory.rmdir()
            except OSError:
                if time.monotonic() > deadline:
                    raise ClusterError(f"cannot remove cgroup {directory} (processes left?)") from None
                _kill_cgroup_members()
                time.sleep(0.1)


def down(cfg: ClusterConfig, purge: bool = False) -> float:
    """Stop all of it; the mounts go with the mount namespace; remove cgroups, netns, mount point."""
    require_root("down")
    t0 = time.monotonic()
    _stop_everything(cfg)
    _remove_cgroups()
    # Every pod is gone: their address leases and CNI results would only leak into the next up.
    for leftover in (cfg.state_dir / "cni" / "ipam", cfg.state_dir / "cni" / "cache"):
        shutil.rmtree(leftover, ignore_errors=True)
    netns.delete_netns(cfg)
    marker = cfg.state_dir / "made-cni-mountpoint"
    if marker.is_file():
        with contextlib.suppress(OSError):
            netns.CNI_CACHE_MOUNTPOINT.rmdir()
        marker.unlink()
    (cfg.state_dir / "holder.ready").unlink(missing_ok=True)
    for marker_name in (f"{ENFORCER}.disabled", f"{ENFORCER}.shim"):
        (cfg.state_dir / marker_name).unlink(missing_ok=True)
    before = host.load(cfg.state_dir / "host-before.json")
    if purge and cfg.state_dir.exists():
        shutil.rmtree(cfg.state_dir)
    seconds = time.monotonic() - t0
    if before is not None:
        problems = host.differences(before, host.snapshot())
        if problems:
            raise ClusterError("after down the host differs: " + "; ".join(problems))
    log(f"cluster {cfg.context} is down ({seconds:.1f} s); host iptables, nftables and sysctls as before")
    return seconds


def summary(times: dict[str, float]) -> str:
    return json.dumps({key: round(value, 1) for key, value in times.items()})
