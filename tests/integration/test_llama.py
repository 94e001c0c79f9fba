"""llama serves the real Gemma 3 270M: completions, llm workflow steps, the ui proxy, and claude-flow
staying ready without it."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest
from docker.models.containers import Container

from noa_common.env_catalogue import LLAMA_CHAT_TEMPLATES
from noa_ops import models

from .helpers import base_url, get, http, wait_for

LLAMA = "LLAMA_API_KEY"
# Greedy decoding of a fixed prompt; ignore_eos makes the count of generated tokens exact.
COMPLETION = {"prompt": "The capital of France is", "n_predict": 16, "temperature": 0, "ignore_eos": True}


def run_workflow(steps: list[dict[str, object]], timeout: float = 120) -> dict[str, object]:
    workflows = f"{base_url('claude-flow')}/workflows"
    created = http("POST", workflows, {"name": "llm", "steps": steps})
    assert created.status == 202, created.body
    workflow_url = f"{workflows}/{created.json()['id']}"
    wait_for(lambda: get(workflow_url).json()["status"] in ("completed", "failed"), timeout,
             "the workflow to finish")
    workflow: dict[str, object] = get(workflow_url).json()
    return workflow


def test_completion_returns_generated_tokens(stack: None) -> None:
    reply = http("POST", f"{base_url('llama')}/completion", COMPLETION, timeout=120, auth=LLAMA)
    assert reply.status == 200, reply.body
    body = reply.json()
    assert body["tokens_predicted"] == COMPLETION["n_predict"]
    assert isinstance(body["content"], str) and body["content"].strip()
    assert body["timings"]["predicted_per_second"] > 0


def test_llama_serves_the_pinned_default_model(stack: None) -> None:
    listed = get(f"{base_url('llama')}/v1/models", auth=LLAMA).json()
    assert [entry["id"] for entry in listed["data"]] == [models.DEFAULT_MODEL_PATH]


def test_models_volume_is_mounted_read_only(containers: dict[str, Container]) -> None:
    mounts = {mount["Destination"]: mount for mount in containers["llama"].attrs["Mounts"]}
    assert mounts[models.MOUNT]["RW"] is False
    assert mounts[models.MOUNT]["Name"].endswith(f"_{models.VOLUME}")


def test_an_llm_step_completes_a_workflow(stack: None) -> None:
    workflow = run_workflow([
        {"kind": "llm", "arguments": {"prompt": "Write one word: hello", "max_tokens": 8, "temperature": 0}},
    ])
    assert workflow["status"] == "completed", workflow
    steps = workflow["steps"]
    assert isinstance(steps, list) and [step["status"] for step in steps] == ["completed"]
    result = steps[0]["result"]
    assert isinstance(result["text"], str)
    assert 1 <= result["tokens_predicted"] <= 8


def test_ui_proxies_llama_s_api_but_not_its_probes(stack: None) -> None:
    reply = get(f"{base_url('ui')}/api/llama/v1/models", auth=LLAMA)
    assert reply.status == 200, reply.body
    assert reply.json()["data"], reply.body
    assert get(f"{base_url('ui')}/api/llama/v1/models", auth=None).status == 401, "the key goes through"
    assert get(f"{base_url('ui')}/api/llama/health").status == 404, "probes stay off the public proxy"
    assert get(f"{base_url('ui')}/api/llama/metrics").status == 404, "metrics stay off the public proxy"


@pytest.fixture
def llama_stopped(containers: dict[str, Container]) -> Iterator[Container]:
    llama = containers["llama"]
    llama.stop(timeout=15)
    try:
        yield llama
    finally:
        llama.start()
        wait_for(llama_serves, 120, "llama to serve again")


def llama_serves() -> bool:
    try:
        return get(f"{base_url('llama')}/health", timeout=5).status == 200
    except OSError:  # refused or reset while the container starts
        return False


def test_claude_flow_stays_ready_without_llama(llama_stopped: Container) -> None:
    """llama is optional: readiness ignores it; only an llm step fails, naming llama."""
    assert get(f"{base_url('claude-flow')}/health/ready").status == 200
    workflow = run_workflow([{"kind": "llm", "arguments": {"prompt": "hi", "max_tokens": 2}}], timeout=60)
    assert workflow["status"] == "failed", workflow
    assert "llm" in str(workflow["error"])


TEMPLATE_TOKENS = ("<|im_start|>", "<|im_end|>", "<start_of_turn>", "<end_of_turn>")


def test_chat_uses_the_model_s_own_template(stack: None) -> None:
    """Gemma's turns, not ChatML; and the answer carries no template token of either."""
    messages = [{"role": "user", "content": "What is the capital of France?"}]
    applied = http("POST", f"{base_url('llama')}/apply-template", {"messages": messages}, auth=LLAMA)
    assert applied.status == 200, applied.body
    assert applied.json()["prompt"] == ("<start_of_turn>user\nWhat is the capital of France?<end_of_turn>\n"
                                        "<start_of_turn>model\n")
    chat = {"messages": messages, "max_tokens": 32, "temperature": 0}
    reply = http("POST", f"{base_url('llama')}/v1/chat/completions", chat, timeout=120, auth=LLAMA)
    assert reply.status == 200, reply.body
    answer = reply.json()["choices"][0]["message"]["content"]
    assert answer.strip() and not [token for token in TEMPLATE_TOKENS if token in answer], answer


def test_the_catalogue_lists_the_chat_templates_of_the_built_llama(containers: dict[str, Container]) -> None:
    """LLAMA_CHAT_TEMPLATE's choices are the built llama-server's own (a new llama.cpp may rename some)."""
    command = ["docker", "run", "--rm", "--network", "none", "--entrypoint", "llama-server",
               containers["llama"].image.id, "--help"]
    shown = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True).stdout
    listing = shown.split("list of built-in templates:", 1)[1].split("(env: LLAMA_ARG_CHAT_TEMPLATE)")[0]
    assert tuple(name.strip() for name in listing.split(",")) == LLAMA_CHAT_TEMPLATES
