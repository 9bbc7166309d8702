"""Reading the event ledger of a TinyDB store: JSON Lines segments, one per bucket.

A segment is append-only; only its first `length` bytes (the length the root records) are
committed. Bytes after them belong to a commit in progress or cut short, and are never read.
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from siren_sync.store.tinydb.manifest import unreadable


def read_segment(root: Path, path: Path, length: int, skip: int = 0) -> Iterator[dict[str, Any]]:
    """The event records in the first `length` bytes of the segment at `path`, in order, but the
    first `skip` (their lines are checked, not parsed)."""
    remaining = length
    try:
        file = open(path, "rb")
    except OSError as exc:
        raise unreadable(root, f"{path}: {exc.strerror or exc}") from None
    with file:
        for number, line in enumerate(file, 1):
            if remaining <= 0:
                break
            remaining -= len(line)
            if remaining < 0 or not line.endswith(b"\n"):
                raise unreadable(root, f"{path}: line {number} crosses the committed length")
            if number <= skip:
                continue
            try:
                yield json.loads(line)
            except ValueError as exc:
                raise unreadable(root, f"{path}: line {number} is not JSON ({exc})") from None
    if remaining > 0:
        raise unreadable(root, f"{path} is shorter than recorded")
