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

from noa_common.rules import (
    ApiClientList,
    Between,
    HexBytes,
    Hostname,
    HttpUrl,
    NonEmpty,
    OneOf,
    OriginList,
    RandomKey,
    Rule,
    SettingValue,
    StrongPassword,
    TimezoneName,
)

MCP = "mcp"
CLAUDE_FLOW = "claude-flow"
AGENTICOS = "agenticos"
LLAMA = "llama"
# Names as in noa_ops/catalogue.py.
APP_SERVICES: tuple[str, ...] = (MCP, CLAUDE_FLOW, AGENTICOS)
# Every service with variables here. llama is llama.cpp's own server, not a Python service: compose
# and the Kubernetes manifests hand its variables to llama-server as its LLAMA_ARG_* settings, so
# nothing loads them with noa_common.settings (only APP_SERVICES do), but they are declared, checked
# and documented here like every other variable.
# The operator tasks (noa_ops, run by `invoke`) read a few variables of their own.
TASKS = "invoke"
# The data tier's own entry points read a few too: the postgres image creates each app service's
# role with its password at every start, the redis image each one's ACL user.
POSTGRES = "postgres"
REDIS = "redis"
# The ui image's entry point reads one: where its nginx finds Prometheus for the metrics view.
UI = "ui"
SETTINGS_SERVICES: tuple[str, ...] = (*APP_SERVICES, LLAMA, POSTGRES, REDIS, UI, TASKS)
_LLAMA = frozenset({LLAMA})
_ALL = frozenset(APP_SERVICES)
_POSTGRES = frozenset({POSTGRES})
# Each app service logs into Postgres and Redis as a user of its own, named noa_<prefix in lower
# case> (noa_mcp, noa_claude_flow, noa_agenticos), with the password in <PREFIX>_POSTGRES_PASSWORD
# and <PREFIX>_REDIS_PASSWORD. docker/postgres/roles.sql grants each role its own tables,
# docker/redis/users.acl each user its own keys and commands.
_PREFIXES: Mapping[str, str] = {MCP: "MCP", CLAUDE_FLOW: "CLAUDE_FLOW", AGENTICOS: "AGENTICOS"}
_MCP_CLIENTS = frozenset({CLAUDE_FLOW, AGENTICOS})
# NOA_ENV values under which the production rules apply (staging mirrors production).
STRICT_ENVIRONMENTS: tuple[str, ...] = ("staging", "production")


class Kind(StrEnum):
    STRING = "string"
    INTEGER = "integer"
    NUMBER = "number"
    BOOLEAN = "boolean"


class Category(StrEnum):
    """Groups of variables: one table each in docs/ENVIRONMENT_VARIABLES.md, in this order."""

    CORE = "core"
    PORTS = "ports"
    URLS = "service URLs"
    POSTGRES = "postgres"
    REDIS = "redis"
    LLAMA = "llama"
    AUTH = "auth"
    PROVIDERS = "provider API keys"
    OBSERVABILITY = "observability"
    PERFORMANCE = "performance"
    LIFECYCLE = "lifecycle"
    FEATURES = "feature flags"
    MCP = "mcp"
    CLAUDE_FLOW = "claude-flow"
    AGENTICOS = "agenticos"


class SecretKind(StrEnum):
    """How `invoke env-init` generates a secret (and which production rule `env-check` applies)."""

    PASSWORD = "password"  # 32 characters of letters, digits, - and _
    KEY = "key"  # 48 random bytes, URL-safe base64
    HEX_KEY = "hex-key"  # 32 random bytes as 64 hex digits


# Variables the llama engineer's launcher reads are recognised by name when no category is given.
_CATEGORY_PREFIXES = (("LLAMA_", Category.LLAMA), ("MODEL_", Category.LLAMA), ("CUDA_", Category.LLAMA))


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
    category: Category | None = None
    # Secrets `invoke env-init` generates; None for secrets that come from elsewhere (API keys).
    generate: SecretKind | None = None
    # Applied when NOA_ENV is staging or production, and by `invoke env-check --env prod`.
    production_rules: tuple[Rule, ...] = ()
    # Computed by the operator tools from these generated secrets wherever they render the
    # configuration (compose, the Kubernetes Secret); never set in an env file.
    derived_from: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.category is None:
            for prefix, category in _CATEGORY_PREFIXES:
                if self.name.startswith(prefix):
                    object.__setattr__(self, "category", category)

    @property
    def required(self) -> bool:
        return self.default is None


@dataclass(frozen=True)
class Constraint:
    """A rule across variables, checked after each one parsed and passed its own rules."""

    variables: tuple[str, ...]
    description: str
    holds: Callable[[Mapping[str, SettingValue]], bool]


def data_user(service: str) -> str:
    """The Postgres role and Redis ACL user of an app service."""
    return f"noa_{_PREFIXES[service].lower()}"


def password_variable(service: str, store: str) -> str:
    """The variable holding an app service's password for a store (POSTGRES or REDIS)."""
    return f"{_PREFIXES[service]}_{store}_PASSWORD"


_PORT = (Between(1, 65535),)
_C = Category
_PASSWORD_RULES = (StrongPassword(16),)


def _data_passwords(store: str, login: str) -> tuple[Variable, ...]:
    """Each app service's generated password for a store (POSTGRES or REDIS), which the store's
    image sets at every start; `login` describes the user, with {user} for its name."""
    return tuple(
        Variable(password_variable(service, store.upper()), Kind.STRING, None,
                 f"Password of {service}'s {login.format(user=data_user(service))}; the {store} image "
                 "sets it at every start.",
                 frozenset({service, store}), secret=True, rules=(NonEmpty(),),
                 example="change-me-to-a-random-secret", category=Category(store),
                 generate=SecretKind.PASSWORD, production_rules=_PASSWORD_RULES)
        for service in APP_SERVICES)

def _tool_password(name: str, store: str, description: str) -> Variable:
    """The generated password of a login a tool (not an app service) uses on a store, which the
    store's image sets at every start."""
    return Variable(name, Kind.STRING, None, description, frozenset({store}), secret=True,
                    rules=(NonEmpty(),), example="change-me-to-a-random-secret", category=Category(store),
                    generate=SecretKind.PASSWORD, production_rules=_PASSWORD_RULES)


_KEY_RULES = (RandomKey(32),)

# The built-in chat templates of the pinned llama.cpp, as `llama-server --help` lists them (without
# --jinja; the image turns Jinja off, so a name outside this list stops llama at start).
# tests/integration/test_llama.py compares it with the built image's own list.
LLAMA_CHAT_TEMPLATES: tuple[str, ...] = (
    "bailing", "bailing-think", "bailing2", "chatglm3", "chatglm4", "chatml", "command-r", "deepseek",
    "deepseek-ocr", "deepseek2", "deepseek3", "exaone-moe", "exaone3", "exaone4", "falcon3", "gemma",
    "gigachat", "glmedge", "gpt-oss", "granite", "granite-4.0", "granite-4.1", "grok-2", "hunyuan-dense",
    "hunyuan-moe", "hunyuan-vl", "kimi-k2", "llama2", "llama2-sys", "llama2-sys-bos", "llama2-sys-strip",
    "llama3", "llama4", "megrez", "minicpm", "mistral-v1", "mistral-v3", "mistral-v3-tekken", "mistral-v7",
    "mistral-v7-tekken", "monarch", "openchat", "orion", "pangu-embedded", "phi3", "phi4", "rwkv-world",
    "seed_oss", "smolvlm", "solar-open", "vicuna", "vicuna-orca", "yandex", "zephyr",
)

VARIABLES: tuple[Variable, ...] = (
    # -- core ------------------------------------------------------------------------------
    Variable("NOA_ENV", Kind.STRING, "development",
             "Deployment environment; staging and production apply the production rules.", _ALL,
             rules=(OneOf(("development", "staging", "production")),), category=_C.CORE),
    Variable("LOG_LEVEL", Kind.STRING, "info", "Minimum level of the JSON log lines on stdout.",
             _ALL, rules=(OneOf(("debug", "info", "warn", "error")),), category=_C.CORE),
    Variable("TZ", Kind.STRING, "UTC", "Process time zone (log and health timestamps are always UTC).",
             _ALL, rules=(TimezoneName(),), category=_C.CORE),
    # -- listen ports ------------------------------------------------------------------------
    Variable("MCP_PORT", Kind.INTEGER, "8001", "Port the mcp service listens on (0.0.0.0).",
             frozenset({MCP}), rules=_PORT, category=_C.PORTS),
    Variable("CLAUDE_FLOW_PORT", Kind.INTEGER, "9100", "Port the claude-flow service listens on (0.0.0.0).",
             frozenset({CLAUDE_FLOW}), rules=_PORT, category=_C.PORTS),
    Variable("AGENTICOS_PORT", Kind.INTEGER, "9400", "Port the agenticos service listens on (0.0.0.0).",
             frozenset({AGENTICOS}), rules=_PORT, category=_C.PORTS),
    # -- postgres ----------------------------------------------------------------------------
    Variable("POSTGRES_HOST", Kind.STRING, "postgres", "PostgreSQL host name.", _ALL, rules=(Hostname(),),
             category=_C.POSTGRES),
    Variable("POSTGRES_PORT", Kind.INTEGER, "5432", "PostgreSQL port.", _ALL, rules=_PORT,
             category=_C.POSTGRES),
    Variable("POSTGRES_USER", Kind.STRING, "noa",
             "PostgreSQL superuser, which owns the database; only the postgres image's init logs in as it "
             "(the services have roles of their own).", _POSTGRES, rules=(NonEmpty(),), category=_C.POSTGRES),
    Variable("POSTGRES_PASSWORD", Kind.STRING, None, "Password of POSTGRES_USER.", _POSTGRES, secret=True,
             rules=(NonEmpty(),), example="change-me-to-a-random-secret", category=_C.POSTGRES,
             generate=SecretKind.PASSWORD, production_rules=_PASSWORD_RULES),
    *_data_passwords(POSTGRES, "PostgreSQL role {user}, which may use its own tables only"),
    _tool_password("BACKUP_POSTGRES_PASSWORD", POSTGRES,
                   "Password of the PostgreSQL role noa_backup, which may read every table and nothing more "
                   "(pg_read_all_data); the postgres image sets it at every start, and the Kubernetes backup "
                   "CronJob (k8s/base/postgres-backup.yaml) logs in with it."),
    _tool_password("MONITOR_POSTGRES_PASSWORD", POSTGRES,
                   "Password of the PostgreSQL role noa_monitor, which may read the server's statistics "
                   "(pg_monitor) and no table; the postgres image sets it at every start, and "
                   "postgres-exporter logs in with it (the compose monitoring profile's; on Kubernetes "
                   "the monitoring component's sidecar of postgres)."),
    Variable("POSTGRES_DB", Kind.STRING, "noa",
             "Database holding the noa_core, noa_agents and noa_memory schemas.", _ALL | _POSTGRES,
             rules=(NonEmpty(),), category=_C.POSTGRES),
    Variable("POSTGRES_SSL_MODE", Kind.STRING, "prefer", "TLS to PostgreSQL (libpq sslmode semantics).", _ALL,
             rules=(OneOf(("disable", "prefer", "require", "verify-full")),), category=_C.POSTGRES),
    Variable("DB_POOL_MIN", Kind.INTEGER, "1", "Connections the pool keeps open.", _ALL,
             rules=(Between(0, 100),), category=_C.POSTGRES),
    Variable("DB_POOL_MAX", Kind.INTEGER, "10", "Most connections the pool opens.", _ALL,
             rules=(Between(1, 100),), category=_C.POSTGRES),
    Variable("DB_CONNECT_TIMEOUT", Kind.NUMBER, "5",
             "Seconds to establish one PostgreSQL connection before the attempt fails.", _ALL,
             rules=(Between(0, 60, exclusive_minimum=True),), category=_C.POSTGRES),
    Variable("DB_COMMAND_TIMEOUT", Kind.NUMBER, "30",
             "Seconds one SQL statement may run before it is cancelled.", _ALL,
             rules=(Between(0, 3600, exclusive_minimum=True),), category=_C.POSTGRES),
    # -- redis -------------------------------------------------------------------------------
    Variable("REDIS_HOST", Kind.STRING, "redis", "Redis host name.", _ALL, rules=(Hostname(),),
             category=_C.REDIS),
    Variable("REDIS_PORT", Kind.INTEGER, "6379", "Redis port.", _ALL, rules=_PORT, category=_C.REDIS),
    Variable("REDIS_PASSWORD", Kind.STRING, None,
             "Password of Redis's default user, for administration and the image's health check; the "
             "services log in as ACL users of their own.", frozenset({REDIS}), secret=True,
             rules=(NonEmpty(),), example="change-me-to-a-random-secret", category=_C.REDIS,
             generate=SecretKind.PASSWORD, production_rules=_PASSWORD_RULES),
    *_data_passwords(REDIS, "Redis ACL user {user}, which may run its own commands on its own keys only"),
    _tool_password("MONITOR_REDIS_PASSWORD", REDIS,
                   "Password of the Redis ACL user noa_monitor, which may run INFO and PING and touch no "
                   "key; the redis image sets it at every start, and redis-exporter logs in with it (the "
                   "compose monitoring profile's; on Kubernetes the monitoring component's sidecar of "
                   "redis)."),
    Variable("REDIS_DB", Kind.INTEGER, "0", "Redis logical database number.", _ALL, rules=(Between(0, 15),),
             category=_C.REDIS),
    Variable("REDIS_TLS", Kind.BOOLEAN, "false",
             "Connect to Redis over TLS (rediss), verifying its certificate.", _ALL, category=_C.REDIS),
    Variable("REDIS_SOCKET_TIMEOUT", Kind.NUMBER, "5",
             "Seconds a Redis command may wait for its reply (above the 1 s blocking pop of the queue).",
             _ALL, rules=(Between(1, 60, exclusive_minimum=True),), category=_C.REDIS),
    # -- service links -----------------------------------------------------------------------
    Variable("MCP_URL", Kind.STRING, "http://mcp:8001", "Base URL of the mcp service (tools at /mcp).",
             _MCP_CLIENTS, rules=(HttpUrl(),), category=_C.URLS),
    Variable("LLAMA_URL", Kind.STRING, "http://llama:9300",
             "Base URL of the llama service; claude-flow's llm steps POST /completion there.",
             frozenset({CLAUDE_FLOW}), rules=(HttpUrl(),), category=_C.URLS),
    # -- auth --------------------------------------------------------------------------------
    Variable("JWT_SECRET", Kind.STRING, None,
             "HS256 key of the agent tokens agenticos issues on registration (`token` in the response).",
             frozenset({AGENTICOS}), secret=True, rules=(NonEmpty(),), example="change-me-to-a-random-key",
             category=_C.AUTH, generate=SecretKind.KEY, production_rules=_KEY_RULES),
    Variable("JWT_EXPIRY", Kind.INTEGER, "86400", "Seconds an agent token stays valid.",
             frozenset({AGENTICOS}), rules=(Between(60, 30 * 86400),), category=_C.AUTH),
    Variable("SESSION_SECRET", Kind.STRING, None,
             "HMAC-SHA256 key of the `signature` over a finished workflow's result (GET /workflows/{id}).",
             frozenset({CLAUDE_FLOW}), secret=True, rules=(NonEmpty(),), example="change-me-to-a-random-key",
             category=_C.AUTH, generate=SecretKind.KEY, production_rules=_KEY_RULES),
    Variable("ENCRYPTION_KEY", Kind.STRING, None,
             "AES-256-GCM key (64 hex digits) sealing the `secret_metadata` of memories at rest.",
             frozenset({MCP}), secret=True, rules=(HexBytes(32),), example="0" * 64,
             category=_C.AUTH, generate=SecretKind.HEX_KEY, production_rules=_KEY_RULES),
    Variable("OPERATOR_API_KEY", Kind.STRING, None,
             "The operator's API key (Authorization: Bearer) for mcp, claude-flow and agenticos; the "
             "services know only its sha256 (API_CLIENTS).",
             frozenset({TASKS}), secret=True, rules=(NonEmpty(),), example="change-me-to-a-random-key",
             category=_C.AUTH, generate=SecretKind.KEY, production_rules=_KEY_RULES),
    Variable("CLAUDE_FLOW_API_KEY", Kind.STRING, None,
             "claude-flow's API key for its calls to mcp; mcp knows only its sha256 (API_CLIENTS).",
             frozenset({CLAUDE_FLOW}), secret=True, rules=(NonEmpty(),), example="change-me-to-a-random-key",
             category=_C.AUTH, generate=SecretKind.KEY, production_rules=_KEY_RULES),
    Variable("LLAMA_API_KEY", Kind.STRING, None,
             "llama-server's API key: every route but /health needs it (a /metrics scrape too); claude-flow "
             "and the operator send it.",
             frozenset({LLAMA, CLAUDE_FLOW}), secret=True, rules=(NonEmpty(),),
             example="change-me-to-a-random-key", category=_C.AUTH, generate=SecretKind.KEY,
             production_rules=_KEY_RULES),
    Variable("API_CLIENTS", Kind.STRING, "",
             "Who may call the APIs: NAME:sha256-of-key pairs, comma-separated. Written by `invoke deploy` "
             "(and the Kubernetes secret sources) from OPERATOR_API_KEY and CLAUDE_FLOW_API_KEY; never "
             "set it yourself.",
             _ALL, secret=True, rules=(ApiClientList(),), category=_C.AUTH,
             derived_from=("OPERATOR_API_KEY", "CLAUDE_FLOW_API_KEY")),
    Variable("CORS_ORIGIN", Kind.STRING, "",
             "Browser origins allowed to call the APIs cross-origin, comma-separated; empty allows none "
             "(the dashboard is same-origin through its proxy).", _ALL, rules=(OriginList(),),
             category=_C.AUTH),
    Variable("RATE_LIMIT_WINDOW", Kind.INTEGER, "60",
             "Seconds of the window in which RATE_LIMIT_MAX write requests per client are allowed.",
             _ALL, rules=(Between(1, 86400),), category=_C.AUTH),
    Variable("RATE_LIMIT_MAX", Kind.INTEGER, "600",
             "Write requests one client may make per window (an API key's client, else an address); "
             "more get 429.", _ALL, rules=(Between(1, 1_000_000),), category=_C.AUTH),
    # -- observability -----------------------------------------------------------------------
    Variable("METRICS_ENABLED", Kind.BOOLEAN, "true", "Serve Prometheus metrics at /metrics.", _ALL,
             category=_C.OBSERVABILITY),
    Variable("ACCESS_LOG", Kind.BOOLEAN, "true",
             "Log one JSON line per HTTP request (successful probes only at LOG_LEVEL=debug).", _ALL,
             category=_C.OBSERVABILITY),
    Variable("PROMETHEUS_URL", Kind.STRING, "http://prometheus:9090",
             "Prometheus the dashboard's metrics view reads, through the ui's nginx and with the dashboard's "
             "fixed queries only; by default the monitoring profile's. Read by the ui image's entry point.",
             frozenset({UI}), rules=(HttpUrl(),), category=_C.OBSERVABILITY),
    # -- health and lifecycle ----------------------------------------------------------------
    Variable("HEALTH_CHECK_TIMEOUT", Kind.NUMBER, "2.0",
             "Seconds each readiness check (postgres, redis, mcp) may take before it counts as failed.",
             _ALL, rules=(Between(0, 30, exclusive_minimum=True),), category=_C.LIFECYCLE),
    Variable("SHUTDOWN_GRACE_SECONDS", Kind.INTEGER, "10",
             "Seconds between SIGTERM and exit: in-flight requests finish, pools close.",
             _ALL, rules=(Between(1, 300),), category=_C.LIFECYCLE),
    # -- performance -------------------------------------------------------------------------
    Variable("WORKER_CONCURRENCY", Kind.INTEGER, "2", "Workflows one claude-flow process runs at once.",
             frozenset({CLAUDE_FLOW}), rules=(Between(1, 64),), category=_C.PERFORMANCE),
    Variable("HTTP_MAX_CONCURRENCY", Kind.INTEGER, "0",
             "Most concurrent HTTP connections and tasks before the server answers 503; 0 means no limit.",
             _ALL, rules=(Between(0, 100_000),), category=_C.PERFORMANCE),
    Variable("HTTP_KEEPALIVE_TIMEOUT", Kind.NUMBER, "5",
             "Seconds an idle HTTP keep-alive connection stays open.", _ALL,
             rules=(Between(0, 300, exclusive_minimum=True),), category=_C.PERFORMANCE),
    Variable("HTTP_MAX_BODY_BYTES", Kind.INTEGER, "1048576",
             "Largest request body a write takes; larger ones answer 413 (a memory of "
             "MCP_MEMORY_MAX_CHARS characters needs up to 4 bytes each, plus the JSON around it).", _ALL,
             rules=(Between(1024, 67_108_864),), category=_C.PERFORMANCE),
    # -- feature flags -----------------------------------------------------------------------
    Variable("FEATURE_AGENT_SWARM", Kind.BOOLEAN, "true",
             "Assign a new task without agent_id to the least-loaded online agent; off: it stays pending.",
             frozenset({AGENTICOS}), category=_C.FEATURES),
    # -- mcp ---------------------------------------------------------------------------------
    Variable("MCP_MEMORY_MAX_CHARS", Kind.INTEGER, "100000", "Longest memory content memory_store accepts.",
             frozenset({MCP}), rules=(Between(1, 10_000_000),), category=_C.MCP),
    Variable("MCP_SEARCH_MAX_RESULTS", Kind.INTEGER, "100", "Most hits one memory_search returns.",
             frozenset({MCP}), rules=(Between(1, 10_000),), category=_C.MCP),
    # -- llama (llama-server's LLAMA_ARG_* settings; see SETTINGS_SERVICES) --------------------
    Variable("MODEL_PATH", Kind.STRING, "/models/gemma-3-270m-q4_k_m.gguf",
             "GGUF model llama serves, inside the read-only models volume (`invoke model-fetch` fills it).",
             _LLAMA, rules=(NonEmpty(),), category=_C.LLAMA),
    Variable("LLAMA_CHAT_TEMPLATE", Kind.STRING, "gemma",
             "llama.cpp built-in chat template /v1/chat/completions wraps messages in; it must be the "
             "model's (the default model's GGUF carries none, and llama would fall back to ChatML).",
             _LLAMA, rules=(OneOf(LLAMA_CHAT_TEMPLATES),), category=_C.LLAMA),
    Variable("LLAMA_THREADS", Kind.INTEGER, "2", "CPU threads llama uses for generation.", _LLAMA,
             rules=(Between(1, 256),), category=_C.LLAMA),
    Variable("LLAMA_CONTEXT_SIZE", Kind.INTEGER, "4096",
             "Context window in tokens, shared by llama's parallel slots.", _LLAMA,
             rules=(Between(256, 262144),), category=_C.LLAMA),
    Variable("LLAMA_BATCH_SIZE", Kind.INTEGER, "512", "Tokens of a prompt evaluated per batch.", _LLAMA,
             rules=(Between(32, 8192),), category=_C.LLAMA),
    Variable("LLAMA_GPU_LAYERS", Kind.INTEGER, "0",
             "Model layers offloaded to the GPU (llama-cuda image); 0 on CPU, 999 for all.", _LLAMA,
             rules=(Between(0, 999),), category=_C.LLAMA),
    # -- provider API keys -------------------------------------------------------------------
    Variable("HUGGINGFACE_TOKEN", Kind.STRING, "",
             "Hugging Face access token `invoke model-fetch` sends to huggingface.co alone (over https, "
             "never on a redirect) for a gated or private --source URL; empty: anonymous downloads.",
             frozenset({TASKS}), secret=True, category=_C.PROVIDERS),
    # -- agenticos ---------------------------------------------------------------------------
    Variable("AGENTICOS_HEARTBEAT_TTL", Kind.INTEGER, "30",
             "Seconds an agent stays online after its last heartbeat (a registration may override it).",
             frozenset({AGENTICOS}), rules=(Between(1, 86400),), category=_C.AGENTICOS),
    Variable("AGENTICOS_MAX_AGENTS", Kind.INTEGER, "100", "Most agents that may be registered.",
             frozenset({AGENTICOS}), rules=(Between(1, 100000),), category=_C.AGENTICOS),
    Variable("AGENTICOS_TASK_QUEUE_SIZE", Kind.INTEGER, "1000",
             "Most unassigned (pending) tasks; creating one more answers 503.",
             frozenset({AGENTICOS}), rules=(Between(1, 1_000_000),), category=_C.AGENTICOS),
    # -- claude-flow -------------------------------------------------------------------------
    Variable("CLAUDE_FLOW_EXECUTION_TIMEOUT", Kind.NUMBER, "30",
             "Seconds one workflow step (one mcp call) may take.", frozenset({CLAUDE_FLOW}),
             rules=(Between(0, 3600, exclusive_minimum=True),), category=_C.CLAUDE_FLOW),
    Variable("CLAUDE_FLOW_RETRY_ATTEMPTS", Kind.INTEGER, "2",
             "Retries of a failed step before the workflow fails.", frozenset({CLAUDE_FLOW}),
             rules=(Between(0, 10),), category=_C.CLAUDE_FLOW),
    Variable("CLAUDE_FLOW_RETRY_DELAY", Kind.NUMBER, "0.5",
             "Seconds before the first retry of a failed step; each further retry waits one more delay.",
             frozenset({CLAUDE_FLOW}), rules=(Between(0, 60),), category=_C.CLAUDE_FLOW),
    Variable("CLAUDE_FLOW_MAX_STEPS", Kind.INTEGER, "100", "Most steps one workflow may have.",
             frozenset({CLAUDE_FLOW}), rules=(Between(1, 10_000),), category=_C.CLAUDE_FLOW),
    Variable("CLAUDE_FLOW_MAX_WORKFLOWS", Kind.INTEGER, "1000",
             "Most workflows waiting in the queue; creating one more answers 503.",
             frozenset({CLAUDE_FLOW}), rules=(Between(1, 1_000_000),), category=_C.CLAUDE_FLOW),
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

# llama-server reads its options from LLAMA_ARG_* variables: each llama setting is handed to the
# one named here (docker-compose.yml and the Kubernetes manifests; tests hold both to this table).
LLAMA_SERVER_VARIABLES: Mapping[str, str] = {
    "MODEL_PATH": "LLAMA_ARG_MODEL",
    "LLAMA_THREADS": "LLAMA_ARG_THREADS",
    "LLAMA_CONTEXT_SIZE": "LLAMA_ARG_CTX_SIZE",
    "LLAMA_CHAT_TEMPLATE": "LLAMA_ARG_CHAT_TEMPLATE",
    "LLAMA_BATCH_SIZE": "LLAMA_ARG_BATCH",
    "LLAMA_GPU_LAYERS": "LLAMA_ARG_N_GPU_LAYERS",
    "LLAMA_API_KEY": "LLAMA_API_KEY",  # --api-key
}

_BY_NAME = {item.name: item for item in VARIABLES}


def variable(name: str) -> Variable:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown setting {name!r}") from None


def variables_for(service: str) -> tuple[Variable, ...]:
    if service not in SETTINGS_SERVICES:
        raise KeyError(f"unknown service {service!r}; valid: {', '.join(SETTINGS_SERVICES)}")
    return tuple(item for item in VARIABLES if service in item.services)
