"""noa_ops.docgen finds and rewrites stale generated files (the repository's own: test_docs.py)."""

from __future__ import annotations

from pathlib import Path

from noa_ops import docgen


def test_a_stale_file_is_detected(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "HEALTH_CHECKS.md").write_text(
        "x\n<!-- generated:readiness-checks -->\nold\n<!-- /generated:readiness-checks -->\n")
    stale = {path.relative_to(tmp_path).as_posix() for path in docgen.stale(tmp_path)}
    assert stale == {".env.example", "docs/ENVIRONMENT_VARIABLES.md", "docs/HEALTH_CHECKS.md"}
    docgen.write(docgen.stale(tmp_path), docgen.expected(tmp_path))
    assert docgen.stale(tmp_path) == []


def test_the_alert_table_shows_templates_as_placeholders_and_one_row_per_alert() -> None:
    assert docgen._untemplated("Check {{ $labels.check }} at\n {{ $value | humanizePercentage }}") == \
        "Check <check> at <value>"
    rows = docgen.alert_rules().splitlines()[2:]
    assert [row.split(" | ")[0] for row in rows] == [
        "| TargetDown", "| HealthCheckFailing", "| HighRequestLatency", "| LlamaNotReady",
        "| PostgresConnectionsNearLimit", "| RedisMemoryNearLimit"]
    assert not any("{{" in row for row in rows)
