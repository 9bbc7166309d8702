"""Partition tables in PostgreSQL: their documents kept in `CHUNKS` rows per table, not one each.

A partition (a table whose name holds '/': a period's aggregates, a distribution's obligations) can
hold 100,000 documents written in one commit; a row each would cost PostgreSQL 100,000 index
entries (1 s on the benchmark machine, half of a close). Its documents are instead spread over
`CHUNKS` rows by a hash of their key (`siren_sync_chunks (namespace, tbl, chunk, docs)`, `docs`
the members of a JSON object, `"key":{...},...`, without its braces, so the server joins chunks
with commas and no parsing; a chunk left empty is deleted). A commit rewrites the chunks holding a changed document,
and only those: about `1/CHUNKS` of the partition per document changed, never more than the
partition (the TinyDB store rewrites a partition's file whole). A partition is read whole in one
statement: the server joins the chunks' objects into one JSON text.
"""
from __future__ import annotations

import json
import zlib
from collections.abc import Mapping
from typing import Any

from siren_sync.store.codec import dumps_text
from siren_sync.store.protocol import Document

CHUNKS = 64  # a power of two: `chunk_of` masks

READ = """SELECT '{' || coalesce(string_agg(docs, ','), '') || '}'
          FROM siren_sync_chunks WHERE namespace = %s AND tbl = %s"""


def chunk_of(key: str) -> int:
    """The chunk holding document `key` (the same on every machine and version: CRC-32)."""
    return zlib.crc32(key.encode()) & (CHUNKS - 1)


def rewritten(conn: Any, namespace: str, table: str,
              changes: Mapping[str, Document | None]) -> tuple[list[tuple[str, int, str]], list[int]]:
    """The chunks of partition `table` that `changes` touch, as they become: (table, chunk, JSON
    members) rows to write, and the chunks left empty. Reads those chunks, writes nothing; raises
    TypeError or ValueError for a document that is not plain JSON."""
    touched = _by_chunk(changes)
    current = dict(conn.execute("SELECT chunk, docs FROM siren_sync_chunks WHERE namespace = %s AND tbl = %s "
                                "AND chunk = ANY(%s)", (namespace, table, list(touched))).fetchall())
    rows: list[tuple[str, int, str]] = []
    emptied: list[int] = []
    for chunk, docs in touched.items():
        if chunk in current:
            docs = _merged(json.loads("{" + current[chunk] + "}"), docs)
        elif None in docs.values():
            docs = {key: doc for key, doc in docs.items() if doc is not None}
        if docs:
            rows.append((table, chunk, dumps_text(docs)[1:-1]))
        elif chunk in current:
            emptied.append(chunk)
    return rows, emptied


def _by_chunk(changes: Mapping[str, Document | None]) -> dict[int, dict[str, Document | None]]:
    """The changes grouped by chunk (a loop without a call per key: 100,000 keys in a close)."""
    groups: list[dict[str, Document | None]] = [{} for _ in range(CHUNKS)]
    crc32, mask = zlib.crc32, CHUNKS - 1
    for key, doc in changes.items():
        groups[crc32(key.encode()) & mask][key] = doc
    return {chunk: docs for chunk, docs in enumerate(groups) if docs}


def _merged(docs: dict[str, Any], changes: Mapping[str, Document | None]) -> dict[str, Any]:
    docs.update(changes)
    for key in [key for key, doc in changes.items() if doc is None]:
        del docs[key]
    return docs
