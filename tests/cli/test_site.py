"""`check`: the schedule preview and what counted nothing."""
from __future__ import annotations

from tests.support.cli import collab_yaml, credit, dist_yaml, distribute_json


def test_check_prints_the_next_three_triggers(site):
    site.config(collab_yaml(["alice"]), dist_yaml())
    code, out, _ = site.run("check")
    assert "next triggers:" in out
    line = next(text for text in out.splitlines() if "next triggers:" in text)
    assert line.count("-01T00:00:00+00:00") == 3


def test_sales_in_another_currency_count_nothing_and_check_says_so(site):
    site.config(collab_yaml(["alice"]), dist_yaml(pct=100))
    eur = {"key": "eur-1", "type": "sale", "at": "2026-11-10T12:00:00+00:00", "revenue": "50.00", "currency": "EUR",
           "lines": [{"id": 1, "subtotal": "50.00", "sku": "SS-1"}]}
    usd = dict(eur, key="usd-1", currency="USD", revenue="20.00", lines=[{"id": 1, "subtotal": "20.00"}])
    site.run("import", str(site.events([credit("alice", 1), eur, usd])))
    [dist] = distribute_json(site)
    assert dist["revenue"] == "20.00"
    code, out, _ = site.run("check")
    assert "counted nothing (not USD): 1 sales in EUR" in out


def test_a_schedule_error_names_file_and_key_before_check_prints_anything(site):
    """Before: `check` printed its header, then failed with a message naming neither file nor key."""
    path = site.config(collab_yaml(["alice"]), dist_yaml(schedule="midnight"))
    code, out, err = site.run("check")
    assert (code, out) == (2, "")
    assert err == (f"siren-sync: {path}: distributors.pool.schedule: schedule ['midnight'] does not advance time "
                   "from 2026-11-01T00:00:00+00:00\n")
