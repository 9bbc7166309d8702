"""The key index of a TinyDB store: `keys.bin`, the digests of every recorded event key.

Append-only, `KEY_BYTES` bytes per key (little-endian, as `names.key_digest` makes them), in the
order the events were recorded; the root records its committed length. Read once into a set of
ints, it answers "already recorded?" without reading the ledger: a million keys are 12 MB on disk.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from siren_sync.store.names import KEY_BYTES
from siren_sync.store.tinydb.manifest import unreadable


def read_key_index(root: Path, path: Path, length: int, start: int = 0) -> set[int]:
    """The digests in bytes `start` to `length` (the committed ones) of the key index at `path`
    (from `start`: what another writer appended since this store read up to there)."""
    blob = b""
    if length > start:
        with open(path, "rb") as file:
            file.seek(start)
            blob = file.read(length - start)
        if len(blob) != length - start:
            raise unreadable(root, f"{path} is shorter than recorded")
    return {int.from_bytes(blob[i:i + KEY_BYTES], "little") for i in range(0, len(blob), KEY_BYTES)}


def encode_keys(digests: Iterable[int]) -> bytes:
    """The bytes that append `digests` to the key index."""
    return b"".join(digest.to_bytes(KEY_BYTES, "little") for digest in digests)
