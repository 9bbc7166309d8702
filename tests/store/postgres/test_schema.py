"""The PostgreSQL schema: made by the first writer, versioned, never touched by a reader, and a newer
one than this code knows stops everything with one clear line."""
from __future__ import annotations

import threading

import psycopg
import pytest

from siren_sync.errors import StoreError
from siren_sync.store.postgres.schema import SCHEMA_VERSION
from siren_sync.store.postgres.store import PostgresStore
from tests.store.helpers import seed
from tests.support.postgres import fresh_database

TABLES = ["siren_sync_buckets", "siren_sync_chunks", "siren_sync_documents", "siren_sync_events", "siren_sync_keys",
          "siren_sync_namespaces", "siren_sync_schema", "siren_sync_tables"]


def _tables(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        # not the temporary staging tables of a session that has closed: its server process drops
        # them as it exits, a moment after the client has gone
        return [r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'siren\\_sync%' "
                                           "AND schemaname NOT LIKE 'pg\\_temp\\_%' ORDER BY tablename").fetchall()]


def test_a_reader_of_an_empty_database_reads_an_empty_store_and_creates_nothing():
    with fresh_database() as url:
        with PostgresStore(url, "shop.example", readonly=True) as reader:
            assert reader.tables() == [] and reader.event_count() == 0 and reader.get("cursors", "x") is None
        assert _tables(url) == []


def test_the_first_writer_creates_the_schema_at_the_current_version():
    with fresh_database() as url:
        with PostgresStore(url, "shop.example") as store:
            seed(store)
        assert _tables(url) == TABLES
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT version FROM siren_sync_schema").fetchall() == [(SCHEMA_VERSION,)]
            keys = conn.execute("SELECT indexdef FROM pg_indexes WHERE tablename = 'siren_sync_keys'").fetchall()
        assert keys == [("CREATE UNIQUE INDEX siren_sync_keys_pkey ON public.siren_sync_keys "
                         "USING btree (digest, namespace)",)]  # the key index: a unique index


def test_writers_starting_together_create_the_schema_once():
    with fresh_database() as url:
        failures: list[BaseException] = []

        def start() -> None:
            try:
                PostgresStore(url, "shop.example").open().close()
            except BaseException as exc:  # noqa: BLE001 - reported below
                failures.append(exc)

        threads = [threading.Thread(target=start) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert failures == []
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM siren_sync_schema").fetchone() == (1,)


def test_a_newer_schema_stops_readers_and_writers_and_changes_nothing():
    with fresh_database() as url:
        with PostgresStore(url, "shop.example") as store:
            seed(store)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE siren_sync_schema SET version = %s", (SCHEMA_VERSION + 1,))
        for readonly in (True, False):
            with pytest.raises(StoreError, match=rf"the database's siren-sync schema is version {SCHEMA_VERSION + 1}, "
                                                 rf"newer than this siren-sync supports \({SCHEMA_VERSION}\); "
                                                 r"upgrade siren-sync \(nothing was changed\)"):
                PostgresStore(url, "shop.example", readonly=readonly).open()
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT (SELECT count(*) FROM siren_sync_documents), "
                                "(SELECT count(*) FROM siren_sync_chunks)").fetchone() == (1, 1)


def test_a_writer_raises_a_version_1_database_to_the_current_version_and_a_reader_leaves_it():
    """Version 2 changed no table: program rewards may be stored lean (`commissions.full`), which
    version 1 would misread, so the first writer of version 2 raises the version and an older
    siren-sync then refuses the database, clearly."""
    with fresh_database() as url:
        with PostgresStore(url, "shop.example") as store:
            seed(store)
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("UPDATE siren_sync_schema SET version = 1")
        with PostgresStore(url, "shop.example", readonly=True) as reader:
            assert reader.get("cursors", "woocommerce") is not None
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT version FROM siren_sync_schema").fetchall() == [(1,)]
        with PostgresStore(url, "shop.example") as store:
            assert store.get("cursors", "woocommerce") is not None
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT version FROM siren_sync_schema").fetchall() == [(SCHEMA_VERSION,)] == [(2,)]


def test_an_older_siren_sync_refuses_a_database_this_one_wrote(monkeypatch: pytest.MonkeyPatch):
    with fresh_database() as url:
        with PostgresStore(url, "shop.example") as store:
            seed(store)
        monkeypatch.setattr("siren_sync.store.postgres.schema.SCHEMA_VERSION", 1)  # what version 1 knows
        with pytest.raises(StoreError, match=r"schema is version 2, newer than this siren-sync supports \(1\)"):
            PostgresStore(url, "shop.example", readonly=True).open()
