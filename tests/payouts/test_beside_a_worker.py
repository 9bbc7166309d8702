"""The payout commands that record (`approve`, `fulfill`, `fulfillment complete`) work while a
worker runs, on both backends: they wait their turn at the write lock; the worker's own jobs
(closing) stay refused."""
from __future__ import annotations

import pytest

from tests.payouts.helpers import JANUARY, LATER, close, credits, fulfillments, shop, statuses
from tests.support.beside import hold, on_backend


@pytest.mark.parametrize("backend", ["tinydb", "postgres"])
def test_approve_fulfill_and_complete_beside_a_leading_worker(site, backend):
    shop(site, "  review: true\n")
    on_backend(site, backend)
    credits(site)
    close(site)
    worker = hold(site, "lead", 60)
    try:
        code, out, err = site.run("approve", JANUARY)
        assert code == 0 and out.startswith(f"approved {JANUARY}"), err
        code, out, err = site.run("fulfill", "--out", str(site.root / "payouts.csv"), "--as-of", LATER)
        assert code == 0, err
        [made] = fulfillments(site)
        assert made["status"] == "open" and made["payouts"] == 3
        assert (site.root / "payouts.csv").read_text().count("\n") == 4  # the header and three payouts
        code, _, err = site.run("fulfillment", "complete", made["id"], "--paid-at", LATER)
        assert code == 0, err
        assert set(statuses(site).values()) == {"paid"}
        code, _, err = site.run("distribute", "--as-of", "2025-03-01T00:00:00+00:00")
        assert code == 1 and "a siren-sync worker leads store" in err
    finally:
        worker.kill()
        worker.wait(30)
