"""`invoke db-backup` and `invoke db-restore`: the environment's database, dumped consistently while
the services write, checksummed, and restored with proof that every table came back.

A backup opens one read-only REPEATABLE READ transaction in the postgres container, exports its
snapshot, has `pg_dump --format=custom --snapshot` dump exactly that snapshot, and counts and
hashes every table of the noa_* schemas in the same transaction. Beside the dump it writes a
`sha256sum` line and a manifest holding the checksum and those per-table figures. A restore checks
the checksum first, refuses a database that holds rows unless told `--yes`, stops the services that
write while `pg_restore --clean --single-transaction` runs, starts them again and compares every
table with the manifest. Files are 0600 in 0700 directories, by default outside the checkout
(~/.local/share/noa-server/backups/<env>/).

The superuser's password never leaves the container: the commands run there, read it as the
entrypoint does (docker/secret-env.sh: POSTGRES_PASSWORD or POSTGRES_PASSWORD_FILE) and log in over
127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from . import paths
from .environments import Environment
from .errors import NoaError
from .models import sha256_of
from .private_files import write_private

DEFAULT_DIR = Path.home() / ".local" / "share" / "noa-server" / "backups"
MANIFEST_FORMAT = 1
END = "--noa-end--"
# Run in the postgres container: the superuser's password as the entrypoint reads it, then ARGS.
IN_CONTAINER = (
    'die() { echo "$*" >&2; exit 1; }; . /usr/local/lib/noa/secret-env.sh; '
    'PGPASSWORD="$(secret POSTGRES_PASSWORD)"; export PGPASSWORD; '
    'export PGHOST=127.0.0.1 PGUSER="$POSTGRES_USER" PGDATABASE="$POSTGRES_DB"; exec "$@"'
)
# One line "schema.table|rows|md5" per table of the noa_* schemas (the CronJob runs the same file).
TABLE_FIGURES = (paths.REPO / "docker" / "postgres" / "table-figures.sql").read_text()
PSQL = ("psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1")


@dataclass(frozen=True)
class Table:
    rows: int
    md5: str


def in_postgres(exec_prefix: Sequence[str], *argv: str) -> list[str]:
    return [*exec_prefix, "sh", "-c", IN_CONTAINER, "sh", *argv]


def parse_figures(lines: Sequence[str]) -> dict[str, Table]:
    figures = {}
    for line in lines:
        name, rows, md5 = line.rsplit("|", 2)
        figures[name] = Table(int(rows), md5)
    return figures


def backup_dir(env: Environment, out: str) -> Path:
    """--out, else the default; never inside the checkout (git would be one `add` away)."""
    chosen = Path(out).expanduser().resolve() if out else DEFAULT_DIR / env.name
    if chosen.is_relative_to(paths.REPO.resolve()):
        raise NoaError(f"db-backup: {chosen} is inside the checkout {paths.REPO}; "
                       f"choose a directory outside it (--out)")
    return chosen


def stamp(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")


def _private_dir(directory: Path) -> None:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(directory, 0o700)


def _last_line(text: str | bytes, fallback: str) -> str:
    shown = text.decode(errors="replace") if isinstance(text, bytes) else text
    return (shown.strip().splitlines() or [fallback])[-1]


class SnapshotSession:
    """A psql session holding one read-only REPEATABLE READ transaction open in the container."""

    def __init__(self, exec_prefix: Sequence[str]) -> None:
        self.process = subprocess.Popen(in_postgres(exec_prefix, *PSQL), stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def _send(self, sql: str) -> None:
        stdin: IO[str] | None = self.process.stdin
        assert stdin is not None
        stdin.write(sql)
        stdin.flush()

    def _read_until_end(self) -> list[str]:
        stdout: IO[str] | None = self.process.stdout
        assert stdout is not None
        lines = []
        while (line := stdout.readline()) and line.strip() != END:
            lines.append(line.rstrip("\n"))
        if not line:
            raise NoaError(f"db-backup: psql in the postgres container stopped: {self._stderr()}")
        return lines

    def _stderr(self) -> str:
        self.process.kill()
        _, stderr = self.process.communicate()
        return _last_line(stderr or "", f"exit {self.process.returncode}")

    def snapshot(self) -> str:
        self._send(f"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSELECT pg_export_snapshot();\n"
                   f"SELECT '{END}';\n")
        [snapshot] = self._read_until_end()
        return snapshot

    def figures(self) -> dict[str, Table]:
        self._send(f"{TABLE_FIGURES}\nSELECT '{END}';\n")
        return parse_figures(self._read_until_end())

    def close(self) -> None:
        if self.process.poll() is None:
            self._send("COMMIT;\n\\q\n")
            self.process.communicate(timeout=30)


def table_figures(exec_prefix: Sequence[str]) -> dict[str, Table]:
    """Every noa_* table's rows and checksum now (outside any snapshot)."""
    result = subprocess.run(in_postgres(exec_prefix, *PSQL), input=TABLE_FIGURES, capture_output=True,
                            text=True, check=False, timeout=600)
    if result.returncode != 0:
        raise NoaError(f"database figures: {_last_line(result.stderr, f'exit {result.returncode}')}")
    return parse_figures([line for line in result.stdout.splitlines() if line])


def dump(exec_prefix: Sequence[str], snapshot: str, target: Path) -> None:
    with target.open("wb") as handle:
        command = in_postgres(exec_prefix, "pg_dump", "--format=custom", f"--snapshot={snapshot}")
        result = subprocess.run(command, stdout=handle, stderr=subprocess.PIPE, check=False, timeout=3600)
    if result.returncode != 0:
        raise NoaError(f"db-backup: pg_dump failed: {_last_line(result.stderr, f'exit {result.returncode}')}")


def backup(env: Environment, exec_prefix: Sequence[str], directory: Path,
           revision: str) -> tuple[Path, dict[str, Table]]:
    """Dump the database into directory/noa-<env>-<time>.dump (+ .sha256, .json): the manifest's path
    and the tables' figures it holds."""
    _private_dir(directory)
    name = f"noa-{env.name}-{stamp()}"
    final, partial = directory / f"{name}.dump", directory / f"{name}.dump.partial"
    write_private(partial, "")  # 0600 before pg_dump writes into it
    session = SnapshotSession(exec_prefix)
    try:
        snapshot = session.snapshot()
        dump(exec_prefix, snapshot, partial)
        figures = session.figures()
        session.close()
    except BaseException:
        partial.unlink(missing_ok=True)
        if session.process.poll() is None:
            session.process.kill()
        raise
    checksum = sha256_of(partial)
    partial.rename(final)
    write_private(directory / f"{name}.dump.sha256", f"{checksum}  {final.name}\n")
    manifest = {"format": MANIFEST_FORMAT, "environment": env.name, "created": datetime.now(UTC).isoformat(),
                "revision": revision, "dump": final.name, "sha256": checksum, "bytes": final.stat().st_size,
                "tables": {table: {"rows": item.rows, "md5": item.md5} for table, item in figures.items()}}
    manifest_path = directory / f"{name}.json"
    write_private(manifest_path, json.dumps(manifest, indent=2) + "\n")
    return manifest_path, figures


def load_manifest(source: str) -> tuple[Path, dict[str, Any]]:
    """The dump and its manifest from --from (either file); NoaError naming what is wrong."""
    given = Path(source).expanduser()
    manifest_path = given if given.suffix == ".json" else given.with_suffix(".json")
    try:
        manifest = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        raise NoaError(f"db-restore: no manifest {manifest_path} beside the dump") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise NoaError(f"db-restore: {manifest_path} is not a backup manifest ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT \
            or not isinstance(manifest.get("tables"), dict) or not isinstance(manifest.get("dump"), str):
        raise NoaError(f"db-restore: {manifest_path} is not a backup manifest of format {MANIFEST_FORMAT}")
    dump_path = manifest_path.with_name(manifest["dump"])
    if not dump_path.is_file():
        raise NoaError(f"db-restore: the dump {dump_path} named by {manifest_path} is missing")
    if sha256_of(dump_path) != manifest.get("sha256"):
        raise NoaError(f"db-restore: {dump_path} does not match its checksum in {manifest_path}; "
                       f"nothing was changed")
    return dump_path, manifest


def expected_figures(manifest: dict[str, Any]) -> dict[str, Table]:
    return {name: Table(int(item["rows"]), str(item["md5"])) for name, item in manifest["tables"].items()}


def differences(expected: dict[str, Table], found: dict[str, Table]) -> list[str]:
    problems = []
    for name in sorted(set(expected) | set(found)):
        want, got = expected.get(name), found.get(name)
        if want == got:
            continue
        line = (f"{name}: {want.rows if want else 'absent'} rows in the backup, "
                f"{got.rows if got else 'absent'} now")
        if want and got and want.rows == got.rows:
            line += " (same count, other rows)"
        problems.append(line)
    return problems


def restore_dump(exec_prefix: Sequence[str], dump_path: Path) -> None:
    with dump_path.open("rb") as handle:
        result = subprocess.run(
            in_postgres(exec_prefix, "sh", "-c", 'exec pg_restore --clean --if-exists --single-transaction '
                        '--exit-on-error --dbname="$PGDATABASE"'),
            stdin=handle, capture_output=True, check=False, timeout=3600)
    if result.returncode != 0:
        raise NoaError(f"db-restore: pg_restore failed, the database is as it was: "
                       f"{_last_line(result.stderr, f'exit {result.returncode}')}")
