"""llama: the init step fetches the pinned model into its claim, the server reads it read-only."""

from __future__ import annotations

from noa_ops import models

from .manifest import Render, find, name_of, of_kind, ref
from .pods import configmap_keys, containers, env_names, pod_template

# The llama pod: the ConfigMap naming its model, the claim holding it, the init step filling it.
LLAMA_MODEL_CONFIG = "llama-model"
LLAMA_MODELS_CLAIM = "llama-models"
MODEL_FETCHER = "fetch-model"


def llama_fetches_its_model(render: Render) -> list[str]:  # noqa: PLR0912  (one checklist)
    """llama's init step is the one writer of the models claim and fetches the pinned model; the
    server mounts the claim read-only; path, URL and sha256 are those of noa_ops/models.py."""
    problems = []
    llama = find(render, "Deployment", "llama")
    if llama is None:
        return ["Deployment/llama: missing"]
    where = ref(llama)
    spec = pod_template(llama)["spec"]
    config = next(
        (c for c in of_kind(render, "ConfigMap") if name_of(c).startswith(f"{LLAMA_MODEL_CONFIG}-")), None
    )
    data = (config or {}).get("data") or {}
    pins = {
        "MODEL_PATH": models.DEFAULT_MODEL_PATH,
        "MODEL_URL": models.DEFAULT_MODEL_URL,
        "MODEL_SHA256": models.DEFAULT_MODEL.sha256,
    }
    if config is None:
        problems.append(f"ConfigMap/{LLAMA_MODEL_CONFIG}: missing")
    for key, pinned in pins.items():
        if config is not None and data.get(key) != pinned:
            problems.append(
                f"{ref(config)}: data.{key} {data.get(key)!r} is not noa_ops/models.py's pin {pinned!r}"
            )
    claim_volumes = {
        v["name"] for v in spec.get("volumes") or []
        if (v.get("persistentVolumeClaim") or {}).get("claimName") == LLAMA_MODELS_CLAIM
    }
    if not claim_volumes:
        problems.append(f"{where}: no volume of claim {LLAMA_MODELS_CLAIM}")
    writers = [
        path
        for path, container in containers(spec)
        for mount in container.get("volumeMounts") or []
        if mount["name"] in claim_volumes and mount.get("readOnly") is not True
    ]
    init_containers = spec.get("initContainers") or []
    index = next((i for i, c in enumerate(init_containers) if c.get("name") == MODEL_FETCHER), None)
    fetcher_path = f"spec.template.spec.initContainers[{index}]({MODEL_FETCHER})"
    if index is None or writers != [fetcher_path]:
        problems.append(
            f"{where}: claim {LLAMA_MODELS_CLAIM} must be writable by init container {MODEL_FETCHER} "
            f"alone (writable in {writers or 'none'})"
        )
    server = (spec.get("containers") or [{}])[0]
    server_mounts = [m for m in server.get("volumeMounts") or [] if m["name"] in claim_volumes]
    if [m.get("mountPath") for m in server_mounts if m.get("readOnly") is True] != [models.MOUNT]:
        problems.append(
            f"{where}: containers[0] must mount claim {LLAMA_MODELS_CLAIM} read-only at {models.MOUNT}"
        )
    model_from = env_names(server).get("LLAMA_ARG_MODEL", {}).get("valueFrom") or {}
    model_ref = model_from.get("configMapKeyRef") or {}
    if config is None or (model_ref.get("name"), model_ref.get("key")) != (name_of(config), "MODEL_PATH"):
        problems.append(
            f"{where}: containers[0].env[LLAMA_ARG_MODEL] must come from {LLAMA_MODEL_CONFIG} MODEL_PATH"
        )
    if index is None:
        return problems
    fetcher = init_containers[index]
    if fetcher.get("image") != server.get("image"):
        problems.append(f"{where}: {fetcher_path}.image must be the server's image (its curl)")
    if config is not None and not set(pins) <= configmap_keys(render, fetcher):
        problems.append(
            f"{where}: {fetcher_path}.envFrom must hold {sorted(pins)} from {LLAMA_MODEL_CONFIG}"
        )
    writable_mounts = [
        m for m in fetcher.get("volumeMounts") or []
        if m["name"] in claim_volumes and m.get("mountPath") == models.MOUNT and m.get("readOnly") is not True
    ]
    if not writable_mounts:
        problems.append(
            f"{where}: {fetcher_path} must mount claim {LLAMA_MODELS_CLAIM} writable at {models.MOUNT}"
        )
    script = "\n".join(str(part) for part in [*(fetcher.get("command") or []), *(fetcher.get("args") or [])])
    verify, rename = script.find("sha256sum -c"), script.find('mv -f "$partial" "$MODEL_PATH"')
    if not 0 <= verify < rename or "--proto =https" not in script:
        problems.append(
            f"{where}: {fetcher_path} must download over https only, check MODEL_SHA256 (sha256sum -c) and "
            "only then rename the download to MODEL_PATH"
        )
    return problems


# The rules of this concern, for rule_set.RULES.
RULES = (llama_fetches_its_model,)
