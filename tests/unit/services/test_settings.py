"""Settings catalogue and loading: validation, defaults, and that secrets never reach a message."""

from __future__ import annotations

import dataclasses

import pytest

from noa_common.env_catalogue import (
    APP_SERVICES,
    LLAMA,
    PORT_VARIABLES,
    SETTINGS_SERVICES,
    VARIABLES,
    Kind,
    Variable,
    variable,
    variables_for,
)
from noa_common.settings import (
    check_value,
    listen_port,
    load_settings,
    parse_value,
    port_from_environment,
)

from .helpers import SECRETS


def problems_by_variable(service: str, env: dict[str, str]) -> dict[str, str]:
    return {problem.variable: problem.reason for problem in load_settings(service, env).problems}


@pytest.mark.parametrize("service", APP_SERVICES)
def test_defaults_plus_secrets_are_valid(service: str) -> None:
    settings = load_settings(service, SECRETS)
    assert settings.valid, settings.problems
    assert settings.integer(PORT_VARIABLES[service]) == int(variable(PORT_VARIABLES[service]).default or 0)


@pytest.mark.parametrize("item", VARIABLES, ids=lambda item: item.name)
def test_every_default_passes_its_own_rules(item: Variable) -> None:
    assert item.description.endswith(".")
    assert item.services and item.services <= set(SETTINGS_SERVICES)
    if item.default is not None:
        assert check_value(item, parse_value(item, item.default), "production") is None
    else:
        assert item.secret and item.example, "a required variable needs an example for .env.example"


def test_catalogue_names_are_unique_and_upper_case() -> None:
    names = [item.name for item in VARIABLES]
    assert len(names) == len(set(names))
    assert all(name.isupper() for name in names)


def test_secrets_are_required() -> None:
    problems = problems_by_variable("mcp", {})
    assert problems == {
        "MCP_POSTGRES_PASSWORD": "is required and not set",
        "MCP_REDIS_PASSWORD": "is required and not set",
        "ENCRYPTION_KEY": "is required and not set",
    }
    assert set(problems_by_variable("agenticos", {})) == {"AGENTICOS_POSTGRES_PASSWORD",
                                                           "AGENTICOS_REDIS_PASSWORD", "JWT_SECRET"}
    assert set(problems_by_variable("claude-flow", {})) == {"CLAUDE_FLOW_POSTGRES_PASSWORD",
                                                             "CLAUDE_FLOW_REDIS_PASSWORD",
                                                             "SESSION_SECRET", "CLAUDE_FLOW_API_KEY",
                                                             "LLAMA_API_KEY"}


def test_each_service_reads_its_own_data_passwords_only() -> None:
    """The superuser's and Redis's default user's passwords reach no app service; each app service
    reads its own two passwords and no other's."""
    for service in APP_SERVICES:
        passwords = {item.name for item in variables_for(service) if item.name.endswith("_PASSWORD")}
        assert passwords == {f"{service.upper().replace('-', '_')}_POSTGRES_PASSWORD",
                             f"{service.upper().replace('-', '_')}_REDIS_PASSWORD"}


def test_empty_value_counts_as_unset() -> None:
    settings = load_settings("mcp", {**SECRETS, "MCP_PORT": "", "LOG_LEVEL": ""})
    assert settings.valid
    assert settings.integer("MCP_PORT") == 8001
    assert settings.text("LOG_LEVEL") == "info"


@pytest.mark.parametrize(
    ("name", "raw", "reason"),
    [
        ("MCP_PORT", "abc", "'abc' is not an integer"),
        ("MCP_PORT", "70000", "must be at most 65535"),
        ("DB_POOL_MAX", "0", "must be at least 1"),
        ("HEALTH_CHECK_TIMEOUT", "0", "must be greater than 0"),
        ("HEALTH_CHECK_TIMEOUT", "nan", "'nan' is not a finite number"),
        ("LOG_LEVEL", "verbose", "must be one of debug, info, warn, error"),
        ("POSTGRES_SSL_MODE", "allow", "must be one of disable, prefer, require, verify-full"),
        ("METRICS_ENABLED", "maybe", "'maybe' is not a boolean (true/false)"),
        ("POSTGRES_HOST", "http://db", "must be a host name or IP address (no scheme or port)"),
        ("REDIS_DB", "16", "must be at most 15"),
        ("NOA_ENV", "prod", "must be one of development, staging, production"),
    ],
)
def test_invalid_values_name_the_variable_and_reason(name: str, raw: str, reason: str) -> None:
    settings = load_settings("mcp", {**SECRETS, name: raw})
    assert not settings.valid
    [problem] = settings.problems
    assert problem.variable == name
    assert problem.reason == reason
    assert problem.message == f"invalid setting {name}: {reason}"


def test_invalid_value_falls_back_to_default() -> None:
    settings = load_settings("mcp", {**SECRETS, "MCP_PORT": "abc", "DB_POOL_MAX": "0"})
    assert settings.integer("MCP_PORT") == 8001
    assert settings.integer("DB_POOL_MAX") == 10


def test_mcp_url_rules() -> None:
    assert "MCP_URL" in problems_by_variable("claude-flow", {**SECRETS, "MCP_URL": "mcp:8001"})
    assert "MCP_URL" in problems_by_variable("agenticos", {**SECRETS, "MCP_URL": "http://mcp:8001/mcp"})
    assert problems_by_variable("claude-flow", {**SECRETS, "MCP_URL": "https://mcp.internal:8443/"}) == {}


def test_pool_bounds_constraint() -> None:
    problems = problems_by_variable("mcp", {**SECRETS, "DB_POOL_MIN": "5", "DB_POOL_MAX": "2"})
    assert problems == {"DB_POOL_MIN": "DB_POOL_MIN must not exceed DB_POOL_MAX"}


def test_constraint_skipped_when_a_member_is_already_invalid() -> None:
    problems = problems_by_variable("mcp", {**SECRETS, "DB_POOL_MIN": "5", "DB_POOL_MAX": "x"})
    assert set(problems) == {"DB_POOL_MAX"}


STRONG = {"MCP_POSTGRES_PASSWORD": "Pg-pw-7Hq2-Lx9v-Zr4", "MCP_REDIS_PASSWORD": "Rd_pw_3Kt8_Mn5b_Qw1",
          "ENCRYPTION_KEY": "3f9a0c7e1b2d4f6a8c0e2b4d6f8a1c3e5b7d9f0a2c4e6b8d0f1a3c5e7b9d2f4a"}


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_strict_environments_require_strong_secrets_without_showing_them(environment: str) -> None:
    assert load_settings("mcp", {**STRONG, "NOA_ENV": environment}).valid
    env = {**STRONG, "NOA_ENV": environment, "MCP_POSTGRES_PASSWORD": "short-pw"}
    settings = load_settings("mcp", env)
    assert [problem.variable for problem in settings.problems] == ["MCP_POSTGRES_PASSWORD"]
    assert settings.problems[0].reason == f"must be at least 16 characters (required in {environment})"
    assert all("short-pw" not in problem.message for problem in settings.problems)


@pytest.mark.parametrize(
    ("name", "raw", "reason"),
    [
        ("MCP_REDIS_PASSWORD", "alllowercaseletters", "must mix at least three of"),
        ("MCP_REDIS_PASSWORD", "change-me-to-a-random-secret", "looks like a placeholder"),
        ("ENCRYPTION_KEY", "0" * 64, "is not random"),
    ],
)
def test_production_rules(name: str, raw: str, reason: str) -> None:
    settings = load_settings("mcp", {**STRONG, "NOA_ENV": "production", name: raw})
    [problem] = settings.problems
    assert problem.variable == name and reason in problem.reason
    assert load_settings("mcp", {**STRONG, name: raw}).valid  # development accepts it


def test_secret_parse_errors_never_quote_the_value() -> None:
    numeric_secret = dataclasses.replace(variable("POSTGRES_PASSWORD"), kind=Kind.INTEGER)
    with pytest.raises(ValueError) as error:
        parse_value(numeric_secret, "hunter2-secret")
    assert "hunter2-secret" not in str(error.value)
    assert "the value" in str(error.value)


def test_secret_values_are_collected_for_redaction_and_kept_verbatim() -> None:
    settings = load_settings("mcp", {"MCP_POSTGRES_PASSWORD": " padded secret ",
                                     "MCP_REDIS_PASSWORD": "r" * 20})
    assert settings.text("MCP_POSTGRES_PASSWORD") == " padded secret "
    assert set(settings.secret_values) == {" padded secret ", "r" * 20}


@pytest.mark.parametrize(
    ("raw", "expected"), [("true", True), ("1", True), ("ON", True), ("no", False), ("0", False)]
)
def test_booleans(raw: str, expected: bool) -> None:
    assert load_settings("mcp", {**SECRETS, "METRICS_ENABLED": raw}).flag("METRICS_ENABLED") is expected


def test_typed_getters_fail_loudly() -> None:
    settings = load_settings("mcp", SECRETS)
    with pytest.raises(TypeError):
        settings.text("MCP_PORT")
    with pytest.raises(KeyError):
        settings.text("MCP_URL")  # claude-flow and agenticos read it, mcp does not
    with pytest.raises(KeyError):
        settings.text("NOT_A_SETTING")


def test_variables_per_service() -> None:
    assert "MCP_URL" not in {item.name for item in variables_for("mcp")}
    assert {"MCP_URL", "WORKER_CONCURRENCY"} <= {item.name for item in variables_for("claude-flow")}
    agenticos = {item.name for item in variables_for("agenticos")}
    assert {"AGENTICOS_HEARTBEAT_TTL", "AGENTICOS_MAX_AGENTS"} <= agenticos
    assert {item.name for item in variables_for("ui")} == {"PROMETHEUS_URL"}
    with pytest.raises(KeyError):
        variables_for("nginx")


def test_llama_variables_stay_out_of_the_app_services() -> None:
    """llama's variables go to llama-server (LLAMA_ARG_*); no Python service loads or requires them."""
    llama = {item.name for item in variables_for(LLAMA)}
    assert llama == {"MODEL_PATH", "LLAMA_CHAT_TEMPLATE", "LLAMA_THREADS", "LLAMA_CONTEXT_SIZE",
                     "LLAMA_BATCH_SIZE", "LLAMA_GPU_LAYERS", "LLAMA_API_KEY"}
    # The one exception: llama's API key, which claude-flow presents to it.
    assert {item.name for item in variables_for("claude-flow")} & llama == {"LLAMA_API_KEY"}
    for service in ("mcp", "agenticos"):
        assert not llama & {item.name for item in variables_for(service)}, service
    assert "LLAMA_URL" in {item.name for item in variables_for("claude-flow")}


def test_listen_port_uses_default_when_invalid() -> None:
    assert listen_port("mcp", {"MCP_PORT": "abc"}) == 8001
    assert listen_port("claude-flow", {"CLAUDE_FLOW_PORT": "19100"}) == 19100
    assert port_from_environment("AGENTICOS_PORT", {}) == 9400


def test_the_suites_changed_settings_are_valid_and_none_is_its_default() -> None:
    """tests/integration/settings_probe.py: a value equal to its default would prove nothing."""
    from noa_common.env_catalogue import variable
    from noa_common.settings import check_value, parse_value
    from tests.integration.settings_probe import CHANGED, expected

    for name, raw in CHANGED.items():
        declared = variable(name)
        assert declared.default is not None and not declared.secret, name
        value = parse_value(declared, raw)
        assert check_value(declared, value, "production") is None, name
        assert value != parse_value(declared, declared.default), name
    assert expected("mcp")["MCP_SEARCH_MAX_RESULTS"] == 90 and "CLAUDE_FLOW_MAX_STEPS" not in expected("mcp")
