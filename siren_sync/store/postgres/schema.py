"""The tables of the PostgreSQL store, created and migrated by siren-sync itself.

Every site's rows carry its namespace, so many sites share one database:

- `siren_sync_schema (version)`: one row, the schema version of these tables. A writer brings an
  older schema up to `SCHEMA_VERSION` (the migrations below, in order, in one transaction, under an
  advisory lock so two workers starting together migrate once); a newer one stops every command.
- `siren_sync_namespaces`: one row per namespace: `generation` counts its commits (a writer whose
  cache is older reads again), `leader_epoch` counts its leaders (a commit of a leader whose epoch
  is not the current one is refused: the fence), `leader` names the current one.
- `siren_sync_documents (namespace, tbl, key, doc)`: the documents of the small tables (cursors,
  periods, distributions, outbox...), one row each, so a commit costs the rows it changes;
- `siren_sync_chunks (namespace, tbl, chunk, docs)`: the documents of partitions (tables whose
  name holds '/', up to 100,000s of documents), `partitions.CHUNKS` rows per table, so a commit
  rewrites the chunks it touches; `siren_sync_tables` lists the tables holding documents.
- `siren_sync_events (namespace, bucket, seq, record)`: the append-only ledger, in recording order
  per bucket; `siren_sync_buckets` counts each bucket's events.
- `siren_sync_keys (namespace, digest)`: the key index, the 12-byte digests of every recorded
  event key, its primary key a unique index (never a table scan). The digest leads the index: a
  batch's "already recorded?" is one `digest = ANY(...)` the index answers key by key, however
  stale the planner's idea of the table's size.

Documents and events are kept as the JSON text the TinyDB store writes (`codec.dumps`).
"""
from __future__ import annotations

from typing import Any

from siren_sync.errors import StoreError
from siren_sync.store.postgres.connection import scalar

SCHEMA_VERSION = 2
SCHEMA_LOCK = 0x5172656E_53636865  # the advisory lock under which a schema is created or migrated

MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        """CREATE TABLE siren_sync_namespaces (
               namespace text PRIMARY KEY,
               created timestamptz NOT NULL DEFAULT now(),
               generation bigint NOT NULL DEFAULT 0,
               leader_epoch bigint NOT NULL DEFAULT 0,
               leader text)""",
        """CREATE TABLE siren_sync_documents (
               namespace text NOT NULL, tbl text NOT NULL, key text NOT NULL, doc text NOT NULL,
               PRIMARY KEY (namespace, tbl, key))""",
        """CREATE TABLE siren_sync_chunks (
               namespace text NOT NULL, tbl text NOT NULL, chunk integer NOT NULL, docs text NOT NULL,
               PRIMARY KEY (namespace, tbl, chunk))""",
        """CREATE TABLE siren_sync_tables (
               namespace text NOT NULL, tbl text NOT NULL, PRIMARY KEY (namespace, tbl))""",
        """CREATE TABLE siren_sync_events (
               namespace text NOT NULL, bucket text NOT NULL,
               seq bigint GENERATED ALWAYS AS IDENTITY, record text NOT NULL,
               PRIMARY KEY (namespace, bucket, seq))""",
        """CREATE TABLE siren_sync_buckets (
               namespace text NOT NULL, bucket text NOT NULL, count bigint NOT NULL,
               PRIMARY KEY (namespace, bucket))""",
        """CREATE TABLE siren_sync_keys (
               namespace text NOT NULL, digest bytea NOT NULL, PRIMARY KEY (digest, namespace))""",
    ),
    # the same tables; program rewards may be stored lean (`commissions.full` reads them whole), which
    # a siren-sync of version 1 would misread or fail on: the first writer of this version raises the
    # version, so an older one refuses the database, clearly, rather than misread it
    2: (),
}


def newer(version: int, where: str) -> StoreError:
    return StoreError(f"store {where}: the database's siren-sync schema is version {version}, newer than "
                      f"this siren-sync supports ({SCHEMA_VERSION}); upgrade siren-sync (nothing was changed)")


def installed_version(conn: Any) -> int:
    """The schema version of the database (0: no siren-sync tables yet)."""
    if not scalar(conn, "SELECT to_regclass('siren_sync_schema') IS NOT NULL"):
        return 0
    return int(scalar(conn, "SELECT coalesce(max(version), 0) FROM siren_sync_schema"))


def check(conn: Any, where: str) -> int:
    """The installed version, refusing one newer than this code knows."""
    version = installed_version(conn)
    if version > SCHEMA_VERSION:
        raise newer(version, where)
    return version


def migrate(conn: Any, where: str) -> None:
    """Create the tables, or bring them up to `SCHEMA_VERSION`, in one transaction (`conn` in
    autocommit mode); refuse a newer schema."""
    if check(conn, where) == SCHEMA_VERSION:
        return  # the usual case: no lock, no DDL
    with conn.transaction():
        conn.execute(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK})")
        conn.execute("CREATE TABLE IF NOT EXISTS siren_sync_schema (version integer NOT NULL)")
        current = check(conn, where)
        for version in range(current + 1, SCHEMA_VERSION + 1):
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
        if current < SCHEMA_VERSION:
            conn.execute("DELETE FROM siren_sync_schema")
            conn.execute("INSERT INTO siren_sync_schema (version) VALUES (%s)", (SCHEMA_VERSION,))
