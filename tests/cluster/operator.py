"""The operator CLI against the local cluster, the way an operator runs it, in state of its own.

`Operator` runs `invoke` with a runtime config (invoke -f) that points the dev environment at the
local cluster (target kubernetes, the cluster's context and registry) and at an env file in a
temporary directory, and with NOA_STATE_DIR there too: releases, build records and locks of the
test never mix with the operator's .noa/. KUBECONFIG is the cluster's, and the kubectl built with
the cluster comes first on PATH, so the client is the server's version.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from noa_ops.cluster import client, volumes

from .conftest import REPO, Cluster

ENV = "dev"
NAMESPACE = "noa-server-dev"
Completed = subprocess.CompletedProcess[str]


@dataclass(frozen=True)
class Operator:
    cluster: Cluster
    home: Path

    @property
    def config_file(self) -> Path:
        return self.home / "invoke.yaml"

    def environ(self) -> dict[str, str]:
        kubectl_dir = Path(client.kubectl_binary(self.cluster.cfg)).parent
        return {**os.environ, "NOA_STATE_DIR": str(self.home / "state"),
                "KUBECONFIG": str(self.cluster.cfg.kubeconfig),
                "PATH": f"{kubectl_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"}

    def write_config(self) -> None:
        settings = {"target": "kubernetes", "env_file": str(self.home / "dev.env"),
                    "kube_context": self.cluster.cfg.context, "registry": f"{self.cluster.cfg.registry}/noa"}
        self.config_file.write_text(yaml.safe_dump({"noa": {"environments": {ENV: settings}}}))

    def invoke(self, *args: str, check: bool = True, timeout: float = 900) -> Completed:
        command = [sys.executable, "-m", "invoke", "-f", str(self.config_file), *args]
        result = subprocess.run(command, cwd=REPO, env=self.environ(), capture_output=True, text=True,
                                timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"invoke {' '.join(args)} exited {result.returncode}\n"
                                 f"stdout:\n{result.stdout[-5000:]}\nstderr:\n{result.stderr[-3000:]}")
        return result

    def kubectl(self, *args: str, check: bool = True, stdin: str | None = None) -> Completed:
        return self.cluster.kubectl("-n", NAMESPACE, *args, check=check, stdin=stdin)

    def get(self, *args: str) -> dict[str, Any]:
        return self.cluster.get("-n", NAMESPACE, *args)

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


def rendered_objects(kinds: tuple[str, ...]) -> list[dict[str, Any]]:
    """Objects of the dev variant as validate renders it (`noa_ops.k8s_render`, throwaway secrets)."""
    with tempfile.TemporaryDirectory(prefix="noa-render-") as out:
        subprocess.run([sys.executable, "-m", "noa_ops.k8s_render", "--out", out], cwd=REPO, check=True,
                       capture_output=True)
        text = (Path(out) / f"{ENV}.yaml").read_text()
    return [doc for doc in yaml.safe_load_all(text) if doc and doc.get("kind") in kinds]


def seed_model_claim(op: Operator, model: Path, file_name: str) -> Path:
    """What an operator's cluster would download (the init step fetches from Hugging Face) this one
    cannot reach: the harness creates the namespace and the llama-models claim as the variant
    declares them, then puts the pinned model into the volume the claim is bound to."""
    wanted = [doc for doc in rendered_objects(("Namespace", "PersistentVolumeClaim"))
              if doc["kind"] == "Namespace" or doc["metadata"]["name"] == "llama-models"]
    op.cluster.kubectl("apply", "--server-side", "--field-manager=noa-ops", "-f", "-",
                       stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": wanted}))
    deadline = time.monotonic() + 60
    claim: dict[str, Any] = {}
    while time.monotonic() < deadline:
        claim = op.get("pvc", "llama-models")
        if claim.get("status", {}).get("phase") == "Bound":
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"llama-models is not Bound after 60 s: {claim.get('status')}")
    volume = op.cluster.get("pv", claim["spec"]["volumeName"])
    return volumes.put_file(volumes.host_path(op.cluster.cfg, volume), model, file_name)
