"""The operator CLI pointed at the local cluster, in state of its own: for the cluster tests and the
benchmark, which must never mix their releases with an operator's.

A `Sandbox` runs `invoke` for one environment with a runtime config (invoke -f) in its home
directory that points dev and staging at the local cluster (target kubernetes, the cluster's
context and registry, namespaces <namespaces>-<env>; staging deploys the staging-local variant)
and at env files there, with NOA_STATE_DIR there too (releases, build records, locks). Both
environments share the home, so one build and push serves both. KUBECONFIG is the cluster's, and
the kubectl built with the cluster comes first on PATH, so the client is the server's version.

What an operator's cluster would download by itself and this one cannot (the llama init step
fetches the model from Hugging Face; there is no route off the machine), `seed_model_claim` puts
in place: the variant's namespace and llama-models claim as it declares them, then the file.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from noa_ops import catalogue, paths
from noa_ops.cluster import ClusterError, client, volumes
from noa_ops.cluster.config import ClusterConfig

# environment -> the variant it deploys on the local cluster (its namespace is the overlay's)
VARIANTS = {"dev": "dev", "staging": "staging-local"}
MODEL_CLAIM = "llama-models"
Completed = subprocess.CompletedProcess[str]


@dataclass(frozen=True)
class Sandbox:
    cfg: ClusterConfig
    home: Path
    env: str = "dev"
    # The environments deploy to <namespaces>-<env>: the tests give each run its own, so that an
    # operator's noa-server-dev on the same cluster is never touched.
    namespaces: str = "noa-server"

    @property
    def namespace(self) -> str:
        return self.namespace_of(self.env)

    def namespace_of(self, env: str) -> str:
        return f"{self.namespaces}-{env}"

    @property
    def config_file(self) -> Path:
        return self.home / "invoke.yaml"

    def environ(self) -> dict[str, str]:
        kubectl_dir = Path(client.kubectl_binary(self.cfg)).parent
        return {**os.environ, "NOA_STATE_DIR": str(self.home / "state"),
                "KUBECONFIG": str(self.cfg.kubeconfig),
                "PATH": f"{kubectl_dir}:{os.environ.get('PATH', '/usr/bin:/bin')}"}

    def write_config(self) -> None:
        settings = {env: {"target": "kubernetes", "env_file": str(self.home / f"{env}.env"),
                          "kube_context": self.cfg.context, "kube_variant": variant,
                          "namespace": self.namespace_of(env), "registry": f"{self.cfg.registry}/noa"}
                    for env, variant in VARIANTS.items()}
        self.config_file.write_text(yaml.safe_dump({"noa": {"environments": settings}}))

    def invoke(self, *args: str, check: bool = True, timeout: float = 900) -> Completed:
        """`invoke -f <home>/invoke.yaml ARGS` from the checkout; ClusterError with its output if it
        fails and `check`."""
        command = [sys.executable, "-m", "invoke", "-f", str(self.config_file), *args]
        result = subprocess.run(command, cwd=paths.REPO, env=self.environ(), capture_output=True, text=True,
                                timeout=timeout, check=False)
        if check and result.returncode != 0:
            raise ClusterError(f"invoke {' '.join(args)} exited {result.returncode}\n"
                               f"stdout:\n{result.stdout[-5000:]}\nstderr:\n{result.stderr[-3000:]}")
        return result

    def build_and_push(self) -> dict[str, Any]:
        """Every image built for this revision and pushed to the cluster's registry, the exporters' too
        (staging-local runs the monitoring component): what the pushes printed, merged."""
        self.invoke("env-init", "--env", "dev")
        self.invoke("build", timeout=3600)
        pushed: dict[str, Any] = json.loads(self.invoke("push", "--env", "dev", "--json").stdout)
        exporters = [word for exporter in catalogue.EXPORTERS for word in ("--service", exporter.name)]
        self.invoke("build", *exporters, timeout=1800)
        more = json.loads(self.invoke("push", "--env", "dev", *exporters, "--json").stdout)
        pushed["pushed"].update(more["pushed"])
        return pushed

    def registry_tags(self) -> set[str]:
        """The engine's tags of images in the cluster's registry (what `invoke push` tags)."""
        listed = subprocess.run(["docker", "image", "ls", "--format", "{{.Repository}}:{{.Tag}}", "--filter",
                                 f"reference={self.cfg.registry}/noa/*"], capture_output=True, text=True,
                                check=False, timeout=60)
        return set(listed.stdout.split()) if listed.returncode == 0 else set()

    @contextlib.contextmanager
    def own_tags(self) -> Iterator[None]:
        """The registry tags made meanwhile are removed afterwards (the images keep their
        noa/<service>:<revision> tags; the registry keeps what was pushed); tags there before stay."""
        before = self.registry_tags()
        try:
            yield
        finally:
            made = sorted(self.registry_tags() - before)
            if made:
                subprocess.run(["docker", "rmi", *made], capture_output=True, check=False, timeout=120)

    def get(self, *args: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(client.kubectl(self.cfg, "-n", self.namespace, "get", *args,
                                                           "-o", "json", timeout=60))
        return loaded

    def rendered_objects(self, kinds: tuple[str, ...]) -> list[dict[str, Any]]:
        """Objects of this environment's variant as validate renders it (throwaway secrets)."""
        with tempfile.TemporaryDirectory(prefix="noa-render-") as out:
            subprocess.run([sys.executable, "-m", "noa_ops.k8s_render", "--out", out], cwd=paths.REPO,
                           check=True, capture_output=True)
            text = (Path(out) / f"{VARIANTS[self.env]}.yaml").read_text()
        return [self.moved(doc) for doc in yaml.safe_load_all(text) if doc and doc.get("kind") in kinds]

    def moved(self, document: dict[str, Any]) -> dict[str, Any]:
        """An object of the variant in this sandbox's namespace, as the deploy will place it."""
        metadata = document["metadata"]
        if document["kind"] == "Namespace":
            metadata["name"] = self.namespace
        elif "namespace" in metadata:
            metadata["namespace"] = self.namespace
        return document

    def seed_model_claim(self, model: Path, file_name: str, wait: float = 60) -> Path:
        """The namespace and the llama-models claim as the variant declares them, bound, with the
        model file in the volume (read-only, as the init step would leave it)."""
        wanted = [doc for doc in self.rendered_objects(("Namespace", "PersistentVolumeClaim"))
                  if doc["kind"] == "Namespace" or doc["metadata"]["name"] == MODEL_CLAIM]
        client.kubectl(self.cfg, "apply", "--server-side", "--field-manager=noa-ops", "-f", "-",
                       stdin=json.dumps({"apiVersion": "v1", "kind": "List", "items": wanted}), timeout=60)
        deadline = time.monotonic() + wait
        claim = self.get("pvc", MODEL_CLAIM)
        while claim.get("status", {}).get("phase") != "Bound":
            if time.monotonic() > deadline:
                raise ClusterError(f"{MODEL_CLAIM} is not Bound after {wait:.0f} s: {claim.get('status')}")
            time.sleep(0.5)
            claim = self.get("pvc", MODEL_CLAIM)
        volume = json.loads(client.kubectl(self.cfg, "get", "pv", claim["spec"]["volumeName"], "-o", "json",
                                           timeout=60))
        return volumes.put_file(volumes.host_path(self.cfg, volume), model, file_name)

    def derived_image(self, service: str, base: str, lines: str, name: str) -> str:
        """An image FROM `base` with Dockerfile `lines` added, pushed to the cluster's registry under
        noa-test/; by digest. Only the registry keeps it: the engine's tag is removed again."""
        target = f"{self.cfg.registry}/noa-test/{service}:{name}"
        for command, stdin in ((["docker", "build", "-q", "-t", target, "-"], f"FROM {base}\n{lines}\n"),
                               (["docker", "push", target], None)):
            result = subprocess.run(command, input=stdin, text=True, capture_output=True, check=False,
                                    timeout=300)
            if result.returncode != 0:
                raise ClusterError(f"{' '.join(command[:2])} {target} failed: {result.stderr.strip()[-500:]}")
        inspect = ["docker", "image", "inspect", "--format", "{{json .RepoDigests}}", target]
        inspected = subprocess.run(inspect, capture_output=True, text=True, check=True).stdout
        subprocess.run(["docker", "rmi", target], capture_output=True, check=False)
        repository = target.rsplit(":", 1)[0]
        return str(next(d for d in json.loads(inspected) if d.startswith(repository + "@")))

    def delete_namespace(self) -> None:
        client.kubectl(self.cfg, "delete", "namespace", self.namespace, "--ignore-not-found", "--wait=true",
                       "--timeout=180s", check=False, timeout=240)
