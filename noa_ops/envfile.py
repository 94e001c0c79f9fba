"""The per-environment secrets file that compose reads with --env-file.

Values are generated with `secrets` and never printed. The file is created with
mode 0600 in one step (O_EXCL), so no other user can read it even for a moment.
Which secrets exist, and how each is generated, is the settings catalogue's `generate`.
"""

from __future__ import annotations

import os
import secrets
import string
from pathlib import Path

from .clock import utc_stamp
from .errors import NoaError
from .private_files import write_private
from .settings_catalogue import api_keys, env_catalogue

SecretKind = env_catalogue.SecretKind


# The secrets env-init generates, in catalogue order (docker-compose.yml writes each as
# ${NAME:?...}, no defaults).
GENERATED_SECRETS: tuple[str, ...] = tuple(item.name for item in env_catalogue.VARIABLES if item.generate)
# Values the tools compute from generated secrets wherever they render the configuration
# (API_CLIENTS: the sha256 of each client's API key); never written to an env file.
DERIVED: tuple[env_catalogue.Variable, ...] = tuple(
    item for item in env_catalogue.VARIABLES if item.derived_from)
# Postgres keeps the password it was initialised with in its volume: a fresh one would lock the
# init out, so a file lacking it is refused rather than completed.
KEPT_BY_VOLUME = ("POSTGRES_PASSWORD",)
# The secrets `invoke rotate-key` replaces: the API keys (each client's, and llama's), which nothing
# stores derived from them but API_CLIENTS, recomputed at the next deploy; and the data tier's
# passwords, which the postgres and redis images set at every start (not the superuser's).
ROTATABLE: tuple[str, ...] = tuple(
    name for name in GENERATED_SECRETS
    if name.endswith("_API_KEY") or (name.endswith("_PASSWORD") and name not in KEPT_BY_VOLUME))
# NOA_ENV per invoke environment; staging and production apply the production rules.
NOA_ENV_OF = {"dev": "development", "staging": "staging", "prod": "production"}
SECRET_LENGTH = 32
KEY_BYTES = 48
HEX_KEY_BYTES = 32
# Letters, digits and two URL-safe symbols: nothing that compose interpolation ($),
# env-file parsing (#, quotes), a shell or a connection URL (@ : /) would treat specially.
SYMBOLS = "-_"
ALPHABET = string.ascii_letters + string.digits + SYMBOLS
CHARACTER_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits, SYMBOLS)


def noa_env(env_name: str) -> str:
    return NOA_ENV_OF.get(env_name, "development")


def generate_secret(length: int = SECRET_LENGTH) -> str:
    """A random secret with at least one character of every class."""
    if length < len(CHARACTER_CLASSES):
        raise ValueError(f"a secret needs at least {len(CHARACTER_CLASSES)} characters")
    while True:
        candidate = "".join(secrets.choice(ALPHABET) for _ in range(length))
        if all(any(ch in chars for ch in candidate) for chars in CHARACTER_CLASSES):
            return candidate


def _candidate(kind: SecretKind) -> str:
    if kind is SecretKind.HEX_KEY:
        return secrets.token_hex(HEX_KEY_BYTES)
    if kind is SecretKind.KEY:
        return secrets.token_urlsafe(KEY_BYTES)
    return generate_secret()


def generate_value(name: str) -> str:
    """A fresh value for a generated secret that passes its production rules (a random value that
    happens to contain a placeholder word such as '1234' is drawn again)."""
    declared = env_catalogue.variable(name)
    assert declared.generate is not None, f"{name} is not generated"
    while True:
        candidate = _candidate(declared.generate)
        rules = (*declared.rules, *declared.production_rules)
        if all(rule.check(candidate) is None for rule in rules):
            return candidate


def render(env_name: str, values: dict[str, str]) -> str:
    stamp = utc_stamp()
    lines = [
        f"# Noa Server secrets for the {env_name} environment, written by `invoke env-init` at {stamp}.",
        "# Git-ignored, mode 0600. Postgres keeps the password it was initialised with in the",
        "# postgres-data volume: replacing it later locks the services out of the existing data.",
        *(f"{name}={value}" for name, value in values.items()),
    ]
    return "\n".join(lines) + "\n"


def fresh_values(env_name: str) -> dict[str, str]:
    """NOA_ENV (outside dev, where compose defaults it) and every generated secret."""
    values = {} if env_name == "dev" else {"NOA_ENV": noa_env(env_name)}
    values.update({name: generate_value(name) for name in GENERATED_SECRETS})
    return values


def derived_values(values: dict[str, str]) -> dict[str, str]:
    """API_CLIENTS (and any other derived value) from an env file's values; a client whose key is
    missing is left out, so nobody can use it."""
    return {item.name: api_keys.render_clients({api_keys.client_of(source): values[source]
                                                 for source in item.derived_from if values.get(source)})
            for item in DERIVED}


def parse(text: str) -> dict[str, str]:
    """KEY=VALUE lines as compose's --env-file reads them: comments, blanks, optional `export `
    and one pair of surrounding quotes. The one parser of env files in this package."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        pair = _pair(line)
        if pair is not None:
            values[pair[0]] = pair[1]
    return values


def _pair(line: str) -> tuple[str, str] | None:
    """(name, value) of one env file line; None for a blank line, a comment or no `=`."""
    stripped = line.strip()
    if not stripped or stripped.startswith("#") or "=" not in stripped:
        return None
    name, _, value = stripped.removeprefix("export ").partition("=")
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        value = value[1:-1]
    return name.strip(), value


def read_text(path: Path) -> str:
    """An env file's text; one that is not UTF-8 (as compose reads it) is one line saying so."""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        raise NoaError(f"{path} is not UTF-8 text (byte {error.start}): save it as UTF-8, or write a "
                       f"fresh one with `invoke env-init --force`") from None


def read_values(path: Path) -> dict[str, str]:
    """The KEY=VALUE pairs of an env file; {} when it does not exist."""
    return parse(read_text(path)) if path.exists() else {}


def read_names(path: Path) -> set[str]:
    """The variable names a KEY=VALUE file defines (values are not kept)."""
    return set(parse(read_text(path)))


def missing_secrets(path: Path) -> list[str]:
    defined = read_names(path)
    return [name for name in GENERATED_SECRETS if name not in defined]


def write(path: Path, env_name: str, *, force: bool = False) -> None:
    """Write fresh random secrets; FileExistsError if the file exists and force is not given."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    content = render(env_name, fresh_values(env_name))
    if not force:
        _write_new(path, content)
        return
    _replace_file(path, content)


def ensure(path: Path, env_name: str) -> bool:
    """Create the file if it is missing; True when it was created."""
    try:
        write(path, env_name)
    except FileExistsError:
        return False
    return True


def complete(path: Path) -> list[str]:
    """Append fresh values for the generated secrets an older file lacks (e.g. ones added to the
    catalogue since it was written); the names added. Never touches KEPT_BY_VOLUME secrets."""
    missing = [name for name in missing_secrets(path) if name not in KEPT_BY_VOLUME]
    if missing:
        text = read_text(path)
        separator = "" if not text or text.endswith("\n") else "\n"
        stamp = utc_stamp()
        added = "".join(f"{name}={generate_value(name)}\n" for name in missing)
        with path.open("a") as handle:
            handle.write(f"{separator}# Added by the operator tasks at {stamp}.\n{added}")
    return missing


def replace_value(path: Path, name: str, value: str) -> None:
    """Give `name` a new value in place (its line rewritten, the rest kept as it was), atomically."""
    lines = read_text(path).splitlines()
    found = [index for index, line in enumerate(lines)
             if (pair := _pair(line)) is not None and pair[0] == name]
    if not found:
        raise NoaError(f"{path} has no {name} to replace")
    for index in found:
        lines[index] = f"{name}={value}"
    _replace_file(path, "\n".join(lines) + "\n")


def _replace_file(path: Path, content: str) -> None:
    """`content` at `path` in one step: written beside it (mode 0600), then renamed over it."""
    partial = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    _write_new(partial, content)
    os.replace(partial, path)


def _write_new(path: Path, content: str) -> None:
    write_private(path, content, exclusive=True)
