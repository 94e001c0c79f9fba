"""docker/docker-compose.yml (hand-written) agrees with the catalogue and the hardening rules.

No skips: until the compose file exists, these tests fail.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from noa_common.env_catalogue import (
    APP_SERVICES,
    LLAMA,
    LLAMA_SERVER_VARIABLES,
    PORT_VARIABLES,
    POSTGRES,
    REDIS,
    UI,
    password_variable,
    variables_for,
)
from noa_ops import catalogue

from .helpers import REPO

COMPOSE = REPO / "docker" / "docker-compose.yml"
DOCKERFILE = REPO / "docker" / "Dockerfile"
HOT_RELOAD = REPO / "docker" / "docker-compose.dev.yml"
STACK = catalogue.compose_services()
STACK_NAMES = [service.name for service in STACK]


def load(path: Path) -> dict[str, Any]:
    assert path.is_file(), f"{path.relative_to(REPO)} does not exist"
    loaded = yaml.safe_load(path.read_text())
    assert isinstance(loaded, dict), f"{path.name} is not a mapping"
    return loaded


@pytest.fixture(scope="module")
def services() -> dict[str, Any]:
    found: dict[str, Any] = load(COMPOSE)["services"]
    return found


def by_name(services: dict[str, Any]) -> list[tuple[catalogue.Service, dict[str, Any]]]:
    return [(service, services.get(service.name) or {}) for service in STACK]


def with_defaults(value: str) -> str:
    """Interpolate `${VAR:-default}` as compose does when VAR is unset (the tasks never set these)."""
    return re.sub(r"\$\{[A-Za-z_][A-Za-z0-9_]*:?-([^}]*)\}", r"\1", value)


def published_ports(definition: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(host ip, published port, container port) for short and long port syntax."""
    found = []
    for entry in definition.get("ports", []):
        if isinstance(entry, dict):
            host_ip = with_defaults(str(entry.get("host_ip", "")))
            found.append((host_ip, int(entry["published"]), int(entry["target"])))
            continue
        parts = with_defaults(str(entry)).split("/")[0].split(":")
        if len(parts) == 3:
            found.append((parts[0], int(parts[1]), int(parts[2])))
        else:  # "8001" or "8001:8001": bound to every interface
            found.append(("", int(parts[0]), int(parts[-1])))
    return found


def as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else [str(item) for item in value]


def labels(definition: dict[str, Any]) -> dict[str, str]:
    raw = definition.get("labels") or {}
    if isinstance(raw, dict):
        return {str(key): str(value) for key, value in raw.items()}
    return dict(str(item).split("=", 1) for item in raw)


def test_services_are_the_catalogue_stack(services: dict[str, Any]) -> None:
    assert sorted(services) == sorted(STACK_NAMES)


def test_only_a_profile_s_services_carry_it(services: dict[str, Any]) -> None:
    """The seven run without a profile (a plain `up` starts them); the monitoring profile's four only
    with it (`invoke deploy --profile monitoring`)."""
    for service, definition in by_name(services):
        assert definition.get("profiles", []) == ([service.profile] if service.profile else []), service.name


def test_only_published_services_publish_and_only_on_loopback(services: dict[str, Any]) -> None:
    for service, definition in by_name(services):
        ports = published_ports(definition)
        if service.published:
            assert ports == [("127.0.0.1", service.port, service.port)], service.name
        else:
            assert ports == [], f"{service.name} must not be published"


def test_images_and_build_targets(services: dict[str, Any]) -> None:
    for service, definition in by_name(services):
        assert definition.get("image") == f"${{NOA_IMAGE_PREFIX:-noa}}/{service.name}:${{NOA_IMAGE_TAG:-dev}}"
        build = definition.get("build") or {}
        assert build.get("context") == "..", service.name
        assert build.get("dockerfile") == "docker/Dockerfile", service.name
        assert build.get("target") == service.target, service.name


def image_healthchecks() -> dict[str, bool]:
    """Dockerfile stage -> whether its image has a HEALTHCHECK (inherited from a parent stage too)."""
    parents: dict[str, str] = {}
    own: dict[str, bool | None] = {}
    stage = ""
    for line in DOCKERFILE.read_text().splitlines():
        words = line.split()
        if len(words) >= 4 and words[0].upper() == "FROM" and words[-2].upper() == "AS":
            stage = words[-1]
            parents[stage] = words[-3]
            own[stage] = None
        elif words and words[0].upper() == "HEALTHCHECK" and stage:
            own[stage] = len(words) < 2 or words[1].upper() != "NONE"

    def resolved(name: str) -> bool:
        if own.get(name) is not None:
            return bool(own[name])
        return resolved(parents[name]) if parents.get(name) in own else False

    return {name: resolved(name) for name in own}


def test_every_service_has_a_healthcheck(services: dict[str, Any]) -> None:
    """Compose sets the timing; the command is either there or in the image (Dockerfile HEALTHCHECK)."""
    in_image = image_healthchecks()
    for service, definition in by_name(services):
        check = definition.get("healthcheck")
        assert isinstance(check, dict) and not check.get("disable"), f"{service.name} has no healthcheck"
        command = as_list(check.get("test"))
        assert command != ["NONE"], f"{service.name} disables its healthcheck"
        assert command or in_image.get(service.target), (
            f"{service.name}: no test in compose nor HEALTHCHECK in Dockerfile target {service.target}"
        )


def image_healthcheck_commands(text: str) -> dict[str, list[str]]:
    """Dockerfile stage -> the CMD of its own HEALTHCHECK (the JSON list on the continuation line)."""
    commands: dict[str, list[str]] = {}
    stage = ""
    lines = text.splitlines()
    for number, line in enumerate(lines):
        words = line.split()
        if len(words) >= 4 and words[0].upper() == "FROM" and words[-2].upper() == "AS":
            stage = words[-1]
        elif words and words[0].upper() == "HEALTHCHECK" and line.rstrip().endswith("\\"):
            command = lines[number + 1].strip()
            assert command.startswith("CMD ["), f"{stage}: HEALTHCHECK continues with {command!r}"
            commands[stage] = yaml.safe_load(command.removeprefix("CMD "))
    return commands


def probed_url(command: list[str]) -> str:
    """The path (and, for curl, host and port) a health check command asks for."""
    if command[:3] == ["python", "-m", "noa_common.probe"]:
        return command[3]
    return next(word for word in command if word.startswith("http://"))


def expected_probe(service: catalogue.Service) -> str:
    """What a container's health check must ask for: the readiness path of the catalogue (the Python
    probe dials the service's own port); curl names 127.0.0.1 and the catalogue port. ui's nginx
    answers every tier alike, and its check uses /health, the one path it does not log."""
    assert service.health is not None
    if service.target in ("mcp", "claude-flow", "agenticos"):
        return service.health.ready
    path = service.health.live if service.name == "ui" else service.health.ready
    return f"http://127.0.0.1:{service.port}{path}"


def test_each_image_s_health_check_asks_for_the_catalogue_s_path_and_port() -> None:
    commands = image_healthcheck_commands(DOCKERFILE.read_text())
    for service in STACK:
        if service.is_http:
            assert probed_url(commands[service.target]) == expected_probe(service), service.name


def test_the_health_check_comparison_sees_a_path_spelt_almost_right() -> None:
    text = DOCKERFILE.read_text().replace('"/health/ready"]', '"/health/readyz"]', 1)
    commands = image_healthcheck_commands(text)
    mcp = catalogue.get("mcp")
    assert probed_url(commands[mcp.target]) != expected_probe(mcp)


def test_no_fixed_container_names(services: dict[str, Any]) -> None:
    for service, definition in by_name(services):
        assert "container_name" not in definition, f"{service.name} sets container_name"


def test_hardening(services: dict[str, Any]) -> None:
    for service, definition in by_name(services):
        assert definition.get("read_only") is True, service.name
        assert "ALL" in as_list(definition.get("cap_drop")), service.name
        options = as_list(definition.get("security_opt"))
        assert {"no-new-privileges:true", "no-new-privileges=true", "no-new-privileges"} & set(options), (
            service.name
        )
        assert str(definition.get("user")) == "10001:10001", service.name
        tmpfs = as_list(definition.get("tmpfs"))
        assert any(entry.split(":")[0] == "/tmp" for entry in tmpfs), f"{service.name} has no tmpfs /tmp"
        assert definition.get("restart") == "unless-stopped", service.name


def test_dependencies_wait_for_healthy(services: dict[str, Any]) -> None:
    for service, definition in by_name(services):
        depends = definition.get("depends_on") or {}
        assert isinstance(depends, dict), f"{service.name}: depends_on needs conditions (long form)"
        assert sorted(depends) == sorted(service.depends_on), service.name
        for dependency, spec in depends.items():
            assert (spec or {}).get("condition") == "service_healthy", f"{service.name} -> {dependency}"


def test_kubernetes_style_name_label(services: dict[str, Any]) -> None:
    for service, definition in by_name(services):
        assert labels(definition).get("app.kubernetes.io/name") == service.name, service.name


def test_the_monitoring_profile_s_networks_keep_its_data_logins_internal(services: dict[str, Any]) -> None:
    """The exporters (they hold the data tier's monitor passwords) sit on internal networks only;
    Prometheus and Alertmanager reach them there and alone publish, on loopback (the near miss: a
    profile service on the frontend network that publishes nothing)."""
    networks = load(COMPOSE)["networks"]
    assert (networks.get("monitoring") or {}).get("internal") is True
    for service in catalogue.MONITORING:
        joined = set(services[service.name]["networks"])
        assert "monitoring" in joined, service.name
        if not service.published:
            assert all((networks.get(name) or {}).get("internal") is True for name in joined), service.name


def test_backend_network_is_internal() -> None:
    networks = load(COMPOSE).get("networks") or {}
    assert (networks.get("backend") or {}).get("internal") is True


@pytest.mark.parametrize("service", APP_SERVICES)
def test_an_app_service_gets_its_own_data_passwords_and_no_other(service: str) -> None:
    environment = environment_of(service, [COMPOSE, HOT_RELOAD])
    passwords = {name for name in environment if name.endswith("_PASSWORD")}
    assert passwords == {password_variable(service, "POSTGRES"), password_variable(service, "REDIS")}


def test_secrets_have_no_defaults() -> None:
    text = COMPOSE.read_text()
    for name in ("POSTGRES_PASSWORD", "REDIS_PASSWORD"):
        assert f"${{{name}:?" in text, f"{name} must be required (${{{name}:?...}})"
        assert f"${{{name}:-" not in text and f"${{{name}-" not in text, f"{name} has a default"


def test_hot_reload_file_stays_within_the_stack_and_loopback() -> None:
    overrides = load(HOT_RELOAD).get("services") or {}
    assert set(overrides) <= set(STACK_NAMES)
    for name, definition in overrides.items():
        for host_ip, _, _ in published_ports(definition or {}):
            assert host_ip == "127.0.0.1", f"{name} publishes beyond loopback in the dev file"


def test_llama_gets_the_catalogue_s_llama_settings(services: dict[str, Any]) -> None:
    """Each llama setting reaches llama-server as its LLAMA_ARG_* variable, with the catalogue's default."""
    llama = services["llama"]
    declared = variables_for(LLAMA)
    assert set(LLAMA_SERVER_VARIABLES) == {item.name for item in declared}
    for item in declared:
        assert llama["environment"][LLAMA_SERVER_VARIABLES[item.name]].startswith(interpolated_as(item))


def test_llama_reads_its_models_read_only_and_waits_for_the_model_to_load(services: dict[str, Any]) -> None:
    llama = services["llama"]
    assert "llama-models:/models:ro" in llama["volumes"]
    assert "llama-models" in (load(COMPOSE).get("volumes") or {})
    assert sorted(llama["networks"]) == ["backend", "frontend"]
    assert int(str(llama["healthcheck"]["start_period"]).rstrip("s")) >= 60
    assert services["claude-flow"]["environment"]["LLAMA_URL"] == f"http://llama:{catalogue.get('llama').port}"


def interpolated_as(item: Any) -> str:
    """How compose must hand a catalogue variable on: from the env file, with the catalogue's default,
    or required (secrets: no default); a derived value from the tools' environment, empty without them
    (nobody gets in)."""
    if item.derived_from:
        return f"${{{item.name}:-}}"
    if item.secret or item.default is None:
        return f"${{{item.name}:?"
    return f"${{{item.name}:-{item.default}}}"


# The stack's own wiring, not the operator's: fixed in the compose file on purpose.
WIRING = {"POSTGRES_HOST", "POSTGRES_PORT", "POSTGRES_SSL_MODE", "REDIS_HOST", "REDIS_PORT", "MCP_URL",
          "LLAMA_URL", *PORT_VARIABLES.values()}


def environment_of(service: str, files: list[Path]) -> dict[str, str]:
    environment: dict[str, str] = {}
    for path in files:
        environment.update((load(path)["services"].get(service) or {}).get("environment") or {})
    return {name: str(value) for name, value in environment.items()}


@pytest.mark.parametrize("service", [*APP_SERVICES, POSTGRES, REDIS, UI])
def test_every_setting_a_service_reads_reaches_it_from_the_env_file(service: str) -> None:
    """--env-file only fills ${...}: a variable that the service's environment does not name never
    reaches it, whatever the env file says. Each comes with the catalogue's default."""
    environment = environment_of(service, [COMPOSE])
    wrong = {item.name: environment.get(item.name, "(not passed)") for item in variables_for(service)
             if item.name not in WIRING
             and not environment.get(item.name, "").startswith(interpolated_as(item))}
    assert wrong == {}


@pytest.mark.parametrize("service", APP_SERVICES)
def test_hot_reload_overrides_defaults_but_never_cuts_a_setting_off(service: str) -> None:
    environment = environment_of(service, [COMPOSE, HOT_RELOAD])
    cut = {item.name: environment.get(item.name, "(not passed)") for item in variables_for(service)
           if item.name not in WIRING and not environment.get(item.name, "").startswith(f"${{{item.name}:")}
    assert cut == {}


def test_the_reach_check_sees_a_missing_and_a_mistyped_default() -> None:
    item = next(item for item in variables_for("agenticos") if item.name == "FEATURE_AGENT_SWARM")
    assert interpolated_as(item) == "${FEATURE_AGENT_SWARM:-true}"
    assert not "${FEATURE_AGENT_SWARM:-false}".startswith(interpolated_as(item))
    secret = next(item for item in variables_for("mcp") if item.name == "ENCRYPTION_KEY")
    assert interpolated_as(secret) == "${ENCRYPTION_KEY:?"


def missing_limits(definition: dict[str, Any]) -> list[str]:
    """Which of memory, CPU and pids limits a compose service lacks (or sets to nothing)."""
    limits = ((definition.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    return [name for name in ("memory", "cpus", "pids") if not limits.get(name)]


def test_every_service_has_memory_cpu_and_pids_limits(services: dict[str, Any]) -> None:
    assert {service.name: missing_limits(definition) for service, definition in by_name(services)
            if missing_limits(definition)} == {}


def test_the_limit_check_notices_one_removed_limit(services: dict[str, Any]) -> None:
    """The near miss: every other limit in place, the memory limit of one service gone."""
    llama = {**services["llama"], "deploy": {"resources": {"limits": {
        **services["llama"]["deploy"]["resources"]["limits"], "memory": None}}}}
    assert missing_limits(llama) == ["memory"]
    assert missing_limits({}) == ["memory", "cpus", "pids"]
