"""Memories in noa_memory.memories: store one, search by trigram similarity or substring."""

from __future__ import annotations

from collections.abc import Sequence

from typing_extensions import TypedDict

from noa_common.postgres import PostgresPool

MAX_CONTENT_CHARS = 100_000
MAX_TAGS = 50
MAX_LIMIT = 100

_INSERT = """
INSERT INTO noa_memory.memories (namespace, content, tags)
VALUES ($1, $2, $3)
RETURNING id
"""

# A memory matches when it is similar to the whole query (pg_trgm's <% word similarity) or contains
# any of the query's words (ILIKE, which also catches words too short for trigrams); matches are
# ranked by word similarity, so memories sharing more of the query come first.
_SEARCH = """
SELECT id, content, tags, word_similarity($1, content) AS score
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


async def store_memory(
    postgres: PostgresPool, content: str, namespace: str, tags: Sequence[str] | None
) -> StoredMemory:
    if not content.strip():
        raise ValueError("content must not be empty")
    if len(content) > MAX_CONTENT_CHARS:
        raise ValueError(f"content is longer than {MAX_CONTENT_CHARS} characters")
    async with postgres.connection() as connection:
        memory_id = await connection.fetchval(_INSERT, clean_namespace(namespace), content, clean_tags(tags))
    return {"id": str(memory_id)}


async def search_memories(postgres: PostgresPool, query: str, namespace: str, limit: int) -> list[MemoryHit]:
    text = query.strip()
    if not text:
        raise ValueError("query must not be empty")
    bounded = max(1, min(int(limit), MAX_LIMIT))
    async with postgres.connection() as connection:
        rows = await connection.fetch(_SEARCH, text, clean_namespace(namespace), word_patterns(text), bounded)
    return [
        {"id": str(row["id"]), "content": row["content"], "tags": list(row["tags"]),
         "score": round(float(row["score"]), 4)}
        for row in rows
    ]
