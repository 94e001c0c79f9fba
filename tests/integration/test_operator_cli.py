"""The operator CLI against the running stack."""

from __future__ import annotations

import json

from noa_ops import catalogue

from .helpers import invoke


def test_health_exits_zero_and_reports_every_service(stack: None) -> None:
    report = json.loads(invoke("health", "--env", "dev", "--json").stdout)
    text = json.dumps(report)
    for service in catalogue.stack_services():
        assert service.name in text, f"{service.name} missing from invoke health --json"


def test_unknown_environment_is_refused(stack: None) -> None:
    result = invoke("deploy", "--env", "nope", check=False)
    assert result.returncode != 0
    assert "dev" in (result.stdout + result.stderr)
    assert "Traceback" not in result.stderr
