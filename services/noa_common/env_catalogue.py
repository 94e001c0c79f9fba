"""Every environment variable the app services read, declared once.

Plain data with no side effects: the services load their settings from it (noa_common.settings),
and tooling generates .env.example and docs/ENVIRONMENT_VARIABLES.md from it. Stdlib only, so the
probe and docs generators can import it without the service dependencies.

``default`` is the value as written in an env file; ``None`` means required (no default). Secrets
are never printed by the services: errors name the variable and the rule, never the value.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from noa_common.rules import Between, Hostname, HttpUrl, NonEmpty, OneOf, Rule, SettingValue, TimezoneName

MCP = "mcp"
CLAUDE_FLOW = "claude-flow"
AGENTICOS = "agenticos"
# Names as in noa_ops/catalogue.py.
APP_SERVICES: tuple[str, ...] = (MCP, CLAUDE_FLOW, AGENTICOS)
_ALL = frozenset(APP_SERVICES)
_MCP_CLIENTS = frozenset({CLAUDE_FLOW, AGENTICOS})


class Kind(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"


@dataclass(frozen=True)
class Variable:
    name: str
    kind: Kind
    default: str | None
    description: str
    services: frozenset[str]
    secret: bool = False
    rules: tuple[Rule, ...] = ()
    # Applied when NOA_ENV=production (the dev defaults of a secret are not good enough there).
    production_min_length: int | None = None
    # For .env.example when there is no default (never a real secret).
    example: str | None = None

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class Constraint:
    """A rule across variables, checked after each one parsed and passed its own rules."""

    variables: tuple[str, ...]
    description: str
    holds: Callable[[Mapping[str, SettingValue]], bool]


_PORT = (Between(1, 65535),)

VARIABLES: tuple[Variable, ...] = (
    # -- core ------------------------------------------------------------------------------
    Variable("NOA_ENV", Kind.STRING, "development",
             "Deployment environment; production applies stricter rules.", _ALL,
             rules=(OneOf(("development", "staging", "production")),)),
    Variable("LOG_LEVEL", Kind.STRING, "info", "Minimum level of the JSON log lines on stdout.",
             _ALL, rules=(OneOf(("debug", "info", "warn", "error")),)),
    Variable("TZ", Kind.STRING, "UTC", "Process time zone (log and health timestamps are always UTC).",
             _ALL, rules=(TimezoneName(),)),
    # -- listen ports ------------------------------------------------------------------------
    Variable("MCP_PORT", Kind.INTEGER, "8001", "Port the mcp service listens on (0.0.0.0).",
             frozenset({MCP}), rules=_PORT),
    Variable("CLAUDE_FLOW_PORT", Kind.INTEGER, "9100", "Port the claude-flow service listens on (0.0.0.0).",
             frozenset({CLAUDE_FLOW}), rules=_PORT),
    Variable("AGENTICOS_PORT", Kind.INTEGER, "9400", "Port the agenticos service listens on (0.0.0.0).",
             frozenset({AGENTICOS}), rules=_PORT),
    # -- postgres ----------------------------------------------------------------------------
    Variable("POSTGRES_HOST", Kind.STRING, "postgres", "PostgreSQL host name.", _ALL, rules=(Hostname(),)),
    Variable("POSTGRES_PORT", Kind.INTEGER, "5432", "PostgreSQL port.", _ALL, rules=_PORT),
    Variable("POSTGRES_USER", Kind.STRING, "noa", "PostgreSQL role; owns the database.", _ALL,
             rules=(NonEmpty(),)),
    Variable("POSTGRES_PASSWORD", Kind.STRING, None, "Password of POSTGRES_USER.", _ALL, secret=True,
             rules=(NonEmpty(),), production_min_length=16, example="change-me-to-a-random-secret"),
    Variable("POSTGRES_DB", Kind.STRING, "noa",
             "Database holding the noa_core, noa_agents and noa_memory schemas.", _ALL, rules=(NonEmpty(),)),
    Variable("POSTGRES_SSL_MODE", Kind.STRING, "prefer", "TLS to PostgreSQL (libpq sslmode semantics).", _ALL,
             rules=(OneOf(("disable", "prefer", "require", "verify-full")),)),
    Variable("DB_POOL_MIN", Kind.INTEGER, "1", "Connections the pool keeps open.", _ALL,
             rules=(Between(0, 100),)),
    Variable("DB_POOL_MAX", Kind.INTEGER, "10", "Most connections the pool opens.", _ALL,
             rules=(Between(1, 100),)),
    # -- redis -------------------------------------------------------------------------------
    Variable("REDIS_HOST", Kind.STRING, "redis", "Redis host name.", _ALL, rules=(Hostname(),)),
    Variable("REDIS_PORT", Kind.INTEGER, "6379", "Redis port.", _ALL, rules=_PORT),
    Variable("REDIS_PASSWORD", Kind.STRING, None, "Redis password (requirepass).", _ALL, secret=True,
             rules=(NonEmpty(),), production_min_length=16, example="change-me-to-a-random-secret"),
    Variable("REDIS_DB", Kind.INTEGER, "0", "Redis logical database number.", _ALL, rules=(Between(0, 15),)),
    # -- service links -----------------------------------------------------------------------
    Variable("MCP_URL", Kind.STRING, "http://mcp:8001", "Base URL of the mcp service (tools at /mcp).",
             _MCP_CLIENTS, rules=(HttpUrl(),)),
    # -- health and lifecycle ----------------------------------------------------------------
    Variable("HEALTH_CHECK_TIMEOUT", Kind.NUMBER, "2.0",
             "Seconds each readiness check (postgres, redis, mcp) may take before it counts as failed.",
             _ALL, rules=(Between(0, 30, exclusive_minimum=True),)),
    Variable("SHUTDOWN_GRACE_SECONDS", Kind.INTEGER, "10",
             "Seconds between SIGTERM and exit: in-flight requests finish, pools close.",
             _ALL, rules=(Between(1, 300),)),
    Variable("METRICS_ENABLED", Kind.BOOLEAN, "true", "Serve Prometheus metrics at /metrics.", _ALL),
    # -- agenticos ---------------------------------------------------------------------------
    Variable("AGENTICOS_HEARTBEAT_TTL", Kind.INTEGER, "30",
             "Seconds an agent stays online after its last heartbeat (a registration may override it).",
             frozenset({AGENTICOS}), rules=(Between(1, 86400),)),
    Variable("AGENTICOS_MAX_AGENTS", Kind.INTEGER, "100", "Most agents that may be registered.",
             frozenset({AGENTICOS}), rules=(Between(1, 100000),)),
    # -- claude-flow -------------------------------------------------------------------------
    Variable("CLAUDE_FLOW_EXECUTION_TIMEOUT", Kind.NUMBER, "30",
             "Seconds one workflow step (one mcp call) may take.", frozenset({CLAUDE_FLOW}),
             rules=(Between(0, 3600, exclusive_minimum=True),)),
    Variable("CLAUDE_FLOW_RETRY_ATTEMPTS", Kind.INTEGER, "2",
             "Retries of a failed step before the workflow fails.", frozenset({CLAUDE_FLOW}),
             rules=(Between(0, 10),)),
    Variable("WORKER_CONCURRENCY", Kind.INTEGER, "2", "Workflows one claude-flow process runs at once.",
             frozenset({CLAUDE_FLOW}), rules=(Between(1, 64),)),
)


def _pool_bounds_ordered(values: Mapping[str, SettingValue]) -> bool:
    low, high = values["DB_POOL_MIN"], values["DB_POOL_MAX"]
    return isinstance(low, int) and isinstance(high, int) and low <= high


CONSTRAINTS: tuple[Constraint, ...] = (
    Constraint(("DB_POOL_MIN", "DB_POOL_MAX"), "DB_POOL_MIN must not exceed DB_POOL_MAX",
               _pool_bounds_ordered),
)

# The variable holding each service's listen port; the probe reads the same one.
PORT_VARIABLES: Mapping[str, str] = {
    MCP: "MCP_PORT",
    CLAUDE_FLOW: "CLAUDE_FLOW_PORT",
    AGENTICOS: "AGENTICOS_PORT",
}

_BY_NAME = {item.name: item for item in VARIABLES}


def variable(name: str) -> Variable:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown setting {name!r}") from None


def variables_for(service: str) -> tuple[Variable, ...]:
    if service not in APP_SERVICES:
        raise KeyError(f"unknown service {service!r}; valid: {', '.join(APP_SERVICES)}")
    return tuple(item for item in VARIABLES if service in item.services)
