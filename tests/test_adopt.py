"""`siren-sync store adopt` after a lost store: the worker on an empty store closes nothing (the
lost-store guard), adopt takes the site's records as closed distributions, and the worker goes on
after them: the next period is exactly what a worker that never lost its store closes, and no
record is posted twice. With the records' `meta.siren_sync`, and from the posts' own tables."""
from __future__ import annotations

import json
import logging
import shutil
from decimal import Decimal

import pytest

from siren_sync import lost_store
from siren_sync.cli import main
from siren_sync.demo import sandbox_env
from siren_sync.sandbox import Sandbox
from siren_sync.tables import DISTRIBUTIONS, PERIODS, obligations_table
from tests.test_worker import DAY, history, make_worker


@pytest.fixture
def sandboxes():
    """Two identical sites: one whose worker loses its store, one whose worker never does."""
    with Sandbox(seed=3, days=24, orders_per_day=10, lms=False) as lost, \
            Sandbox(seed=3, days=24, orders_per_day=10, lms=False) as reference:
        yield lost, reference


def _worker(sandbox, folder):
    folder.mkdir(parents=True, exist_ok=True)
    return make_worker(sandbox, folder)


def _days(worker, sandbox, days: int) -> None:
    for _ in range(days):
        worker.step()
        sandbox.advance(DAY)
    worker.step()


def _adopt(monkeypatch, sandbox, folder, *extra: str) -> tuple[int, str]:
    for name, value in sandbox_env(sandbox.credentials).items():
        monkeypatch.setenv(name, value)
    code = main(["--config", str(folder / "siren.yaml"), "store", "adopt", *extra])
    return code


def _public(records):
    return [{k: r[k] for k in ("id", "distributor", "period_start", "period_end", "revenue", "pool", "obligations")}
            for r in records]


@pytest.mark.parametrize("meta", [True, False], ids=["meta.siren_sync", "the post's table"])
def test_a_lost_store_closes_nothing_until_adopt_then_goes_on_as_if_never_lost(
        sandboxes, tmp_path, monkeypatch, capsys, caplog, meta):
    site, twin = sandboxes
    if not meta:
        site.site.registered_meta.clear()  # WordPress without register_post_meta: only title and content
    worker, reference = _worker(site, tmp_path / "site"), _worker(twin, tmp_path / "twin")
    _days(worker, site, 15)  # two weekly periods closed and posted
    _days(reference, twin, 15)
    before = history(worker)
    assert len(before) == 6 and len(site.stats.posts_created) == 6
    worker.app.close()

    shutil.rmtree(tmp_path / "site" / "store")  # the disk is lost
    lost = _worker(site, tmp_path / "site")
    searches = []
    search = lost_store.site_records
    monkeypatch.setattr(lost_store, "site_records", lambda *a, **k: searches.append(1) or search(*a, **k))
    with caplog.at_level(logging.ERROR, logger="siren_sync.worker"):
        for _ in range(3):
            lost.step()
            site.advance(3600)
    assert len(searches) == 1  # the site is searched once, not at every turn, while the store stays lost
    guard = [r.getMessage() for r in caplog.records if "holds no distributions" in r.getMessage()]
    assert len(guard) == 1, "one clear error, not one per turn"
    assert "the site already holds 6 siren-sync record(s) of productShare, referralPool, salesBonus" in guard[0]
    assert "siren-sync store adopt" in guard[0]
    assert history(lost) == [] and lost.app.store.event_count() == 0  # nothing synced, nothing closed

    assert _adopt(monkeypatch, site, tmp_path / "site") == 0
    out = capsys.readouterr().out
    assert "adopted 2 distributions of salesBonus" in out and "obligations paid" in out
    assert ("read from the post's table" in out) is (not meta)
    lost.app.store.refresh()  # adopt ran beside the worker (the worker refreshes at each turn)
    adopted = history(lost)
    assert _public(adopted) == _public(before)  # the site's records, read back whole
    store = lost.app.store
    assert {o.get("status") for d in adopted for o in store.table(obligations_table(d["id"])).values()} == {"paid"}

    twin.advance(3 * 3600)
    _days(lost, site, 7)  # the worker goes on after the adopted periods
    _days(reference, twin, 7)
    assert _public(history(lost))[6:] == _public(history(reference))[6:]  # the third week, as never lost
    assert len(history(lost)) == 9
    slugs = [p["slug"] for p in site.stats.posts_created]
    assert len(slugs) == len(set(slugs)) == 9  # nothing posted twice
    assert {store.get(PERIODS, key)["adopted_until"] for key in ("salesBonus", "productShare", "referralPool")} \
        == {"2026-11-15T00:00:00-05:00"}


def test_adopt_unpaid_leaves_the_obligations_to_pay(sandboxes, tmp_path, monkeypatch, capsys):
    site, _ = sandboxes
    worker = _worker(site, tmp_path / "site")
    _days(worker, site, 8)
    worker.app.close()
    shutil.rmtree(tmp_path / "site" / "store")
    assert _adopt(monkeypatch, site, tmp_path / "site", "--unpaid") == 0
    assert "obligations pending (to pay)" in capsys.readouterr().out
    code = main(["--config", str(tmp_path / "site" / "siren.yaml"), "payouts", "--status", "payable", "--json"])
    obligations = json.loads(capsys.readouterr().out)["obligations"]
    assert code == 0 and {o["status"] for o in obligations} == {"payable"}
    adopted = [o for o in obligations if o["origin"] == "salesbonus-20261108t0500"]
    assert adopted and all(Decimal(o["amount"]) > 0 for o in adopted)


def test_adopt_refuses_a_store_that_closed_something_and_says_when_there_is_nothing(
        sandboxes, tmp_path, monkeypatch, capsys):
    site, _ = sandboxes
    worker = _worker(site, tmp_path / "site")
    worker.step()
    assert _adopt(monkeypatch, site, tmp_path / "site") == 0
    assert "the site holds no siren-sync records of salesBonus, productShare, referralPool: nothing to adopt" \
        in capsys.readouterr().out
    _days(worker, site, 8)
    assert worker.app.store.table(DISTRIBUTIONS)
    assert _adopt(monkeypatch, site, tmp_path / "site") == 1
    assert "already holds distributions: adopt only takes the site's records into the store that lost them" \
        in capsys.readouterr().err


PROGRAM = ("programs:\n  aff: {units: USD, reward: {percentage: 25}, engagements: [boundCouponUsed], "
           "structure: oldestEngagementWins}\n")


def test_programs_never_reward_again_what_the_lost_store_rewarded(sandboxes, tmp_path, monkeypatch):
    """Before: after `store adopt` the resync rewarded every sale again, all `pending`: the rewards
    the lost store had written (and maybe paid) were paid a second time."""
    from siren_sync import commissions
    from siren_sync.config import load_config
    from siren_sync.values import parse_time
    from siren_sync.worker import Worker

    site, _ = sandboxes
    folder = tmp_path / "site"
    _worker(site, folder).app.close()  # writes the config
    (folder / "siren.yaml").write_text((folder / "siren.yaml").read_text() + PROGRAM)

    def worker() -> Worker:
        config = load_config(folder / "siren.yaml", env=sandbox_env(site.credentials))
        return Worker(config, clock=lambda: site.now, fetch_timezone=lambda: site.site.timezone_name)

    first = worker()
    _days(first, site, 15)
    before = set(commissions.documents(first.app.store))
    assert len(before) > 10
    first.app.close()
    shutil.rmtree(folder / "store")
    monkeypatch.setattr("siren_sync.cli.store.utcnow", lambda: site.now)  # the site's simulated clock
    assert _adopt(monkeypatch, site, folder) == 0
    adopted_at = site.now
    again = worker()
    _days(again, site, 3)
    after = commissions.documents(again.app.store)
    assert not set(after) & before  # nothing rewarded twice
    assert after and all(parse_time(d["earned_at"]) >= adopted_at for d in after.values())  # new sales are


def test_sync_refuses_a_lost_store_until_adopt(sandboxes, tmp_path, monkeypatch, capsys):
    """Before: only the worker and `distribute` asked; `sync` recorded (and rewarded) everything
    again on a lost store."""
    site, _ = sandboxes
    folder = tmp_path / "site"
    worker = _worker(site, folder)
    _days(worker, site, 8)
    worker.app.close()
    shutil.rmtree(folder / "store")
    for name, value in sandbox_env(site.credentials).items():
        monkeypatch.setenv(name, value)
    capsys.readouterr()
    assert main(["--config", str(folder / "siren.yaml"), "sync"]) == 1
    err = capsys.readouterr().err
    assert "holds no distributions, but the site already holds" in err and "store adopt" in err
    assert _adopt(monkeypatch, site, folder) == 0
    assert main(["--config", str(folder / "siren.yaml"), "sync"]) == 0


@pytest.mark.parametrize("meta", [True, False], ids=["meta.siren_sync", "the post's table"])
@pytest.mark.parametrize("unpaid", [False, True], ids=["adopt", "adopt --unpaid"])
def test_adopt_keeps_what_each_record_says_of_payment_and_review(site, meta, unpaid):
    """Before: every adopted obligation became `paid`, or with --unpaid `pending`: a rejected
    distribution, and obligations the site showed paid, were paid (again) from the new store."""
    from dataclasses import replace
    from datetime import UTC, datetime

    from siren_sync import adopt, closing
    from siren_sync.app import open_app
    from siren_sync.config import load_config
    from siren_sync.engine.closing import slug_of
    from siren_sync.lost_store import SiteRecord
    from siren_sync.publish import body_of
    from tests.support.cli import collab_yaml, dist_yaml

    site.config(collab_yaml(["alice", "bob"]), dist_yaml(pct=100, schedule="+1 week"))
    config = load_config(site.root / "siren.yaml")
    d, end = config.distributors["pool"], datetime(2026, 11, 8, tzinfo=UTC)
    start, names = datetime(2026, 11, 1, tzinfo=UTC), {"alice": "Alice", "bob": "Bob"}
    rows = [("alice", Decimal(3), Decimal("6.00"), ""), ("bob", Decimal(2), Decimal("4.00"), "")]
    week1 = adopt._distribution(d, start, end, Decimal("10.00"), Decimal("10.00"), rows, end)
    alice_paid = week1.obligations[0]._replace(status="paid", paid_at="2026-11-09T00:00:00+00:00")
    week1 = replace(week1, obligations=(alice_paid, week1.obligations[1]))  # alice paid, bob not yet
    end2 = datetime(2026, 11, 15, tzinfo=UTC)
    week2 = replace(adopt._distribution(d, end, end2, Decimal("5.00"), Decimal("5.00"), rows, end2),
                    review="rejected", reason="test orders")

    def record(n, made):
        body = body_of(made, slug_of(made.id), "private", UTC, names)
        return SiteRecord(post_id=n, slug=body["slug"], distributor="pool", end=made.id.split("-")[-1],
                          title=body["title"], content=body["content"],
                          meta=body["meta"]["siren_sync"] if meta else "", date_gmt="")

    with open_app(config) as app:
        read = adopt.read_records([record(1, week1), record(2, week2)], app.ledger.distributors,
                                  app.ledger.collaborators, UTC)
        closing.adopt(app.ledger, [(a.distribution, a.record.post_id) for a in read], paid=not unpaid,
                      now=end2)
    code, out, err = site.run("payouts", "--json", "--as-of", "2026-12-01T00:00:00+00:00")
    assert code == 0, err
    got = {o["id"]: o["status"] for o in json.loads(out)["obligations"]}
    assert got == {"pool-20261108t0000:alice": "paid", "pool-20261108t0000:bob": "payable" if unpaid else "paid",
                   "pool-20261115t0000:alice": "rejected", "pool-20261115t0000:bob": "rejected"}
