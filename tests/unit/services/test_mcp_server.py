"""mcp: search helpers, and transport security that accepts the stack's Host headers only."""

from __future__ import annotations

import asyncio

import pytest
from mcp.server.transport_security import TransportSecurityMiddleware
from starlette.requests import Request

from noa_mcp.mcp_server import transport_security
from noa_mcp.memory import clean_namespace, clean_tags, like_pattern, word_patterns


def verdict(host: str, origin: str | None = None) -> int | None:
    headers = [(b"host", host.encode()), (b"content-type", b"application/json")]
    if origin:
        headers.append((b"origin", origin.encode()))
    request = Request({"type": "http", "method": "POST", "path": "/mcp", "headers": headers})
    middleware = TransportSecurityMiddleware(transport_security())
    response = asyncio.run(middleware.validate_request(request, is_post=True))
    return None if response is None else response.status_code


@pytest.mark.parametrize("host", ["mcp:8001", "mcp", "127.0.0.1:8001", "localhost:8001", "localhost:9200",
                                  "127.0.0.1:18001", "[::1]:8001"])
def test_stack_hosts_are_accepted(host: str) -> None:
    assert verdict(host) is None


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8001", "mcp.evil.example:8001",
                                  "10.0.0.5:8001"])
def test_other_hosts_are_rejected(host: str) -> None:
    assert verdict(host) == 421


def test_browser_origin_from_the_dashboard_is_accepted_and_others_rejected() -> None:
    assert verdict("localhost:9200", "http://localhost:9200") is None
    assert verdict("localhost:9200", "http://evil.example") == 403


def test_like_pattern_escapes_wildcards() -> None:
    assert like_pattern("50%_off\\") == "%50\\%\\_off\\\\%"


def test_word_patterns_are_distinct_lowercase_words() -> None:
    assert word_patterns("Heron river heron") == ["%heron%", "%river%"]
    assert len(word_patterns(" ".join(f"w{i}" for i in range(50)))) == 20


def test_tags_and_namespace_cleaning() -> None:
    assert clean_tags([" a ", "b", "a", ""]) == ["a", "b"]
    assert clean_tags(None) == []
    with pytest.raises(ValueError):
        clean_tags([str(i) for i in range(51)])
    assert clean_namespace(" default ") == "default"
    with pytest.raises(ValueError):
        clean_namespace("  ")
