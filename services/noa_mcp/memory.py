"""Memories in noa_memory.memories: store one, search by trigram similarity or substring."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from typing_extensions import TypedDict

from noa_common.postgres import PostgresPool
from noa_mcp.sealing import MetadataSeal, SealError

MAX_TAGS = 50

_INSERT = """
INSERT INTO noa_memory.memories (namespace, content, tags, metadata)
VALUES ($1, $2, $3, $4)
RETURNING id
"""

# A memory matches when it is similar to the whole query (pg_trgm's <% word similarity) or contains
# any of the query's words (ILIKE, which also catches words too short for trigrams); matches are
# ranked by word similarity, so memories sharing more of the query come first.
_SEARCH = """
SELECT id, content, tags, metadata, word_similarity($1, content) AS score
FROM noa_memory.memories
WHERE namespace = $2 AND ($1 <% content OR content ILIKE ANY ($3::text[]))
ORDER BY score DESC, created_at DESC
LIMIT $4
"""
MAX_QUERY_WORDS = 20


class StoredMemory(TypedDict):
    id: str


class MemoryHit(TypedDict):
    id: str
    content: str
    tags: list[str]
    score: float
    secret_metadata: dict[str, Any] | None


@dataclass(frozen=True)
class MemoryLimits:
    max_content_chars: int = 100_000  # MCP_MEMORY_MAX_CHARS
    max_results: int = 100  # MCP_SEARCH_MAX_RESULTS


def sealed_metadata(seal: MetadataSeal, secret_metadata: dict[str, Any] | None,
                    namespace: str) -> dict[str, Any]:
    """What the metadata column stores: only the sealed form of the secret metadata."""
    return {"sealed": seal.seal(secret_metadata, namespace)} if secret_metadata else {}


def opened_metadata(seal: MetadataSeal, metadata: Any, namespace: str) -> dict[str, Any] | None:
    sealed = metadata.get("sealed") if isinstance(metadata, dict) else None
    if not isinstance(sealed, str):
        return None
    try:
        return seal.open(sealed, namespace)
    except SealError as error:
        # Another key sealed it (ENCRYPTION_KEY was replaced): say so instead of failing the search.
        return {"error": str(error)}


def clean_namespace(namespace: str) -> str:
    cleaned = namespace.strip()
    if not cleaned or len(cleaned) > 200:
        raise ValueError("namespace must be 1 to 200 characters")
    return cleaned


def clean_tags(tags: Sequence[str] | None) -> list[str]:
    cleaned = [tag.strip() for tag in tags or () if tag.strip()]
    if len(cleaned) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    return list(dict.fromkeys(cleaned))


def like_pattern(text: str) -> str:
    """A substring ILIKE pattern with the text's own wildcards escaped (backslash is ILIKE's escape)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def word_patterns(query: str) -> list[str]:
    """One ILIKE pattern per distinct word of the query (at most MAX_QUERY_WORDS)."""
    words = list(dict.fromkeys(word.lower() for word in query.split()))
    return [like_pattern(word) for word in words[:MAX_QUERY_WORDS]]


def check_content(content: str, limits: MemoryLimits) -> None:
    if not content.strip():
        raise ValueError("content must not be empty")
    if len(content) > limits.max_content_chars:
        raise ValueError(f"content is longer than {limits.max_content_chars} characters")


async def store_memory(  # noqa: PLR0917  (the tool's arguments, in the tool's order)
    postgres: PostgresPool, seal: MetadataSeal, limits: MemoryLimits, content: str, namespace: str,
    tags: Sequence[str] | None, *, secret_metadata: dict[str, Any] | None = None,
) -> StoredMemory:
    check_content(content, limits)
    cleaned = clean_namespace(namespace)
    metadata = sealed_metadata(seal, secret_metadata, cleaned)
    async with postgres.connection() as connection:
        memory_id = await connection.fetchval(_INSERT, cleaned, content, clean_tags(tags), metadata)
    return {"id": str(memory_id)}


async def search_memories(  # noqa: PLR0917  (the tool's arguments, in the tool's order)
    postgres: PostgresPool, seal: MetadataSeal, limits: MemoryLimits, query: str, namespace: str, limit: int
) -> list[MemoryHit]:
    text = query.strip()
    if not text:
        raise ValueError("query must not be empty")
    bounded = max(1, min(int(limit), limits.max_results))
    cleaned = clean_namespace(namespace)
    async with postgres.connection() as connection:
        rows = await connection.fetch(_SEARCH, text, cleaned, word_patterns(text), bounded)
    return [
        {"id": str(row["id"]), "content": row["content"], "tags": list(row["tags"]),
         "score": round(float(row["score"]), 4),
         "secret_metadata": opened_metadata(seal, row["metadata"], cleaned)}
        for row in rows
    ]
