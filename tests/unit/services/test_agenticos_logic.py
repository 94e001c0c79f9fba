"""agenticos' request validation and task assignment."""

from __future__ import annotations

from typing import Any

import pytest

from noa_agenticos.assignment import least_loaded
from noa_agenticos.payloads import InvalidPayload, parse_completion, parse_registration, parse_task

AGENT = "5f0c6a3e-8a46-4d59-9a0e-9a0d1f3e2b11"


def test_least_loaded_wins_and_ties_go_to_the_first() -> None:
    assert least_loaded(["a", "b", "c"], {"a": 3, "b": 1, "c": 1}) == "b"
    assert least_loaded(["a", "b"], {}) == "a"
    assert least_loaded([], {"a": 0}) is None


def test_registration_defaults_and_dedup() -> None:
    registration = parse_registration({"name": " scout ", "capabilities": ["search", "search", " code "]})
    assert registration.name == "scout"
    assert registration.type == "generic"
    assert registration.capabilities == ("search", "code")
    assert registration.heartbeat_ttl is None


def test_registration_heartbeat_ttl_override() -> None:
    assert parse_registration({"name": "a", "type": "worker", "heartbeat_ttl": 2}).heartbeat_ttl == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("x", "body must be a JSON object"),
        ({}, "name must be a non-empty string"),
        ({"name": "a", "capabilities": "search"}, "capabilities must be a list of strings"),
        ({"name": "a", "heartbeat_ttl": 0}, "heartbeat_ttl must be between 1 and 86400"),
        ({"name": "a", "heartbeat_ttl": True}, "heartbeat_ttl must be an integer"),
        ({"name": "a", "metadata": []}, "metadata must be an object"),
    ],
)
def test_invalid_registrations(body: Any, message: str) -> None:
    with pytest.raises(InvalidPayload, match=message):
        parse_registration(body)


def test_task_request() -> None:
    task = parse_task({"title": "index", "description": "d", "priority": 5, "agent_id": AGENT.upper()})
    assert (task.title, task.priority, task.agent_id) == ("index", 5, AGENT)
    assert parse_task({"title": "t"}).priority == 0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"description": "no title"}, "title must be a non-empty string"),
        ({"title": "t", "agent_id": "not-a-uuid"}, "agent_id must be an agent's UUID"),
        ({"title": "t", "priority": "high"}, "priority must be an integer"),
        ({"title": "t", "description": 3}, "description must be a string"),
    ],
)
def test_invalid_tasks(body: Any, message: str) -> None:
    with pytest.raises(InvalidPayload, match=message):
        parse_task(body)


def test_completion_needs_a_result() -> None:
    assert parse_completion({"result": {"ok": True}}) == {"ok": True}
    assert parse_completion({"result": None}) is None
    with pytest.raises(InvalidPayload):
        parse_completion({})
