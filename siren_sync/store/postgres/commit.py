"""One commit of a PostgreSQL store: the rows a transaction changed, in one database transaction.

Everything is serialized first (a document that is not plain JSON fails here, before a row is
written; a partition's touched chunks are read to be merged, `partitions.py`), then written in
order: root documents put (COPY into a session's staging table, then one upsert) and deleted (by
primary key), partition chunks (the same way), the list of tables, events (COPY), the key index
(COPY: its primary key refuses a key recorded twice), bucket counts, and last the namespace's
generation, whose update also checks the leader's fence. No statement joins a big table: none
can become a scan of it when the planner's statistics lag behind a table that grew.
The caller commits the database transaction after `write` returns, or rolls it back if anything
raised: PostgreSQL makes the whole of it atomic, and a process killed anywhere leaves nothing.
A commit costs the rows it changes: no statement reads or rewrites a whole table.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from siren_sync.errors import LeadershipLost
from siren_sync.store.codec import dumps_text
from siren_sync.store.names import KEY_BYTES, is_partition
from siren_sync.store.postgres import partitions
from siren_sync.store.protocol import Changes

STAGING = """CREATE TEMPORARY TABLE IF NOT EXISTS siren_sync_staging (
                 tbl text NOT NULL, key text NOT NULL, doc text NOT NULL) ON COMMIT DELETE ROWS;
             CREATE TEMPORARY TABLE IF NOT EXISTS siren_sync_chunk_staging (
                 tbl text NOT NULL, chunk integer NOT NULL, docs text NOT NULL) ON COMMIT DELETE ROWS"""

Puts = list[tuple[str, str, str]]  # (table, key, JSON) of a document, or (table, chunk, JSON) of a chunk


@dataclass(frozen=True)
class Fence:
    """What a leader's commit checks: the namespace's leader epoch is still `epoch`, and the
    leader's own session (backend `pid`) still holds the leader lock (`classid`, `objid`)."""

    epoch: int
    pid: int
    classid: int
    objid: int


@dataclass
class Rows:
    """A commit's documents as rows: root documents put and deleted, partition chunks rewritten
    and emptied (everything serialized: a document that is not plain JSON failed already)."""

    puts: list[tuple[str, str, str]] = field(default_factory=list)
    deletes: dict[str, list[str]] = field(default_factory=dict)
    chunks: list[tuple[str, int, str]] = field(default_factory=list)
    emptied: dict[str, list[int]] = field(default_factory=dict)


def write(conn: Any, namespace: str, changes: Changes, fence: Fence | None) -> int:
    """Write `changes` inside the open database transaction; returns the new generation.

    Raises LeadershipLost (after writing, before the caller commits) when `fence` fails.
    """
    rows = serialized(conn, namespace, changes)
    _documents(conn, namespace, rows.puts)
    _deletes(conn, namespace, rows.deletes)
    _chunks(conn, namespace, rows.chunks, rows.emptied)
    _tables(conn, namespace, rows)
    _events(conn, namespace, changes)
    _keys(conn, namespace, changes.keys)
    return _bump(conn, namespace, fence)


def serialized(conn: Any, namespace: str, changes: Changes) -> Rows:
    """Every changed document as rows, before anything is written (partitions' chunks are read to
    be rewritten); raises TypeError or ValueError for a document that is not plain JSON."""
    rows = Rows()
    for table, docs in changes.documents.items():
        if is_partition(table):
            chunks, emptied = partitions.rewritten(conn, namespace, table, docs)
            rows.chunks += chunks
            if emptied:
                rows.emptied[table] = emptied
            continue
        for key, doc in docs.items():
            if doc is None:
                rows.deletes.setdefault(table, []).append(key)
            else:
                rows.puts.append((table, key, dumps_text(doc)))
    return rows


def _documents(conn: Any, namespace: str, puts: list[tuple[str, str, str]]) -> None:
    """Root documents put (any number of rows: one COPY, one upsert)."""
    if puts:
        _upsert(conn, namespace, "siren_sync_documents", puts)


_STAGED = {"siren_sync_documents": ("siren_sync_staging", "key", "doc"),
           "siren_sync_chunks": ("siren_sync_chunk_staging", "chunk", "docs")}


def _upsert(conn: Any, namespace: str, target: str, rows: list[Any]) -> None:
    """(table, key, JSON) rows into `target`: COPY into its staging table, then one upsert."""
    staging, key, value = _STAGED[target]
    with conn.cursor() as cur, cur.copy(f"COPY {staging} (tbl, {key}, {value}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    conn.execute(f"""INSERT INTO {target} (namespace, tbl, {key}, {value}) SELECT %s, tbl, {key}, {value} FROM {staging}
                     ON CONFLICT (namespace, tbl, {key}) DO UPDATE SET {value} = EXCLUDED.{value}""", (namespace,))
    conn.execute(f"DELETE FROM {staging}")


def _deletes(conn: Any, namespace: str, deletes: dict[str, list[str]]) -> None:
    """Root documents deleted, one primary key lookup each (whatever the planner thinks of the
    table's size)."""
    if deletes:
        with conn.cursor() as cur:
            cur.executemany("DELETE FROM siren_sync_documents WHERE namespace = %s AND tbl = %s AND key = %s",
                            [(namespace, table, key) for table, keys in deletes.items() for key in keys])


def _chunks(conn: Any, namespace: str, chunks: list[tuple[str, int, str]], emptied: dict[str, list[int]]) -> None:
    """Partition chunks rewritten (one COPY, one upsert) and emptied."""
    if chunks:
        _upsert(conn, namespace, "siren_sync_chunks", chunks)
    for table, gone in emptied.items():
        conn.execute("DELETE FROM siren_sync_chunks WHERE namespace = %s AND tbl = %s AND chunk = ANY(%s)",
                     (namespace, table, gone))


def _tables(conn: Any, namespace: str, rows: Rows) -> None:
    """The list of tables holding documents: those written to, less those a deletion emptied."""
    written = sorted({table for table, _, _ in rows.puts} | {table for table, _, _ in rows.chunks})
    if written:
        conn.execute("INSERT INTO siren_sync_tables (namespace, tbl) SELECT %s, unnest(%s::text[]) "
                     "ON CONFLICT DO NOTHING", (namespace, written))
    for table in sorted(set(rows.deletes) | set(rows.emptied)):
        conn.execute("""DELETE FROM siren_sync_tables WHERE namespace = %s AND tbl = %s
                        AND NOT EXISTS (SELECT 1 FROM siren_sync_documents WHERE namespace = %s AND tbl = %s)
                        AND NOT EXISTS (SELECT 1 FROM siren_sync_chunks WHERE namespace = %s AND tbl = %s)""",
                     (namespace, table, namespace, table, namespace, table))


def _events(conn: Any, namespace: str, changes: Changes) -> None:
    if not changes.events:
        return
    with conn.cursor() as cur, cur.copy("COPY siren_sync_events (namespace, bucket, record) FROM STDIN") as copy:
        for bucket, lines in changes.events.items():
            for line in lines:
                copy.write_row((namespace, bucket, line[:-1].decode()))
    buckets = list(changes.events)
    conn.execute("""INSERT INTO siren_sync_buckets (namespace, bucket, count)
                    SELECT %s, b, c FROM unnest(%s::text[], %s::bigint[]) AS x(b, c)
                    ON CONFLICT (namespace, bucket) DO UPDATE SET count = siren_sync_buckets.count + EXCLUDED.count""",
                 (namespace, buckets, [len(changes.events[b]) for b in buckets]))


def _keys(conn: Any, namespace: str, digests: Collection[int]) -> None:
    if not digests:
        return
    with conn.cursor() as cur, cur.copy("COPY siren_sync_keys (namespace, digest) FROM STDIN") as copy:
        for digest in digests:
            copy.write_row((namespace, digest.to_bytes(KEY_BYTES, "little")))


def _bump(conn: Any, namespace: str, fence: Fence | None) -> int:
    """The namespace's next generation; with a fence, first check that this leader still leads."""
    if fence is None:
        row = conn.execute("""UPDATE siren_sync_namespaces SET generation = generation + 1
                              WHERE namespace = %s RETURNING generation, true""", (namespace,)).fetchone()
    else:
        row = conn.execute(
            """UPDATE siren_sync_namespaces SET generation = generation + 1 WHERE namespace = %s
               RETURNING generation, leader_epoch = %s AND EXISTS (
                   SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted AND pid = %s
                   AND classid = %s AND objid = %s AND objsubid = 1
                   AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))""",
            (namespace, fence.epoch, fence.pid, fence.classid, fence.objid)).fetchone()
    if row is None:
        raise RuntimeError(f"namespace {namespace!r} has no row in siren_sync_namespaces")
    generation, leads = row
    if not leads:
        raise LeadershipLost("this worker no longer leads its namespace (another took over, or its lock "
                             "was lost with its connection); nothing was committed")
    return int(generation)
