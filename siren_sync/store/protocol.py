"""What the rest of siren-sync may use of a store and of its transactions, whatever the backend.

A store holds documents in tables (`{key: JSON object}`; a table whose name contains '/' is a
partition, kept apart because it is big), an append-only event ledger in buckets, and the key index
of every recorded event key. The TinyDB store (`store.tinydb`) and the PostgreSQL store keep the
same contract, checked by the same tests (`tests/store/test_contract.py`):

- Atomic commit: a transaction's changes are applied all at once by `commit()` or not at all. An
  exception or an I/O error in the middle of a commit, or the process killed there, leaves the last
  committed state, which the next `open()` recovers.
- Committed documents are read-only to callers: `Store.get` and `Store.table` hand out the store's
  own objects, without copying (a period's 100,000 obligations are read as they are); a caller
  that wants to change one takes a copy from `Transaction.get` and `put`s it back.
- Idempotent events: each event record has a unique string "key"; `known` answers "already
  recorded?" from the key index, never by reading the ledger, and appending a recorded key raises.
- Writers take turns: a transaction holds the store's write lock from `transaction()` until it is
  committed or discarded, and a writer in another process waits for it (up to `WRITE_WAIT`
  seconds, then `StoreLockedError` naming the holder). At the start of its transaction a writer
  reads what others committed since, so a read-modify-write inside a transaction never loses
  another process's commit; reads outside a transaction see the state as of the last
  transaction or `refresh()`. Read-only stores take no lock and see only committed state, never a
  transaction in progress, so `standings` works while the worker runs.
- One leader: `leader()` is the lock of the process that closes and publishes (the worker). The
  TinyDB store refuses a second leader; the PostgreSQL store lets it wait as a standby, and fences
  every commit of a leader, so one that lost its lock cannot commit.

A transaction is backend-independent (`store.transaction.BufferedTransaction`): it buffers changes
and hands them to the backend once, as `Changes`, through `Store.apply`. A backend implements
`Store`; it never implements a transaction.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, Self, TypeVar, overload

T = TypeVar("T")

WRITE_WAIT = 60.0  # seconds a writer waits for another process's transaction before giving up

Document = dict[str, Any]


@dataclass
class Changes:
    """A finished transaction's changes, applied by `Store.apply` all at once or not at all.

    - `documents`: table -> document key -> the new document, or None to delete it. Documents
      given to `put` are copies; those given to `put_many` are taken as they are and not checked
      until `apply` serializes them, so a document that is not plain JSON must fail the whole apply.
      The documents become the store's (it may keep them without copying).
    - `events`: bucket -> the new event records, each serialized as one line of JSON (UTF-8, ending
      in a newline), in the order they were appended.
    - `keys`: the digest (`names.key_digest`) -> key of every new event, in the order appended;
      the key index grows by exactly these.
    """

    documents: dict[str, dict[str, Document | None]] = field(default_factory=dict)
    events: dict[str, list[bytes]] = field(default_factory=dict)
    keys: dict[int, str] = field(default_factory=dict)

    def __bool__(self) -> bool:
        """Whether there is anything to apply (a transaction that changed nothing commits nothing)."""
        return bool(self.documents or self.events)


class Transaction(Protocol):
    """Changes to a store, applied all at once by `commit()` or not at all.

    `put`/`put_many`/`delete` documents, `append_events` to the ledger; `get` and `known` see this
    transaction's own changes on top of the committed state. As a context manager, a clean exit
    commits and an exception discards. Once committed or discarded (or its store closed), every
    change raises RuntimeError.
    """

    @property
    def finished(self) -> bool:
        """Whether the transaction was committed or discarded (its store takes a new one)."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None: ...

    def put(self, table: str, key: str, doc: Mapping[str, Any]) -> None:
        """Set document `key` of `table` to a copy of `doc` (later changes to `doc` don't count)."""
        ...

    def put_many(self, table: str, docs: Mapping[str, Document]) -> None:
        """`put` for many documents of one table, taken as they are (no copy): they become the store's."""
        ...

    def delete(self, table: str, key: str) -> None:
        """Remove document `key` of `table` (nothing happens if it does not exist)."""
        ...

    @overload
    def get(self, table: str, key: str) -> Document | None: ...

    @overload
    def get(self, table: str, key: str, default: T) -> Document | T: ...

    def get(self, table: str, key: str, default: object = None) -> object:
        """The document as this transaction would leave it: a copy the caller may change."""
        ...

    def known(self, keys: Iterable[str]) -> set[str]:
        """Those of `keys` already recorded, committed or appended in this transaction."""
        ...

    def append_events(self, bucket: str, records: Iterable[Mapping[str, Any]]) -> None:
        """Append event records (each with a unique string "key") to the ledger bucket `bucket`.

        Raises ValueError, appending nothing, if a key is already recorded or repeated.
        """
        ...

    def commit(self) -> None:
        """Apply every change atomically; the transaction is finished either way."""
        ...

    def discard(self) -> None:
        """Drop every change; the store stays as it was."""
        ...


class Leader(Protocol):
    """The lock of the one process that closes and publishes on a store (the worker's, DESIGN 9).

    `waits` says what a second worker does: wait as a standby (PostgreSQL) or stop (TinyDB).
    """

    @property
    def waits(self) -> bool:
        """True when a second worker waits its turn as a standby instead of being refused."""
        ...

    def acquire(self) -> bool:
        """Try to lead, without waiting; False when another process leads (see `holder`)."""
        ...

    def holder(self) -> str:
        """Who leads, or last led, as a message says it (a refusal, a standby's log line)."""
        ...

    def held(self) -> bool:
        """Whether this process still leads (PostgreSQL asks the server: a cut connection loses it)."""
        ...

    def release(self) -> None:
        """Stop leading (nothing happens when not leading)."""
        ...


class Store(Protocol):
    """A store (see the module docstring): `open()` before use, or use `with`.

    A writer (`readonly` false) takes the write lock for each transaction; a read-only store sees
    committed state only and refuses `transaction()` and `apply()` with StoreError. A store that
    cannot be read raises StoreError and is never written to.
    """

    @property
    def location(self) -> str:
        """Where the store lives, as messages name it (never with a password)."""
        ...

    @property
    def readonly(self) -> bool:
        """Whether this store only reads (no lock, no transaction)."""
        ...

    def open(self) -> Self:
        """Take the writer's lock (unless read-only), read the store and recover an unfinished commit."""
        ...

    def close(self) -> None:
        """Release the lock; an open transaction is discarded."""
        ...

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc_info: object) -> None: ...

    @overload
    def get(self, table: str, key: str) -> Document | None: ...

    @overload
    def get(self, table: str, key: str, default: T) -> Document | T: ...

    def get(self, table: str, key: str, default: object = None) -> object:
        """The committed document `key` of `table`, or `default`. Do not mutate it."""
        ...

    def table(self, table: str) -> dict[str, Document]:
        """A snapshot `{key: document}` of a committed table (empty if it does not exist).

        The dict is new; the documents are the store's own: do not mutate them.
        """
        ...

    def tables(self, prefix: str = "") -> list[str]:
        """Names of the tables holding at least one document whose names start with `prefix`, sorted."""
        ...

    def known(self, keys: Iterable[str]) -> set[str]:
        """Those of `keys` whose events are committed, answered from the key index."""
        ...

    def buckets(self) -> list[str]:
        """The event buckets holding committed events, sorted."""
        ...

    def event_count(self, bucket: str | None = None) -> int:
        """How many events are committed in `bucket` (or in all buckets)."""
        ...

    def event_counts(self) -> dict[str, int]:
        """How many events are committed in each bucket holding some, in one read (programs compare
        them at every poll: one query, not one per month of history)."""
        ...

    def events(self, bucket: str, start: int = 0) -> Iterator[Document]:
        """The committed event records of `bucket`, in the order they were recorded, from the
        `start`-th (0: all of them; those before it are not decoded: programs read only what is new)."""
        ...

    def refresh(self) -> None:
        """See what other processes committed since this store last looked (a transaction does
        this itself, under the write lock)."""
        ...

    def leader(self) -> Leader:
        """The leadership lock of this store (one object per store; not taken until `acquire`)."""
        ...

    def transaction(self) -> Transaction:
        """A new transaction holding the write lock (one open at a time); `with` commits it on a
        clean exit. Waits for another process's transaction (StoreLockedError after WRITE_WAIT)."""
        ...

    def apply(self, changes: Changes) -> None:
        """Apply a finished transaction's `changes` atomically: all of them, or, if anything fails
        (an exception, an I/O error, the process killed), none, leaving the last committed state.

        The transaction calls this once, at commit, with non-empty changes, under the write lock
        it holds; called without a transaction, it takes the write lock for its own duration. On
        success the changes are committed and read back by `get`, `table`, `known` and `events`.
        An I/O or database error is raised as StoreError saying the last committed state is intact;
        any other exception is raised as it is.
        """
        ...
