"""The worker against the in-process sandbox site, stepped by hand on the site's simulated clock
(no sleeping): periods close after their trigger with exact splits, each record reaches the site
once, missed periods are caught up one by one, a failing poll does not stop the loop, and
SIGTERM ends `run()` cleanly."""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from siren_sync import history as closed_history
from siren_sync.config import load_config
from siren_sync.demo import SIREN_IDS, sandbox_config_text, sandbox_env
from siren_sync.engine.closing import slug_of
from siren_sync.errors import StoreLockedError
from siren_sync.sandbox import DEFAULT_START, Sandbox
from siren_sync.sources import http
from siren_sync.store import Store
from siren_sync.worker import Worker

DAY = 86400
# The sandbox starts at midnight, 2026-11-01, New York; weekly periods end at midnight (EST after the DST change).
FIRST_END = "2026-11-08T00:00:00-05:00"
TRIGGER = DEFAULT_START + timedelta(days=7, hours=1)  # 2026-11-08 05:00 UTC

REST = """\
sync:
  every: {every}
  overlap: 5m
  woocommerce: {{enabled: true}}
  siren: {{enabled: true, collaborator_ids: {siren_ids}}}
distributors:
  salesBonus:
    name: Weekly Sales Bonus
    distributionResolver: topScoreWins
    units: USD
    schedule: ["+1 week"]
    startsAt: 2026-11-01
    engagementTypes: {{boundCouponUsed: 5, collaboratorProductSold: 2}}
    revenuePercentage: 5
  productShare:
    name: Product Share
    distributionResolver: performanceSharedPool
    units: USD
    schedule: ["+1 week"]
    startsAt: 2026-11-01
    engagementTypes: {{collaboratorProductSold: 1}}
    revenuePercentage: 20
    lineItemFilters: {{collaboratorOwned: true}}
  referralPool:
    name: Referral Pool
    distributionResolver: sharedEngagementPool
    units: USD
    schedule: ["+1 week"]
    startsAt: 2026-11-01
    engagementTypes: {{referredSiteVisit: 1}}
    revenuePercentage: 2
"""
PERCENT = {"salesBonus": 5, "productShare": 20, "referralPool": 2}


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch):
    """Retries stay bounded but never sleep (the default policy waits 1s, 2s, 4s...)."""
    real = http.RetryPolicy
    monkeypatch.setattr(http, "RetryPolicy", lambda **kw: real(**{"initial": 0, "maximum": 0, "jitter": 0, **kw}))


def make_worker(sb: Sandbox, folder, every: str = "5m") -> Worker:
    path = folder / "siren.yaml"
    path.write_text(sandbox_config_text(sb.url, REST.format(every=every, siren_ids=SIREN_IDS)))
    config = load_config(path, env=sandbox_env(sb.credentials))
    return Worker(config, clock=lambda: sb.now, fetch_timezone=lambda: sb.site.timezone_name)


@pytest.fixture
def sandbox():
    with Sandbox(seed=3, days=24, orders_per_day=10, lms=False) as sb:
        yield sb


@pytest.fixture
def worker(sandbox, tmp_path):
    w = make_worker(sandbox, tmp_path)
    yield w
    w.app.close()  # closing twice is harmless


def history(worker) -> list[dict]:
    """Closed distributions as records: the summary and the public obligations."""
    return [dict(d.summary_record(), **d.public_record()) for d in closed_history.history(worker.app.store)]


def by_distributor(records) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for r in records:
        out.setdefault(r["distributor"], []).append(r)
    return out


def assert_exact_split(record: dict) -> None:
    revenue, pool = Decimal(record["revenue"]), Decimal(record["pool"])
    expected = (revenue * PERCENT[record["distributor"]] / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert pool == max(expected, Decimal("0.00")), record["id"]
    amounts = [Decimal(o["amount"]) for o in record["obligations"]]
    assert sum(amounts) == pool, record["id"]  # to the cent
    assert all(a == a.quantize(Decimal("0.01")) for a in amounts)


def test_a_full_week_closes_after_the_trigger_and_each_record_reaches_the_site_once(worker, sandbox):
    for _ in range(7):  # a week of daily turns: nothing is due yet
        worker.step()
        sandbox.advance(DAY)
    assert sandbox.now < TRIGGER
    worker.step()
    assert history(worker) == [] and sandbox.stats.posts_created == []

    sandbox.set_now(TRIGGER)
    worker.step()
    closed = by_distributor(history(worker))
    assert sorted(closed) == ["productShare", "referralPool", "salesBonus"]
    for key, [record] in closed.items():
        assert record["period_start"] == "2026-11-01T00:00:00-04:00" and record["period_end"] == FIRST_END
        assert Decimal(record["pool"]) > 0 and record["obligations"], key
        assert_exact_split(record)
    [winner] = closed["salesBonus"][0]["obligations"]  # topScoreWins: the whole pool to one
    assert winner["amount"] == closed["salesBonus"][0]["pool"]
    shares = {Decimal(o["amount"]) for o in closed["referralPool"][0]["obligations"]}
    assert max(shares) - min(shares) <= Decimal("0.01")  # equal shares, left cents by rule
    scores = {o["collaborator"]: Decimal(o["score"]) for o in closed["productShare"][0]["obligations"]}
    pool = Decimal(closed["productShare"][0]["pool"])
    for o in closed["productShare"][0]["obligations"]:  # weighted by score, within a cent
        assert abs(Decimal(o["amount"]) - pool * scores[o["collaborator"]] / sum(scores.values())) < Decimal("0.01")

    posts = sandbox.stats.posts_created
    assert sorted(p["slug"] for p in posts) == sorted(slug_of(r["id"]) for [r] in closed.values())
    assert {p["status"] for p in posts} == {"private"}

    for _ in range(3):  # stepping again (also later in the new week) changes nothing
        worker.step()
        sandbox.advance(3600)
    assert len(history(worker)) == 3 and len(sandbox.stats.posts_created) == 3
    assert {e["status"] for e in worker.app.store.table("outbox").values()} == {"posted"}


def test_periods_missed_during_downtime_close_one_by_one_in_order(worker, sandbox, caplog):
    worker.step()
    sandbox.set_now(DEFAULT_START + timedelta(days=21, hours=2))  # three weeks down, never stepped
    with caplog.at_level(logging.INFO, logger="siren_sync.worker"):
        worker.step()
    closed = by_distributor(history(worker))
    ends = ["2026-11-08T00:00:00-05:00", "2026-11-15T00:00:00-05:00", "2026-11-22T00:00:00-05:00"]
    for key, records in closed.items():
        assert [r["period_end"] for r in records] == ends, key
        for r in records:
            assert r["late_events"] == 0  # every event in its own week, not piled into the first
            assert_exact_split(r)
        logged = [
            m.split(":")[0].removeprefix("closed ") for m in caplog.messages if m.startswith(f"closed {key.lower()}-")
        ]
        assert logged == [r["id"] for r in records]  # closed in order
    revenues = [Decimal(r["revenue"]) for r in closed["salesBonus"]]
    assert len(set(revenues)) == 3  # three separate periods, three different revenues
    assert len(sandbox.stats.posts_created) == 9
    worker.step()
    assert len(history(worker)) == 9 and len(sandbox.stats.posts_created) == 9


def test_a_failing_poll_is_logged_and_the_loop_goes_on_without_a_hot_retry(worker, sandbox, caplog):
    worker.step()
    recorded = worker.app.store.event_count()
    sandbox.advance(DAY)
    sandbox.faults.update({"rate_5xx": 1.0, "html_errors": True})
    sandbox.stats.reset()
    with caplog.at_level(logging.ERROR, logger="siren_sync.worker"):
        worker.step()  # must not raise
    failed = [m for m in caplog.messages if m.startswith("poll ") and "failed, retried next turn" in m]
    assert any(m.startswith("poll woocommerce failed") for m in failed)
    assert any(m.startswith("poll siren failed") for m in failed)
    assert all("(gave up after 5 attempts)" in m and "| shop)" in m for m in failed)  # the error page's title
    # bounded retries, per source, and one try at the orders listing's description (OPTIONS)
    assert sandbox.stats.requests == {
        "OPTIONS /wc/v3/orders": 1,
        "GET /wc/v3/orders": 5,
        "GET /siren/v1/engagements": 5,
    }

    sandbox.stats.reset()
    worker.step()  # the same moment again: the failed sources wait for their next turn
    assert sum(sandbox.stats.requests.values()) == 0

    sandbox.faults.reset()
    sandbox.advance(600)
    caplog.clear()
    worker.step()
    assert not [m for m in caplog.messages if "failed" in m]
    assert worker.app.store.event_count() > recorded  # the day's orders and visits arrived


def test_sources_are_synced_up_to_the_trigger_before_closing(sandbox, tmp_path):
    worker = make_worker(sandbox, tmp_path, every="1d")  # polls are due once a day only
    try:
        worker.step()
        sandbox.set_now(TRIGGER - timedelta(hours=4))
        worker.step()  # the last regular poll before the trigger
        sandbox.advance(2 * 3600)
        with sandbox.site.lock:  # a customer pays an open order two hours before the trigger
            unpaid = [o for o in sandbox.site.orders.values() if o.paid is None and o.status in ("pending", "on-hold")]
            order = sandbox.site.set_order_status(unpaid[0].id, "processing")
        sandbox.set_now(TRIGGER)
        worker.step()  # no regular poll is due; closing syncs first
        assert_paid_order_counted_in_the_closed_week(worker, order.id)
    finally:
        worker.app.close()


def test_closing_waits_while_the_site_cannot_be_synced(sandbox, tmp_path, caplog):
    worker = make_worker(sandbox, tmp_path, every="1d")
    try:
        worker.step()
        sandbox.set_now(TRIGGER - timedelta(hours=4))
        worker.step()
        sandbox.advance(2 * 3600)
        with sandbox.site.lock:
            unpaid = [o for o in sandbox.site.orders.values() if o.paid is None and o.status in ("pending", "on-hold")]
            order = sandbox.site.set_order_status(unpaid[0].id, "processing")
        sandbox.set_now(TRIGGER)
        sandbox.faults.update({"rate_5xx": 1.0})  # the site is down at trigger time
        worker.step()
        assert history(worker) == [] and sandbox.stats.posts_created == []
        assert any(m.startswith("closing deferred to the next turn: woocommerce, siren") for m in caplog.messages)
        sandbox.faults.reset()
        sandbox.advance(600)
        worker.step()
        assert_paid_order_counted_in_the_closed_week(worker, order.id)
        assert len(sandbox.stats.posts_created) == 3
    finally:
        worker.app.close()


def test_closing_goes_ahead_an_hour_after_the_trigger_if_the_site_stays_down(sandbox, tmp_path, caplog):
    """A source that never recovers (a removed plugin) must not hold every payout back for ever."""
    worker = make_worker(sandbox, tmp_path, every="1d")
    try:
        worker.step()
        sandbox.set_now(TRIGGER + timedelta(minutes=61))
        sandbox.faults.update({"rate_5xx": 1.0})
        worker.step()
        assert len(history(worker)) == 3
        assert any(m.startswith("closing anyway") for m in caplog.messages)
    finally:
        worker.app.close()


def assert_paid_order_counted_in_the_closed_week(worker, order_id: int) -> None:
    closed = by_distributor(history(worker))
    assert closed["salesBonus"][0]["period_end"] == FIRST_END
    sale = {e["key"]: e for e in _events(worker)}.get(f"woocommerce:sale:{order_id}")
    assert sale is not None, "the order paid before the trigger was not synced before closing"
    assert not sale.get("late")
    assert sale["periods"]["salesBonus"] == closed["salesBonus"][0]["period_start"]


def _events(worker):
    store = worker.app.store
    return [e for bucket in store.buckets() for e in store.events(bucket)]


def _store_is_free(worker) -> bool:
    """Whether another worker could lead the store now (the worker let its lead go)."""
    with Store(worker.config.store_path) as store:
        return store.leader().acquire()


def test_run_with_a_time_limit_exits_0_and_releases_the_store(worker, sandbox):
    sandbox.advance(DAY)
    assert worker.run(max_seconds=0.2) == 0
    assert _store_is_free(worker)
    with Store(worker.config.store_path, readonly=True) as store:
        assert store.event_count() > 0  # the first turn synced before the limit


def test_sigterm_finishes_the_step_and_exits_0(worker):
    before = signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        assert worker.run(max_seconds=20) == 0
    finally:
        timer.cancel()
    assert worker.stopping
    assert _store_is_free(worker)
    assert signal.getsignal(signal.SIGTERM) == before  # the process gets its own handler back


# -- leadership -------------------------------------------------------------------------------------

class FakeLeader:
    """A PostgreSQL-like leader (others wait) whose answers the test sets."""

    waits = True

    def __init__(self):
        self.free = False
        self.alive = True
        self.released = 0

    def acquire(self) -> bool:
        return self.free

    def holder(self) -> str:
        return "siren-sync leader pid 4242@web.1 since 2026-11-02T12:00:00+00:00"

    def held(self) -> bool:
        return self.alive

    def release(self) -> None:
        self.released += 1


def test_a_standby_says_so_once_takes_over_when_free_and_stands_by_again_when_its_lock_is_lost(caplog, monkeypatch):
    from siren_sync import worker as worker_module

    now = [1000.0]
    monkeypatch.setattr(worker_module.time, "monotonic", lambda: now[0])
    leader = FakeLeader()
    lead = worker_module.Leadership(leader, 30, "postgresql://app@db/site (namespace shop)")
    with caplog.at_level(logging.INFO, logger="siren_sync.worker"):
        assert not lead.check()
        now[0] += 10
        assert not lead.check()  # asked again after a third of the timeout, said once
        standby = [r.getMessage() for r in caplog.records if "standby" in r.getMessage()]
        assert standby == ["standby: store postgresql://app@db/site (namespace shop) is led by siren-sync leader "
                           "pid 4242@web.1 since 2026-11-02T12:00:00+00:00; this worker waits and takes over "
                           "within 30 s of it stopping"]
        leader.free = True
        now[0] += 5
        assert not lead.check()  # not asked before its time
        now[0] += 5
        assert lead.check() and lead.took_over
        assert not lead.check() or not lead.took_over  # a full turn only once, on taking over
        leader.alive, leader.free = False, False
        now[0] += 10
        assert not lead.check()
    assert any("no longer leading store postgresql://app@db/site (namespace shop)" in r.getMessage()
               for r in caplog.records if r.levelno == logging.ERROR)
    assert leader.released == 1


def test_a_second_worker_on_a_tinydb_store_is_refused_naming_the_first(worker, sandbox):
    with Store(worker.config.store_path) as other:
        assert other.leader().acquire()
        with pytest.raises(StoreLockedError, match=rf"store {re.escape(str(worker.config.store_path))} is in use by "
                                                   rf"another siren-sync process \(pid {os.getpid()}, lock "):
            worker.run(max_seconds=5)
