"""`invoke push`: the registry address, retries, the recorded digest, one-line failures."""

from __future__ import annotations

from pathlib import Path

import pytest
from invoke.runners import Result

from noa_ops import image_push as image_registry
from noa_ops import images
from noa_ops.environments import Environment
from noa_ops.errors import NoaError

from .helpers import mock_context, runs

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize("value", ["http://127.0.0.1:5000", "", "bad host/x"])
def test_registry_must_be_host_port_path(value: str) -> None:
    with pytest.raises(NoaError):
        image_registry.validate_registry(value)


def test_registry_accepts_host_port_and_path() -> None:
    assert image_registry.validate_registry("127.0.0.1:5000/noa/") == "127.0.0.1:5000/noa"


def test_push_retries_then_records_the_digest(in_tmp: Path, dev: Environment) -> None:
    push = "docker push 127.0.0.1:5000/noa/mcp:abc"
    c = mock_context(
        {
            "docker image inspect --format '{{.Id}}' noa/mcp:abc": Result("sha256:1\n"),
            "docker tag noa/mcp:abc 127.0.0.1:5000/noa/mcp:abc": Result(""),
            push: [
                Result(stderr="connection refused", exited=1),
                Result(f"abc: digest: {DIGEST} size: 1234\n"),
            ],
        }
    )
    naps: list[float] = []
    pushed = image_registry.push(c, dev, ["mcp"], "abc", registry="127.0.0.1:5000/noa", sleep=naps.append)
    assert pushed == {"mcp": f"127.0.0.1:5000/noa/mcp@{DIGEST}"}
    assert naps == [image_registry.BACKOFF]
    assert images.load_record("abc")["pushed"]["127.0.0.1:5000/noa"]["mcp"] == pushed["mcp"]
    assert [call.args[0] for call in runs(c).call_args_list].count(push) == 2


def test_push_gives_up_naming_the_image(in_tmp: Path, dev: Environment) -> None:
    c = mock_context(
        {
            "docker image inspect --format '{{.Id}}' noa/mcp:abc": Result("sha256:1\n"),
            "docker tag noa/mcp:abc r.example/mcp:abc": Result(""),
            "docker push r.example/mcp:abc": Result(
                stderr="denied: requested access to the resource is denied", exited=1
            ),
            "docker image rm r.example/mcp:abc": Result(""),
        }
    )
    with pytest.raises(NoaError, match=r"push: r.example/mcp:abc failed 3 times \(denied: requested access"):
        image_registry.push(c, dev, ["mcp"], "abc", registry="r.example", sleep=lambda _: None)
    # The tag it made for the push is taken off again; the image itself stays.
    assert [args[0] for args, _ in runs(c).call_args_list][-1] == "docker image rm r.example/mcp:abc"


def test_push_of_unbuilt_images_says_build_first(in_tmp: Path, dev: Environment) -> None:
    c = mock_context({"docker image inspect --format '{{.Id}}' noa/ui:abc": Result(exited=1)})
    with pytest.raises(NoaError, match="no image for tag abc of ui: run `invoke build` first"):
        image_registry.push(c, dev, ["ui"], "abc", registry="r.example")
