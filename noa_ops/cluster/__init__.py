"""A local single-node Kubernetes cluster built from pinned Go modules (cluster/modules/).

Every component runs as a host process inside a network namespace and a private mount namespace
of its own (see netns.py), so nothing it does reaches the host's network, iptables or sysctls.
`python -m noa_ops.cluster build|up|status|down` is the entry point.
"""

from __future__ import annotations

from noa_ops.errors import NoaError


class ClusterError(NoaError):
    """A step of build, up, status or down failed; the message is one line meant for the user."""
