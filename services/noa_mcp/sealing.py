"""Sealing of a memory's secret metadata at rest: AES-256-GCM under ENCRYPTION_KEY.

The database (and its dumps and backups) holds only ``{"sealed": "v1:<base64 nonce+ciphertext>"}``;
mcp opens it for its tool callers. The namespace is authenticated data, so a sealed value copied
into another namespace does not open.
"""

from __future__ import annotations

import base64
import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"
NONCE_BYTES = 12


class SealError(ValueError):
    """A sealed value did not open: another key, another namespace, or altered bytes."""


class MetadataSeal:
    """``key_hex`` None: ENCRYPTION_KEY is invalid (a settings problem); sealing then refuses."""

    def __init__(self, key_hex: str | None) -> None:
        self._key = AESGCM(bytes.fromhex(key_hex)) if key_hex is not None else None

    @property
    def _aead(self) -> AESGCM:
        if self._key is None:
            raise SealError("ENCRYPTION_KEY is not valid: secret metadata cannot be sealed or opened")
        return self._key

    def seal(self, document: dict[str, Any], namespace: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        plain = json.dumps(document, sort_keys=True, separators=(",", ":")).encode()
        sealed = nonce + self._aead.encrypt(nonce, plain, namespace.encode())
        return f"{VERSION}:{base64.b64encode(sealed).decode()}"

    def open(self, token: str, namespace: str) -> dict[str, Any]:
        version, _, encoded = token.partition(":")
        if version != VERSION:
            raise SealError(f"unknown sealed format {version!r}")
        try:
            raw = base64.b64decode(encoded, validate=True)
            plain = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], namespace.encode())
        except (ValueError, InvalidTag):
            raise SealError("sealed metadata does not open with this ENCRYPTION_KEY") from None
        document = json.loads(plain)
        if not isinstance(document, dict):
            raise SealError("sealed metadata is not an object")
        return document
