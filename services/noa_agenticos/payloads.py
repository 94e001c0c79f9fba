"""Validation of agenticos request bodies: pure, so every rule is unit-tested without a server."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

MAX_NAME_CHARS = 200
MAX_CAPABILITIES = 100
MAX_HEARTBEAT_TTL = 86400


class InvalidPayload(ValueError):
    """The body breaks a rule; the message is safe to show the client."""


@dataclass(frozen=True)
class AgentRegistration:
    name: str
    type: str
    capabilities: tuple[str, ...]
    metadata: dict[str, Any] = field(default_factory=dict)
    heartbeat_ttl: int | None = None


@dataclass(frozen=True)
class TaskRequest:
    title: str
    description: str | None
    priority: int
    agent_id: str | None


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise InvalidPayload("body must be a JSON object")
    return body


def _text(body: dict[str, Any], key: str, required: bool = True, default: str = "") -> str:
    value = body.get(key, None if required else default)
    if not isinstance(value, str) or (required and not value.strip()) or len(value) > MAX_NAME_CHARS:
        raise InvalidPayload(f"{key} must be a non-empty string of at most {MAX_NAME_CHARS} characters")
    return value.strip()


def _integer(body: dict[str, Any], key: str, default: int | None) -> int | None:
    value = body.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidPayload(f"{key} must be an integer")
    return value


def agent_uuid(raw: str) -> str | None:
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        return None


def parse_registration(body: Any) -> AgentRegistration:
    data = _object(body)
    capabilities = data.get("capabilities", [])
    if not isinstance(capabilities, list) or not all(isinstance(item, str) for item in capabilities):
        raise InvalidPayload("capabilities must be a list of strings")
    if len(capabilities) > MAX_CAPABILITIES:
        raise InvalidPayload(f"at most {MAX_CAPABILITIES} capabilities")
    metadata = data.get("metadata", {})
    if not isinstance(metadata, dict):
        raise InvalidPayload("metadata must be an object")
    ttl = _integer(data, "heartbeat_ttl", None)
    if ttl is not None and not 1 <= ttl <= MAX_HEARTBEAT_TTL:
        raise InvalidPayload(f"heartbeat_ttl must be between 1 and {MAX_HEARTBEAT_TTL} seconds")
    return AgentRegistration(
        name=_text(data, "name"),
        type=_text(data, "type", required=False, default="generic") or "generic",
        capabilities=tuple(dict.fromkeys(item.strip() for item in capabilities if item.strip())),
        metadata=metadata,
        heartbeat_ttl=ttl,
    )


def parse_task(body: Any) -> TaskRequest:
    data = _object(body)
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        raise InvalidPayload("description must be a string")
    priority = _integer(data, "priority", 0)
    agent_id = data.get("agent_id")
    if agent_id is not None:
        agent_id = agent_uuid(agent_id) if isinstance(agent_id, str) else None
        if agent_id is None:
            raise InvalidPayload("agent_id must be an agent's UUID")
    return TaskRequest(_text(data, "title"), description, priority or 0, agent_id)


def parse_completion(body: Any) -> Any:
    data = _object(body)
    if "result" not in data:
        raise InvalidPayload("result is required (any JSON value)")
    return data["result"]
