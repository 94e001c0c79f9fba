"""Tasks in noa_agents.tasks: created for an agent (given, or the least-loaded online one)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from noa_agenticos.assignment import least_loaded
from noa_agenticos.payloads import TaskRequest
from noa_common.postgres import PostgresPool

ASSIGNED, PENDING, COMPLETED = "assigned", "pending", "completed"
OPEN_STATUSES = [PENDING, ASSIGNED]

_COLUMNS = "id, agent_id, title, description, status, priority, result, created_at, completed_at"


class UnknownAgent(Exception):
    pass


class AlreadyCompleted(Exception):
    pass


class QueueFull(Exception):
    pass


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def task_view(row: Any) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "agent_id": str(row["agent_id"]) if row["agent_id"] else None,
        "title": row["title"],
        "description": row["description"],
        "status": row["status"],
        "priority": row["priority"],
        "result": row["result"],
        "created_at": _iso(row["created_at"]),
        "completed_at": _iso(row["completed_at"]),
    }


class TaskBoard:
    def __init__(self, postgres: PostgresPool, max_pending: int = 1000) -> None:
        self.postgres = postgres
        self.max_pending = max_pending  # AGENTICOS_TASK_QUEUE_SIZE

    async def open_task_counts(self, agent_ids: list[str]) -> dict[str, int]:
        async with self.postgres.connection() as connection:
            rows = await connection.fetch(
                "SELECT agent_id, count(*) AS open FROM noa_agents.tasks"
                " WHERE agent_id = ANY($1::uuid[]) AND status = ANY($2::text[]) GROUP BY agent_id",
                agent_ids, OPEN_STATUSES)
        return {str(row["agent_id"]): int(row["open"]) for row in rows}

    async def create(self, request: TaskRequest, online_agent_ids: list[str]) -> dict[str, Any]:
        agent_id = request.agent_id
        if agent_id is None and online_agent_ids:
            agent_id = least_loaded(online_agent_ids, await self.open_task_counts(online_agent_ids))
        async with self.postgres.connection() as connection:
            if agent_id is None:
                pending = await connection.fetchval(
                    "SELECT count(*) FROM noa_agents.tasks WHERE agent_id IS NULL AND status = $1", PENDING)
                if pending >= self.max_pending:
                    raise QueueFull(f"{pending} tasks are waiting for an agent (AGENTICOS_TASK_QUEUE_SIZE); "
                                    f"retry later")
            if request.agent_id is not None:
                known = await connection.fetchval(
                    "SELECT EXISTS (SELECT 1 FROM noa_agents.agents WHERE id = $1)",
                    uuid.UUID(request.agent_id))
                if not known:
                    raise UnknownAgent(f"agent {request.agent_id} is not registered")
            row = await connection.fetchrow(
                f"INSERT INTO noa_agents.tasks (agent_id, title, description, status, priority)"
                f" VALUES ($1, $2, $3, $4, $5) RETURNING {_COLUMNS}",
                uuid.UUID(agent_id) if agent_id else None, request.title, request.description,
                ASSIGNED if agent_id else PENDING, request.priority)
        return task_view(row)

    async def get(self, task_id: str) -> dict[str, Any] | None:
        async with self.postgres.connection() as connection:
            row = await connection.fetchrow(f"SELECT {_COLUMNS} FROM noa_agents.tasks WHERE id = $1",
                                            uuid.UUID(task_id))
        return task_view(row) if row else None

    async def complete(self, task_id: str, result: Any) -> dict[str, Any] | None:
        async with self.postgres.connection() as connection:
            row = await connection.fetchrow(
                f"UPDATE noa_agents.tasks SET status = 'completed', result = $2, completed_at = now()"
                f" WHERE id = $1 AND status <> 'completed' RETURNING {_COLUMNS}", uuid.UUID(task_id), result)
            if row is None:
                exists = await connection.fetchval(
                    "SELECT EXISTS (SELECT 1 FROM noa_agents.tasks WHERE id = $1)", uuid.UUID(task_id))
                if exists:
                    raise AlreadyCompleted(f"task {task_id} is already completed")
                return None
        return task_view(row)
