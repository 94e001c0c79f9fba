"""The `signature` of a finished workflow: HMAC-SHA256 (SESSION_SECRET) over its id, status and result.

A client holding the secret recomputes it to prove the result came from claude-flow unchanged
(e.g. after passing through a cache or another service). Canonical JSON: sorted keys, no spaces.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

FINISHED = ("completed", "failed")


def signed_payload(workflow_id: str, status: str, result: Any, error: str | None) -> bytes:
    document = {"id": workflow_id, "status": status, "result": result, "error": error}
    return json.dumps(document, sort_keys=True, separators=(",", ":"), default=str).encode()


def sign(secret: str, workflow_id: str, status: str, result: Any, error: str | None) -> str:
    payload = signed_payload(workflow_id, status, result, error)
    return "sha256=" + hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def verify(secret: str, signature: str, workflow: dict[str, Any]) -> bool:
    """``workflow`` has the keys of the view: id, status, result, error."""
    expected = sign(secret, workflow["id"], workflow["status"], workflow["result"], workflow["error"])
    return hmac.compare_digest(signature, expected)


def with_signature(secret: str, workflow: dict[str, Any]) -> dict[str, Any]:
    """The workflow view plus `signature` once it is finished (null while it runs)."""
    signature = None
    if workflow["status"] in FINISHED:
        signature = sign(secret, workflow["id"], workflow["status"], workflow["result"], workflow["error"])
    return {**workflow, "signature": signature}
