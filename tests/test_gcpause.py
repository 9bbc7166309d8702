"""The cyclic collector kept off bulk work, and what a sync's blocks leave set aside until its end."""
from __future__ import annotations

import gc

from siren_sync.gcpause import holding_survivors, without_gc_pauses


def test_a_block_that_sets_its_survivors_aside_leaves_the_collector_nothing_of_it_to_scan():
    gc.unfreeze()
    with holding_survivors():
        with without_gc_pauses(survivors_aside=True):
            kept = [{"reward": str(n)} for n in range(1000)]  # a run's reward documents, say
            assert not gc.isenabled()
        assert gc.isenabled() and gc.get_freeze_count() >= len(kept)
        assert gc.get_count()[0] < 100  # the collector's count starts again: no collection due
    assert gc.get_freeze_count() == 0  # the sync's end gives everything back


def test_outside_a_sync_a_block_sets_nothing_aside():
    gc.unfreeze()
    with without_gc_pauses(survivors_aside=True):
        kept = [{"reward": str(n)} for n in range(1000)]
    assert gc.isenabled() and gc.get_freeze_count() == 0 and len(kept) == 1000
