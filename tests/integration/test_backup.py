"""`invoke db-backup` and `invoke db-restore` on the running stack: a backup taken while agenticos
keeps registering agents, the postgres volume wiped, the backup restored into the fresh database,
every table's rows and checksum as the backup's manifest says. Beside it the near misses: a dump
one byte off, a database holding rows without --yes, a backup directory inside the checkout."""

from __future__ import annotations

import io
import json
import stat
import subprocess
import tarfile
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from noa_ops import backups
from noa_ops.models import sha256_of

from .helpers import POSTGRES, PROJECT, all_ready, base_url, http, invoke, postgres_prefix, wait_for
from .suite import REPO

pytestmark = pytest.mark.integration


def figures() -> dict[str, backups.Table]:
    return backups.table_figures(postgres_prefix())


class Writer:
    """Registers agents through agenticos until stopped: the writes a backup must not tear. Five a
    second at most, well inside agenticos' write limit per client (RATE_LIMIT_MAX a minute)."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.written = 0
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            name = f"backup-{uuid.uuid4().hex[:10]}"
            reply = http("POST", f"{base_url('agenticos')}/agents", {"name": name})
            if reply.status == 201:
                self.written += 1
            self.stop.wait(0.2)

    def __enter__(self) -> Writer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(timeout=30)


@pytest.fixture(scope="module")
def backup(stack: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A backup taken while agents are being registered: its manifest."""
    directory = tmp_path_factory.mktemp("backups") / "dev"
    with Writer() as writer:
        wait_for(lambda: writer.written >= 5, 30, "the first agents")
        before = writer.written
        result = invoke("db-backup", "--env", "dev", "--out", str(directory))
        during = writer.written - before
    assert during > 0, "agents were registered while the backup ran"
    [manifest] = directory.glob("*.json")
    assert "rows in" in result.stderr and manifest.name in result.stderr
    yield manifest


def test_a_backup_is_private_checksummed_and_counts_every_table(backup: Path) -> None:
    manifest = json.loads(backup.read_text())
    dump = backup.with_name(manifest["dump"])
    for path in (dump, backup, dump.with_name(dump.name + ".sha256")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE(backup.parent.stat().st_mode) == 0o700
    check = subprocess.run(["sha256sum", "-c", dump.name + ".sha256"], cwd=dump.parent, capture_output=True,
                           text=True, check=False)
    assert check.returncode == 0, check.stdout + check.stderr
    assert dump.read_bytes()[:5] == b"PGDMP", "pg_dump's custom format"
    assert {"noa_agents.agents", "noa_memory.memories", "noa_core.services"} <= set(manifest["tables"])
    assert manifest["tables"]["noa_agents.agents"]["rows"] > 5
    assert not list(backup.parent.glob("*.partial"))


def test_a_dump_one_byte_off_is_refused_and_nothing_changes(backup: Path, tmp_path: Path) -> None:
    manifest = json.loads(backup.read_text())
    dump = backup.with_name(manifest["dump"])
    forged = tmp_path / dump.name
    data = bytearray(dump.read_bytes())
    data[len(data) // 2] ^= 0x01
    forged.write_bytes(bytes(data))
    (tmp_path / backup.name).write_text(backup.read_text())
    before = figures()
    result = invoke("db-restore", "--env", "dev", "--from", str(forged), "--yes", check=False)
    assert result.returncode != 0
    assert f"{forged} does not match its checksum" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    assert figures() == before


def test_a_restore_that_fails_half_way_leaves_the_database_as_it_was(backup: Path, tmp_path: Path) -> None:
    """pg_restore runs in one transaction: a dump cut short (its manifest's checksum made to match,
    so the check before it passes) fails part-way, and every table is as it was before; the
    services are started again."""
    manifest = json.loads(backup.read_text())
    dump = backup.with_name(manifest["dump"])
    cut = tmp_path / dump.name
    data = dump.read_bytes()
    cut.write_bytes(data[: len(data) * 3 // 4])
    manifest["sha256"] = sha256_of(cut)
    (tmp_path / backup.name).write_text(json.dumps(manifest))
    before = figures()
    result = invoke("db-restore", "--env", "dev", "--from", str(cut), "--yes", check=False)
    said = " ".join(result.stderr.split())
    assert result.returncode != 0 and "pg_restore failed, the database is as it was" in said, said
    assert "Traceback" not in result.stderr
    assert figures() == before
    wait_for(all_ready, 120, "every service ready after the failed restore")


def test_a_database_holding_rows_is_not_replaced_without_yes(backup: Path) -> None:
    before = figures()
    assert any(item.rows for item in before.values())
    result = invoke("db-restore", "--env", "dev", "--from", str(backup), check=False)
    assert result.returncode != 0
    said = " ".join(result.stderr.split())
    assert "database holds" in said and "--yes replaces them" in said and "nothing was changed" in said
    assert figures() == before


def test_a_backup_directory_inside_the_checkout_is_refused() -> None:
    inside = REPO / "build" / "backups-here"
    result = invoke("db-backup", "--env", "dev", "--out", str(inside), check=False)
    assert result.returncode != 0
    assert "is inside the checkout" in " ".join(result.stderr.split())
    assert not inside.exists()


# The Kubernetes CronJob's command (docker/postgres/backup.sh), run in the stack's postgres container
# as noa_backup over TCP, three times a second apart keeping two; the files sent back as a tar stream.
IMAGE_BACKUP = ('d=$(mktemp -d) && export PGHOST=127.0.0.1 PGDATABASE="$POSTGRES_DB" BACKUP_ENVIRONMENT=dev '
                'BACKUP_KEEP=2 && for run in 1 2 3; do noa-postgres-backup "$d" >&2 || exit 1; sleep 1; done '
                '&& tar -C "$d" -cf - . && rm -rf "$d"')
AS_BACKUP_ROLE = ('PGPASSWORD="$BACKUP_POSTGRES_PASSWORD" psql -X -h 127.0.0.1 -U noa_backup '
                  '-d "$POSTGRES_DB" -Atc "$0"')


def in_postgres(script: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*postgres_prefix(), "sh", "-c", script, *args], capture_output=True, check=False,
                          timeout=300)


def test_the_cronjob_s_backup_taken_while_writing_is_one_db_restore_accepts(stack: None,
                                                                           tmp_path: Path) -> None:
    """noa-postgres-backup's dump, checksum and manifest, taken while agents are registered, restore
    with `invoke db-restore` to exactly the figures its manifest holds (counted in the dump's
    snapshot); of three runs, the newest BACKUP_KEEP=2 stay."""
    with Writer() as writer:
        wait_for(lambda: writer.written >= 3, 30, "the first agents")
        result = in_postgres(IMAGE_BACKUP)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    assert result.stderr.count(b"noa-postgres-backup: wrote") == 3
    with tarfile.open(fileobj=io.BytesIO(result.stdout)) as archive:
        archive.extractall(tmp_path, filter="data")
    manifests = sorted(tmp_path.glob("noa-dev-*.json"))
    assert len(manifests) == 2 and len(list(tmp_path.iterdir())) == 6, sorted(tmp_path.iterdir())
    for path in tmp_path.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    dump, loaded = backups.load_manifest(str(manifests[-1]))
    assert dump.read_bytes()[:5] == b"PGDMP" and set(loaded["tables"]) == set(figures())
    restored = invoke("db-restore", "--env", "dev", "--from", str(manifests[-1]), "--yes")
    assert "each with the backup's rows and checksum" in " ".join(restored.stderr.split())
    assert figures() == backups.expected_figures(loaded)


@pytest.mark.parametrize(("setting", "said"), [("PGUSER=noa_mcp", "password authentication failed"),
                                               ("BACKUP_KEEP=0", "BACKUP_KEEP=0 is not a whole number")])
def test_a_backup_that_cannot_run_says_why_in_one_line_and_leaves_nothing(stack: None, setting: str,
                                                                          said: str) -> None:
    """The near miss of a login: another service's role name with noa_backup's password."""
    result = in_postgres(f'd=$(mktemp -d) && env PGHOST=127.0.0.1 PGDATABASE="$POSTGRES_DB" {setting} '
                         'noa-postgres-backup "$d"; code=$?; ls -A "$d"; rm -rf "$d"; exit $code')
    lines = result.stderr.decode().strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1 and said in lines[0], lines
    assert result.stdout == b"", "files left behind"


def test_the_backup_role_reads_every_table_and_writes_none(stack: None) -> None:
    """noa_backup (pg_read_all_data) counts the rows of every noa_* table; an INSERT, an UPDATE and a
    CREATE TABLE are refused; and it is no superuser."""
    def as_backup(sql: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*postgres_prefix(), "sh", "-c", AS_BACKUP_ROLE, sql], capture_output=True,
                              text=True, check=False, timeout=60)

    for table in figures():
        assert as_backup(f"SELECT count(*) FROM {table}").returncode == 0, table
    for sql in ("INSERT INTO noa_memory.memories (content) VALUES ('x')",
                "UPDATE noa_core.services SET name = name", "CREATE TABLE noa_core.stolen (x int)"):
        refused = as_backup(sql)
        assert refused.returncode != 0 and "permission denied" in refused.stderr, (sql, refused.stderr)
    assert as_backup("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").stdout.strip() == "f"


def test_restore_into_a_wiped_volume_brings_back_every_table(backup: Path) -> None:
    """The postgres volume removed, the release deployed again (init-db.sql makes a fresh
    database), the backup restored: each table as the backup's snapshot had it."""
    engine = docker.from_env()
    for container in engine.containers.list(all=True, filters=POSTGRES):
        container.remove(force=True)
    [volume] = [v for v in engine.volumes.list(filters={"label": f"com.docker.compose.project={PROJECT}"})
                if v.name.endswith("_postgres-data")]
    volume.remove(force=True)
    invoke("deploy", "--env", "dev")
    fresh = figures()
    expected = backups.expected_figures(json.loads(backup.read_text()))
    assert fresh["noa_agents.agents"].rows == 0 < expected["noa_agents.agents"].rows
    result = invoke("db-restore", "--env", "dev", "--from", str(backup), "--yes")
    assert "each with the backup's rows and checksum" in " ".join(result.stderr.split())
    assert figures() == expected
    wait_for(all_ready, 60, "every service ready after the restore")
    for name in ("mcp", "claude-flow", "agenticos"):  # the ui reaches their new addresses
        assert http("GET", f"{base_url('ui')}/status/{name}", auth=None).status == 200, name
