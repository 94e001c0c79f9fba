"""The secrets file: random, private, never overwritten by accident, never printed."""

from __future__ import annotations

import stat
import string
from pathlib import Path

import pytest
from invoke.exceptions import Exit

from noa_ops import cli, envfile
from noa_ops.errors import NoaError

from .helpers import mock_context, runs


def values(path: Path) -> dict[str, str]:
    lines = [line for line in path.read_text().splitlines() if line and not line.startswith("#")]
    return dict(line.split("=", 1) for line in lines)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_written_file_has_both_random_secrets_and_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / ".noa" / "dev.env"
    envfile.write(path, "dev")
    written = values(path)
    assert set(written) == set(envfile.GENERATED_SECRETS)
    generated = {"POSTGRES_PASSWORD", "REDIS_PASSWORD", "JWT_SECRET", "SESSION_SECRET", "ENCRYPTION_KEY"}
    assert generated <= set(written)
    assert len(set(written.values())) == len(written)
    assert mode(path) == 0o600
    assert mode(path.parent) == 0o700


def test_secrets_are_long_mixed_and_safe_to_interpolate() -> None:
    seen = {envfile.generate_secret() for _ in range(50)}
    assert len(seen) == 50
    for secret in seen:
        assert len(secret) >= 24
        assert any(ch in string.ascii_lowercase for ch in secret)
        assert any(ch in string.ascii_uppercase for ch in secret)
        assert any(ch in string.digits for ch in secret)
        assert set(secret) <= set(string.ascii_letters + string.digits + "-_")


def test_too_short_a_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        envfile.generate_secret(3)


def test_two_files_differ(tmp_path: Path) -> None:
    envfile.write(tmp_path / "a.env", "dev")
    envfile.write(tmp_path / "b.env", "dev")
    assert values(tmp_path / "a.env") != values(tmp_path / "b.env")


def test_ensure_never_overwrites(tmp_path: Path) -> None:
    path = tmp_path / "dev.env"
    assert envfile.ensure(path, "dev") is True
    before = path.read_text()
    assert envfile.ensure(path, "dev") is False
    assert path.read_text() == before


def test_write_refuses_an_existing_file_unless_forced(tmp_path: Path) -> None:
    path = tmp_path / "dev.env"
    envfile.write(path, "dev")
    before = path.read_text()
    with pytest.raises(FileExistsError):
        envfile.write(path, "dev")
    envfile.write(path, "dev", force=True)
    assert path.read_text() != before
    assert mode(path) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dev.env"]


def test_missing_secrets_are_named(tmp_path: Path) -> None:
    path = tmp_path / "dev.env"
    path.write_text("# comment\nPOSTGRES_PASSWORD=x\n")
    expected = [name for name in envfile.GENERATED_SECRETS if name != "POSTGRES_PASSWORD"]
    assert envfile.missing_secrets(path) == expected


def test_an_older_file_is_completed_but_keeps_its_values(tmp_path: Path) -> None:
    path = tmp_path / "dev.env"
    path.write_text("POSTGRES_PASSWORD=kept-pw\nREDIS_PASSWORD=kept-redis")
    added = envfile.complete(path)
    kept = ("POSTGRES_PASSWORD", "REDIS_PASSWORD")
    assert added == [name for name in envfile.GENERATED_SECRETS if name not in kept]
    assert {"JWT_SECRET", "OPERATOR_API_KEY", "CLAUDE_FLOW_API_KEY", "LLAMA_API_KEY"} <= set(added)
    written = values(path)
    assert written["POSTGRES_PASSWORD"] == "kept-pw" and written["REDIS_PASSWORD"] == "kept-redis"
    assert len(written["ENCRYPTION_KEY"]) == 64 and int(written["ENCRYPTION_KEY"], 16) >= 0
    assert envfile.complete(path) == []


def test_the_postgres_password_is_never_invented(tmp_path: Path) -> None:
    path = tmp_path / "dev.env"
    path.write_text("REDIS_PASSWORD=r\n")
    envfile.complete(path)
    assert envfile.missing_secrets(path) == ["POSTGRES_PASSWORD"]


def test_outside_dev_the_file_sets_noa_env(tmp_path: Path) -> None:
    envfile.write(tmp_path / "prod.env", "prod")
    envfile.write(tmp_path / "dev.env", "dev")
    assert values(tmp_path / "prod.env")["NOA_ENV"] == "production"
    assert "NOA_ENV" not in values(tmp_path / "dev.env")


def test_env_init_task_refuses_to_overwrite_and_prints_no_secret(
    in_tmp: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    c = mock_context()
    cli.env_init(c, env="dev")
    path = in_tmp / ".noa" / "dev.env"
    first = values(path)
    with pytest.raises(Exit, match="exists; pass --force"):
        cli.env_init(c, env="dev")
    assert values(path) == first
    cli.env_init(c, env="dev", force=True)
    second = values(path)
    assert second != first
    printed = capsys.readouterr()
    for secret in [*first.values(), *second.values()]:
        assert secret not in printed.out + printed.err
    runs(c).assert_not_called()


def test_an_env_file_that_is_not_utf8_is_one_line_and_left_as_it_was(in_tmp: Path) -> None:
    path = in_tmp / ".noa" / "dev.env"
    path.parent.mkdir()
    path.write_bytes(b"POSTGRES_PASSWORD=caf\xe9\n")  # Latin-1, as an old editor might save it
    with pytest.raises(NoaError, match=r"dev\.env is not UTF-8 text \(byte 21\): save it as UTF-8"):
        envfile.read_values(path)
    with pytest.raises(Exit, match="is not UTF-8 text"):
        cli.env_check(mock_context(), env="dev")
    assert path.read_bytes() == b"POSTGRES_PASSWORD=caf\xe9\n"
    path.write_bytes("POSTGRES_PASSWORD=café\n".encode())  # the near miss: the same text in UTF-8
    assert envfile.read_values(path) == {"POSTGRES_PASSWORD": "café"}


def test_rotate_key_replaces_one_key_and_keeps_the_rest(in_tmp: Path) -> None:
    path = in_tmp / ".noa" / "dev.env"
    envfile.write(path, "dev")
    before = values(path)
    cli.rotate_key(mock_context(), env="dev", name="CLAUDE_FLOW_API_KEY", deploy=False)
    after = values(path)
    assert after["CLAUDE_FLOW_API_KEY"] != before["CLAUDE_FLOW_API_KEY"]
    assert {k: v for k, v in after.items() if k != "CLAUDE_FLOW_API_KEY"} == {
        k: v for k, v in before.items() if k != "CLAUDE_FLOW_API_KEY"}
    assert path.stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize("name", ["POSTGRES_PASSWORD", "ENCRYPTION_KEY", "claude_flow_api_key",
                                  "CLAUDE_FLOW_API_KEY ", "MCP_POSTGRES_PASSWORD_FILE", "API_CLIENTS", ""])
def test_rotate_key_refuses_anything_but_an_api_key_or_a_data_password(in_tmp: Path, name: str) -> None:
    """The superuser's password stays (the volume keeps it); JWT_SECRET and the others stay too."""
    path = in_tmp / ".noa" / "dev.env"
    envfile.write(path, "dev")
    before = path.read_text()
    with pytest.raises(Exit, match=r"--name must be one of MCP_POSTGRES_PASSWORD, .*OPERATOR_API_KEY"):
        cli.rotate_key(mock_context(), env="dev", name=name, deploy=False)
    assert path.read_text() == before


def test_rotate_key_takes_every_service_s_data_passwords() -> None:
    assert {name for name in envfile.ROTATABLE if name.endswith("_PASSWORD")} == {
        f"{prefix}_{store}_PASSWORD" for prefix in ("MCP", "CLAUDE_FLOW", "AGENTICOS")
        for store in ("POSTGRES", "REDIS")} | {"REDIS_PASSWORD", "BACKUP_POSTGRES_PASSWORD",
                                                 "MONITOR_POSTGRES_PASSWORD", "MONITOR_REDIS_PASSWORD"}


def test_rotate_key_leaves_a_secret_manager_s_keys_to_it(in_tmp: Path) -> None:
    """staging on Kubernetes takes its keys from the external-secrets component: nothing to write."""
    path = in_tmp / ".noa" / "staging.env"
    envfile.write(path, "staging")
    before = path.read_text()
    with pytest.raises(Exit, match="come from the external-secrets component of staging-external-secrets"):
        cli.rotate_key(mock_context(), env="staging", name="OPERATOR_API_KEY", deploy=False)
    assert path.read_text() == before
