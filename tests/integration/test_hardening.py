"""Every container of the stack is hardened (CIS Docker Benchmark sections 4 and 5).

Facts come from `docker inspect` and, inside the containers, from testinfra's
docker backend.
"""

from __future__ import annotations

import pytest
import testinfra
from docker.models.containers import Container

from noa_ops import catalogue

from .helpers import PROJECT
from .suite import SUITE

SERVICES = [s.name for s in catalogue.compose_services()]  # the suite runs the monitoring profile
MIN_UID = 10000


@pytest.fixture(params=SERVICES)
def container(request: pytest.FixtureRequest, containers: dict[str, Container]) -> Container:
    name = request.param
    assert name in containers, f"no running container for {name} in project {PROJECT}"
    return containers[name]


def host_config(container: Container) -> dict:
    return container.attrs["HostConfig"]


def test_runs_as_numeric_non_root_user(container: Container) -> None:
    user = container.attrs["Config"]["User"]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) >= MIN_UID, f"User is {user!r}"
    assert gid.isdigit() and int(gid) >= MIN_UID, f"User is {user!r}"


def test_root_filesystem_is_read_only(container: Container) -> None:
    assert host_config(container)["ReadonlyRootfs"] is True


def test_drops_all_capabilities(container: Container) -> None:
    config = host_config(container)
    assert [c.upper() for c in config["CapDrop"] or []] in (["ALL"], ["CAP_ALL"])
    assert not config["CapAdd"]
    assert config["Privileged"] is False


def test_no_new_privileges(container: Container) -> None:
    assert any(opt.startswith("no-new-privileges") and not opt.endswith("false")
               for opt in host_config(container)["SecurityOpt"] or [])


def test_has_memory_cpu_and_pids_limits(container: Container) -> None:
    config = host_config(container)
    assert config["Memory"] > 0
    assert config["NanoCpus"] > 0
    assert (config["PidsLimit"] or 0) > 0


def test_is_healthy(container: Container) -> None:
    container.reload()
    assert container.attrs["State"]["Health"]["Status"] == "healthy"


def test_has_no_docker_socket(container: Container) -> None:
    sources = [m.get("Source", "") for m in container.attrs["Mounts"]]
    assert not any(src.endswith("docker.sock") for src in sources), sources


def test_publishes_only_its_listed_port_on_loopback(container: Container) -> None:
    service = catalogue.compose_service(container.labels["com.docker.compose.service"])
    bindings = host_config(container)["PortBindings"] or {}
    if not service.published:
        assert bindings == {}
        return
    assert list(bindings) == [f"{service.port}/tcp"]
    for binding in bindings[f"{service.port}/tcp"]:
        assert binding["HostIp"] == "127.0.0.1"
        assert binding["HostPort"] == str(SUITE.port(service.name))  # the suite's own offset


def test_processes_have_no_effective_capabilities(container: Container) -> None:
    host = testinfra.get_host(f"docker://{container.id}")
    statuses = host.check_output("cat /proc/[0-9]*/status 2>/dev/null || true")
    cap_lines = [line for line in statuses.splitlines() if line.startswith("CapEff:")]
    assert cap_lines, "no process status readable"
    assert all(line.split()[1] == "0000000000000000" for line in cap_lines), cap_lines


def test_processes_run_as_the_image_user(container: Container) -> None:
    host = testinfra.get_host(f"docker://{container.id}")
    uids = {line.split()[1] for line in
            host.check_output("cat /proc/[0-9]*/status 2>/dev/null || true").splitlines()
            if line.startswith("Uid:")}
    assert uids and all(int(uid) >= MIN_UID for uid in uids), uids


def test_cannot_write_outside_declared_paths(container: Container) -> None:
    host = testinfra.get_host(f"docker://{container.id}")
    for path in ("/probe", "/etc/probe", "/usr/probe"):
        result = host.run(f"touch {path}")
        assert result.rc != 0, f"{path} is writable"
    assert host.run("touch /tmp/probe && rm /tmp/probe").rc == 0, "/tmp should be a writable tmpfs"
