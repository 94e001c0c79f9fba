"""The cluster's network namespace and its private mount namespace.

- `ip netns add <netns>`: lo plus a veth pair whose both ends stay inside, the node address on
  one end. No default route and no interface on the host: nothing in there can reach off the
  machine; the host talks to it only through forward.py on loopback.
- A holder process (`sleep infinity`) in that netns and in a new mount namespace (propagation
  slave: host mounts show inside, nothing mounted inside shows on the host). Every component is
  started with `nsenter -t <holder> -m -n`. Inside it, tmpfs over /run and /var/log (containerd's
  shim sockets, runc state, pod netns files, the kubelet's /var/log/containers links), our cni
  cache over /var/lib/cni, and read-only files over the /proc/sys entries the kubelet insists
  on (render.KUBELET_SYSCTLS). When the holder and everything it started exit, every mount made
  in there (kubelet volume mounts, overlay rootfs) goes with the namespace.
"""

from __future__ import annotations

import shlex
import subprocess
import time
from pathlib import Path

from noa_ops.cluster import ClusterError
from noa_ops.cluster.config import ClusterConfig
from noa_ops.cluster.nsutil import netns_path
from noa_ops.cluster.render import KUBELET_SYSCTLS

NODE_IF = "noa0"
PEER_IF = "noa1"
# A mount point the CNI library's hard-coded cache dir needs; made (empty) only if missing.
CNI_CACHE_MOUNTPOINT = Path("/var/lib/cni")


def run(command: list[str], what: str) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ClusterError(f"{what} failed: {' '.join(command)}: {result.stderr.strip()}")
    return result.stdout


def netns_exists(cfg: ClusterConfig) -> bool:
    return netns_path(cfg.netns).exists()


def setup_commands(cfg: ClusterConfig) -> list[list[str]]:
    """ip commands that build the namespace's network (after `ip netns add`)."""
    ns = ["ip", "-n", cfg.netns]
    return [
        [*ns, "link", "set", "lo", "up"],
        [*ns, "link", "add", NODE_IF, "type", "veth", "peer", "name", PEER_IF],
        [*ns, "addr", "add", f"{cfg.node_ip}/{cfg.node_prefix}", "dev", NODE_IF],
        [*ns, "link", "set", NODE_IF, "up"],
        [*ns, "link", "set", PEER_IF, "up"],
    ]


# Namespaced sysctls set inside the netns only (proc resolves net.* per network namespace).
NETNS_SYSCTLS = {"net.ipv4.ip_forward": "1", "net.bridge.bridge-nf-call-iptables": "1"}


RUN_NETNS = Path("/run/netns")


def create_netns(cfg: ClusterConfig) -> None:
    """`ip netns add` also makes /run/netns (a bind mount of itself) when missing: remembered, so
    `down` can undo that too."""
    if not RUN_NETNS.exists():
        (cfg.state_dir / "made-run-netns").write_text(f"{RUN_NETNS}\n")
    run(["ip", "netns", "add", cfg.netns], "creating the network namespace")
    for command in setup_commands(cfg):
        run(command, "configuring the network namespace")
    for key, value in NETNS_SYSCTLS.items():
        run(["nsenter", f"--net={netns_path(cfg.netns)}", "sysctl", "-q", "-w", f"{key}={value}"],
            f"setting {key} inside the namespace")


def delete_netns(cfg: ClusterConfig) -> None:
    if netns_exists(cfg):
        run(["ip", "netns", "delete", cfg.netns], "deleting the network namespace")
    marker = cfg.state_dir / "made-run-netns"
    if marker.is_file() and RUN_NETNS.is_dir() and not any(RUN_NETNS.iterdir()):
        subprocess.run(["umount", str(RUN_NETNS)], capture_output=True, check=False)
        RUN_NETNS.rmdir()
    marker.unlink(missing_ok=True)


def holder_script(cfg: ClusterConfig) -> str:
    """The holder's shell script: private mounts, then `exec sleep infinity`."""
    run_dir = cfg.run_dir
    lines = [
        "set -eu",
        "mount -t tmpfs -o mode=0755,size=512m noa-run /run",
        "mount -t tmpfs -o mode=0755,size=64m noa-log /var/log",
        f"mkdir -p {run_dir}/sysctl /run/secrets/kubernetes.io/serviceaccount "
        f"{cfg.state_dir}/cni/cache",
        f"mount --bind {cfg.state_dir}/cni/cache {CNI_CACHE_MOUNTPOINT}",
    ]
    for key, value in KUBELET_SYSCTLS.items():
        fake = f"{run_dir}/sysctl/{key.replace('/', '.')}"
        lines += [f"printf '%s\\n' {value} > {fake}",
                  f"mount --bind {fake} /proc/sys/{key}",
                  f"mount -o remount,bind,ro {fake} /proc/sys/{key}"]
    lines += [f"echo ready > {cfg.state_dir}/holder.ready", "exec sleep infinity"]
    return "\n".join(lines)


def holder_command(cfg: ClusterConfig) -> list[str]:
    return ["nsenter", f"--net={netns_path(cfg.netns)}", "unshare", "--mount", "--propagation", "slave",
            "sh", "-c", holder_script(cfg)]


def enter(holder_pid: int) -> list[str]:
    """Prefix that runs a command in the holder's network and mount namespaces."""
    return ["nsenter", "-t", str(holder_pid), "-m", "-n", "--"]


def wait_holder(cfg: ClusterConfig, deadline: float) -> None:
    ready = cfg.state_dir / "holder.ready"
    while time.monotonic() < deadline:
        if ready.is_file():
            return
        time.sleep(0.05)
    raise ClusterError(f"the namespace holder did not get ready; see {cfg.logs_dir / 'holder.log'}")


def shell(holder_pid: int, script: str, stdin: str | None = None) -> str:
    """Run a shell snippet inside the namespaces (used to place files under the private /run)."""
    result = subprocess.run([*enter(holder_pid), "sh", "-c", script], input=stdin, capture_output=True,
                            text=True, check=False)
    if result.returncode != 0:
        raise ClusterError(f"in the namespace: {shlex.quote(script)}: {result.stderr.strip()}")
    return result.stdout


NFT_QUEUE_PROBE = """table inet noa-probe {
  chain forward {
    type filter hook forward priority 0; policy accept;
    meta l4proto sctp queue num 65000 bypass
  }
}
delete table inet noa-probe
"""


def nft_queue_missing(cfg: ClusterConfig) -> str | None:
    """Why kube-network-policies cannot work here, or None. It sends packets to user space with
    nftables' `queue` statement, which needs CONFIG_NFT_QUEUE; probed inside the namespace."""
    try:
        result = subprocess.run(["nsenter", f"--net={netns_path(cfg.netns)}", "nft", "-f", "-"],
                                input=NFT_QUEUE_PROBE, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return "the nft command is missing (apt-get install nftables)"
    if result.returncode != 0:
        return ("this kernel has no nftables `queue` statement (CONFIG_NFT_QUEUE), which "
                f"kube-network-policies needs: {result.stderr.strip().splitlines()[0]}")
    return None


SHIM_CHAIN = "NOA-NETPOL"
QUEUE_NUM = 100  # kube-network-policies' default --nfqueue-id


def nfqueue_shim_commands(cfg: ClusterConfig) -> list[list[str]]:
    """iptables rules (inside the namespace) that hand the first packet of every new connection
    from or to a pod to kube-network-policies' queue, where the kernel cannot do it with nftables.
    The enforcer's own verdict code then decides; --queue-bypass lets traffic pass while no enforcer
    listens (as kube-network-policies' nftables rules would only queue for selected pods)."""
    ipt = ["nsenter", f"--net={netns_path(cfg.netns)}", "iptables", "-w"]
    queue = ["-j", "NFQUEUE", "--queue-num", str(QUEUE_NUM), "--queue-bypass"]
    return [
        [*ipt, "-N", SHIM_CHAIN],
        [*ipt, "-A", SHIM_CHAIN, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"],
        [*ipt, "-A", SHIM_CHAIN, "-s", cfg.pod_cidr, *queue],
        [*ipt, "-A", SHIM_CHAIN, "-d", cfg.pod_cidr, *queue],
        [*ipt, "-I", "FORWARD", "1", "-j", SHIM_CHAIN],
    ]


def install_nfqueue_shim(cfg: ClusterConfig) -> None:
    for command in nfqueue_shim_commands(cfg):
        run(command, "installing the NFQUEUE rules for kube-network-policies")
