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
    worker said "closed" for it at every poll."""
    site.config(collab_yaml(["alice"]), dist_yaml(pct=100, schedule="+20 sec", starts="2026-11-10T14:07:40+00:00"))
    site.run("import", str(site.events([credit("alice", 1, at=f"2026-11-10T14:{m}+00:00") for m in
                                         ("07:45", "08:05", "08:25", "08:45")]
                                        + [sale(f"s{i}", "10.00", f"2026-11-10T14:{m}+00:00") for i, m in
                                           enumerate(("07:45", "08:05", "08:25", "08:45"))])))
    made = distribute_json(site, as_of="2026-11-10T14:09:00+00:00")
    assert [d["id"] for d in made] == ["pool-20261110t1408", "pool-20261110t140820", "pool-20261110t140840",
                                       "pool-20261110t1409"]
    assert [d["period_end"][11:19] for d in made] == ["14:08:00", "14:08:20", "14:08:40", "14:09:00"]
    assert [d["pool"] for d in made] == ["10.00"] * 4
    assert distribute_json(site, as_of="2026-11-10T14:09:00+00:00") == []  # nothing closed twice
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
