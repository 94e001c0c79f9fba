"""Pure rendering: every config file and command line of the cluster, from a ClusterConfig and
the binary paths. Nothing here touches the machine, so the unit tests cover all of it."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import yaml

from noa_ops.cluster import volumes
from noa_ops.cluster.config import ClusterConfig

PAUSE_IMAGE = "registry.k8s.io/pause:3.10"

# The kubelet wants these kernel tunables. It is told never to write them
# (protectKernelDefaults) and, inside the cluster's private mount namespace only, reads these
# values from read-only files bind-mounted over /proc/sys (see netns.holder_script).
KUBELET_SYSCTLS: dict[str, str] = {
    "vm/overcommit_memory": "1",
    "vm/panic_on_oom": "0",
    "kernel/panic": "10",
    "kernel/panic_on_oops": "1",
    "kernel/keys/root_maxkeys": "1000000",
    "kernel/keys/root_maxbytes": "25000000",
}


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode()


def kubeconfig(cfg: ClusterConfig, user: str, server: str, context: str, embed: bool = False) -> str:
    """A kubeconfig for the client certificate <pki>/<user>.crt against `server`."""
    pki = cfg.pki_dir
    cluster: dict[str, str] = {"server": server}
    creds: dict[str, str] = {}
    if embed:
        cluster["certificate-authority-data"] = _b64(pki / "ca.crt")
        creds = {"client-certificate-data": _b64(pki / f"{user}.crt"),
                 "client-key-data": _b64(pki / f"{user}.key")}
    else:
        cluster["certificate-authority"] = str(pki / "ca.crt")
        creds = {"client-certificate": str(pki / f"{user}.crt"), "client-key": str(pki / f"{user}.key")}
    doc = {
        "apiVersion": "v1", "kind": "Config",
        "clusters": [{"name": context, "cluster": cluster}],
        "users": [{"name": f"{context}-{user}", "user": creds}],
        "contexts": [{"name": context, "context": {"cluster": context, "user": f"{context}-{user}"}}],
        "current-context": context,
    }
    return yaml.safe_dump(doc, sort_keys=False)


def kubelet_config(cfg: ClusterConfig) -> str:
    pki = cfg.pki_dir
    doc = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": cfg.node_ip,
        "port": 10250,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        "tlsCertFile": str(pki / "kubelet.crt"),
        "tlsPrivateKeyFile": str(pki / "kubelet.key"),
        "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": True},
                           "x509": {"clientCAFile": str(pki / "ca.crt")}},
        "authorization": {"mode": "Webhook"},
        "containerRuntimeEndpoint": f"unix://{cfg.containerd_socket}",
        "cgroupDriver": "cgroupfs",
        # Every pod cgroup under one subtree of our own, removed by `down`.
        "cgroupRoot": "/noa-cluster",
        # This machine kind has the cgroup v1 hybrid hierarchy; kubelets 1.35+ refuse it otherwise.
        "failCgroupV1": False,
        "clusterDomain": cfg.cluster_domain,
        "clusterDNS": [cfg.dns_service_ip],
        # Pods get only the cluster's search path and server: no lookup leaves the namespace.
        "resolvConf": str(cfg.conf_dir / "resolv.conf"),
        # Container logs on disk under our state; /var/log/containers (links) is a tmpfs in there.
        "podLogsDir": str(cfg.state_dir / "pod-logs"),
        # Never write the machine-wide vm./kernel. sysctls (they are not namespaced).
        "protectKernelDefaults": True,
        "makeIPTablesUtilChains": False,
        "oomScoreAdj": 0,
        "failSwapOn": False,
        "rotateCertificates": False,
        "serverTLSBootstrap": False,
        "registerNode": True,
        "maxPods": 60,
        "imageGCHighThresholdPercent": 95,
        "imageGCLowThresholdPercent": 90,
        "evictionHard": {"memory.available": "200Mi", "nodefs.available": "3%",
                         "imagefs.available": "3%", "nodefs.inodesFree": "3%"},
        "serializeImagePulls": False,
        "shutdownGracePeriod": "0s",
    }
    return yaml.safe_dump(doc, sort_keys=False)


def kube_proxy_config(cfg: ClusterConfig) -> str:
    doc = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(cfg.conf_dir / "kube-proxy.kubeconfig")},
        "hostnameOverride": cfg.node_name,
        "bindAddress": cfg.node_ip,
        "healthzBindAddress": "127.0.0.1:10256",
        "metricsBindAddress": "127.0.0.1:10249",
        "clusterCIDR": cfg.pod_cidr,
        "mode": "iptables",
        # Service traffic between pods on one bridge: SNAT it, so no br_netfilter is needed.
        "iptables": {"masqueradeAll": True, "localhostNodePorts": False},
        # 0 = leave nf_conntrack_max and the hash size alone: they are machine-wide.
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s",
                      "tcpCloseWaitTimeout": "0s"},
    }
    return yaml.safe_dump(doc, sort_keys=False)


def containerd_config(cfg: ClusterConfig, bins: dict[str, Path]) -> str:
    """containerd 2.x config (version 3): own root, state and socket; CRI with our runc, CNI and
    the local pause image; registry hosts from <conf>/certs.d; NRI and unused snapshotters off."""
    state = cfg.run_dir / "containerd"
    root = cfg.state_dir / "containerd"
    return f"""version = 3
root = "{root}"
state = "{state}"
disabled_plugins = [
  "io.containerd.nri.v1.nri",
  "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs",
  "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.snapshotter.v1.blockfile",
  "io.containerd.snapshotter.v1.erofs",
  "io.containerd.tracing.processor.v1.otlp",
  "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "{cfg.containerd_socket}"

[ttrpc]
  address = "{cfg.containerd_socket}.ttrpc"

[debug]
  level = "info"

[plugins."io.containerd.internal.v1.opt"]
  path = "{root}/opt"

[plugins."io.containerd.cri.v1.runtime"]
  enable_selinux = false
  # Root here lacks CAP_SYS_RESOURCE: never lower a container's oom_score_adj below ours.
  restrict_oom_score_adj = true
  # Pod network namespaces under our state dir, not the host's /run/netns.
  netns_mounts_under_state_dir = true
  [plugins."io.containerd.cri.v1.runtime".containerd]
    default_runtime_name = "runc"
    [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.cri.v1.runtime".containerd.runtimes.runc.options]
        BinaryName = "{bins['runc']}"
        Root = "{cfg.run_dir / 'runc'}"
        SystemdCgroup = false
  [plugins."io.containerd.cri.v1.runtime".cni]
    bin_dirs = ["{bins['bridge'].parent}"]
    conf_dir = "{cfg.conf_dir / 'cni'}"
    max_conf_num = 1

[plugins."io.containerd.cri.v1.images"]
  snapshotter = "overlayfs"
  [plugins."io.containerd.cri.v1.images".pinned_images]
    sandbox = "{PAUSE_IMAGE}"
  [plugins."io.containerd.cri.v1.images".registry]
    config_path = "{cfg.conf_dir / 'certs.d'}"

[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
"""


def registry_hosts_toml(cfg: ClusterConfig) -> str:
    """containerd's hosts.toml for 127.0.0.1:<port>: plain http, pull and resolve only."""
    return (f'server = "http://{cfg.registry}"\n\n[host."http://{cfg.registry}"]\n'
            '  capabilities = ["pull", "resolve"]\n  skip_verify = true\n')


def cni_conflist(cfg: ClusterConfig) -> str:
    gateway = cfg.pod_cidr.rsplit(".", 1)[0] + ".1"
    doc = {
        "cniVersion": "1.0.0",
        "name": "noa-pods",
        "plugins": [
            {"type": "bridge", "bridge": "cni0", "isGateway": True, "ipMasq": False,
             "hairpinMode": True,
             "ipam": {"type": "host-local", "ranges": [[{"subnet": cfg.pod_cidr, "gateway": gateway}]],
                      "routes": [{"dst": "0.0.0.0/0"}],
                      "dataDir": str(cfg.state_dir / "cni" / "ipam")}},
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }
    return json.dumps(doc, indent=2) + "\n"


def corefile(cfg: ClusterConfig) -> str:
    """CoreDNS for the cluster domain only: no `forward`, so no query ever leaves the namespace."""
    return f""".:53 {{
    bind {cfg.node_ip}
    errors
    health 127.0.0.1:8080
    ready 127.0.0.1:8181
    kubernetes {cfg.cluster_domain} in-addr.arpa ip6.arpa {{
        kubeconfig {cfg.conf_dir / 'coredns.kubeconfig'} {cfg.context}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
        ttl 30
    }}
    cache 30
}}
"""


def pod_resolv_conf() -> str:
    """The kubelet's base resolv.conf: empty, so pods get the cluster DNS and search path only."""
    return "# noa-cluster: pods resolve through the cluster DNS only\n"


def etcd_command(cfg: ClusterConfig, bins: dict[str, Path]) -> list[str]:
    return [str(bins["etcd"]), "--name", "noa", "--data-dir", str(cfg.state_dir / "etcd"),
            "--listen-client-urls", "http://127.0.0.1:2379",
            "--advertise-client-urls", "http://127.0.0.1:2379",
            "--listen-peer-urls", "http://127.0.0.1:2380",
            "--initial-advertise-peer-urls", "http://127.0.0.1:2380",
            "--initial-cluster", "noa=http://127.0.0.1:2380",
            "--listen-metrics-urls", "http://127.0.0.1:2381",
            "--quota-backend-bytes", str(2 * 1024**3), "--log-level", "warn"]


def apiserver_command(cfg: ClusterConfig, bins: dict[str, Path]) -> list[str]:
    pki = cfg.pki_dir
    return [
        str(bins["kube-apiserver"]),
        "--etcd-servers", "http://127.0.0.1:2379",
        "--bind-address", cfg.node_ip, "--advertise-address", cfg.node_ip,
        "--secure-port", str(cfg.api_port),
        "--tls-cert-file", str(pki / "apiserver.crt"), "--tls-private-key-file", str(pki / "apiserver.key"),
        "--client-ca-file", str(pki / "ca.crt"),
        "--kubelet-client-certificate", str(pki / "apiserver-kubelet-client.crt"),
        "--kubelet-client-key", str(pki / "apiserver-kubelet-client.key"),
        "--kubelet-certificate-authority", str(pki / "ca.crt"),
        "--kubelet-preferred-address-types", "InternalIP,Hostname",
        "--authorization-mode", "Node,RBAC",
        "--anonymous-auth=false",
        "--enable-admission-plugins", "NodeRestriction,PodSecurity",
        # Privileged pods are refused by PodSecurity per namespace, not by a global switch.
        "--allow-privileged=true",
        "--service-cluster-ip-range", cfg.service_cidr,
        "--service-account-issuer", f"https://kubernetes.default.svc.{cfg.cluster_domain}",
        "--service-account-key-file", str(pki / "sa.pub"),
        "--service-account-signing-key-file", str(pki / "sa.key"),
        "--profiling=false",
        "--endpoint-reconciler-type", "lease",
        "--v", "1",
    ]


def controller_manager_command(cfg: ClusterConfig, bins: dict[str, Path]) -> list[str]:
    pki = cfg.pki_dir
    kubeconfig_path = str(cfg.conf_dir / "controller-manager.kubeconfig")
    return [
        str(bins["kube-controller-manager"]),
        "--kubeconfig", kubeconfig_path,
        "--authentication-kubeconfig", kubeconfig_path, "--authorization-kubeconfig", kubeconfig_path,
        "--bind-address", "127.0.0.1",
        "--service-account-private-key-file", str(pki / "sa.key"),
        "--root-ca-file", str(pki / "ca.crt"),
        "--cluster-signing-cert-file", str(pki / "ca.crt"),
        "--cluster-signing-key-file", str(pki / "ca.key"),
        "--use-service-account-credentials=true",
        "--service-cluster-ip-range", cfg.service_cidr,
        "--leader-elect=false",
        "--profiling=false",
        "--v", "1",
    ]


def scheduler_command(cfg: ClusterConfig, bins: dict[str, Path]) -> list[str]:
    kubeconfig_path = str(cfg.conf_dir / "scheduler.kubeconfig")
    return [str(bins["kube-scheduler"]), "--kubeconfig", kubeconfig_path,
            "--authentication-kubeconfig", kubeconfig_path, "--authorization-kubeconfig", kubeconfig_path,
            "--bind-address", "127.0.0.1", "--leader-elect=false", "--profiling=false", "--v", "1"]


def kubelet_command(cfg: ClusterConfig, bins: dict[str, Path]) -> list[str]:
    return [str(bins["kubelet"]), "--config", str(cfg.conf_dir / "kubelet.yaml"),
            "--kubeconfig", str(cfg.conf_dir / "kubelet.kubeconfig"),
            "--hostname-override", cfg.node_name, "--node-ip", cfg.node_ip,
            "--root-dir", str(cfg.state_dir / "kubelet"), "--v", "1"]


def kube_proxy_command(cfg: ClusterConfig, bins: dict[str, Path]) -> list[str]:
    return [str(bins["kube-proxy"]), "--config", str(cfg.conf_dir / "kube-proxy.yaml"), "--v", "1"]


def containerd_command(cfg: ClusterConfig, bins: dict[str, Path]) -> list[str]:
    return [str(bins["containerd"]), "--config", str(cfg.conf_dir / "containerd.toml")]


def coredns_command(cfg: ClusterConfig, bins: dict[str, Path]) -> list[str]:
    return [str(bins["coredns"]), "-conf", str(cfg.conf_dir / "Corefile")]


def network_policies_command(cfg: ClusterConfig, bins: dict[str, Path]) -> list[str]:
    return [str(bins["kube-network-policies"]), "--hostname-override", cfg.node_name,
            "--metrics-bind-address", "127.0.0.1:9080", "--disable-nri",
            # Kernel 6.12+ does not need the DNS workaround (see the flag's help).
            "--netfilter-bug-1766-fix=false", "--v", "1"]


NETWORK_POLICIES_SA = "kube-network-policies"


def bootstrap_manifests(cfg: ClusterConfig) -> str:
    """Objects `up` applies once the API answers: RBAC for the two host-process add-ons, the
    kube-dns Service (selector-less, its EndpointSlice names CoreDNS on the node address), the
    enforcer's ServiceAccount and its token Secret, the default StorageClass (volumes.py)."""
    read = ["get", "list", "watch"]
    docs: list[dict[str, object]] = [
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "noa:coredns"},
         "rules": [{"apiGroups": [""], "resources": ["endpoints", "services", "pods", "namespaces"],
                    "verbs": ["list", "watch"]},
                   {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"],
                    "verbs": ["list", "watch"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "noa:coredns"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "noa:coredns"},
         "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": "noa:coredns"}]},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": {"name": "kube-dns", "namespace": "kube-system",
                      "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"}},
         "spec": {"clusterIP": cfg.dns_service_ip,
                  "ports": [{"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                            {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53}]}},
        {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
         "metadata": {"name": "kube-dns-host", "namespace": "kube-system",
                      "labels": {"kubernetes.io/service-name": "kube-dns",
                                 "endpointslice.kubernetes.io/managed-by": "noa-cluster"}},
         "addressType": "IPv4",
         "endpoints": [{"addresses": [cfg.node_ip], "conditions": {"ready": True},
                        "nodeName": cfg.node_name}],
         "ports": [{"name": "dns", "port": 53, "protocol": "UDP"},
                   {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]},
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": NETWORK_POLICIES_SA, "namespace": "kube-system"}},
        {"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/service-account-token",
         "metadata": {"name": f"{NETWORK_POLICIES_SA}-token", "namespace": "kube-system",
                      "annotations": {"kubernetes.io/service-account.name": NETWORK_POLICIES_SA}}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": "noa:kube-network-policies"},
         "rules": [{"apiGroups": [""], "resources": ["pods", "namespaces", "nodes"], "verbs": read},
                   {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": read}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": "noa:kube-network-policies"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                     "name": "noa:kube-network-policies"},
         "subjects": [{"kind": "ServiceAccount", "name": NETWORK_POLICIES_SA, "namespace": "kube-system"}]},
        volumes.storage_class(),
    ]
    return yaml.safe_dump_all(docs, sort_keys=False)


def registry_config(cfg: ClusterConfig) -> str:
    """Debian docker-registry: filesystem storage under <state>/registry, loopback only, no auth."""
    doc = {
        "version": 0.1,
        "log": {"level": "warn", "accesslog": {"disabled": True}},
        "storage": {"filesystem": {"rootdirectory": str(cfg.state_dir / "registry")},
                    "delete": {"enabled": True}},
        "http": {"addr": cfg.registry},
    }
    return yaml.safe_dump(doc, sort_keys=False)
