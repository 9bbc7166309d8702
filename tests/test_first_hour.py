"""What `check` and `sync` tell a new site in its first hour (issue 15 case 10): a pool in another
currency than the shop's, and events recorded before a distributor's first period."""
from __future__ import annotations

from tests.support.cli import collab_yaml, credit, dist_yaml


def _order(key, at, currency="EUR"):
    return {"key": key, "type": "sale", "at": at, "revenue": "10.00", "currency": currency,
            "lines": [{"subtotal": "10.00"}]}


def _backfill(site, starts="2026-12-01", units="USD"):
    site.config(collab_yaml(["alice"]), dist_yaml(starts=starts).replace("units: USD", f"units: {units}"))
    rows = [_order(f"o{i}", f"2026-10-{10 + i}T10:00:00+00:00") for i in range(3)]
    rows += [credit("alice", 1, key=f"c{i}", at=f"2026-11-{10 + i}T10:00:00+00:00") for i in range(4)]
    rows += [credit("alice", 1, key="in", at="2026-12-02T10:00:00+00:00")]
    assert site.run("import", str(site.events(rows)))[0] == 0


def test_check_says_the_shop_sells_in_another_currency_and_what_came_before_the_first_period(site):
    """Before: the example's USD pool on a EUR shop, and a backfill before the first period, said nothing."""
    _backfill(site)
    code, out, _ = site.run("check")
    assert ("  note: pays in USD, but the shop's newest recorded sales are in EUR (3 sales): sales in another "
            "currency count nothing for it (set units: EUR, or a custom unit such as points)") in out
    assert ("  note: 7 recorded events occurred before its first period (from 2026-12-01T00:00:00+00:00) and count "
            "for nothing: startsAt: 2026-10-10 would count them, given before the store first sees the distributor "
            "(see Troubleshooting)") in out


def test_the_sync_summary_says_it_too(site):
    _backfill(site)
    code, out, _ = site.run("sync")
    assert code == 0 and out.splitlines()[0] == "no source is enabled (see sync: in the config)"
    assert [line.split(":")[0] for line in out.splitlines()[1:]] == ["distributor pool"] * 2


def test_a_pool_in_the_shop_currency_or_in_points_and_a_start_before_everything_say_nothing(site):
    _backfill(site, starts="2026-10-01", units="EUR")
    assert "note:" not in site.run("check")[1]
    _backfill(site, starts="2026-10-01", units="points")
    assert "note:" not in site.run("check")[1]


def test_a_start_moved_after_the_store_saw_the_distributor_is_named(site):
    _backfill(site)
    path = site.root / "siren.yaml"
    path.write_text(path.read_text().replace("startsAt: 2026-12-01", "startsAt: 2026-10-01"))
    out = site.run("check")[1]
    assert ("  note: startsAt 2026-10-01T00:00:00+00:00 is not the first start the store keeps "
            "(2026-12-01T00:00:00+00:00): a distributor's first start is fixed once it is seen "
            "(see Troubleshooting)") in out
