"""The shared API-key verifier (noa_common/api_keys.py): who a bearer key belongs to, by digest."""

from __future__ import annotations

import re

import pytest

from noa_common.api_keys import ApiKeys, Unauthenticated, key_digest, parse_clients, render_clients

OPERATOR_KEY = "op-" + "k" * 40
FLOW_KEY = "cf-" + "f" * 40
KEYS = ApiKeys(parse_clients(render_clients({"operator": OPERATOR_KEY, "claude-flow": FLOW_KEY})))


def test_each_key_names_its_client() -> None:
    assert KEYS.identify(f"Bearer {OPERATOR_KEY}") == "operator"
    assert KEYS.identify(f"bearer  {FLOW_KEY} ") == "claude-flow"


@pytest.mark.parametrize("header", [
    None,  # missing
    "",  # empty
    OPERATOR_KEY,  # no scheme
    f"Basic {OPERATOR_KEY}",  # another scheme
    "Bearer ",  # a scheme without a key
    f"Bearer {OPERATOR_KEY[:-1]}",  # one character short
    f"Bearer {OPERATOR_KEY}x",  # one character more
    f"Bearer {key_digest(OPERATOR_KEY)}",  # the digest itself is no key
])
def test_anything_but_a_known_key_is_unauthenticated(header: str | None) -> None:
    with pytest.raises(Unauthenticated):
        KEYS.identify(header)


def test_no_clients_means_nobody_gets_in() -> None:
    with pytest.raises(Unauthenticated):
        ApiKeys({}).identify(f"Bearer {OPERATOR_KEY}")


def test_the_registry_holds_digests_only() -> None:
    rendered = render_clients({"operator": OPERATOR_KEY})
    assert OPERATOR_KEY not in rendered and rendered == f"operator:{key_digest(OPERATOR_KEY)}"


@pytest.mark.parametrize(("text", "message"), [
    ("operator", "entry 1 must be NAME:SHA256"),
    ("Operator:" + "0" * 64, "entry 1 must be NAME:SHA256 with a lower-case name"),
    ("operator:" + "0" * 63, "entry 1 (operator) needs the key's sha256"),
    ("operator:" + "A" * 64, "entry 1 (operator) needs the key's sha256"),
    (f"operator:{'0' * 64},operator:{'1' * 64}", "entry 2: client operator is listed twice"),
])
def test_a_malformed_registry_is_one_line_without_the_digest(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)) as raised:
        parse_clients(text)
    assert "0" * 64 not in str(raised.value)


def test_an_empty_registry_parses_to_nobody() -> None:
    assert parse_clients("") == {} and parse_clients(" , ") == {}
