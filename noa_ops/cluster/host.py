"""What the cluster must never change on the host: the machine-wide sysctls the kubelet wants,
the host's iptables (no KUBE-* chain) and nftables rulesets. Snapshot before `up`, compare after
`up` and after `down`."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from pathlib import Path

WATCHED_SYSCTLS = ("vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
                   "kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes",
                   "net/bridge/bridge-nf-call-iptables", "net/ipv4/ip_forward")


def sysctls() -> dict[str, str]:
    values = {}
    for key in WATCHED_SYSCTLS:
        try:
            values[key] = Path(f"/proc/sys/{key}").read_text().strip()
        except OSError:
            values[key] = "(absent)"
    return values


def kube_chains(iptables_save: str) -> list[str]:
    """KUBE-* chain declarations in iptables-save output."""
    return sorted({line.split()[0][1:] for line in iptables_save.splitlines()
                   if line.startswith(":KUBE-")})


def nft_ours(ruleset: str) -> list[str]:
    """Tables and chains in `nft list ruleset` output that a Kubernetes component would make."""
    return sorted({line.strip().rstrip(" {") for line in ruleset.splitlines()
                   if line.strip().startswith(("table ", "chain "))
                   and any(word in line.lower() for word in ("kube", "network-policies", "cni-"))})


def _output(command: list[str]) -> str:
    try:
        return subprocess.run(command, capture_output=True, text=True, check=False).stdout
    except FileNotFoundError:
        return ""


def snapshot() -> dict[str, object]:
    saved = _output(["iptables-save"])
    saved6 = _output(["ip6tables-save"])
    nft = _output(["nft", "list", "ruleset"])
    return {
        "sysctls": sysctls(),
        "kube_chains": kube_chains(saved) + kube_chains(saved6),
        # Docker (another engineer's) changes its own rules at any time: look only for ours.
        "nft_ours": nft_ours(nft),
    }


def differences(before: Mapping[str, object], after: Mapping[str, object]) -> list[str]:
    """Readable differences (empty when the host is as it was); KUBE chains are always wrong."""
    problems = []
    old_sysctls = before.get("sysctls", {})
    new_sysctls = after.get("sysctls", {})
    assert isinstance(old_sysctls, dict) and isinstance(new_sysctls, dict)
    for key, value in new_sysctls.items():
        if old_sysctls.get(key) != value:
            problems.append(f"sysctl {key.replace('/', '.')} {old_sysctls.get(key)} -> {value}")
    chains = after.get("kube_chains")
    if chains:
        problems.append(f"host iptables has KUBE-* chains: {chains}")
    if after.get("nft_ours"):
        problems.append(f"host nftables has cluster rules: {after.get('nft_ours')}")
    return problems


def save(path: Path, snap: dict[str, object]) -> None:
    path.write_text(json.dumps(snap, indent=2, sort_keys=True) + "\n")


def load(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None
