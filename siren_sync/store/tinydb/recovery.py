"""Recovery on open: undo what an unfinished commit left in a TinyDB store's folder.

A commit writes new files and appends to partitions' journals, segments and the key index before
it replaces the root (the commit point). A process killed before that point leaves the old root, which still names the
old files and committed lengths: the next writer to open the store cuts the appended files back to
those lengths and removes the files the root does not name. Everything is checked before anything is
changed, so a store whose files disagree with its root (a file missing or shorter than recorded) is
reported and left as it is.
"""
from __future__ import annotations

import logging
from pathlib import Path

from siren_sync.files import TEMP_SUFFIX, truncate_file
from siren_sync.store.tinydb.database import Tables
from siren_sync.store.tinydb.manifest import KEYS_FILE, PARTITIONS, SEGMENTS, store_meta, unreadable
from siren_sync.store.tinydb.partitions import partition_files

log = logging.getLogger(__name__)

FOLDERS = ("tables", "events")  # the folders whose files the root names one by one


def recover(root: Path, folder: Path, data: Tables) -> None:
    """Bring `folder` back to what the root (`data`, read from `root`) names; raise StoreError,
    changing nothing, if a file it names is missing or shorter than recorded."""
    lengths = committed_lengths(folder, data)
    _check(root, folder, data, lengths)
    _cut_back(lengths)
    _remove_unreferenced(folder, data)
    for temp in (root.with_name(root.name + TEMP_SUFFIX), folder / (KEYS_FILE + TEMP_SUFFIX)):
        if temp.exists():
            temp.unlink()


def committed_lengths(folder: Path, data: Tables) -> list[tuple[Path, int]]:
    """Every append-only file of the store (segments, journals, key index) with its committed length."""
    lengths = [(folder / entry["file"], entry["length"]) for entry in data[SEGMENTS].values()]
    lengths += [(folder / entry["journal"], entry["length"]) for entry in data[PARTITIONS].values()
                if "journal" in entry]
    keys = store_meta(data)["keys"]
    if keys["length"] or (folder / KEYS_FILE).exists():
        lengths.append((folder / KEYS_FILE, keys["length"]))
    return lengths


def _check(root: Path, folder: Path, data: Tables, lengths: list[tuple[Path, int]]) -> None:
    for path, length in lengths:
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise unreadable(root, f"{path} is missing") from None
        if size < length:
            raise unreadable(root, f"{path} is shorter than recorded ({size} < {length} bytes)")
    for entry in data[PARTITIONS].values():
        if not (folder / entry["file"]).is_file():
            raise unreadable(root, f"{folder / entry['file']} is missing")


def _cut_back(lengths: list[tuple[Path, int]]) -> None:
    for path, length in lengths:
        if path.stat().st_size > length:
            log.warning("%s: cutting an unfinished write back to %d bytes", path, length)
            truncate_file(path, length)


def _remove_unreferenced(folder: Path, data: Tables) -> None:
    referenced = {name for entry in data[PARTITIONS].values() for name in partition_files(entry)}
    referenced |= {entry["file"] for entry in data[SEGMENTS].values()}
    for name in FOLDERS:
        if not (folder / name).is_dir():
            continue
        for path in (folder / name).iterdir():
            if f"{name}/{path.name}" not in referenced and path.is_file():
                log.warning("%s: removing a file left by an unfinished write", path)
                path.unlink()
