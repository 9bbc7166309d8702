"""Leadership on PostgreSQL: the advisory lock on a connection of its own, and the fence that stops a
leader which lost its lock from committing, whether or not another worker took over yet."""
from __future__ import annotations

import os

import psycopg
import pytest

from siren_sync.errors import LeadershipLost
from siren_sync.store.postgres.store import PostgresStore
from tests.store.helpers import CURSOR, seed


def _cut(url: str, store: PostgresStore) -> None:
    """Terminate the leader's session on the server, as a failover or an admin would, and wait until
    it is gone (up to 10 s): `pg_terminate_backend` alone only signals it, and until the session
    exits it still holds the lock, so a commit made meanwhile is rightly let through."""
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s, 10000)", (store.leader().fence.pid,))  # gone, its lock with it


def test_a_second_worker_waits_and_is_told_who_leads(pg, url, namespace):
    assert pg.leader().acquire()
    with PostgresStore(url, namespace) as standby:
        assert not standby.leader().acquire() and standby.leader().waits
        assert standby.leader().holder().startswith(f"siren-sync leader pid {os.getpid()}@")
        pg.close()  # the leader goes away: its lock with it
        assert standby.leader().acquire() and standby.leader().held()


def test_a_leader_whose_connection_was_cut_cannot_commit(pg, url):
    seed(pg)
    assert pg.leader().acquire()
    _cut(url, pg)
    with pytest.raises(LeadershipLost, match="no longer leads its namespace"):
        with pg.transaction() as tx:
            tx.put("cursors", "woocommerce", {"by": "a leader without its lock"})
    assert not pg.leader().held()
    assert pg.get("cursors", "woocommerce") == CURSOR


def test_a_leader_replaced_by_another_cannot_commit_even_before_it_notices(pg, url, namespace):
    seed(pg)
    assert pg.leader().acquire()
    _cut(url, pg)
    with PostgresStore(url, namespace) as successor:
        assert successor.leader().acquire()  # a new epoch
        with pytest.raises(LeadershipLost):
            with pg.transaction() as tx:
                tx.put("cursors", "woocommerce", {"by": "the old leader"})
        with successor.transaction() as tx:
            tx.put("cursors", "woocommerce", {"by": "the new leader"})
        assert pg.leader().acquire() is False  # the old one stands by
    with PostgresStore(url, namespace, readonly=True) as reader:
        assert reader.get("cursors", "woocommerce") == {"by": "the new leader"}


def test_a_store_that_never_led_commits_unfenced_beside_a_leader(pg, url, namespace):
    seed(pg)
    assert pg.leader().acquire()
    with PostgresStore(url, namespace) as command, command.transaction() as tx:
        tx.put("cursors", "credit", {"n": 1})  # `credit` while the worker runs
    pg.refresh()
    assert pg.get("cursors", "credit") == {"n": 1}
    with pg.transaction() as tx:  # and the leader's own commits pass the fence
        tx.put("cursors", "woocommerce", {"by": "the leader"})
