"""Reading the event ledger of a TinyDB store: JSON Lines segments, one per bucket.

A segment is append-only; only its first `length` bytes (the length the root records) are
committed. Bytes after them belong to a commit in progress or cut short, and are never read.
`read_lines` is that rule for every append-only JSON Lines file of the store (the partitions'
journals too).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from siren_sync.store.tinydb.manifest import unreadable


def read_segment(root: Path, path: Path, length: int, skip: int = 0) -> Iterator[dict[str, Any]]:
    """The event records in the first `length` bytes of the segment at `path`, in order, but the
    first `skip` (their lines are checked, not parsed)."""
    try:
        file = open(path, "rb")
    except OSError as exc:
        raise unreadable(root, f"{path}: {exc.strerror or exc}") from None
    with file:
        for _, record in read_lines(root, path, file, length, skip):
            yield record


def read_lines(root: Path, path: Path, file: IO[bytes], length: int, skip: int = 0) -> Iterator[tuple[int, Any]]:
    """The line numbers and JSON values of the lines in the first `length` bytes of `file` (the file
    at `path`, open at its start), but the first `skip`; a StoreError (`unreadable`, naming the file
    and line) for a line that crosses `length` or is not JSON, or a file shorter than `length`."""
    remaining = length
    for number, line in enumerate(file, 1):
        if remaining <= 0:
            break
        remaining -= len(line)
        if remaining > 0 and not line.endswith(b"\n"):  # the file's last line, cut short
            break
        if remaining < 0 or not line.endswith(b"\n"):
            raise unreadable(root, f"{path}: line {number} crosses the committed length")
        if number <= skip:
            continue
        try:
            yield number, json.loads(line)
        except ValueError as exc:
            raise unreadable(root, f"{path}: line {number} is not JSON ({exc})") from None
    if remaining > 0:
        raise unreadable(root, f"{path} is shorter than recorded")
