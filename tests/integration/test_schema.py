"""init-db.sql is idempotent on a real Postgres: applied again to the running stack's database it
leaves the same schema (`pg_dump --schema-only`) and the same rows, and it completes a schema
with a piece missing (the entrypoint runs it again until it has once succeeded)."""

from __future__ import annotations

import subprocess

from noa_ops import backups

from .helpers import postgres_prefix

INIT_DB = "/docker-entrypoint-initdb.d/init-db.sql"


def in_postgres(*argv: str, stdin: str | None = None) -> str:
    result = subprocess.run(backups.in_postgres(postgres_prefix(), *argv), input=stdin, capture_output=True,
                            text=True, check=False, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def schema() -> str:
    """The schema-only dump without the `\\restrict KEY` / `\\unrestrict KEY` lines, whose key
    pg_dump draws at random on each run (PostgreSQL 15.14 and later)."""
    dump = in_postgres("pg_dump", "--schema-only")
    return "".join(line for line in dump.splitlines(keepends=True)
                   if not line.startswith(("\\restrict ", "\\unrestrict ")))


def apply_init_db() -> None:
    in_postgres("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", INIT_DB)


def test_init_db_applied_again_leaves_the_same_schema_and_rows(stack: None) -> None:
    before, rows = schema(), backups.table_figures(postgres_prefix())
    assert "CREATE TABLE noa_agents.agents" in before
    apply_init_db()
    assert schema() == before
    assert backups.table_figures(postgres_prefix()) == rows


def test_init_db_applied_again_completes_a_schema_missing_an_index(stack: None) -> None:
    before = schema()
    in_postgres("psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-c",
                "DROP INDEX noa_memory.embeddings_memory_id_idx")
    assert schema() != before, "the near miss: the schema without the index differs"
    apply_init_db()
    assert schema() == before
