"""The cluster's CA, certificates and service-account keys, made with openssl at the first `up`
and kept under <state>/pki (keys mode 0600). EC P-256 keys: fast to make on a busy machine."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

from noa_ops.cluster import ClusterError
from noa_ops.cluster.config import ClusterConfig


@dataclass(frozen=True)
class Cert:
    """A certificate signed by the cluster CA: file stem, subject, usages and SANs."""

    name: str
    cn: str
    org: str = ""
    server: bool = False
    client: bool = True
    dns: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()

    def subject(self) -> str:
        return (f"/O={self.org}" if self.org else "") + f"/CN={self.cn}"

    def extensions(self) -> str:
        usages = [u for u, on in (("serverAuth", self.server), ("clientAuth", self.client)) if on]
        lines = ["basicConstraints=critical,CA:FALSE",
                 "keyUsage=critical,digitalSignature,keyEncipherment",
                 f"extendedKeyUsage={','.join(usages)}"]
        sans = [f"DNS:{name}" for name in self.dns] + [f"IP:{ip}" for ip in self.ips]
        if sans:
            lines.append(f"subjectAltName={','.join(sans)}")
        return "\n".join(lines) + "\n"


def certificates(cfg: ClusterConfig) -> tuple[Cert, ...]:
    domain = cfg.cluster_domain
    return (
        Cert("apiserver", "kube-apiserver", server=True, client=False,
             dns=("kubernetes", "kubernetes.default", "kubernetes.default.svc",
                  f"kubernetes.default.svc.{domain}", "localhost", cfg.node_name),
             ips=(cfg.kubernetes_service_ip, cfg.node_ip, "127.0.0.1")),
        Cert("apiserver-kubelet-client", "kube-apiserver-kubelet-client", org="system:masters"),
        Cert("admin", "noa-admin", org="system:masters"),
        Cert("controller-manager", "system:kube-controller-manager"),
        Cert("scheduler", "system:kube-scheduler"),
        Cert("kube-proxy", "system:kube-proxy"),
        Cert("kubelet-client", f"system:node:{cfg.node_name}", org="system:nodes"),
        Cert("kubelet", cfg.node_name, server=True, client=False,
             dns=(cfg.node_name, "localhost"), ips=(cfg.node_ip, "127.0.0.1")),
        # CoreDNS runs as a host process with an RBAC binding of its own (cluster/manifests/).
        Cert("coredns", "noa:coredns"),
    )


def _openssl(args: list[str], cwd: Path) -> None:
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ClusterError(f"openssl {args[0]} failed: {result.stderr.strip().splitlines()[-1:]}")


def _new_key(path: Path) -> None:
    _openssl(["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path.name],
             path.parent)
    path.chmod(0o600)


def ensure_pki(cfg: ClusterConfig) -> Path:
    """Make whatever is missing under <state>/pki; an existing CA and keys are kept."""
    pki = cfg.pki_dir
    pki.mkdir(parents=True, exist_ok=True)
    pki.chmod(0o700)
    if not (pki / "ca.crt").is_file():
        _new_key(pki / "ca.key")
        _openssl(["req", "-x509", "-new", "-key", "ca.key", "-out", "ca.crt", "-days", "3650",
                  "-subj", f"/CN={cfg.context}-ca", "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign"], pki)
    if not (pki / "sa.key").is_file():
        _openssl(["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "sa.key"], pki)
        (pki / "sa.key").chmod(0o600)
        _openssl(["pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub"], pki)
    for cert in certificates(cfg):
        if (pki / f"{cert.name}.crt").is_file():
            continue
        _new_key(pki / f"{cert.name}.key")
        (pki / f"{cert.name}.ext").write_text(cert.extensions())
        _openssl(["req", "-new", "-key", f"{cert.name}.key", "-out", f"{cert.name}.csr",
                  "-subj", cert.subject()], pki)
        _openssl(["x509", "-req", "-in", f"{cert.name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
                  "-CAcreateserial", "-days", "825", "-out", f"{cert.name}.crt",
                  "-extfile", f"{cert.name}.ext"], pki)
        for leftover in (f"{cert.name}.csr", f"{cert.name}.ext"):
            (pki / leftover).unlink()
    for path in pki.iterdir():
        os.chmod(path, 0o600)
    return pki
