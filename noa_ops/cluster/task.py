"""`invoke cluster up|status|down|build`: the local cluster as an invoke task (tasks.py registers it).

Thin on purpose: everything happens in noa_ops.cluster; errors become one line and exit 1.
"""

from __future__ import annotations

from invoke.context import Context
from invoke.exceptions import Exit
from invoke.tasks import task

from noa_ops.cluster import ClusterError, build, lifecycle
from noa_ops.cluster.config import ClusterConfig

ACTIONS = ("up", "status", "down", "build")


@task(
    auto_shortflags=False,
    positional=["action"],
    help={
        "action": "up | status | down | build",
        "context": "NAME: the kubeconfig context to write (default noa-local; NOA_CLUSTER_CONTEXT)",
        "purge": "down: also delete the cluster's state directory (etcd data, PKI, registry)",
    },
)
def cluster(c: Context, action: str, context: str | None = None, purge: bool = False) -> None:
    """The local single-node Kubernetes cluster (own network namespace, built from cluster/modules/).

    `up` builds what is missing (cached per pinned version), starts every component and waits until
    the node is Ready; `status` lists components, pids, health and the kubeconfig; `down` stops all
    of it and leaves the host as it was.
    """
    if action not in ACTIONS:
        raise Exit(f"cluster: action must be one of {', '.join(ACTIONS)}, not {action!r}")
    cfg = ClusterConfig.from_env(context=context)
    try:
        if action == "build":
            build.build_all(cfg)
        elif action == "up":
            build.build_all(cfg)
            lifecycle.up(cfg)
        elif action == "status":
            if not lifecycle.status(cfg):
                raise Exit("cluster: not healthy", code=1)
        else:
            lifecycle.down(cfg, purge=purge)
    except ClusterError as error:
        raise Exit(f"cluster {action}: {error}", code=1) from None
