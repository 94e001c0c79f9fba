"""Workflow state in noa_agents.workflows and noa_agents.workflow_steps."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from noa_common.postgres import PostgresPool
from noa_flow.model import COMPLETED, FAILED, PendingStep
from noa_flow.workflow_request import WorkflowRequest


def parse_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


class WorkflowStore:
    def __init__(self, postgres: PostgresPool) -> None:
        self.postgres = postgres

    async def create(self, request: WorkflowRequest) -> str:
        async with self.postgres.connection() as connection, connection.transaction():
            workflow_id = await connection.fetchval(
                "INSERT INTO noa_agents.workflows (name, definition) VALUES ($1, $2) RETURNING id",
                request.name, request.as_definition())
            await connection.executemany(
                "INSERT INTO noa_agents.workflow_steps (workflow_id, position, tool, arguments)"
                " VALUES ($1, $2, $3, $4)",
                [(workflow_id, index, step.tool, step.arguments) for index, step in enumerate(request.steps)])
        return str(workflow_id)

    async def delete(self, workflow_id: str) -> None:
        async with self.postgres.connection() as connection:
            await connection.execute("DELETE FROM noa_agents.workflows WHERE id = $1", uuid.UUID(workflow_id))

    async def get(self, workflow_id: str) -> dict[str, Any] | None:
        key = parse_id(workflow_id)
        if key is None:
            return None
        async with self.postgres.connection() as connection:
            row = await connection.fetchrow(
                "SELECT id, name, status, result, error, created_at, updated_at, completed_at"
                " FROM noa_agents.workflows WHERE id = $1", key)
            if row is None:
                return None
            steps = await connection.fetch(
                "SELECT position, tool, status, result, error, attempts FROM noa_agents.workflow_steps"
                " WHERE workflow_id = $1 ORDER BY position", key)
        return {
            "id": str(row["id"]), "name": row["name"], "status": row["status"],
            "steps": [dict(step) for step in steps],
            "result": row["result"], "error": row["error"],
            "created_at": _iso(row["created_at"]), "updated_at": _iso(row["updated_at"]),
            "completed_at": _iso(row["completed_at"]),
        }

    async def recent(self, status: str | None, limit: int) -> list[dict[str, Any]]:
        async with self.postgres.connection() as connection:
            rows = await connection.fetch(
                "SELECT id, name, status, error, created_at, completed_at FROM noa_agents.workflows"
                " WHERE $1::text IS NULL OR status = $1 ORDER BY created_at DESC LIMIT $2", status, limit)
        return [
            {"id": str(row["id"]), "name": row["name"], "status": row["status"], "error": row["error"],
             "created_at": _iso(row["created_at"]), "completed_at": _iso(row["completed_at"])}
            for row in rows
        ]

    async def start(self, workflow_id: str) -> list[PendingStep] | None:
        """Mark the workflow running and return its unfinished steps; None when it is already finished
        (a duplicate job) or gone."""
        key = uuid.UUID(workflow_id)
        async with self.postgres.connection() as connection, connection.transaction():
            status = await connection.fetchval(
                "UPDATE noa_agents.workflows SET status = 'running' WHERE id = $1"
                " AND status IN ('pending', 'running') RETURNING status", key)
            if status is None:
                return None
            rows = await connection.fetch(
                "SELECT position, tool, arguments, attempts FROM noa_agents.workflow_steps"
                " WHERE workflow_id = $1 AND status <> 'completed' ORDER BY position", key)
        return [PendingStep(row["position"], row["tool"], row["arguments"], row["attempts"]) for row in rows]

    async def step_running(self, workflow_id: str, position: int) -> None:
        await self._execute(
            "UPDATE noa_agents.workflow_steps SET status = 'running', attempts = attempts + 1,"
            " started_at = COALESCE(started_at, now()), error = NULL"
            " WHERE workflow_id = $1 AND position = $2",
            workflow_id, position)

    async def step_finished(self, workflow_id: str, position: int, result: Any, error: str | None) -> None:
        status = FAILED if error is not None else COMPLETED
        await self._execute(
            "UPDATE noa_agents.workflow_steps SET status = $3, result = $4, error = $5, completed_at = now()"
            " WHERE workflow_id = $1 AND position = $2", workflow_id, position, status, result, error)

    async def step_retry(self, workflow_id: str, position: int, error: str) -> None:
        await self._execute(
            "UPDATE noa_agents.workflow_steps SET status = 'pending', error = $3"
            " WHERE workflow_id = $1 AND position = $2", workflow_id, position, error)

    async def finish(self, workflow_id: str, result: Any, error: str | None) -> None:
        key = uuid.UUID(workflow_id)
        async with self.postgres.connection() as connection, connection.transaction():
            await connection.execute(
                "UPDATE noa_agents.workflows SET status = $2, result = $3, error = $4, completed_at = now()"
                " WHERE id = $1", key, FAILED if error else COMPLETED, result, error)
            if error:
                await connection.execute(
                    "UPDATE noa_agents.workflow_steps SET status = 'skipped'"
                    " WHERE workflow_id = $1 AND status = 'pending'", key)

    async def release(self, workflow_id: str) -> None:
        """Put a workflow interrupted by shutdown back to pending (its finished steps stay finished)."""
        key = uuid.UUID(workflow_id)
        async with self.postgres.connection() as connection, connection.transaction():
            await connection.execute(
                "UPDATE noa_agents.workflow_steps SET status = 'pending'"
                " WHERE workflow_id = $1 AND status = 'running'", key)
            await connection.execute(
                "UPDATE noa_agents.workflows SET status = 'pending'"
                " WHERE id = $1 AND status = 'running'", key)

    async def step_results(self, workflow_id: str) -> list[Any]:
        async with self.postgres.connection() as connection:
            rows = await connection.fetch(
                "SELECT result FROM noa_agents.workflow_steps WHERE workflow_id = $1 ORDER BY position",
                uuid.UUID(workflow_id))
        return [row["result"] for row in rows]

    async def _execute(self, query: str, workflow_id: str, *args: Any) -> None:
        async with self.postgres.connection() as connection:
            await connection.execute(query, uuid.UUID(workflow_id), *args)
