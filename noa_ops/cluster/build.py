"""Build each component's binaries once per cache key into <cache>/bin/<name>-<key>/.

The Go module and build caches live under <cache>/go/ too (never in the checkout or ~/.cache).
A component whose directory is complete (a `.complete` stamp written last) is not built again,
so a warm `build` only hashes a few small files."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from noa_ops.cluster import ClusterError
from noa_ops.cluster.config import ClusterConfig
from noa_ops.cluster.versions import COMPONENTS, Component, cache_key

STAMP = ".complete"


@dataclass(frozen=True)
class Built:
    component: str
    version: str
    directory: Path
    seconds: float
    cached: bool


def go_version(cfg: ClusterConfig) -> str:
    """`go version` of the configured toolchain (part of every cache key)."""
    root = Path(cfg.go).resolve().parent.parent
    version_file = root / "VERSION"
    if version_file.is_file():
        return version_file.read_text().splitlines()[0].strip()
    result = subprocess.run([cfg.go, "env", "GOVERSION"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise ClusterError(f"{cfg.go} does not run: {result.stderr.strip()}")
    return result.stdout.strip()


def go_env(cfg: ClusterConfig, comp: Component) -> dict[str, str]:
    """The environment of `go build`: caches under the cluster cache, no toolchain switching."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("GO")}
    env.update({
        "GOMODCACHE": str(cfg.cache_dir / "go" / "mod"),
        "GOCACHE": str(cfg.cache_dir / "go" / "build"),
        "GOPATH": str(cfg.cache_dir / "go" / "path"),
        "GOTOOLCHAIN": "local",
        "GOFLAGS": "-mod=readonly -buildvcs=false",
        "CGO_ENABLED": "1" if comp.cgo else "0",
    })
    return env


def build_command(cfg: ClusterConfig, comp: Component, binary: str, out: Path) -> list[str]:
    command = ["nice", "-n", "10", cfg.go, "build", "-p", "2", "-trimpath", "-o", str(out / binary)]
    if comp.tags:
        command += ["-tags", ",".join(comp.tags)]
    return [*command, "-ldflags", comp.ldflags(), comp.binaries[binary]]


def bin_dir(cfg: ClusterConfig, comp: Component, go: str | None = None) -> Path:
    return cfg.cache_dir / "bin" / f"{comp.name}-{cache_key(comp, go or go_version(cfg))}"


def build_component(cfg: ClusterConfig, comp: Component, go: str, log: Path | None = None) -> Built:
    out = bin_dir(cfg, comp, go)
    if (out / STAMP).is_file():
        return Built(comp.name, comp.version(), out, 0.0, cached=True)
    started = time.monotonic()
    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    for binary in comp.binaries:
        command = build_command(cfg, comp, binary, partial)
        binary_started = time.monotonic()
        result = subprocess.run(command, cwd=comp.directory, env=go_env(cfg, comp),
                                capture_output=True, text=True, check=False)
        if log is not None:
            with log.open("a") as handle:
                handle.write(f"$ {' '.join(command)}\n{result.stdout}{result.stderr}"
                             f"# {binary}: exit {result.returncode} after "
                             f"{time.monotonic() - binary_started:.0f} s\n")
        if result.returncode != 0:
            tail = (result.stderr.strip().splitlines() or ["(no output)"])[-1]
            raise ClusterError(f"building {binary} ({comp.name} {comp.version()}) failed: {tail}")
    seconds = time.monotonic() - started
    (partial / STAMP).write_text(f"{comp.module} {comp.version()}\nseconds {seconds:.1f}\n")
    shutil.rmtree(out, ignore_errors=True)
    partial.rename(out)
    return Built(comp.name, comp.version(), out, seconds, cached=False)


def build_seconds(cfg: ClusterConfig, comp: Component, go: str | None = None) -> float | None:
    """How long the cached build of a component took (its stamp's `seconds` line), None if unknown."""
    stamp = bin_dir(cfg, comp, go) / STAMP
    lines = stamp.read_text().splitlines() if stamp.is_file() else []
    for line in lines:
        word, _, value = line.partition(" ")
        if word == "seconds":
            try:
                return float(value)
            except ValueError:
                return None
    return None


def build_all(cfg: ClusterConfig, names: list[str] | None = None, verbose: bool = True) -> dict[str, Path]:
    """Build (or find cached) every component; returns component name -> bin directory."""
    go = go_version(cfg)
    cfg.logs_dir.mkdir(parents=True, exist_ok=True)
    dirs: dict[str, Path] = {}
    for comp in COMPONENTS:
        if names and comp.name not in names:
            continue
        if verbose and not (bin_dir(cfg, comp, go) / STAMP).is_file():
            print(f"building {comp.name} {comp.version()} (cold: minutes on 2 cores)", flush=True)
        built = build_component(cfg, comp, go, log=cfg.logs_dir / "build.log")
        if verbose and not built.cached:
            print(f"built {comp.name} {built.version} in {built.seconds:.0f} s -> {built.directory}",
                  flush=True)
        dirs[comp.name] = built.directory
    return dirs


def built_binary(cfg: ClusterConfig, name: str) -> Path | None:
    """One binary's path if the component that makes it is built, else None."""
    go = go_version(cfg)
    for comp in COMPONENTS:
        if name in comp.binaries and (bin_dir(cfg, comp, go) / STAMP).is_file():
            return bin_dir(cfg, comp, go) / name
    return None


def binaries(cfg: ClusterConfig) -> dict[str, Path]:
    """Binary name -> path, for components already built (ClusterError if one is missing)."""
    go = go_version(cfg)
    paths: dict[str, Path] = {}
    for comp in COMPONENTS:
        directory = bin_dir(cfg, comp, go)
        if not (directory / STAMP).is_file():
            raise ClusterError(f"{comp.name} is not built: run `python -m noa_ops.cluster build`")
        for name in comp.binaries:
            paths[name] = directory / name
    return paths
