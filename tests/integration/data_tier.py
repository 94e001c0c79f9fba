"""What each app service's own data login may and may not do, for the data-tier attack tests on
compose (tests/integration/test_data_tier.py) and on the local cluster (tests/cluster)."""

from __future__ import annotations

import json

# Run by the container's own python with its own environment: each statement or command, and
# "ok" or the error's class name.
PROBE = """
import asyncio, json, os, sys
import asyncpg, redis.asyncio as aioredis
from noa_common.env_catalogue import data_user, password_variable

service, statements, commands = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])

async def outcome(call):
    try:
        await call()
        return "ok"
    except Exception as error:
        return type(error).__name__

async def main():
    connection = await asyncpg.connect(
        host="postgres", user=data_user(service), database=os.environ["POSTGRES_DB"],
        password=os.environ[password_variable(service, "POSTGRES")])
    client = aioredis.Redis(host="redis", username=data_user(service),
                            password=os.environ[password_variable(service, "REDIS")], driver_info=None)
    results = {}
    for statement in statements:
        results[statement] = await outcome(lambda: connection.execute(statement))
    for command in commands:
        results[" ".join(command)] = await outcome(lambda: client.execute_command(*command))
    await connection.close()
    await client.aclose()
    print(json.dumps(results))

asyncio.run(main())
"""

DENIED_SQL = "InsufficientPrivilegeError"
DENIED_REDIS = "NoPermissionError"
COPY_PROGRAM = "COPY (SELECT 1) TO PROGRAM 'id'"
# Every service, whatever it owns: what no service role may do.
FORBIDDEN_TO_ALL = {
    COPY_PROGRAM: DENIED_SQL,
    "CREATE TABLE noa_agents.planted (x int)": DENIED_SQL,
    "CREATE ROLE planted LOGIN": DENIED_SQL,
    "SELECT count(*) FROM noa_core.services": DENIED_SQL,
}
FORBIDDEN_REDIS_TO_ALL = {
    ("FLUSHALL",): DENIED_REDIS,
    ("FLUSHDB",): DENIED_REDIS,
    ("KEYS", "*"): DENIED_REDIS,
    ("CONFIG", "GET", "maxmemory"): DENIED_REDIS,
    ("ACL", "LIST"): DENIED_REDIS,
    ("DEBUG", "SLEEP", "0"): "ResponseError",
}
# Per service: its own tables and keys work; one step outside them is refused.
EXPECTED_SQL = {
    "mcp": {
        "SELECT count(*) FROM noa_memory.memories": "ok",
        "SELECT name, status FROM noa_agents.agents": "ok",
        "SELECT metadata FROM noa_agents.agents": DENIED_SQL,
        "SELECT count(*) FROM noa_agents.workflows": DENIED_SQL,
        "DELETE FROM noa_memory.memories WHERE false": DENIED_SQL,
    },
    "claude-flow": {
        "SELECT count(*) FROM noa_agents.workflows": "ok",
        "SELECT count(*) FROM noa_agents.workflow_steps": "ok",
        "SELECT count(*) FROM noa_agents.agents": DENIED_SQL,
        "SELECT count(*) FROM noa_memory.memories": DENIED_SQL,
    },
    "agenticos": {
        "SELECT count(*) FROM noa_agents.agents": "ok",
        "SELECT count(*) FROM noa_agents.tasks": "ok",
        "SELECT count(*) FROM noa_agents.workflows": DENIED_SQL,
        "SELECT count(*) FROM noa_memory.memories": DENIED_SQL,
        "DELETE FROM noa_agents.agents WHERE false": DENIED_SQL,
    },
}
EXPECTED_REDIS = {
    "mcp": {
        ("EXISTS", "noa:agent:probe:heartbeat"): "ok",
        ("SET", "noa:agent:probe:heartbeat", "1"): DENIED_REDIS,
        ("LLEN", "noa:flow:queue"): DENIED_REDIS,
    },
    "claude-flow": {
        ("LLEN", "noa:flow:queue"): "ok",
        ("EXISTS", "noa:agent:probe:heartbeat"): DENIED_REDIS,
        ("SET", "noa:flow:planted", "1"): DENIED_REDIS,
    },
    "agenticos": {
        ("EXISTS", "noa:agent:probe:heartbeat"): "ok",
        ("SET", "noa:flow:planted", "1"): DENIED_REDIS,
        ("LLEN", "noa:flow:queue"): DENIED_REDIS,
    },
}




def probe_command(service: str) -> list[str]:
    """The command that, run in the service's container, tries every statement and command."""
    statements = {**FORBIDDEN_TO_ALL, **EXPECTED_SQL[service]}
    commands = [list(command) for command in {**FORBIDDEN_REDIS_TO_ALL, **EXPECTED_REDIS[service]}]
    return ["python", "-c", PROBE, service, json.dumps(list(statements)), json.dumps(commands)]


def expected(service: str) -> dict[str, str]:
    commands = {**FORBIDDEN_REDIS_TO_ALL, **EXPECTED_REDIS[service]}
    return {**FORBIDDEN_TO_ALL, **EXPECTED_SQL[service],
            **{" ".join(command): wanted for command, wanted in commands.items()}}


def outcomes(output: str) -> dict[str, str]:
    """The probe's last line: what happened to each statement and command."""
    return dict(json.loads(output.strip().splitlines()[-1]))
