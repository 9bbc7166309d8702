"""What the store accepts as a table name, a document key, an event bucket, and how it remembers a key.

Every backend and the transaction check names here, so a name refused by one store is refused by all,
and an event key has the same 96-bit digest wherever it is recorded (the key index of the TinyDB
store is a file of these digests; a copy from one backend to another keeps them).
"""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache

KEY_BYTES = 12  # the size of an event key's digest: 96 bits, so two keys never collide in practice

BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z")


@lru_cache(maxsize=1 << 16)
def key_digest(key: str) -> int:
    """The 96-bit digest under which an event key is remembered.

    Cached: a new event's key is looked up when a page is buffered, again when it is recorded,
    and once more when it is appended, all within one batch.
    """
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=KEY_BYTES).digest(), "little")


def is_partition(table: str) -> bool:
    """Whether `table` is a partition (its name contains '/'): a big table stored apart from the small
    ones, so that changing it costs its own size, not the whole store's."""
    return "/" in table


def check_table(table: str) -> None:
    """Refuse a table name that is not a non-empty string or that starts with '_' (the store's own)."""
    if not isinstance(table, str) or not table or table.startswith("_"):
        raise ValueError(f"bad table name {table!r} (a non-empty string not starting with '_')")


def check_key(key: str) -> None:
    """Refuse a document key that is not a non-empty string."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"bad document key {key!r} (a non-empty string)")


def check_bucket(bucket: str) -> None:
    """Refuse an event bucket that could not be a file name (it names a segment file)."""
    if not isinstance(bucket, str) or not BUCKET.match(bucket):
        raise ValueError(f"bad event bucket {bucket!r} (letters, digits, '.', '_', '-')")
