"""Leadership of a namespace (DESIGN section 9): one worker closes and publishes, the others wait.

The leader holds `pg_try_advisory_lock` on a connection of its own, kept only for that (a lock on
the store's working connection would be lost with it at the first failed statement). Taking the
lead also bumps the namespace's `leader_epoch`, under the namespace's write lock, and every commit
of the leader's store carries a fence (`commit.Fence`): the epoch is still its own and its leader
session still holds the lock. A leader whose connection was cut, or that another worker replaced,
therefore cannot commit, even before it notices.

The server releases the lock as soon as the leader's session ends: at once when the process dies
(its socket closes) or the backend is terminated; over the network, when TCP keepalives (set here
to a third of `leader_timeout`) find the peer gone. A standby asks again every few seconds, so it
takes over within `leader_timeout`.
"""
from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import psycopg

from siren_sync.store.postgres.commit import Fence
from siren_sync.store.postgres.connection import Connection, scalar, session_name
from siren_sync.store.postgres.locks import halves, lock_key

log = logging.getLogger(__name__)


class PostgresLeader:
    """The leader lock of `namespace` (`protocol.Leader`); a second worker waits (`waits`)."""

    waits = True

    def __init__(self, url: str, namespace: str, where: str, timeout: float):
        seconds = max(1, int(timeout / 3))
        self.namespace = namespace
        self.timeout = timeout
        self._db = Connection(url, where, "leader", prepare=self._keepalives,
                              keepalives=1, keepalives_idle=seconds, keepalives_interval=max(1, seconds // 3),
                              keepalives_count=3)
        self._key = lock_key("leader", namespace)
        self._fence: Fence | None = None
        self._leading = False
        self._holder = "another siren-sync worker"

    def _keepalives(self, conn: psycopg.Connection[Any]) -> None:
        """Let the server notice a vanished leader host within a third of the timeout (TCP only)."""
        seconds = max(1, int(self.timeout / 3))
        conn.execute(f"SET tcp_keepalives_idle = {seconds}; SET tcp_keepalives_interval = {max(1, seconds // 3)}; "
                     f"SET tcp_keepalives_count = 3; SET tcp_user_timeout = {seconds * 1000}")

    @property
    def fence(self) -> Fence | None:
        """What this store's commits must pass: set once it led, kept (failing) after the lead was
        lost, until `release`; None when it never led."""
        return self._fence

    def acquire(self) -> bool:
        """Take the lead if nobody has it (StoreError while the database cannot be reached)."""
        if self._leading and self.held():
            return True
        conn = self._db.get()
        try:
            if not scalar(conn, "SELECT pg_try_advisory_lock(%s)", (self._key,)):
                self._holder = self._describe(conn)
                return False
            epoch = self._claim(conn)
        except psycopg.Error as exc:
            self._db.close()
            raise self._db.error(exc, "taking the lead") from None
        self._fence = Fence(epoch, conn.info.backend_pid, *halves(self._key))
        self._leading = True
        return True

    def _claim(self, conn: psycopg.Connection[Any]) -> int:
        """A new epoch, under the write lock, so no commit is half way through when it changes."""
        with conn.transaction():
            conn.execute(f"SELECT pg_advisory_xact_lock({lock_key('write', self.namespace)})")
            since = datetime.now(UTC).isoformat(timespec="seconds")
            row = conn.execute("""UPDATE siren_sync_namespaces SET leader_epoch = leader_epoch + 1, leader = %s
                                  WHERE namespace = %s RETURNING leader_epoch""",
                               (f"{session_name('leader')} since {since}", self.namespace)).fetchone()
        if row is None:
            raise RuntimeError(f"namespace {self.namespace!r} has no row: open the store as a writer first")
        return int(row[0])

    def _describe(self, conn: psycopg.Connection[Any]) -> str:
        row = conn.execute("SELECT leader FROM siren_sync_namespaces WHERE namespace = %s",
                           (self.namespace,)).fetchone()
        return str(row[0]) if row and row[0] else "another siren-sync worker"

    def holder(self) -> str:
        return self._holder

    def held(self) -> bool:
        """Whether this process still leads: its session is up and the epoch is still its own."""
        conn = self._db.current
        if not self._leading or conn is None or self._fence is None:
            return self._lost()
        try:
            row = conn.execute("SELECT leader_epoch FROM siren_sync_namespaces WHERE namespace = %s",
                               (self.namespace,)).fetchone()
        except psycopg.Error:
            return self._lost()
        return True if row is not None and row[0] == self._fence.epoch else self._lost()

    def _lost(self) -> bool:
        if self._leading:
            self._leading = False
            self._db.close()  # if the session still lives, closing it lets the lock go
        return False

    def release(self) -> None:
        """Stop leading: unlock, close the leader's connection, and drop the fence."""
        conn = self._db.current
        if self._leading and conn is not None:
            try:
                conn.execute("SELECT pg_advisory_unlock(%s)", (self._key,))
            except psycopg.Error as exc:
                log.debug("unlocking the lead: %s", exc)
        self._leading = False
        self._fence = None
        self._db.close()
