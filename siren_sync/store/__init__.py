"""The store: the one place that writes siren-sync's state.

`protocol.py` says what a store and a transaction are, whatever the backend; `transaction.py` is the
one transaction every backend shares (a buffer of changes handed to `Store.apply` at commit);
`names.py` and `codec.py` are the names a store accepts and the JSON it writes. `tinydb/` is the
embedded backend: `Store(path, readonly=...)` here is the TinyDB store.
"""
from __future__ import annotations

from siren_sync.store.names import KEY_BYTES, is_partition, key_digest
from siren_sync.store.protocol import Changes
from siren_sync.store.tinydb.manifest import SCHEMA_VERSION
from siren_sync.store.tinydb.store import TinyDBStore
from siren_sync.store.transaction import BufferedTransaction

Store = TinyDBStore

__all__ = ["KEY_BYTES", "SCHEMA_VERSION", "BufferedTransaction", "Changes", "Store", "TinyDBStore",
           "is_partition", "key_digest"]
