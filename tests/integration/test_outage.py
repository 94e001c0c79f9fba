"""A Postgres outage: dependents report not-ready but stay alive, then recover alone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from docker.models.containers import Container

from .helpers import all_ready, app_services, base_url, get, invoke, readiness, wait_for


@pytest.fixture
def postgres_stopped(containers: dict[str, Container]) -> Iterator[Container]:
    postgres = containers["postgres"]
    postgres.stop(timeout=20)
    try:
        yield postgres
    finally:
        postgres.start()


def test_postgres_outage_turns_readiness_503_and_recovers(postgres_stopped: Container) -> None:
    dependents = [s.name for s in app_services() if "postgres" in s.depends_on]
    assert dependents, "the catalogue names no Postgres dependents"

    wait_for(lambda: all(readiness(name) == 503 for name in dependents), 30,
             f"{', '.join(dependents)} to report not ready")
    for name in dependents:
        assert get(f"{base_url(name)}/health").status == 200, f"{name} liveness failed during the outage"
        failed = get(f"{base_url(name)}/health/ready").json()["checks"]["postgres"]
        assert failed["ok"] is False and failed["error"]  # the operator's key sees why
        anonymous = get(f"{base_url(name)}/health/ready", auth=None).json()["checks"]["postgres"]
        assert anonymous == {"ok": False}, f"{name} told an anonymous caller why: {anonymous}"
    report = invoke("health", "--env", "dev", check=False)
    assert report.returncode != 0, "invoke health passed while Postgres was down"

    postgres_stopped.start()
    wait_for(lambda: all(readiness(name) == 200 for name in dependents), 90,
             f"{', '.join(dependents)} to recover after Postgres returned")
    wait_for(all_ready, 60, "every service to be ready again")
