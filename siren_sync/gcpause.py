"""Keeping Python's cyclic garbage collector off objects that are built in bulk or kept for long.

Closing a period makes a few objects per collaborator (100,000s of them) and loading a large
config one per value; none of them is in a reference cycle, yet the cyclic collector would scan
them over and over as they are made (a third of a close, a sixth of a config load):
`without_gc_pauses` turns it off for such a block. Reference counting still frees everything; the
collector resumes afterwards.

A sync keeps what each recorded batch leaves behind (the ledger's open periods, the store's cached
tables, and for programs the batch's events themselves, decoded orders and all) until its end, and
every full collection would scan all of it again: with programs, as much collector time again as
the ledger's own. Within `holding_survivors` (a sync, its rewards included), `set_aside_survivors`
after each recorded batch moves what survived it out of the collector's view (`gc.freeze`); the
block's end gives it all back, whatever ended it, so what became cyclic garbage meanwhile is
collected then (a sync makes none in practice: measured). Programs' rewards, made with the
collector off, set theirs aside the same way as the collector resumes (`survivors_aside`): else the
first allocation after it would scan every reward document just made (3% of the rewards of the
steady state's polls, benchmark 9).
"""
from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def without_gc_pauses(survivors_aside: bool = False) -> Iterator[None]:
    """Run the block with the cyclic collector off (as it was before, afterwards); with
    `survivors_aside`, what the block leaves is set aside first (`set_aside_survivors`)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if survivors_aside:
            set_aside_survivors()
        if enabled:
            gc.enable()


_holding = 0  # how many `holding_survivors` blocks are open (a sync within a sync: none today)


@contextmanager
def holding_survivors() -> Iterator[None]:
    """Run a sync: `set_aside_survivors` sets aside within it, and its end releases, on every path
    (a source failing, a stop, a lost leadership)."""
    global _holding
    _holding += 1
    try:
        yield
    finally:
        _holding -= 1
        if not _holding:
            gc.unfreeze()


def set_aside_survivors() -> None:
    """After a batch of a sync is recorded: the collector no longer scans what exists now (outside
    `holding_survivors`, nothing: no block would give it back)."""
    if _holding:
        gc.freeze()
