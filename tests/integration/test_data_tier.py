"""Least privilege in the data tier, tried from inside each app container with its own login.

Each service logs into Postgres as its own role and into Redis as its own ACL user
(docker/postgres/roles.sql, docker/redis/users.acl). From the container, with the credentials it
holds, an attacker who took the service over still cannot read another service's tables, run
COPY ... PROGRAM, create objects, flush Redis, list or configure it, or touch another service's
keys; and the service's own tables and keys stay usable (the near miss of each refusal)."""

from __future__ import annotations

import json

import docker
import pytest
from docker.models.containers import Container

from noa_ops.settings_catalogue import env_catalogue

from .data_tier import PROBE, expected, outcomes, probe_command
from .helpers import all_ready, invoke, key_of, stack_containers

pytestmark = pytest.mark.integration


def run_probe(container: Container, command: list[str]) -> dict[str, str]:
    result = container.exec_run(command)
    assert result.exit_code == 0, result.output.decode(errors="replace")[-2000:]
    return outcomes(result.output.decode())


@pytest.mark.parametrize("service", env_catalogue.APP_SERVICES)
def test_a_service_s_login_reaches_its_own_data_only(containers: dict[str, Container], service: str) -> None:
    assert run_probe(containers[service], probe_command(service)) == expected(service)


@pytest.mark.parametrize("service", env_catalogue.APP_SERVICES)
def test_a_service_s_role_holds_no_power_over_the_server(containers: dict[str, Container],
                                                          service: str) -> None:
    """Not a superuser, no CREATEROLE or CREATEDB, member of no role (pg_execute_server_program,
    pg_read_all_data, ...), owner of nothing."""
    attributes = ("SELECT rolsuper OR rolcreaterole OR rolcreatedb OR rolreplication OR rolbypassrls "
                  "OR pg_has_role(current_user, 'pg_execute_server_program', 'USAGE') "
                  "OR pg_has_role(current_user, 'pg_read_all_data', 'USAGE') "
                  "OR EXISTS (SELECT FROM pg_auth_members WHERE member = r.oid) "
                  "OR EXISTS (SELECT FROM pg_class WHERE relowner = r.oid) "
                  "OR EXISTS (SELECT FROM pg_namespace WHERE nspowner = r.oid) "
                  "FROM pg_roles r WHERE rolname = current_user")
    check = f"DO $$ BEGIN IF ({attributes}) THEN RAISE EXCEPTION 'too powerful'; END IF; END $$"
    command = ["python", "-c", PROBE, service, json.dumps([check]), "[]"]
    assert run_probe(containers[service], command) == {check: "ok"}


@pytest.mark.parametrize("service", env_catalogue.APP_SERVICES)
def test_no_app_container_holds_an_administrator_s_password(containers: dict[str, Container],
                                                             service: str) -> None:
    """The superuser's and Redis's default user's passwords, and other services' data passwords,
    are not in the container's environment; its own two are."""
    names = {entry.partition("=")[0] for entry in containers[service].attrs["Config"]["Env"]}
    passwords = {name for name in names if name.endswith("_PASSWORD")}
    assert passwords == {env_catalogue.password_variable(service, "POSTGRES"),
                         env_catalogue.password_variable(service, "REDIS")}


def test_the_default_redis_user_and_the_superuser_still_administer(containers: dict[str, Container]) -> None:
    """The near miss of the refusals above: the administrators' logins (held by the data
    containers only) can do what the services cannot."""
    redis = containers["redis"].exec_run(
        ["sh", "-c", 'REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli --no-auth-warning ACL WHOAMI'])
    assert redis.output.decode().strip() == "default"
    postgres = containers["postgres"].exec_run(
        ["sh", "-c", 'PGPASSWORD="$POSTGRES_PASSWORD" psql -h 127.0.0.1 -U "$POSTGRES_USER" '
                     '-d "$POSTGRES_DB" -Atc "SELECT rolsuper FROM pg_roles WHERE rolname = current_user"'])
    assert postgres.output.decode().strip() == "t"


LOGIN_WITH = """
import asyncio, os, sys
import asyncpg, redis.asyncio as aioredis
from noa_common.env_catalogue import data_user

async def main(service):
    outcome = []
    try:
        connection = await asyncpg.connect(host="postgres", user=data_user(service),
                                           database=os.environ["POSTGRES_DB"],
                                           password=os.environ["TRY_POSTGRES"])
        await connection.close()
        outcome.append("ok")
    except Exception as error:
        outcome.append(type(error).__name__)
    client = aioredis.Redis(host="redis", username=data_user(service), password=os.environ["TRY_REDIS"],
                            driver_info=None)
    try:
        await client.ping()
        outcome.append("ok")
    except Exception as error:
        outcome.append(type(error).__name__)
    await client.aclose()
    print(" ".join(outcome))

asyncio.run(main(sys.argv[1]))
"""


def logs_in_with(container: Container, service: str, postgres: str, redis: str) -> str:
    result = container.exec_run(["python", "-c", LOGIN_WITH, service],
                                environment={"TRY_POSTGRES": postgres, "TRY_REDIS": redis})
    assert result.exit_code == 0, result.output.decode(errors="replace")[-2000:]
    return result.output.decode().strip().splitlines()[-1]


def test_rotated_data_passwords_take_effect_and_the_old_ones_are_refused(engine: docker.DockerClient,
                                                                         stack: None) -> None:
    """`invoke rotate-key` of mcp's two data passwords, then the deploy: postgres and redis take the
    new ones at their restart, mcp is ready with them, and the old ones no longer log in."""
    names = [env_catalogue.password_variable("mcp", store) for store in ("POSTGRES", "REDIS")]
    old = [key_of(name) for name in names]
    assert logs_in_with(stack_containers(engine)["mcp"], "mcp", *old) == "ok ok"
    invoke("rotate-key", "--env", "dev", "--name", names[1], "--no-deploy")
    invoke("rotate-key", "--env", "dev", "--name", names[0])
    new = [key_of(name) for name in names]
    assert set(new).isdisjoint(old)
    assert all_ready()
    mcp = stack_containers(engine)["mcp"]
    assert logs_in_with(mcp, "mcp", *new) == "ok ok"
    assert logs_in_with(mcp, "mcp", *old) == "InvalidPasswordError AuthenticationError"


@pytest.mark.parametrize(("service", "probe", "variable"), [
    ("postgres", "/usr/local/bin/noa-postgres-healthcheck", "POSTGRES_PASSWORD"),
    ("redis", "/usr/local/bin/noa-redis-healthcheck", "REDIS_PASSWORD"),
])
def test_the_data_tier_health_checks_log_in(containers: dict[str, Container], service: str, probe: str,
                                             variable: str) -> None:
    """Each image's HEALTHCHECK logs in: with its own password it passes; with that password one
    character off, or none, it fails (pg_isready, or a PING answered NOAUTH, would pass)."""
    container = containers[service]
    assert container.exec_run([probe]).exit_code == 0
    right = key_of(variable)
    for wrong in (right[:-1] + ("x" if right[-1] != "x" else "y"), ""):
        result = container.exec_run([probe], environment={variable: wrong, f"{variable}_FILE": ""})
        assert result.exit_code != 0, (service, result.output.decode(errors="replace"))
