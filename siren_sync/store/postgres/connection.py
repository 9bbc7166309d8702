"""One connection to the store's database, opened again with backoff after it was lost.

A worker outlives its database's restarts and a platform's failovers: when a statement fails
because the connection is gone, the store says so (StoreError: the job is retried on the worker's
next turn) and the next use connects again, no sooner than the backoff allows (1 s, doubling up to
60 s), so a database that is down is not hammered. Sessions name themselves in
`pg_stat_activity` (`siren-sync <role> pid <pid>@<host>`), which is how a message names the process
holding a lock. No message carries the URL's password.
"""
from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable
from typing import Any

import psycopg

from siren_sync.errors import StoreError
from siren_sync.logs import redact
from siren_sync.store.postgres.url import passwords

FIRST_DELAY = 1.0
MAX_DELAY = 60.0


def scalar(conn: psycopg.Connection[Any], sql: str, params: tuple[Any, ...] = ()) -> Any:
    """The first column of the one row `sql` returns (a statement that returns no row is a bug)."""
    row = conn.execute(sql, params).fetchone()
    if row is None:
        raise RuntimeError(f"no row from {' '.join(sql.split())[:80]}")
    return row[0]


def session_name(role: str) -> str:
    """How this process's sessions show in `pg_stat_activity.application_name` (63 bytes at most)."""
    return f"siren-sync {role} pid {os.getpid()}@{socket.gethostname()}"[:63]


class Connection:
    """A psycopg connection to `url`, made on first use and again after it was lost.

    `where` names the store in messages; `prepare(conn)` runs on every new connection (session
    settings, the staging table); `options` are libpq connection parameters.
    """

    def __init__(self, url: str, where: str, role: str, *, autocommit: bool = True,
                 prepare: Callable[[psycopg.Connection[Any]], None] | None = None, **options: Any):
        self._url = url
        self.where = where
        self._secrets = passwords(url)
        # No server-side prepared statements: a generic plan made while a table was small would
        # keep scanning it whole once it is big (the key index lookup did, at 1 s a batch), and
        # poolers in transaction mode refuse them anyway.
        self._options = {"autocommit": autocommit, "application_name": session_name(role),
                         "prepare_threshold": None, **options}
        self._prepare = prepare
        self._conn: psycopg.Connection[Any] | None = None
        self._delay = FIRST_DELAY
        self._retry_at = 0.0

    @property
    def current(self) -> psycopg.Connection[Any] | None:
        """The connection if it is up (None when never made, closed or lost)."""
        conn = self._conn
        return conn if conn is not None and not conn.closed and not conn.broken else None

    def get(self) -> psycopg.Connection[Any]:
        """The connection, made now if needed; StoreError while the database cannot be reached."""
        conn = self.current
        if conn is not None:
            return conn
        self.close()
        wait = self._retry_at - time.monotonic()
        if wait > 0:
            raise StoreError(f"store {self.where}: the database cannot be reached; trying again in {wait:.0f} s")
        try:
            conn = psycopg.connect(self._url, **self._options)
            if self._prepare is not None:
                self._prepare(conn)
        except psycopg.Error as exc:
            self._retry_at = time.monotonic() + self._delay
            self._delay = min(self._delay * 2, MAX_DELAY)
            raise self.error(exc, "connecting") from None
        self._delay, self._retry_at = FIRST_DELAY, 0.0
        self._conn = conn
        return conn

    def error(self, exc: Exception, doing: str, then: str = "") -> StoreError:
        """The StoreError for `exc`, raised while `doing` something (never with the password);
        `then` says what state that leaves."""
        text = " ".join(str(exc).split()) or type(exc).__name__
        return StoreError(redact(f"store {self.where}: {doing} failed ({text})" + (f"; {then}" if then else ""),
                                 self._secrets))

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error:
                pass
            self._conn = None
