"""The PostgreSQL store beyond the shared contract: namespaces apart, the writer's tables kept across
its own commits and read again after another's, and a lost connection survived."""
from __future__ import annotations

import psycopg
import pytest

from siren_sync.errors import StoreError
from siren_sync.store.cache import TABLES_KEPT
from siren_sync.store.postgres import connection
from siren_sync.store.postgres.store import PostgresStore
from tests.store.helpers import AGG, CURSOR, events, seed


def test_namespaces_share_a_database_without_seeing_each_other(pg, url, namespace):
    seed(pg)
    with PostgresStore(url, namespace + "-other") as other:
        assert other.tables() == [] and other.event_count() == 0 and other.known(["woo:sale:0"]) == set()
        with other.transaction() as tx:  # the same keys, in its own key index
            tx.append_events("2026-11", events(0, 2))
        assert other.event_count() == 2
    assert pg.event_count() == 2 and pg.get("cursors", "woocommerce") == CURSOR


def test_the_writer_keeps_its_tables_across_its_commits_and_reads_another_s_again(pg, url, namespace):
    seed(pg)
    assert pg.get("cursors", "woocommerce") == CURSOR
    with pg.transaction() as tx:
        tx.put("cursors", "woocommerce", {"n": 3})
    with psycopg.connect(url, autocommit=True) as conn:  # a change behind its back, not through a commit
        conn.execute("UPDATE siren_sync_documents SET doc = '{\"behind\":1}' WHERE namespace = %s AND tbl = %s",
                     (namespace, "cursors"))
    assert pg.get("cursors", "woocommerce") == {"n": 3}  # kept, not read again after its own commit
    with PostgresStore(url, namespace) as other, other.transaction() as tx:
        tx.put(AGG, "other", {"n": 1})  # another writer's commit moves the generation
    with pg.transaction() as tx:
        assert tx.get("cursors", "woocommerce") == {"behind": 1}  # so everything is read again
        assert tx.get(AGG, "other") == {"n": 1} and tx.get(AGG, "aggregate") == {"revenue": "24.00", "events": 2}


def test_the_writer_keeps_the_tables_it_used_last_and_reads_the_others_again(pg, url, namespace):
    """Up to `TABLES_KEPT` tables stay in memory (a worker running for months read a table of rewards
    each day): one used longer ago is read again, one used lately is not."""
    tables = [f"t{i:03d}" for i in range(TABLES_KEPT + 10)]
    with pg.transaction() as tx:
        for i, table in enumerate(tables):
            tx.put(table, "doc", {"n": i})
    assert [pg.get(table, "doc") for table in tables] == [{"n": i} for i in range(len(tables))]
    with psycopg.connect(url, autocommit=True) as conn:  # behind its back: seen only if read again
        conn.execute("UPDATE siren_sync_documents SET doc = '{\"behind\":1}' WHERE namespace = %s AND tbl = ANY(%s)",
                     (namespace, [tables[0], tables[-1]]))
    assert pg.get(tables[-1], "doc") == {"n": len(tables) - 1}  # used lately: kept
    assert pg.get(tables[0], "doc") == {"behind": 1}  # used longer ago: read again


def test_a_partition_is_kept_in_chunks_and_a_commit_rewrites_only_those_it_touches(pg, url, namespace):
    from siren_sync.store.postgres.partitions import CHUNKS, chunk_of

    docs = {f"c{i:05d}": {"score": str(i)} for i in range(2000)}
    with pg.transaction() as tx:
        tx.put_many("obligations/d1", docs)
    with psycopg.connect(url) as conn:
        def chunks() -> dict[int, int]:
            return dict(conn.execute("SELECT chunk, xmin::text::bigint FROM siren_sync_chunks "
                                     "WHERE namespace = %s AND tbl = %s", (namespace, "obligations/d1")).fetchall())
        before = chunks()
        assert len(before) == CHUNKS
        with pg.transaction() as tx:
            tx.put("obligations/d1", "c00007", {"score": "7", "status": "paid"})
            tx.delete("obligations/d1", "c00008")
        conn.commit()
        after = chunks()
    rewritten = {chunk for chunk in after if after[chunk] != before.get(chunk)}
    assert rewritten == {chunk_of("c00007"), chunk_of("c00008")} - {None}
    with PostgresStore(url, namespace, readonly=True) as reader:
        table = reader.table("obligations/d1")
        assert len(table) == 1999 and table["c00007"] == {"score": "7", "status": "paid"} and "c00008" not in table
        assert reader.tables() == ["obligations/d1"]
    with pg.transaction() as tx:
        for key in table:
            tx.delete("obligations/d1", key)
    assert pg.tables() == [] and pg.table("obligations/d1") == {}


def test_a_lost_connection_fails_the_commit_then_the_store_connects_again(pg, url, monkeypatch):
    monkeypatch.setattr(connection, "FIRST_DELAY", 0.0)
    seed(pg)
    pid = pg._db.get().info.backend_pid
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,))  # waits until the session is gone
    with pytest.raises(StoreError, match="failed"):
        with pg.transaction() as tx:
            tx.put("cursors", "woocommerce", {"lost": True})
    with pg.transaction() as tx:  # connects again
        assert tx.get("cursors", "woocommerce") == CURSOR
        tx.append_events("2026-11", events(2, 1))
    assert pg.event_count() == 2 + 1


def test_a_database_that_cannot_be_reached_is_asked_again_only_after_a_backoff(url, namespace):
    store = PostgresStore("postgresql://nobody:s3cret@127.0.0.1:1/none?connect_timeout=2", namespace)
    with pytest.raises(StoreError, match=r"^store postgresql://nobody@127\.0\.0\.1:1/none\?connect_timeout=2 "
                                         r"\(namespace .*\): connecting failed \(.*127\.0\.0\.1") as info:
        store.open()
    assert "s3cret" not in str(info.value)
    with pytest.raises(StoreError, match=r"the database cannot be reached; trying again in [12] s"):
        store.open()
