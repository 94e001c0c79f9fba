"""The operator CLI against the local cluster, the way an operator runs it, in state of its own
(`noa_ops.cluster.sandbox`: a runtime config, env files and NOA_STATE_DIR in a temporary home),
with what the tests read back through the cluster's admin: objects, images and rows."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from noa_ops.cluster.sandbox import Completed, Sandbox

from .conftest import NAMESPACES, Cluster

NAMESPACE = f"{NAMESPACES}-dev"


@dataclass(frozen=True)
class Operator:
    cluster: Cluster
    sandbox: Sandbox

    @classmethod
    def at(cls, cluster: Cluster, home: Path, env: str) -> Operator:
        """The operator of `env` whose sandbox lives in `home` (shared by every environment)."""
        return cls(cluster, Sandbox(cluster.cfg, home, env, NAMESPACES))

    @property
    def namespace(self) -> str:
        return self.sandbox.namespace

    def invoke(self, *args: str, check: bool = True, timeout: float = 900) -> Completed:
        return self.sandbox.invoke(*args, check=check, timeout=timeout)

    def kubectl(self, *args: str, check: bool = True, stdin: str | None = None) -> Completed:
        return self.cluster.kubectl("-n", self.namespace, *args, check=check, stdin=stdin)

    def get(self, *args: str) -> dict[str, Any]:
        return self.cluster.get("-n", self.namespace, *args)

    def sql(self, statement: str) -> str:
        """One statement through psql in the postgres pod, with the password file it mounts."""
        script = ('PGPASSWORD="$(cat /run/secrets/noa/POSTGRES_PASSWORD)" psql -h 127.0.0.1 '
                  f'-U "$POSTGRES_USER" -d "$POSTGRES_DB" -v ON_ERROR_STOP=1 -Atc "{statement}"')
        return self.kubectl("exec", "postgres-0", "-c", "postgres", "--", "sh", "-c", script).stdout.strip()

    def images(self) -> dict[str, str]:
        """workload name -> the image of its first container, as the cluster holds it."""
        listing = self.get("deployments,statefulsets")
        return {item["metadata"]["name"]: item["spec"]["template"]["spec"]["containers"][0]["image"]
                for item in listing["items"]}

