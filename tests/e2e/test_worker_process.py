"""End to end: the real `siren-sync run` process against the sandbox site process, over loopback.

The worker's clock is the sandbox's simulated clock (`run --clock`), and `sync.every: 1s` makes it
poll in real time while the tests move the simulated clock. What is checked:

1. a full weekly period with the three resolvers: amounts add up to the pools, revenue matches the
   sandbox's own orders, the site received each record exactly once;
2. crash safety: SIGKILL at ten (seeded) moments, aimed at a sync, at the closing, at publishing
   (with sandbox latency to widen the windows), restarts, then a clean run: the history is exactly
   that of a reference run of the same seed and clock steps without kills, and the site holds each
   record once (`check_once`); a POST still in flight after a kill, or one the living worker gave
   up waiting for, made certain with the site holding the writes, is waited for rather than sent
   again;
3. SIGTERM exits 0 mid-sync and mid-publish, and nothing is lost (history equals the reference);
4. a second worker on the same store is refused, naming the lock.
"""
from __future__ import annotations

import json
import random
import re
import time
from decimal import Decimal

import pytest

from tests.support.e2e import (
    DISTRIBUTORS,
    TOTAL_STEPS,
    Choreography,
    check_amounts,
    check_once,
    diff,
    true_revenue,
    wait_until,
)

pytestmark = pytest.mark.e2e


# -- 1. a full weekly period with the three resolvers ---------------------------------------------

def test_full_weekly_period_three_resolvers(make_site):
    site = make_site("weekly", seed=5, schedule="+1 week", days=9, orders_per_day=25)
    w = site.worker("weekly")
    w.wait_for_log("worker started", timeout=60)
    clock = site.sandbox.advance(8 * 86400)  # past the first weekly trigger (Nov 8, midnight New York)
    history = wait_until(lambda: site.all_closed(clock), 60, 0.3, "the first weekly distributions")
    wait_until(lambda: len(site.sandbox.posted_slugs()) >= 3, 60, 0.3, "three records posted")
    time.sleep(2)  # a few more worker turns: nothing may be closed or posted again
    history = site.history()

    assert {d["distributor"] for d in history} == set(DISTRIBUTORS)
    assert all(d["period_end"] == "2026-11-08T00:00:00-05:00" for d in history), history
    assert all(d["obligations"] for d in history), "every resolver should pay someone in a busy week"
    check_amounts(history)
    check_once(site, history, clock)
    # the pool's revenue is the truth from the sandbox's own orders (no filter: every USD order)
    truth = true_revenue(5, 9, 25, clock, site.period_ends(clock))
    by_key = {d["distributor"]: d for d in history}
    (expected,) = truth.values()
    assert Decimal(by_key["salesBonus"]["revenue"]) == expected
    assert Decimal(by_key["referralPool"]["revenue"]) == expected
    assert Decimal(by_key["instructorRevenueShare"]["revenue"]) < expected  # only collaborator-owned lines
    # the records carry the distribution
    posts = {p["slug"]: p for p in site.sandbox.stats()["posts_created"]}
    for d in history:
        post = posts["siren-sync-" + d["id"]]
        assert post["status"] == "private"
        meta = json.loads(post["meta"]["siren_sync"])
        assert meta["pool"] == d["pool"] and meta["id"] == d["id"]
    assert w.sigterm() == 0


# -- 2. crash safety ---------------------------------------------------------------------------

# Where each kill is aimed (cycled over the ten kills): a random moment after a clock step, while a
# sync reads pages, just after a period closed (before or while publishing), around the POST of a
# record (latency keeps it in flight), or during the catch-up right after a restart.
KILL_AIMS = ["random", "sync", "closed", "post", "startup", "sync", "closed", "random", "post", "closed"]


def test_sigkill_ten_times_then_history_equals_reference(make_site, reference):
    rng = random.Random(20261101)
    site = make_site("crash")
    sb = site.sandbox
    sb.faults(latency_ms=[5, 30], rate_5xx=0.01, seed=7)  # slow every API call a little, a few 5xx
    steps = Choreography(site, TOTAL_STEPS)
    for n, aim in enumerate(KILL_AIMS):
        w = site.worker(f"crash-{n}")
        mark = w.mark()
        if aim == "startup":
            time.sleep(rng.uniform(0.8, 2.5))  # python start-up takes about 0.7 s
        elif aim == "random":
            steps.step()
            time.sleep(rng.uniform(0.0, 2.0))
        elif aim == "sync":
            steps.step()
            mark = w.mark()
            w.wait_for_log(r"woocommerce: page|siren: page|lifterlms: page", since=mark, timeout=30)
            time.sleep(rng.uniform(0.0, 0.15))
        else:  # closed / post: step until a trigger is crossed, then aim at the closing
            while not steps.done and not steps.crosses():
                steps.step()
            if steps.done:
                time.sleep(rng.uniform(0.0, 1.0))
            else:
                mark = w.mark()
                steps.step()
                w.wait_for_log(r"closed \S+:", since=mark, timeout=60)
                time.sleep(rng.uniform(0.0, 0.05) if aim == "closed" else rng.uniform(0.05, 0.4))
        alive = w.alive()
        code = w.sigkill()
        assert not alive or code == -9, f"kill {n}: the worker exited with {code} before the kill"
    # the kills did hit closings and publishing at least sometimes
    assert sb.stats()["posts_created"], "no record was posted during the crash phase"

    sb.faults(reset=True)
    final = site.worker("final")
    history = steps.finish()
    time.sleep(2)  # a few more turns: nothing is posted twice
    assert final.sigterm() == 0
    history = site.history()
    check_once(site, history, steps.clock)
    check_amounts(history)
    assert history == reference["history"], diff(history, reference["history"])
    assert sb.record_slugs() == sorted(reference["slugs"])


def _closed_with_writes_held(site, worker) -> list[dict]:
    """The history once the worker closed the first daily periods (Nov 2, midnight New York) with
    the site holding every write: three records to post, none carried out."""
    steps = Choreography(site, 8)
    worker.wait_for_log("worker started", timeout=60)
    site.sandbox.faults(hold_writes=True)
    while not steps.crosses():
        steps.step()
    steps.step()
    return wait_until(lambda: site.all_closed(steps.clock), 60, 0.3, "the first closings")


def test_a_post_still_in_flight_after_a_kill_is_waited_for_not_sent_again(make_site):
    """The window the write-ahead and the lookup leave, made certain: the site holds the writes (a
    busy host queueing PHP requests) and the worker is killed while its POST waits there. The next
    worker looks the slug up (nothing yet) and, the record being `posting` since a moment ago,
    does not post it again before PUBLISH_SETTLE (it posts the others); the site then carries out
    the dead worker's POST, and the next lookup finds it. No copy is ever made."""
    site = make_site("late", days=2)
    sb = site.sandbox
    first = site.worker("first")
    history = _closed_with_writes_held(site, first)
    wait_until(lambda: sb.faults()["held"] == 1, 30, 0.1, "the first worker's POST held by the site")
    assert first.sigkill() == -9 and sb.posted_slugs() == []
    second = site.worker("second")
    waits = second.wait_for_log(r"a POST of it, in flight \d+ s ago, may still be carried out", timeout=60)
    wait_until(lambda: sb.faults()["held"] == 2, 20, 0.1, "the second worker's POST of the next record")
    sb.faults(hold_writes=False)  # the dead worker's POST is carried out first, then the second's
    want = sorted("siren-sync-" + d["id"] for d in history)
    wait_until(lambda: set(sb.record_slugs()) >= set(want), 60, 0.3, "every record on the site")
    time.sleep(2)  # a few more turns: nothing is posted again
    assert sb.record_slugs() == want and sorted(sb.posted_slugs()) == want  # each posted once
    slug = waits.split(" INFO siren_sync.publish: ")[1].split(":")[0]
    assert sb.posted_slugs()[0] == slug  # the dead worker's POST, carried out after its death
    second.wait_for_log(f"record {slug} already on the site", timeout=10)
    assert second.sigterm() == 0


def test_a_post_that_timed_out_is_waited_for_by_its_worker_not_sent_again(make_site):
    """The same window without a kill: the site holds each POST past the worker's read timeout (2 s
    here, `run --read-timeout`; 30 s for users), so the living worker gives up on it while the site
    will still carry it out. Each record is then looked up on each turn and not posted again before
    PUBLISH_SETTLE (without that, the next turn posts it again and the site saves a `-2` copy); the
    site carries the held POSTs out, and the lookups find them. Each record is posted once."""
    site = make_site("timeout", days=2)
    sb = site.sandbox
    w = site.worker("w", "--read-timeout", "2")
    history = _closed_with_writes_held(site, w)
    want = sorted("siren-sync-" + d["id"] for d in history)
    for slug in want:  # one POST a turn, each given up after 2 s; then each record waits
        w.wait_for_log(re.escape(slug) + r": a POST of it, in flight \d+ s ago, may still be carried out",
                       timeout=60)
    w.wait_for_log(r"no answer within 2s \(read timeout\); a POST of it may still be carried out", timeout=10)
    assert sb.faults()["held"] == 3 and sb.posted_slugs() == []  # each sent once, none carried out yet
    sb.faults(hold_writes=False)  # the site carries the three POSTs out, long after their answers were given up
    for slug in want:
        w.wait_for_log(f"record {re.escape(slug)} already on the site", timeout=30)
    time.sleep(2)  # a few more turns: nothing is posted again
    assert w.alive()
    assert sb.record_slugs() == want and sorted(sb.posted_slugs()) == want  # each posted once, no copy
    assert w.sigterm() == 0


# -- 3. SIGTERM ----------------------------------------------------------------------------------

def test_sigterm_exits_zero_and_loses_nothing(make_site, reference):
    site = make_site("sigterm")
    sb = site.sandbox
    sb.faults(latency_ms=[5, 30], seed=3)
    steps = Choreography(site, TOTAL_STEPS)
    # mid-sync
    w = site.worker("term-1")
    w.wait_for_log("worker started", timeout=60)
    steps.step()
    w.wait_for_log(r"page \d", since=w.mark(), timeout=30)
    assert w.sigterm(timeout=30) == 0
    assert "worker stopped" in w.text()
    # right after a closing (the records are being published)
    w = site.worker("term-2")
    while not steps.crosses():
        steps.step()
    mark = w.mark()
    steps.step()
    w.wait_for_log(r"closed \S+:", since=mark, timeout=60)
    assert w.sigterm(timeout=30) == 0
    assert "worker stopped" in w.text()
    # then to the end, and the history is the reference's
    sb.faults(reset=True)
    w = site.worker("term-3")
    history = steps.finish()
    assert w.sigterm(timeout=30) == 0
    check_once(site, history, steps.clock)
    assert site.history() == reference["history"], diff(site.history(), reference["history"])


# -- 4. one worker per store ---------------------------------------------------------------------

def test_second_worker_is_refused_naming_the_lock(make_site):
    site = make_site("lock", days=2)
    first = site.worker("first")
    first.wait_for_log("leading store", timeout=60)
    second = site.worker("second")
    code = second.wait(30)
    assert code not in (0, None)
    message = second.text()
    assert "in use" in message, message
    assert "siren-sync.json.lock" in message, message
    assert first.alive(), "the first worker must keep running"
    # read-only commands still work beside the running worker
    assert site.cli("history", "--json").returncode == 0
    assert first.sigterm() == 0
