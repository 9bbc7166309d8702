"""The PostgreSQL store: siren-sync's state in a database that many sites and workers share.

The same `protocol.Store` as the TinyDB store, over the tables of `schema.py`, every row under the
store's namespace. A writer's transaction is a database transaction holding the namespace's write
lock (`locks.py`) from `transaction()` to its end; a writer in another process waits for it
(`lock_timeout` of `WRITE_WAIT`, then StoreLockedError naming the holder's session). `apply`
writes the rows that changed (`commit.py`) and commits: PostgreSQL makes it atomic, and a killed
process leaves nothing behind, so there is no recovery step.

Reading: a table is read whole on first use (one row per document, joined into one JSON text by
the server, one `json.loads` here) and kept, as the TinyDB store keeps its files; the writer keeps
its tables across its own commits, and drops them when the namespace's generation shows another
process committed (checked at the start of each transaction, under the lock, and by `refresh()`).
`known` asks the key index for a whole batch in one statement. A read-only store reads one
snapshot (REPEATABLE READ, read only) until `refresh()`, so `history` sees one committed state
while the worker writes. A database without siren-sync tables reads as an empty store.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Self, TypeVar, overload

import psycopg

from siren_sync.errors import StoreError, StoreLockedError
from siren_sync.store.cache import TableCache
from siren_sync.store.names import KEY_BYTES, check_table, is_partition, key_digest
from siren_sync.store.postgres import commit, partitions, schema
from siren_sync.store.postgres.connection import Connection, scalar
from siren_sync.store.postgres.leader import PostgresLeader
from siren_sync.store.postgres.locks import holders, lock_key
from siren_sync.store.postgres.url import shown
from siren_sync.store.protocol import WRITE_WAIT, Changes, Document
from siren_sync.store.transaction import BufferedTransaction

T = TypeVar("T")

EVENTS_PAGE = 5000  # event records read per statement
READ = """SELECT '{' || coalesce(string_agg(to_json(key)::text || ':' || doc, ','), '') || '}'
          FROM siren_sync_documents WHERE namespace = %s AND tbl = %s"""  # a small table, as one JSON text


class PostgresStore:
    """The namespace `namespace` of the database at `url` (see the module docstring)."""

    def __init__(self, url: str, namespace: str, *, readonly: bool = False, leader_timeout: float = 30.0):
        self.namespace = namespace
        self.readonly = readonly
        self.location = f"{shown(url)} (namespace {namespace})"
        self._db = Connection(url, self.location, "reader" if readonly else "writer", autocommit=not readonly,
                              prepare=self._prepare)
        self._leader = PostgresLeader(url, namespace, self.location, leader_timeout)
        self._write_key = lock_key("write", namespace)
        self.write_wait = WRITE_WAIT  # seconds a transaction waits for another process's
        self._opened = False
        self._empty = False  # a reader of a database that has no siren-sync tables yet
        self._cache: TableCache[dict[str, Document]] = TableCache()  # the most recently used, up to a bound
        self._generation: int | None = None  # of the writer's cache
        self._writing = False  # the write lock is held: a database transaction is open
        self._tx: BufferedTransaction | None = None

    def __repr__(self) -> str:
        mode = "readonly" if self.readonly else "writer"
        return f"PostgresStore({self.location!r}, {mode}, {'open' if self._opened else 'closed'})"

    # -- opening and closing --------------------------------------------------------------

    def _prepare(self, conn: psycopg.Connection[Any]) -> None:
        if self.readonly:
            conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            conn.read_only = True
        else:
            conn.execute(commit.STAGING)

    def open(self) -> Self:
        """Connect; a writer creates or migrates the schema and its namespace's row."""
        if self._opened:
            return self
        if self.readonly:
            self._empty = self._run("reading the schema version", lambda c: schema.check(c, self.location)) == 0
        else:
            self._run("creating the schema", self._create)
        self._opened = True
        return self

    def _create(self, conn: psycopg.Connection[Any]) -> None:
        schema.migrate(conn, self.location)
        conn.execute("INSERT INTO siren_sync_namespaces (namespace) VALUES (%s) ON CONFLICT DO NOTHING",
                     (self.namespace,))

    def close(self) -> None:
        """Stop leading, disconnect; an open transaction is discarded."""
        if self._tx is not None:
            self._tx.discard()
            self._tx = None
        self._leader.release()
        self._db.close()
        self._opened = False
        self._forget()

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def leader(self) -> PostgresLeader:
        """The namespace's leader lock, on a connection of its own."""
        return self._leader

    def _forget(self) -> None:
        self._cache.clear()
        self._generation = None

    # -- statements -----------------------------------------------------------------------

    def _run(self, doing: str, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        """`work(conn)`, a failure raised as StoreError (a lost connection also forgets the cache)."""
        conn = self._db.get()
        try:
            return work(conn)
        except psycopg.Error as exc:
            if conn.broken or self.readonly:
                self._forget()
            if self.readonly and not conn.broken:
                conn.rollback()
            raise self._db.error(exc, doing) from None

    def _read(self, doing: str, work: Callable[[psycopg.Connection[Any]], T]) -> T:
        if not self._opened:
            raise RuntimeError(f"store {self.location} is not open")
        return self._run(doing, work)

    def _one(self, doing: str, sql: str, params: tuple[Any, ...]) -> Any:
        return self._read(doing, lambda c: scalar(c, sql, params))

    # -- reading --------------------------------------------------------------------------

    def _docs(self, table: str) -> dict[str, Document]:
        check_table(table)
        docs = self._cache.get(table)
        if docs is None:
            docs = {} if self._empty else json.loads(self._one(
                f"reading table {table}", partitions.READ if is_partition(table) else READ, (self.namespace, table)))
            self._cache.put(table, docs)
        return docs

    @overload
    def get(self, table: str, key: str) -> Document | None: ...

    @overload
    def get(self, table: str, key: str, default: T) -> Document | T: ...

    def get(self, table: str, key: str, default: object = None) -> object:
        """The committed document `key` of `table`, or `default`. Do not mutate it."""
        doc = self._docs(table).get(key)
        return default if doc is None else doc

    def table(self, table: str) -> dict[str, Document]:
        """A snapshot `{key: document}` of a committed table; the documents are the store's own."""
        return dict(self._docs(table))

    def tables(self, prefix: str = "") -> list[str]:
        """Names of the tables holding at least one document whose names start with `prefix`."""
        if self._empty:
            return []
        rows = self._read("listing tables", lambda c: c.execute(
            "SELECT tbl FROM siren_sync_tables WHERE namespace = %s AND left(tbl, %s) = %s",
            (self.namespace, len(prefix), prefix)).fetchall())
        return sorted(row[0] for row in rows)

    def known(self, keys: Iterable[str]) -> set[str]:
        """Those of `keys` whose events are committed: one lookup of the key index for them all."""
        by_digest = {key_digest(key).to_bytes(KEY_BYTES, "little"): key for key in keys}
        if not by_digest or self._empty:
            return set()
        # The digests go as one bytea cut up by the server (a list of 5,000 bytes objects costs the
        # client more than the lookup); `= ANY(ARRAY(...))` keeps the plan on the primary key.
        found = self._one("reading the key index", f"""
            SELECT string_agg(k.digest, ''::bytea) FROM siren_sync_keys AS k
            WHERE k.namespace = %s AND k.digest = ANY(ARRAY(
                SELECT substring(%s FROM i * {KEY_BYTES} + 1 FOR {KEY_BYTES}) FROM generate_series(0, %s - 1) AS i))""",
                          (self.namespace, b"".join(by_digest), len(by_digest)))
        if not found:
            return set()
        return {by_digest[found[i:i + KEY_BYTES]] for i in range(0, len(found), KEY_BYTES)}

    def buckets(self) -> list[str]:
        """The event buckets holding committed events, sorted."""
        if self._empty:
            return []
        rows = self._read("listing event buckets", lambda c: c.execute(
            "SELECT bucket FROM siren_sync_buckets WHERE namespace = %s AND count > 0",
            (self.namespace,)).fetchall())
        return sorted(row[0] for row in rows)

    def event_count(self, bucket: str | None = None) -> int:
        """How many events are committed in `bucket` (or in all buckets)."""
        if self._empty:
            return 0
        return int(self._one("counting events", """SELECT coalesce(sum(count), 0) FROM siren_sync_buckets
                                                   WHERE namespace = %s AND (%s::text IS NULL OR bucket = %s)""",
                             (self.namespace, bucket, bucket)))

    def event_counts(self) -> dict[str, int]:
        """How many events are committed in each bucket holding some, in one query."""
        if self._empty:
            return {}
        rows = self._read("counting events", lambda c: c.execute(
            "SELECT bucket, count FROM siren_sync_buckets WHERE namespace = %s AND count > 0",
            (self.namespace,)).fetchall())
        return {row[0]: int(row[1]) for row in rows}

    def events(self, bucket: str, start: int = 0) -> Iterator[Document]:
        """The committed event records of `bucket`, in the order they were recorded, from the
        `start`-th (the database skips those before it: they are neither sent nor decoded)."""
        after, skip = 0, start
        while not self._empty:
            rows = self._read(f"reading event bucket {bucket}", self._events_after(bucket, after, skip))
            skip = 0
            for seq, record in rows:
                after = seq
                yield json.loads(record)
            if len(rows) < EVENTS_PAGE:
                return

    def _events_after(self, bucket: str, after: int, skip: int) -> Callable[[psycopg.Connection[Any]], list[Any]]:
        def read(conn: psycopg.Connection[Any]) -> list[Any]:
            return conn.execute("""SELECT seq, record FROM siren_sync_events WHERE namespace = %s AND bucket = %s
                                   AND seq > %s ORDER BY seq OFFSET %s LIMIT %s""",
                                (self.namespace, bucket, after, skip, EVENTS_PAGE)).fetchall()
        return read

    def refresh(self) -> None:
        """Read what other processes committed since this store last looked."""
        if self.readonly:
            conn = self._db.current
            if conn is not None:
                conn.rollback()  # the snapshot ends; the next read takes a new one
            self._forget()
        elif not self._writing:
            self._follow(self._one("reading the generation", "SELECT generation FROM siren_sync_namespaces "
                                   "WHERE namespace = %s", (self.namespace,)))

    def _follow(self, generation: int) -> None:
        """Keep the cached tables if nobody else committed since they were read, else drop them."""
        if generation != self._generation:
            self._cache.clear()
            self._generation = generation

    # -- writing --------------------------------------------------------------------------

    def _writer(self) -> None:
        if self.readonly:
            raise StoreError(f"store {self.location} was opened read-only")
        if not self._opened:
            raise RuntimeError(f"store {self.location} is not open")

    def transaction(self) -> BufferedTransaction:
        """A new transaction holding the namespace's write lock (waiting up to `write_wait` seconds
        for another process's); `with` commits it on a clean exit and discards it on an exception."""
        self._writer()
        if self._tx is not None and not self._tx.finished:
            raise RuntimeError("a store transaction is already open (one writer at a time)")
        self._begin()
        self._tx = BufferedTransaction(self, on_finish=self._end)
        return self._tx

    def _begin(self) -> None:
        """Open a database transaction, take the write lock, and catch up with other writers."""
        conn = self._db.get()
        try:
            conn.execute(f"BEGIN; SET LOCAL lock_timeout = '{max(1, int(self.write_wait * 1000))}ms'; "
                         f"SELECT pg_advisory_xact_lock({self._write_key})")
            generation = scalar(conn, "SELECT generation FROM siren_sync_namespaces WHERE namespace = %s",
                                (self.namespace,))
        except psycopg.errors.LockNotAvailable:
            self._rollback(conn)
            names = ", ".join(self._run("naming the lock's holder", lambda c: holders(c, self._write_key)))
            raise StoreLockedError(f"store {self.location} is being written by another siren-sync process "
                                   f"({names or 'gone since'}), still busy after {self.write_wait:.0f} s; "
                                   f"try again") from None
        except psycopg.Error as exc:
            self._rollback(conn)
            raise self._db.error(exc, "starting a transaction") from None
        self._writing = True
        self._follow(generation)

    def _rollback(self, conn: psycopg.Connection[Any]) -> None:
        if conn.broken:
            self._forget()
            return
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            try:
                conn.execute("ROLLBACK")
            except psycopg.Error:
                self._forget()

    def _end(self) -> None:
        """The transaction is over: roll back what was not committed, which releases the lock."""
        if self._writing:
            self._writing = False
            conn = self._db.current
            if conn is not None:
                self._rollback(conn)

    def apply(self, changes: Changes) -> None:
        """Commit `changes` atomically (see `commit.py`): all of them or, if anything fails, none."""
        self._writer()
        if self._writing:
            self._commit(changes)
            return
        self._begin()
        try:
            self._commit(changes)
        finally:
            self._end()

    def _commit(self, changes: Changes) -> None:
        conn = self._db.get()
        try:
            generation = commit.write(conn, self.namespace, changes, self._leader.fence)
            conn.execute("COMMIT")
        except (psycopg.Error, OSError) as exc:
            self._rollback(conn)
            self._forget()  # a COMMIT whose answer was lost may have been applied: read again
            raise self._db.error(exc, "committing", "the last committed state is intact (if the connection "
                                 "dropped during the COMMIT itself, the next turn reads what was kept)") from None
        except BaseException:
            self._rollback(conn)
            raise
        self._remember(changes, generation)

    def _remember(self, changes: Changes, generation: int) -> None:
        """Keep the cached tables in step with the commit just made (the lock was held)."""
        for table, docs in changes.documents.items():
            cached = self._cache.get(table)
            if cached is None:
                continue
            for key, doc in docs.items():
                if doc is None:
                    cached.pop(key, None)
                else:
                    cached[key] = doc
        self._generation = generation
