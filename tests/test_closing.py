"""Closing due periods (siren_sync/closing.py): ids unique for every period, never a silent overwrite."""
from __future__ import annotations

import json

import pytest

from siren_sync.closing import ClosingError
from siren_sync.engine.closing import distribution_id, slug_of
from siren_sync.store import Store
from tests.support.cli import collab_yaml, credit, dist_yaml, distribute_json, sale


def test_whole_minute_ends_keep_the_first_wave_ids_and_other_ends_add_seconds():
    from datetime import datetime, timedelta, timezone

    paris = timezone(timedelta(hours=1))
    assert distribution_id("salesBonus", datetime(2026, 12, 3, 15, 8, tzinfo=paris)) == "salesbonus-20261203t1408"
    assert distribution_id("salesBonus", datetime(2026, 12, 3, 15, 8, 20, tzinfo=paris)) == "salesbonus-20261203t140820"
    assert slug_of("salesbonus-20261203t140820") == "siren-sync-salesbonus-20261203t140820"


def test_a_twenty_second_schedule_records_every_period_once(site):
    """Before: periods ending 14:08:00, 14:08:20, 14:08:40 shared one id, one of them vanished and the
    worker said "closed" for it at every poll. (Today's date: a 20-second schedule started weeks ago
    would make more periods up to now than a calendar keeps, a config error of its own.)"""
    from datetime import UTC, datetime
    day = datetime.now(UTC).date().isoformat()
    site.config(collab_yaml(["alice"]), dist_yaml(pct=100, schedule="+20 sec", starts=f"{day}T14:07:40+00:00"))
    times = [f"{day}T14:{m}+00:00" for m in ("07:45", "08:05", "08:25", "08:45")]
    site.run("import", str(site.events([credit("alice", 1, at=at) for at in times]
                                        + [sale(f"s{i}", "10.00", at) for i, at in enumerate(times)])))
    made = distribute_json(site, as_of=f"{day}T14:09:00+00:00")
    compact = day.replace("-", "")
    assert [d["id"] for d in made] == [f"pool-{compact}t1408", f"pool-{compact}t140820", f"pool-{compact}t140840",
                                       f"pool-{compact}t1409"]
    assert [d["period_end"][11:19] for d in made] == ["14:08:00", "14:08:20", "14:08:40", "14:09:00"]
    assert [d["pool"] for d in made] == ["10.00"] * 4
    assert distribute_json(site, as_of=f"{day}T14:09:00+00:00") == []  # nothing closed twice
    history = json.loads(site.run("history", "--json")[1])["distributions"]
    assert [d["period_start"][11:19] for d in history] == ["14:07:40", "14:08:00", "14:08:20", "14:08:40"]


def test_an_id_already_naming_another_period_is_an_error_and_nothing_is_written(site):
    site.config(collab_yaml(["alice"]), dist_yaml(pct=100))
    site.run("import", str(site.events([credit("alice", 1), sale("s", "10.00")])))
    with Store(site.root / "store" / "siren.json") as store, store.transaction() as tx:
        tx.put("distributions", "pool-20261201t0000", {
            "id": "pool-20261201t0000", "distributor": "pool", "period_start": "2026-10-01T00:00:00+00:00",
            "period_end": "2026-11-01T00:00:00+00:00"})
    code, _, err = site.run("distribute", "--as-of", "2026-12-01T00:00:00+00:00")
    assert code == 1 and err.count("\n") == 1
    assert "pool-20261201t0000 already names the period 2026-10-01T00:00:00+00:00" in err
    with Store(site.root / "store" / "siren.json", readonly=True) as store:
        assert store.get("periods", "pool")["open_start"] == "2026-11-01T00:00:00+00:00"
        assert store.table("outbox") == {} and store.table("obligations/pool-20261201t0000") == {}


def test_closing_error_is_a_failure_not_a_usage_error():
    assert ClosingError("x").exit_code == 1


@pytest.mark.parametrize("as_of", ["2026-12-01T00:00:00+00:00"])
def test_a_period_closed_twice_in_one_run_is_recorded_once(site, as_of):
    site.config(collab_yaml(["alice"]), dist_yaml(pct=100))
    site.run("import", str(site.events([credit("alice", 1), sale("s", "10.00")])))
    assert len(distribute_json(site, as_of=as_of)) == 1
    assert distribute_json(site, as_of=as_of) == []


def test_a_close_records_the_hold_and_the_review_in_the_summary_only(site):
    """Review and hold are one field each in the distribution's summary; the obligation documents,
    100,000s of them, stay as slim as before; a draft queues no record."""
    from tests.payouts.helpers import JANUARY, january

    january(site, "  review: true\n  hold: 30 days\n")
    with Store(site.root / "store" / "siren.json", readonly=True) as store:
        summary = store.get("distributions", JANUARY)
        assert (summary["review"], summary["payable_at"]) == ("draft", "2025-03-03T00:00:00+00:00")
        assert store.table(f"obligations/{JANUARY}")["alice"] == {"score": "3", "amount": "30.00"}
        assert store.table("outbox") == {}


def test_without_review_or_hold_the_summary_is_the_first_waves(site):
    from tests.payouts.helpers import JANUARY, january

    january(site)
    with Store(site.root / "store" / "siren.json", readonly=True) as store:
        assert not {"review", "payable_at", "reviewed_at", "reason"} & set(store.get("distributions", JANUARY))
        assert store.get("outbox", JANUARY)["status"] == "queued"


# -- data already in the store that a close cannot compute (issue 15) ----------------------------

def _old_store_with(site, events):
    """Events recorded as the code before the bounds recorded them: nothing refused at the edge."""
    from siren_sync import ledger as ledger_module
    from siren_sync.app import open_app
    from siren_sync.config import load_config

    real = ledger_module.event_problem
    ledger_module.event_problem = lambda event: None
    try:
        with open_app(load_config(site.root / "siren.yaml")) as app:
            app.ledger.record(events)
    finally:
        ledger_module.event_problem = real


def _bad_events():
    from datetime import UTC, datetime
    from decimal import Decimal

    from siren_sync.model import Event
    at = datetime(2026, 11, 10, 12, tzinfo=UTC)
    return [Event("s1", "sale", at, revenue=Decimal("1e30")),
            Event("s2", "sale", at, revenue=Decimal("99999999999999999999999999999999999999.99")),
            Event("s3", "sale", at, revenue=Decimal("100.00")),
            Event("c1", "manual", at, collaborator="alice", quantity=10 ** 32),
            Event("c2", "manual", at, collaborator="bob", quantity=5)]


def test_an_amount_beyond_the_arithmetic_is_quarantined_and_the_period_still_closes(site):
    """Before: every standings, explain and distribute failed with a decimal.InvalidOperation traceback
    and the worker retried forever; no period closed again."""
    site.config(collab_yaml(["alice", "bob"]), dist_yaml())
    _old_store_with(site, _bad_events())
    code, out, err = site.run("standings")
    assert code == 0 and "revenue 100.00 USD, pool so far 10.00 USD" in out and "Traceback" not in err
    assert "warning: pool-20261201t0000: event s1: revenue 1E+30 is beyond 15 digits" in err
    [made] = distribute_json(site)
    assert (made["revenue"], made["pool"], made["obligations"]) == (
        "100.00", "10.00", [{"collaborator": "bob", "score": "5", "amount": "10.00"}])
    code, out, _ = site.run("check")
    assert "quarantined records: 3" in out
    assert ("event c1: quantity 100000000000000000000000000000000 is beyond 1,000,000: left out of the period "
            "2026-11-01T00:00:00+00:00 of distributor pool") in out
    assert distribute_json(site) == []  # closed once, for good
    assert site.run("explain", "bob")[0] == 0


def test_the_worker_closes_such_a_period_instead_of_retrying_it_forever(site):
    from datetime import UTC, datetime

    from siren_sync.config import load_config
    from siren_sync.worker import Worker
    site.config(collab_yaml(["alice", "bob"]), dist_yaml())
    _old_store_with(site, _bad_events())
    worker = Worker(load_config(site.root / "siren.yaml"), clock=lambda: datetime(2026, 12, 1, 0, 5, tzinfo=UTC))
    try:
        [made] = worker.close_due()
        assert worker.close_due() == []
    finally:
        worker.app.close()
    assert (str(made.revenue), len(made.set_aside)) == ("100.00", 3)


def test_a_broken_carry_is_set_aside_and_the_period_closes_with_its_events(site):
    site.config(collab_yaml(["alice"]), dist_yaml())
    site.run("import", str(site.events([credit("alice", 1), sale("s", "10.00")])))
    with Store(site.root / "store" / "siren.json") as store, store.transaction() as tx:
        tx.put("periods", "pool", {"first_start": "2026-11-01T00:00:00+00:00",
                                   "open_start": "2026-11-01T00:00:00+00:00", "carry": {"revenue": "garbage"}})
    [made] = distribute_json(site)
    assert (made["revenue"], made["pool"], made["obligations"]) == (
        "10.00", "1.00", [{"collaborator": "alice", "score": "1", "amount": "1.00"}])
    out = site.run("check")[1]
    assert ("carry into period 2026-11-01T00:00:00+00:00 of distributor pool: cannot be computed (InvalidOperation: "
            "[<class 'decimal.ConversionSyntax'>]); the period closes without it") in out
