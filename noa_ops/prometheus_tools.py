"""promtool and amtool without the Prometheus and Alertmanager daemons.

`apt-get install prometheus` would start and enable a Prometheus server; checking the monitoring
files needs only the two checkers. So when a tool is not on PATH, `apt-get download` fetches
Debian's package (the version apt would install) into <cache>/<package>-<version>/, `dpkg-deb -x`
unpacks it there, and the tool is <that>/root/usr/bin/<tool>. Nothing is installed and nothing
runs as a service. A directory is complete once its stamp is written; it is not fetched again.

The cache is $NOA_TOOLS_CACHE, else /var/cache/noa-tools for root, else ~/.cache/noa-tools.

    python -m noa_ops.prometheus_tools path TOOL...   each tool's path, one a line (fetched if need be)
    python -m noa_ops.prometheus_tools fetch          promtool and amtool, with a summary (bootstrap)

One line on error (no traceback), exit 1. Standard library only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from noa_ops.errors import NoaError

# Tool -> the Debian package that ships it (in usr/bin/).
PACKAGES = {"promtool": "prometheus", "amtool": "prometheus-alertmanager"}
STAMP = ".complete"
SYSTEM_CACHE = Path("/var/cache/noa-tools")

Run = Callable[[Sequence[str], Path | None], "subprocess.CompletedProcess[str]"]
Which = Callable[[str], str | None]


class ToolError(NoaError):
    """A tool could not be found or fetched; the message is one line meant for the user."""


@dataclass(frozen=True)
class Found:
    tool: str
    path: Path
    source: str  # "on PATH", "cached" or "fetched"
    version: str = ""  # the Debian package version, when it came from one

    def line(self) -> str:
        origin = f"{PACKAGES[self.tool]} {self.version}, {self.source}" if self.version else self.source
        return f"{self.tool}: {self.path} ({origin})"


def run_command(argv: Sequence[str], cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    # apt's messages are translated; the parsing below reads the C locale's.
    env = {**os.environ, "LC_ALL": "C"}
    return subprocess.run(list(argv), cwd=cwd, env=env, capture_output=True, text=True, check=False)


def cache_root(env: Mapping[str, str], uid: int, home: Path) -> Path:
    if env.get("NOA_TOOLS_CACHE"):
        return Path(env["NOA_TOOLS_CACHE"])
    if uid == 0:
        return SYSTEM_CACHE
    return Path(env.get("XDG_CACHE_HOME") or home / ".cache") / "noa-tools"


def package_dir(root: Path, package: str, version: str) -> Path:
    """<root>/<package>-<version>, an epoch's colon spelt %3a as in apt's own .deb names."""
    return root / f"{package}-{version.replace(':', '%3a')}"


def failure(result: subprocess.CompletedProcess[str]) -> str:
    """The line that says why a command failed: apt's last `E:` line, else its last line."""
    lines = [line.strip() for line in (result.stderr + result.stdout).splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("E:")]
    return (errors or lines or [f"exit {result.returncode}, no output"])[-1]


def candidate_versions(packages: Sequence[str], run: Run) -> dict[str, str]:
    """The version `apt-get install` would pick of each package (apt-cache policy's Candidate),
    from one apt-cache run: each takes most of a second, loading apt's cache."""
    result = run(["apt-cache", "policy", *packages], None)
    if result.returncode != 0:
        raise ToolError(f"apt-cache policy {' '.join(packages)} failed: {failure(result)}")
    versions: dict[str, str] = {}
    package = ""
    for line in result.stdout.splitlines():
        if line[:1].strip() and line.endswith(":"):  # "prometheus:" (or "prometheus:amd64:")
            package = line.split(":")[0]
            continue
        key, _, value = line.strip().partition(":")
        if key == "Candidate" and value.strip() not in ("", "(none)"):
            versions[package] = value.strip()
    unknown = [package for package in packages if package not in versions]
    if unknown:
        raise ToolError(f"apt knows no version of Debian's {' or '.join(unknown)}: run `apt-get update` "
                        f"as root")
    return versions


def unpack_package(package: str, version: str, directory: Path, run: Run) -> None:
    """Download the .deb into `directory` and unpack it to `directory`/root; the .deb is then removed."""
    result = run(["apt-get", "download", f"{package}={version}"], directory)
    if result.returncode != 0:
        raise ToolError(f"apt-get download {package}={version} failed: {failure(result)}")
    debs = sorted(directory.glob("*.deb"))
    if len(debs) != 1:
        raise ToolError(f"apt-get download {package}={version} left {len(debs)} .deb files, not 1")
    result = run(["dpkg-deb", "-x", str(debs[0]), str(directory / "root")], None)
    if result.returncode != 0:
        raise ToolError(f"dpkg-deb -x {debs[0].name} failed: {failure(result)}")
    debs[0].unlink()
    (directory / STAMP).write_text(f"{package} {version}\n")


def fetch_package(package: str, version: str, target: Path, run: Run) -> None:
    """Unpack the package at `target`: built in a directory of its own, then renamed into place,
    so an interrupted or concurrent fetch never leaves a half-made `target`."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = Path(tempfile.mkdtemp(prefix=f"{target.name}.partial-", dir=target.parent))
        # mkdtemp's 0700 would keep other users (and apt's _apt downloader) out.
        partial.chmod(0o755)
    except OSError as error:
        raise ToolError(f"cannot write the tool cache {target.parent} ({error.strerror}): "
                        f"set NOA_TOOLS_CACHE to a writable directory") from None
    try:
        unpack_package(package, version, partial, run)
        if target.is_dir() and not (target / STAMP).is_file():
            shutil.rmtree(target)  # an incomplete leftover, not a finished fetch
        partial.rename(target)
    except OSError as error:
        if not (target / STAMP).is_file():  # else another fetch finished first: use its copy
            raise ToolError(f"cannot put {package} {version} at {target}: {error.strerror}") from None
    finally:
        shutil.rmtree(partial, ignore_errors=True)


def locate(tools: Sequence[str], run: Run = run_command, root: Path | None = None,
           which: Which = shutil.which) -> list[Found]:
    """Each tool on PATH, else the one from its Debian package in the cache (fetched if missing)."""
    unknown = [tool for tool in tools if tool not in PACKAGES]
    if unknown:
        raise ToolError(f"unknown tool {unknown[0]!r}; valid: {', '.join(PACKAGES)}")
    on_path = {tool: which(tool) for tool in tools}
    wanted = [tool for tool in tools if not on_path[tool]]
    versions: dict[str, str] = {}
    if wanted:
        if which("apt-get") is None or which("dpkg-deb") is None:
            raise ToolError(f"{' and '.join(wanted)} not on PATH and no apt-get/dpkg-deb to fetch Debian's "
                            f"{' and '.join(PACKAGES[tool] for tool in wanted)}: install them from the "
                            f"Prometheus and Alertmanager release archives")
        versions = candidate_versions([PACKAGES[tool] for tool in wanted], run)
    cache = root or cache_root(os.environ, os.getuid(), Path.home())
    found = []
    for tool in tools:
        path = on_path[tool]
        if path:
            found.append(Found(tool, Path(path), "on PATH"))
        else:
            found.append(from_package(tool, versions[PACKAGES[tool]], cache, run))
    return found


def from_package(tool: str, version: str, cache: Path, run: Run) -> Found:
    package = PACKAGES[tool]
    directory = package_dir(cache, package, version)
    source = "cached"
    if not (directory / STAMP).is_file():
        fetch_package(package, version, directory, run)
        source = "fetched"
    binary = directory / "root" / "usr" / "bin" / tool
    if not binary.is_file():
        raise ToolError(f"Debian's {package} {version} has no usr/bin/{tool} (in {directory})")
    return Found(tool, binary, source, version)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    usage = "usage: python -m noa_ops.prometheus_tools path TOOL... | fetch  (tools: promtool, amtool)"
    if args[:1] == ["path"] and len(args) > 1:
        tools = args[1:]
    elif args == ["fetch"]:
        tools = list(PACKAGES)
    else:
        print(usage, file=sys.stderr)
        return 2
    try:
        found = locate(tools)
    except ToolError as error:
        print(f"prometheus tools: {error}", file=sys.stderr)
        return 1
    if args[0] == "path":
        print("\n".join(str(item.path) for item in found))
        return 0
    print("\n".join(item.line() for item in found))
    print(summary(found))
    return 0


def summary(found: Sequence[Found]) -> str:
    """One line for bootstrap's table, which reads "(skipped)" as "nothing was to do"."""
    tools = ", ".join(f"{item.tool} {item.version or '(on PATH)'}" for item in found)
    if any(item.source == "fetched" for item in found):
        return f"{tools}: unpacked from Debian's packages"
    return f"{tools} (skipped)"


if __name__ == "__main__":
    sys.exit(main())
