"""The write guard (noa_common/write_guard.py) in front of a route that records what reached it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from noa_common.write_guard import WriteGuardMiddleware

LIMIT = 2048
UI = "http://127.0.0.1:9200"
reached: list[int] = []


async def echo(request: Request) -> JSONResponse:
    body = await request.body()
    reached.append(len(body))
    return JSONResponse({"bytes": len(body)})


def app(origins: tuple[str, ...] = (UI,)) -> Starlette:
    return Starlette(routes=[Route("/write", echo, methods=["POST", "GET", "DELETE"])],
                     middleware=[Middleware(WriteGuardMiddleware, max_body=LIMIT, allowed_origins=origins)])


@pytest.fixture
def client() -> Iterator[TestClient]:
    reached.clear()
    with TestClient(app()) as test_client:
        yield test_client


def test_a_json_write_passes_whole(client: TestClient) -> None:
    answer = client.post("/write", json={"a": "b" * 100})
    assert answer.status_code == 200 and reached == [answer.json()["bytes"]]


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "Application/JSON"])
def test_json_in_any_spelling_http_allows(client: TestClient, content_type: str) -> None:
    assert client.post("/write", content=b"{}", headers={"Content-Type": content_type}).status_code == 200


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/jsonx",
                                          "application/json-patch+json", None])
def test_a_body_that_is_not_json_is_refused_unread(client: TestClient, content_type: str | None) -> None:
    """text/plain is what a page in the browser can post without a preflight; the near misses
    (a media type that starts with application/json, a missing Content-Type) are refused too."""
    headers = {"Content-Type": content_type} if content_type else {}
    answer = client.post("/write", content=b'{"a": 1}', headers=headers)
    assert answer.status_code == 415 and reached == []


def test_a_write_without_a_body_needs_no_content_type(client: TestClient) -> None:
    """A heartbeat, or MCP's session DELETE."""
    assert client.post("/write").status_code == 200
    assert client.delete("/write").status_code == 200


@pytest.mark.parametrize(("origin", "status"), [
    (UI, 200), (UI + "/", 200),
    ("https://attacker.example", 403),
    (UI + ".attacker.example", 403),  # starts with the allowed origin
    ("http://127.0.0.1:9201", 403),  # another port of the same host
    ("null", 403),  # a sandboxed frame or a file:// page
])
def test_only_the_configured_origins_may_write(client: TestClient, origin: str, status: int) -> None:
    assert client.post("/write", json={}, headers={"Origin": origin}).status_code == status


def test_no_origin_may_write_when_none_is_configured() -> None:
    with TestClient(app(origins=())) as test_client:
        assert test_client.post("/write", json={}, headers={"Origin": UI}).status_code == 403
        assert test_client.post("/write", json={}).status_code == 200  # not a browser


def test_reads_are_not_guarded(client: TestClient) -> None:
    assert client.get("/write", headers={"Origin": "https://attacker.example"}).status_code == 200


def test_a_body_at_the_limit_passes_one_byte_over_is_413(client: TestClient) -> None:
    fits = b'"' + b"x" * (LIMIT - 2) + b'"'
    json_type = {"Content-Type": "application/json"}
    assert client.post("/write", content=fits, headers=json_type).status_code == 200
    over = client.post("/write", content=fits + b" ", headers=json_type)
    assert over.status_code == 413 and "over 2048 bytes" in over.json()["error"]
    assert reached == [LIMIT]


def test_a_body_sent_without_content_length_is_cut_at_the_limit(client: TestClient) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'"'
        for _ in range(10):
            yield b"x" * 1000

    answer = client.post("/write", content=chunks(), headers={"Content-Type": "application/json"})
    assert answer.status_code == 413 and reached == []


def test_a_content_length_that_is_no_number_is_400() -> None:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/write", "headers": [
        (b"content-type", b"application/json"), (b"content-length", b"12abc")]}
    asyncio.run(WriteGuardMiddleware(app(), max_body=LIMIT)(scope, receive, send))
    assert sent[0]["status"] == 400
