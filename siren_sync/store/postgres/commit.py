"""One commit of a PostgreSQL store: the rows a transaction changed, in one database transaction.

Everything is serialized first (a document that is not plain JSON fails here, before a row is
written), then written in order: documents put (COPY into a session's staging table, then one
upsert), documents deleted (by primary key), events (COPY), the key index (COPY: its primary key
refuses a key recorded twice), bucket counts, and last the namespace's generation, whose update
also checks the leader's fence. No statement joins a big table: none can become a scan of it when
the planner's statistics lag behind a table that grew.
The caller commits the database transaction after `write` returns, or rolls it back if anything
raised: PostgreSQL makes the whole of it atomic, and a process killed anywhere leaves nothing.
A commit costs the rows it changes: no statement reads or rewrites a whole table.
"""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from siren_sync.errors import LeadershipLost
from siren_sync.store.codec import dumps_text
from siren_sync.store.names import KEY_BYTES
from siren_sync.store.protocol import Changes

STAGING = """CREATE TEMPORARY TABLE IF NOT EXISTS siren_sync_staging (
                 tbl text NOT NULL, key text NOT NULL, doc text NOT NULL) ON COMMIT DELETE ROWS"""


@dataclass(frozen=True)
class Fence:
    """What a leader's commit checks: the namespace's leader epoch is still `epoch`, and the
    leader's own session (backend `pid`) still holds the leader lock (`classid`, `objid`)."""

    epoch: int
    pid: int
    classid: int
    objid: int


def write(conn: Any, namespace: str, changes: Changes, fence: Fence | None) -> int:
    """Write `changes` inside the open database transaction; returns the new generation.

    Raises LeadershipLost (after writing, before the caller commits) when `fence` fails.
    """
    puts, deletes = serialized(changes)
    _documents(conn, namespace, puts)
    _deletes(conn, namespace, deletes)
    _events(conn, namespace, changes)
    _keys(conn, namespace, changes.keys)
    return _bump(conn, namespace, fence)


def serialized(changes: Changes) -> tuple[list[tuple[str, str, str]], dict[str, list[str]]]:
    """(table, key, JSON text) of every document put, and the keys deleted per table; raises
    TypeError or ValueError for a document that is not plain JSON."""
    puts: list[tuple[str, str, str]] = []
    deletes: dict[str, list[str]] = {}
    for table, docs in changes.documents.items():
        for key, doc in docs.items():
            if doc is None:
                deletes.setdefault(table, []).append(key)
            else:
                puts.append((table, key, dumps_text(doc)))
    return puts, deletes


def _documents(conn: Any, namespace: str, puts: list[tuple[str, str, str]]) -> None:
    """Every document put: COPY into the staging table, then one upsert (any number of rows)."""
    if not puts:
        return
    with conn.cursor() as cur, cur.copy("COPY siren_sync_staging (tbl, key, doc) FROM STDIN") as copy:
        for row in puts:
            copy.write_row(row)
    conn.execute("""INSERT INTO siren_sync_documents (namespace, tbl, key, doc)
                    SELECT %s, tbl, key, doc FROM siren_sync_staging
                    ON CONFLICT (namespace, tbl, key) DO UPDATE SET doc = EXCLUDED.doc""", (namespace,))
    conn.execute("""INSERT INTO siren_sync_tables (namespace, tbl) SELECT DISTINCT %s, tbl FROM siren_sync_staging
                    ON CONFLICT DO NOTHING""", (namespace,))
    conn.execute("DELETE FROM siren_sync_staging")


def _deletes(conn: Any, namespace: str, deletes: dict[str, list[str]]) -> None:
    """Documents deleted, one primary key lookup each (whatever the planner thinks of the table's
    size), and a table left empty off the list of tables."""
    if not deletes:
        return
    with conn.cursor() as cur:
        cur.executemany("DELETE FROM siren_sync_documents WHERE namespace = %s AND tbl = %s AND key = %s",
                        [(namespace, table, key) for table, keys in deletes.items() for key in keys])
        cur.executemany("""DELETE FROM siren_sync_tables WHERE namespace = %s AND tbl = %s AND NOT EXISTS (
                               SELECT 1 FROM siren_sync_documents WHERE namespace = %s AND tbl = %s)""",
                        [(namespace, table, namespace, table) for table in deletes])


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
