"""sandbox/generate.py: the same site for the same seed; exact counts for benchmarks."""
from __future__ import annotations

from siren_sync.sandbox import Sandbox, shapes
from tests.support.loopback import START


def test_determinism_by_seed():
    a = Sandbox(seed=11, start=START, history_days=5, days=5, orders_per_day=20)
    b = Sandbox(seed=11, start=START, history_days=5, days=5, orders_per_day=20)
    c = Sandbox(seed=12, start=START, history_days=5, days=5, orders_per_day=20)
    for box in (a, b, c):
        box.site.url = "http://127.0.0.1:1"
        box.advance(3 * 86400)

    def dump(box):
        return [shapes.order_bytes(box.site, o) for o in sorted(box.site.orders.values(), key=lambda o: o.id)]

    assert dump(a) == dump(b)
    assert dump(a) != dump(c)
    assert a.credentials == b.credentials != c.credentials
    assert [(e.id, e.collaborator_id, e.created) for e in a.site.engagements.values()] == \
           [(e.id, e.collaborator_id, e.created) for e in b.site.engagements.values()]


def test_exact_counts_for_benchmarks():
    box = Sandbox(orders=3000, refunds=40, full_refunds=25, start=START, prerender=False)
    site = box.site
    assert len(site.orders) == 3000
    partial = [r for r in site.refunds.values() if r.lines]
    full = [r for r in site.refunds.values() if not r.lines]
    assert len(partial) == 40 and len(full) == 25
    assert site.status_counts["refunded"] == 25
    assert all(o.created < site.now and o.modified <= site.now for o in site.orders.values())
    ids = sorted(site.orders)
    by_created = sorted(site.orders.values(), key=lambda o: (o.created, o.id))
    assert [o.id for o in by_created] == ids  # ids grow with creation time, like WordPress
    eur = sum(1 for o in site.orders.values() if o.currency == "EUR")
    assert 0 < eur < 0.15 * len(site.orders)
    assert any(o.coupon_lines for o in site.orders.values())
    for o in site.orders.values():
        if o.refunds:
            assert o.paid is not None and all(r.created >= o.paid for r in o.refunds)
            assert o.modified >= max(r.created for r in o.refunds)
