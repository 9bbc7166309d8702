"""The store: the one place that writes siren-sync's state.

`protocol.py` says what a store and a transaction are, whatever the backend; `transaction.py` is the
one transaction every backend shares (a buffer of changes handed to `Store.apply` at commit);
`names.py` and `codec.py` are the names a store accepts and the JSON it writes. `tinydb/` is the
embedded backend (`Store(path, readonly=...)` here is the TinyDB store), `postgres/` the one for
hosting platforms; `make_store` picks one from the config's `store:` section, and `copy.py`
copies a store from one backend to the other.
"""
from __future__ import annotations

from pathlib import Path

from siren_sync.errors import ConfigError
from siren_sync.store.names import KEY_BYTES, is_partition, key_digest
from siren_sync.store.protocol import Changes
from siren_sync.store.protocol import Store as StoreProtocol
from siren_sync.store.tinydb.manifest import SCHEMA_VERSION
from siren_sync.store.tinydb.store import TinyDBStore
from siren_sync.store.transaction import BufferedTransaction

Store = TinyDBStore


def make_store(path: Path, url: str | None = None, namespace: str = "", *, readonly: bool = False,
               leader_timeout: float = 30.0) -> StoreProtocol:
    """The store of a config's `store:` section, not opened yet: PostgreSQL when a `url` is given,
    else the TinyDB file at `path`."""
    if url is None:
        return TinyDBStore(path, readonly=readonly)
    try:
        from siren_sync.store.postgres.store import PostgresStore
    except ImportError as exc:
        raise ConfigError(f"store.url needs PostgreSQL support, which is not installed ({exc}): "
                          "pip install 'siren-sync[postgres]'") from None
    return PostgresStore(url, namespace, readonly=readonly, leader_timeout=leader_timeout)


__all__ = ["KEY_BYTES", "SCHEMA_VERSION", "BufferedTransaction", "Changes", "Store", "TinyDBStore",
           "is_partition", "key_digest", "make_store"]
