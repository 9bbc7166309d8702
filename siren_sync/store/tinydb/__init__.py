"""The TinyDB backend: siren-sync's state in a root file and a folder beside it, on one machine.

Split by question: `database.py` (TinyDB over files written whole and atomically), `manifest.py`
(what the root holds and names, and whether it can be read), `keyindex.py` (the digests of recorded
event keys), `segments.py` (reading the event ledger), `partitions.py` (a partition's base and
journal), `commit.py` (one commit, up to the root's rename), `recovery.py` (undoing an unfinished
commit on open), `lock.py` (one writer), and `store.py` (the store itself).
"""
from __future__ import annotations

from siren_sync.store.tinydb.store import TinyDBStore

__all__ = ["TinyDBStore"]
