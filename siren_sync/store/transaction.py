"""The one transaction of every backend: a buffer of changes, handed to the store once at commit.

Puts and deletes per table, event lines per bucket and the new key digests are kept in a `Changes`;
`commit()` gives them to `Store.apply`, which writes them atomically. Until then nothing reaches the
store, so a discarded transaction (or a crash before the commit) leaves no trace, and read-only
readers never see a transaction in progress. The transaction reads through the store's public
protocol only (`get`, `known`): a PostgreSQL store reuses it unchanged.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, Self, TypeVar, overload

from siren_sync.store.codec import copy_json, dumps
from siren_sync.store.names import check_bucket, check_key, check_table, key_digest
from siren_sync.store.protocol import Changes, Document, Store

T = TypeVar("T")


class BufferedTransaction:
    """Changes to `store`, applied all at once by `commit()` or not at all (see `protocol.Transaction`).

    Made by `Store.transaction()`, which hands out one at a time and discards it when it closes;
    `on_finish` is called once the transaction is committed or discarded, whatever happened (the
    store releases its write lock there).
    """

    def __init__(self, store: Store, on_finish: Callable[[], None] | None = None):
        self._store = store
        self._changes = Changes()
        self._finished = False
        self._on_finish = on_finish

    def __repr__(self) -> str:
        state = "finished" if self._finished else "open"
        return f"<BufferedTransaction on {self._store!r}, {state}>"

    @property
    def finished(self) -> bool:
        """Whether the transaction was committed or discarded (its store takes a new one)."""
        return self._finished

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()

    def _check_active(self) -> None:
        if self._finished:
            raise RuntimeError("this store transaction is already finished")

    # -- documents ----------------------------------------------------------------------------

    def put(self, table: str, key: str, doc: Mapping[str, Any]) -> None:
        """Set document `key` of `table` to a copy of `doc` (later changes to `doc` don't count)."""
        self._check_active()
        check_table(table)
        check_key(key)
        if not isinstance(doc, Mapping):
            raise ValueError(f"{table} {key}: a document is a JSON object, "
                             f"not {type(doc).__name__}")
        try:
            copy = copy_json(doc)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{table} {key}: the document is not plain JSON ({exc})") from None
        self._changes.documents.setdefault(table, {})[key] = copy

    def put_many(self, table: str, docs: Mapping[str, Document]) -> None:
        """`put` for many new documents of one table, taking them as they are (no copy).

        Closing a period with 100,000 obligations would otherwise spend most of its time copying
        them one by one. The documents become the store's: the caller must not change them after.
        A document that is not plain JSON makes the commit fail, leaving the store as it was. No
        documents is no change (a partition is not rewritten, nor its journal appended, for nothing).
        """
        self._check_active()
        check_table(table)
        if not docs:
            return
        if "" in docs or not set(map(type, docs)) <= {str} or not set(map(type, docs.values())) <= {dict}:
            for key, doc in docs.items():  # the slow pass only to name the bad one
                check_key(key)
                if not isinstance(doc, dict):
                    raise ValueError(f"{table} {key}: a document is a JSON object, not {type(doc).__name__}")
        self._changes.documents.setdefault(table, {}).update(docs)

    def delete(self, table: str, key: str) -> None:
        """Remove document `key` of `table` (nothing happens if it does not exist)."""
        self._check_active()
        check_table(table)
        check_key(key)
        self._changes.documents.setdefault(table, {})[key] = None

    @overload
    def get(self, table: str, key: str) -> Document | None: ...

    @overload
    def get(self, table: str, key: str, default: T) -> Document | T: ...

    def get(self, table: str, key: str, default: object = None) -> object:
        """The document as this transaction would leave it: a copy the caller may change."""
        changes = self._changes.documents.get(table, {})
        doc = changes[key] if key in changes else self._store.get(table, key)
        return default if doc is None else copy_json(doc)

    # -- events -------------------------------------------------------------------------------

    def known(self, keys: Iterable[str]) -> set[str]:
        """Those of `keys` already recorded, committed or appended in this transaction."""
        keys = list(keys)
        committed = self._store.known(keys)
        new = self._changes.keys
        if not new:
            return committed
        return {key for key in keys if key in committed or key_digest(key) in new}

    def append_events(self, bucket: str, records: Iterable[Mapping[str, Any]]) -> None:
        """Append event records (each with a unique string "key") to the ledger bucket `bucket`.

        Raises ValueError, appending nothing, if a key is already recorded or repeated.
        """
        self._check_active()
        check_bucket(bucket)
        records = list(records)
        keys = [record.get("key") if type(record) is dict or isinstance(record, Mapping) else None
                for record in records]  # None: not a mapping, named below in order
        committed = self._store.known([key for key in keys if isinstance(key, str) and key])
        lines: list[bytes] = []
        digests: dict[int, str] = {}
        for record, key in zip(records, keys, strict=True):
            if not isinstance(key, str) or not key:
                raise ValueError(f"event record without a string 'key': {record!r:.200}")
            digest = key_digest(key)
            if key in committed or digest in self._changes.keys:
                raise ValueError(f"event {key!r} is already recorded")
            if digest in digests:
                raise ValueError(f"event {key!r} appears twice in the batch")
            digests[digest] = key
            try:
                lines.append(dumps(record) + b"\n")
            except (TypeError, ValueError) as exc:
                raise ValueError(f"event {key!r} is not plain JSON ({exc})") from None
        if lines:
            self._changes.events.setdefault(bucket, []).extend(lines)
            self._changes.keys.update(digests)

    # -- the end ------------------------------------------------------------------------------

    def commit(self) -> None:
        """Apply every change atomically (`Store.apply`); the transaction is finished either way."""
        self._check_active()
        try:
            if self._changes:
                self._store.apply(self._changes)
        finally:
            self._finish()

    def discard(self) -> None:
        """Drop every change; the store stays as it was."""
        if not self._finished:
            self._finish()

    def _finish(self) -> None:
        self._finished = True
        if self._on_finish is not None:
            on_finish, self._on_finish = self._on_finish, None
            on_finish()

