"""`invoke env-check`: the example fails production, a file from `env-init --env prod` passes,
every production rule bites, and no secret value is ever printed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from invoke.exceptions import Exit

from noa_ops import cli, envcheck, envfile

from .helpers import REPO, mock_context


def failed(values: dict[str, str], env: str = "prod") -> dict[str, str]:
    return {f.variable: f.detail for f in envcheck.check(values, env) if f.failed}


@pytest.fixture
def prod_values() -> dict[str, str]:
    return envfile.fresh_values("prod")


def test_the_generated_example_is_rejected_for_prod(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(Exit, match=r"env-check: .*\.env\.example fails for prod: NOA_ENV, POSTGRES_PASSWORD"):
        cli.env_check(mock_context(), env="prod", file=str(REPO / ".env.example"))
    problems = failed(envfile.parse((REPO / ".env.example").read_text()))
    assert set(problems) == {"NOA_ENV", *envfile.GENERATED_SECRETS}
    assert "placeholder" in problems["POSTGRES_PASSWORD"]
    assert "not random" in problems["ENCRYPTION_KEY"]
    assert "FAIL" in capsys.readouterr().out


def test_the_example_is_accepted_for_dev() -> None:
    assert failed(envfile.parse((REPO / ".env.example").read_text()), "dev") == {}


@pytest.mark.parametrize("env", ["prod", "staging"])
def test_a_file_from_env_init_passes_env_check(
    in_tmp: Path, env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    c = mock_context()
    cli.env_init(c, env=env)
    path = in_tmp / ".noa" / f"{env}.env"
    cli.env_check(c, env=env)  # no Exit: every finding passed
    capsys.readouterr()
    cli.env_check(c, env=env, file=str(path), json=True)
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["noa_env"] == envfile.noa_env(env)
    secrets = envfile.parse(path.read_text())
    assert set(envfile.GENERATED_SECRETS) <= set(secrets)


def test_json_and_table_never_show_secret_values(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = in_tmp / "bad.env"
    values = {**envfile.fresh_values("prod"), "POSTGRES_PASSWORD": "tooShort1", "REDIS_DB": "99"}
    path.write_text("".join(f"{name}={value}\n" for name, value in values.items()))
    for as_json in (True, False):
        with pytest.raises(Exit) as error:
            cli.env_check(mock_context(), env="prod", file=str(path), json=as_json)
        printed = capsys.readouterr()
        for name in envfile.GENERATED_SECRETS:
            assert values[name] not in printed.out + printed.err + str(error.value.message)
    assert "99" in printed.out  # non-secret values are shown


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("POSTGRES_PASSWORD", "Short-1", "at least 16 characters"),
        ("REDIS_PASSWORD", "onlylowercaseletters", "three of"),
        ("REDIS_PASSWORD", "Change-Me-Please-2024", "placeholder"),
        ("JWT_SECRET", "abcdefABCDEF0123456789", "at least 32 random bytes"),
        ("SESSION_SECRET", "ab" * 40, "not random"),
        ("ENCRYPTION_KEY", "zz" * 32, "64 hex digits"),
        ("ENCRYPTION_KEY", "ab" * 16, "64 hex digits"),
        ("MCP_URL", "ftp://mcp:8001", "http:// or https://"),
        ("CORS_ORIGIN", "*", "'*'"),
        ("LOG_LEVEL", "verbose", "one of debug, info, warn, error"),
        ("POSTGRES_SSL_MODE", "allow", "one of disable"),
        ("NOA_ENV", "development", "must be production"),
        ("DB_POOL_MIN", "50", "DB_POOL_MIN must not exceed DB_POOL_MAX"),
    ],
)
def test_production_rules(prod_values: dict[str, str], name: str, value: str, reason: str) -> None:
    problems = failed({**prod_values, name: value})
    assert list(problems) == [name]
    assert reason in problems[name]


def test_missing_required_secrets_and_unset_noa_env_fail(prod_values: dict[str, str]) -> None:
    del prod_values["JWT_SECRET"], prod_values["NOA_ENV"]
    problems = failed(prod_values)
    assert problems == {"NOA_ENV": "must be set to production (the default is development)",
                        "JWT_SECRET": "required and not set"}


@pytest.mark.parametrize("env", ["dev", "prod"])
def test_a_derived_value_set_in_the_file_fails(env: str) -> None:
    """API_CLIENTS is computed at deploy; one written by hand (even a well-formed one) is refused."""
    values = envfile.fresh_values(env)
    derived = envfile.derived_values(values)["API_CLIENTS"]
    problems = failed({**values, "API_CLIENTS": derived}, env)
    assert set(problems) == {"API_CLIENTS"} and "remove it from the file" in problems["API_CLIENTS"]
    assert derived not in problems["API_CLIENTS"]
    assert failed(values, env) == {}


def test_json_lists_the_derived_values_as_digests(in_tmp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = in_tmp / "prod.env"
    envfile.write(path, "prod")
    cli.env_check(mock_context(), env="prod", file=str(path), json=True)
    report = json.loads(capsys.readouterr().out)
    values = envfile.read_values(path)
    assert report["derived"] == envfile.derived_values(values)
    assert values["OPERATOR_API_KEY"] not in capsys.readouterr().out + json.dumps(report)


def test_unknown_names_are_reported_but_do_not_fail(prod_values: dict[str, str]) -> None:
    findings = envcheck.check({**prod_values, "POSTGRES_PASWORD": "typo"}, "prod")
    unknown = [f for f in findings if f.status == envcheck.UNKNOWN]
    assert [f.variable for f in unknown] == ["POSTGRES_PASWORD"] and unknown[0].value is None
    assert not any(f.failed for f in findings)


def test_env_file_parsing() -> None:
    text = "# c\n\nexport A=1\nB='two words'\nC=\"x\"\nD=a=b\nnot a pair\n"
    assert envfile.parse(text) == {"A": "1", "B": "two words", "C": "x", "D": "a=b"}


def test_a_missing_file_is_one_line(in_tmp: Path) -> None:
    with pytest.raises(Exit, match=r"env-check: nope\.env does not exist; write one with `invoke env-init"):
        cli.env_check(mock_context(), env="prod", file="nope.env")
