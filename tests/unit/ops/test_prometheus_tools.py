"""promtool and amtool from Debian's packages (noa_ops/prometheus_tools): a fake apt, no network."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from noa_ops import prometheus_tools
from noa_ops.prometheus_tools import STAMP, Found, ToolError, locate

POLICY = """prometheus:
  Installed: (none)
  Candidate: 2.42.0+ds-5+deb12u1
  Version table:
     2.42.0+ds-5+deb12u1 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
prometheus-alertmanager:
  Installed: (none)
  Candidate: 0.25.0-1+b4
  Version table:
     0.25.0-1+b4 500
        500 http://deb.debian.org/debian bookworm/main amd64 Packages
"""


def done(stdout: str = "", stderr: str = "", code: int = 0) -> subprocess.CompletedProcess[str]:
    return subprocess.CompletedProcess([], code, stdout, stderr)


class FakeApt:
    """apt-cache policy, apt-get download and dpkg-deb -x, recorded; download writes a .deb and
    dpkg-deb -x unpacks it to usr/bin/<tool>, unless told to fail."""

    def __init__(self, policy: str = POLICY, download: subprocess.CompletedProcess[str] | None = None,
                 ships: str = "promtool") -> None:
        self.policy = policy
        self.download = download or done()
        self.ships = ships
        self.commands: list[list[str]] = []

    def __call__(self, argv: Sequence[str], cwd: Path | None) -> subprocess.CompletedProcess[str]:
        self.commands.append(list(argv))
        if argv[:2] == ["apt-cache", "policy"]:
            return done(self.policy)
        if argv[:2] == ["apt-get", "download"]:
            if self.download.returncode == 0 and cwd is not None:
                (cwd / "prometheus_2.42.0+ds-5+deb12u1_amd64.deb").write_text("deb")
            return self.download
        if argv[:2] == ["dpkg-deb", "-x"]:
            binary = Path(argv[3]) / "usr" / "bin" / self.ships
            binary.parent.mkdir(parents=True)
            binary.write_text("#!/bin/sh\n")
            return done()
        raise AssertionError(f"unexpected command {argv}")


def debian(tool: str) -> str | None:
    """`which` on a Debian machine without the tool: apt-get and dpkg-deb only."""
    return f"/usr/bin/{tool}" if tool in ("apt-get", "dpkg-deb") else None


def test_the_cache_is_keyed_by_package_and_version() -> None:
    root = Path("/var/cache/noa-tools")
    assert prometheus_tools.package_dir(root, "prometheus", "2.42.0+ds-5+deb12u1") == \
        root / "prometheus-2.42.0+ds-5+deb12u1"
    # An epoch's colon as apt spells it in .deb names.
    assert prometheus_tools.package_dir(root, "prometheus", "1:2.53.3-1").name == "prometheus-1%3a2.53.3-1"


def test_cache_root_is_the_variable_else_var_cache_for_root_else_the_users_cache() -> None:
    home = Path("/home/op")
    assert prometheus_tools.cache_root({"NOA_TOOLS_CACHE": "/srv/t"}, 0, home) == Path("/srv/t")
    assert prometheus_tools.cache_root({}, 0, home) == Path("/var/cache/noa-tools")
    assert prometheus_tools.cache_root({}, 1000, home) == home / ".cache" / "noa-tools"
    assert prometheus_tools.cache_root({"XDG_CACHE_HOME": "/c"}, 1000, home) == Path("/c/noa-tools")


def test_the_versions_are_apts_candidates_from_one_apt_cache_run() -> None:
    apt = FakeApt()
    assert prometheus_tools.candidate_versions(["prometheus", "prometheus-alertmanager"], apt) == {
        "prometheus": "2.42.0+ds-5+deb12u1", "prometheus-alertmanager": "0.25.0-1+b4"}
    assert apt.commands == [["apt-cache", "policy", "prometheus", "prometheus-alertmanager"]]


@pytest.mark.parametrize("policy", ["", "prometheus:\n  Installed: (none)\n  Candidate: (none)\n",
                                    "prometheus-alertmanager:\n  Candidate: 0.25.0-1+b4\n"])
def test_no_candidate_says_to_update_apt(policy: str) -> None:
    with pytest.raises(ToolError, match=r"^apt knows no version of Debian's prometheus: run "
                                        r"`apt-get update` as root$"):
        prometheus_tools.candidate_versions(["prometheus"], FakeApt(policy=policy))


def test_a_tool_on_path_is_used_as_it_is(tmp_path: Path) -> None:
    apt = FakeApt()
    found = locate(["promtool"], run=apt, root=tmp_path, which=lambda tool: f"/opt/bin/{tool}")
    assert found == [Found("promtool", Path("/opt/bin/promtool"), "on PATH")]
    assert apt.commands == []


def test_a_missing_tool_is_downloaded_unpacked_and_then_cached(tmp_path: Path) -> None:
    apt = FakeApt()
    found = locate(["promtool"], run=apt, root=tmp_path, which=debian)
    directory = tmp_path / "prometheus-2.42.0+ds-5+deb12u1"
    assert found == [Found("promtool", directory / "root" / "usr" / "bin" / "promtool", "fetched",
                           "2.42.0+ds-5+deb12u1")]
    assert [command[:2] for command in apt.commands] == [
        ["apt-cache", "policy"], ["apt-get", "download"], ["dpkg-deb", "-x"]]
    assert apt.commands[1] == ["apt-get", "download", "prometheus=2.42.0+ds-5+deb12u1"]
    assert (directory / STAMP).is_file()
    assert not list(directory.glob("*.deb")), "the .deb is removed once unpacked"
    assert sorted(path.name for path in tmp_path.iterdir()) == [directory.name], "no partial left"

    again = FakeApt()
    assert locate(["promtool"], run=again, root=tmp_path, which=debian)[0].source == "cached"
    assert [command[:2] for command in again.commands] == [["apt-cache", "policy"]]


def test_a_failed_download_is_one_line_and_leaves_no_cache_entry(tmp_path: Path) -> None:
    stderr = ("W: Download is performed unsandboxed as root\n"
              "E: Failed to fetch http://deb.debian.org/debian/pool/main/p/prometheus.deb  "
              "Could not resolve 'deb.debian.org'\n")
    apt = FakeApt(download=done(stderr=stderr, code=100))
    with pytest.raises(ToolError) as raised:
        locate(["promtool"], run=apt, root=tmp_path, which=debian)
    message = str(raised.value)
    assert message == ("apt-get download prometheus=2.42.0+ds-5+deb12u1 failed: E: Failed to fetch "
                       "http://deb.debian.org/debian/pool/main/p/prometheus.deb  Could not resolve "
                       "'deb.debian.org'")
    assert "\n" not in message
    assert list(tmp_path.iterdir()) == []


def test_a_failure_without_output_still_says_something() -> None:
    assert prometheus_tools.failure(done(code=100)) == "exit 100, no output"


def test_a_package_without_the_tool_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match=r"^Debian's prometheus 2\.42\.0\+ds-5\+deb12u1 has no "
                                        r"usr/bin/promtool"):
        locate(["promtool"], run=FakeApt(ships="prometheus"), root=tmp_path, which=debian)


def test_without_apt_it_says_where_else_to_get_the_tool(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match=r"^amtool not on PATH and no apt-get/dpkg-deb to fetch Debian's "
                                        r"prometheus-alertmanager: install them from the Prometheus"):
        locate(["amtool"], run=FakeApt(), root=tmp_path, which=lambda _tool: None)


def test_an_unwritable_cache_says_to_set_the_variable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ToolError, match=r"set NOA_TOOLS_CACHE to a writable directory$"):
        locate(["promtool"], run=FakeApt(), root=blocker, which=debian)


def test_one_apt_cache_run_serves_both_tools_and_a_tool_on_path_needs_none(tmp_path: Path) -> None:
    apt = FakeApt(ships="amtool")
    found = locate(["promtool", "amtool"], run=apt, root=tmp_path,
                   which=lambda tool: "/usr/bin/promtool" if tool == "promtool" else debian(tool))
    assert [(item.tool, item.source) for item in found] == [("promtool", "on PATH"), ("amtool", "fetched")]
    assert apt.commands[0] == ["apt-cache", "policy", "prometheus-alertmanager"]
    assert apt.commands[1] == ["apt-get", "download", "prometheus-alertmanager=0.25.0-1+b4"]


def test_unknown_tool_and_bad_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(ToolError, match=r"^unknown tool 'prometheus'; valid: promtool, amtool$"):
        locate(["promtool", "prometheus"])
    assert prometheus_tools.main(["path"]) == 2
    assert prometheus_tools.main(["path", "kubectl"]) == 1
    assert capsys.readouterr().err.splitlines()[-1] == \
        "prometheus tools: unknown tool 'kubectl'; valid: promtool, amtool"


def test_the_summary_line_says_skipped_only_when_nothing_was_fetched() -> None:
    cached = Found("promtool", Path("/c/promtool"), "cached", "2.42.0+ds-5+deb12u1")
    fetched = Found("amtool", Path("/c/amtool"), "fetched", "0.25.0-1+b4")
    on_path = Found("amtool", Path("/usr/bin/amtool"), "on PATH")
    assert prometheus_tools.summary([cached, on_path]) == \
        "promtool 2.42.0+ds-5+deb12u1, amtool (on PATH) (skipped)"
    assert prometheus_tools.summary([cached, fetched]).endswith(": unpacked from Debian's packages")
