"""Each service does its real job: memory over MCP, workflows, agents, the dashboard."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import tempfile
import time
import uuid
from html.parser import HTMLParser

import yaml

from noa_ops import catalogue

from .helpers import base_url, call_tool, get, http, mcp_client, search_memories, wait_for
from .suite import REPO


def test_mcp_client_stores_a_memory_and_finds_it(stack: None) -> None:
    namespace = f"test-{uuid.uuid4().hex[:8]}"
    content = f"the launch code word is heliotrope {uuid.uuid4().hex[:6]}"
    stored = asyncio.run(call_tool("memory_store", {"content": content, "namespace": namespace}))
    assert stored["id"]
    found = search_memories("heliotrope", namespace)
    assert [m["content"] for m in found] == [content]


def test_mcp_lists_its_tools(stack: None) -> None:
    async def names() -> set[str]:
        async with mcp_client() as client:
            return {tool.name for tool in (await client.list_tools()).tools}

    assert {"memory_store", "memory_search", "agents_list"} <= asyncio.run(names())


def test_workflow_runs_to_completion_through_mcp(stack: None) -> None:
    namespace = f"flow-{uuid.uuid4().hex[:8]}"
    steps = [
        {"tool": "memory_store", "arguments": {"content": f"step {i} of the flow", "namespace": namespace}}
        for i in (1, 2)
    ]
    workflows = f"{base_url('claude-flow')}/workflows"
    created = http("POST", workflows, {"name": "two-steps", "steps": steps})
    assert created.status == 202, created.body
    workflow_url = f"{workflows}/{created.json()['id']}"

    def finished() -> bool:
        return get(workflow_url).json()["status"] in ("completed", "failed")

    wait_for(finished, 60, "the workflow to finish")
    workflow = get(workflow_url).json()
    assert workflow["status"] == "completed", workflow
    assert [step["status"] for step in workflow["steps"]] == ["completed", "completed"]
    assert len(search_memories("of the flow", namespace)) == 2


def test_agent_registers_and_its_heartbeat_expires(stack: None) -> None:
    agents = f"{base_url('agenticos')}/agents"
    created = http("POST", agents, {"name": f"agent-{uuid.uuid4().hex[:8]}", "type": "worker",
                                    "capabilities": ["search"], "heartbeat_ttl": 2})
    assert created.status == 201, created.body
    agent_id = created.json()["id"]
    assert get(f"{agents}/{agent_id}").json()["online"] is True
    assert http("POST", f"{agents}/{agent_id}/heartbeat", token=created.json()["token"]).status == 200

    wait_for(lambda: get(f"{agents}/{agent_id}").json()["online"] is False, 10, "the heartbeat to expire")
    assert get(f"{agents}/{agent_id}").json()["status"] == "offline"


class StatusRows(HTMLParser):
    """Collects data-service -> data-status from the rendered dashboard."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("data-service") and values.get("data-status"):
            self.rows[str(values["data-service"])] = str(values["data-status"])


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found, "Debian's chromium is needed for the dashboard test (scripts/bootstrap installs it)"
    return found


def render_dashboard(wait: bool = True) -> str:
    """The dashboard's DOM after 10 s of its (virtual) time, or at load when not `wait`."""
    budget = ["--virtual-time-budget=10000"] if wait else []
    with tempfile.TemporaryDirectory() as profile:
        result = subprocess.run(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             f"--user-data-dir={profile}", *budget, "--dump-dom", f"{base_url('ui')}/"],
            capture_output=True, text=True, timeout=120, check=False,
        )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_dashboard_shows_every_service_healthy_in_a_browser(stack: None) -> None:
    deadline = time.monotonic() + 60
    while True:
        parser = StatusRows()
        parser.feed(render_dashboard())
        expected = {s.name: "ok" for s in catalogue.stack_services()}
        if parser.rows == expected or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert parser.rows == expected


class MetricRows(HTMLParser):
    """Collects the metrics view: data-job -> data-up of each row, and the summary's data-status."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, str] = {}
        self.summary = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("data-job") and values.get("data-up"):
            self.rows[str(values["data-job"])] = str(values["data-up"])
        if values.get("id") == "metrics-summary":
            self.summary = str(values.get("data-status"))


def test_the_dashboard_shows_every_scrape_target_up_from_prometheus(stack: None) -> None:
    """The metrics view below the verdicts: one row per job of docker/monitoring/prometheus.yml,
    each up, read through the ui's /panels/ from the suite's Prometheus."""
    config = yaml.safe_load((REPO / "docker/monitoring/prometheus.yml").read_text())
    expected = {job["job_name"]: "up" for job in config["scrape_configs"]}
    deadline = time.monotonic() + 90
    while True:
        parser = MetricRows()
        parser.feed(render_dashboard())
        if (parser.rows == expected and parser.summary == "ok") or time.monotonic() > deadline:
            break
        time.sleep(3)
    assert (parser.rows, parser.summary) == (expected, "ok")


class FirstReports(HTMLParser):
    """Collects the JSON of each `first-report` data block nginx put into the page."""

    def __init__(self) -> None:
        super().__init__()
        self.reports: dict[str, str] = {}
        self.current: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "script" and values.get("class") == "first-report":
            self.current = str(values["data-service"])
            self.reports[self.current] = ""

    def handle_data(self, data: str) -> None:
        if self.current is not None:
            self.reports[self.current] += data

    def handle_endtag(self, tag: str) -> None:
        self.current = None


def test_the_dashboard_arrives_with_its_first_verdicts(stack: None) -> None:
    """nginx serves the page with each service's verdict in it, so the first paint shows real states."""
    page = get(f"{base_url('ui')}/", auth=None)
    assert page.status == 200
    parser = FirstReports()
    parser.feed(page.body)
    http_services = [s.name for s in catalogue.stack_services() if s.is_http]
    assert sorted(parser.reports) == sorted(http_services)
    for name, text in parser.reports.items():
        assert json.loads(text)["status"] == "ok", (name, text)
    assert "latency_ms" not in page.body, "the page holds the anonymous verdicts only"
    rows = StatusRows()
    rows.feed(render_dashboard(wait=False))
    assert rows.rows == {s.name: "ok" for s in catalogue.stack_services()}, "not rendered at load"
