"""`standings`, `distribute`, `history`, `explain` on a store in a temp folder: the amounts a site owner sees."""

from __future__ import annotations

import json

from tests.support.cli import amounts, collab_yaml, credit, dist_yaml, distribute_json, sale


def test_performance_pool_siren_example(site):
    """Siren's example: 500/300/200 points on a 6000.00 pool give 3000.00/1800.00/1200.00."""
    site.config(collab_yaml(["alice", "bob", "carol"]), dist_yaml())
    site.run(
        "import",
        str(site.events([credit("alice", 500), credit("bob", 300), credit("carol", 200), sale("s1", "60000.00")])),
    )
    [dist] = distribute_json(site)
    assert dist["pool"] == "6000.00" and dist["revenue"] == "60000.00"
    assert amounts(dist) == {"alice": "3000.00", "bob": "1800.00", "carol": "1200.00"}
    assert dist["period_start"] == "2026-11-01T00:00:00+00:00" and dist["period_end"] == "2026-12-01T00:00:00+00:00"
    assert set(dist) == {"id", "distributor", "period_start", "period_end", "units", "revenue", "pool", "obligations"}
    assert set(dist["obligations"][0]) == {"collaborator", "score", "amount"}


def test_shared_pool_ten_collaborators_get_500_each(site):
    ids = [f"c{i:02d}" for i in range(10)]
    site.config(collab_yaml(ids), dist_yaml(resolver="sharedEngagementPool", pct=100))
    site.run("import", str(site.events([credit(c, i + 1) for i, c in enumerate(ids)] + [sale("s", "5000.00")])))
    [dist] = distribute_json(site)
    assert set(amounts(dist).values()) == {"500.00"} and len(dist["obligations"]) == 10


def test_hundred_shared_by_three_gives_the_left_cent_by_rule(site):
    site.config(collab_yaml(["alice", "bob", "carol"]), dist_yaml(resolver="sharedEngagementPool", pct=100))
    site.run(
        "import", str(site.events([credit("alice", 1), credit("bob", 1), credit("carol", 1), sale("s", "100.00")]))
    )
    [dist] = distribute_json(site)
    assert amounts(dist) == {"alice": "33.34", "bob": "33.33", "carol": "33.33"}


def test_top_score_wins_tie_goes_to_who_reached_it_first(site):
    site.config(collab_yaml(["alice", "bob"]), dist_yaml(resolver="topScoreWins", pct=100))
    site.run(
        "import",
        str(
            site.events(
                [
                    credit("bob", 5, at="2026-11-03T00:00:00+00:00"),
                    credit("alice", 5, at="2026-11-04T00:00:00+00:00"),
                    sale("s", "10.00"),
                ]
            )
        ),
    )
    code, out, _ = site.run("distribute", "--as-of", "2026-12-01T00:00:00+00:00")
    assert code == 0
    assert "bob" in out and "10.00" in out and "reached it first" in out
    [dist] = json.loads(site.run("history", "--json")[1])["distributions"]
    assert amounts(dist) == {"bob": "10.00"}


def test_closing_twice_changes_nothing(site):
    site.config(collab_yaml(["alice"]), dist_yaml())
    site.run("import", str(site.events([credit("alice", 1), sale("s", "100.00")])))
    assert len(distribute_json(site)) == 1
    assert distribute_json(site) == []
    assert len(json.loads(site.run("history", "--json")[1])["distributions"]) == 1


def test_dry_run_writes_nothing(site):
    site.config(collab_yaml(["alice"]), dist_yaml())
    site.run("import", str(site.events([credit("alice", 1), sale("s", "100.00")])))
    assert len(distribute_json(site, "--dry-run")) == 1
    assert json.loads(site.run("history", "--json")[1])["distributions"] == []
    assert len(distribute_json(site)) == 1


def test_missed_periods_close_one_by_one_in_order(site):
    site.config(collab_yaml(["alice"]), dist_yaml(pct=100))
    site.run(
        "import",
        str(
            site.events(
                [
                    credit("alice", 1, at="2026-11-05T00:00:00+00:00"),
                    sale("a", "10.00", "2026-11-05T00:00:00+00:00"),
                    credit("alice", 1, at="2027-01-05T00:00:00+00:00"),
                    sale("b", "30.00", "2027-01-05T00:00:00+00:00"),
                ]
            )
        ),
    )
    code, out, _ = site.run("distribute", "--as-of", "2027-02-01T00:00:00+00:00", "--json")
    dists = json.loads(out)["distributions"]
    assert [d["period_end"][:10] for d in dists] == ["2026-12-01", "2027-01-01", "2027-02-01"]
    assert [d["pool"] for d in dists] == ["10.00", "0.00", "30.00"]


def test_late_event_counts_in_the_open_period(site):
    site.config(collab_yaml(["alice", "bob"]), dist_yaml(pct=100))
    site.run("import", str(site.events([credit("alice", 1), sale("a", "10.00")])))
    distribute_json(site)
    site.run(
        "import",
        str(
            site.events(
                [credit("bob", 4, at="2026-11-20T00:00:00+00:00"), sale("late", "20.00", "2026-11-20T00:00:00+00:00")]
            )
        ),
    )
    code, out, _ = site.run("standings", "--json")
    [row] = json.loads(out)["standings"]
    assert row["period_start"] == "2026-12-01T00:00:00+00:00"
    assert row["revenue"] == "20.00" and row["scores"] == [{"collaborator": "bob", "score": "4", "projected": "20.00"}]
    [first] = json.loads(site.run("history", "--json")[1])["distributions"]
    assert amounts(first) == {"alice": "10.00"}  # the closed period was not edited


def test_refund_is_negative_revenue_and_a_negative_net_is_carried(site):
    site.config(collab_yaml(["alice"]), dist_yaml(pct=50))
    site.run("import", str(site.events([credit("alice", 1), sale("refund", "-40.00")])))
    site.run(
        "import",
        str(
            site.events(
                [credit("alice", 1, at="2026-12-02T00:00:00+00:00"), sale("dec", "100.00", "2026-12-02T00:00:00+00:00")]
            )
        ),
    )
    code, out, _ = site.run("distribute", "--as-of", "2027-01-01T00:00:00+00:00", "--json")
    nov, dec = json.loads(out)["distributions"]
    assert (nov["revenue"], nov["pool"], nov["obligations"]) == ("-40.00", "0.00", [])
    assert (dec["revenue"], dec["pool"]) == ("60.00", "30.00")


def test_inactive_and_pending_collaborators_earn_nothing(site):
    site.config(
        collab_yaml(["alice"]) + "\n" + collab_yaml(["paula"], "pending") + "\n" + collab_yaml(["ivan"], "inactive"),
        dist_yaml(pct=100),
    )
    site.run(
        "import", str(site.events([credit("alice", 1), credit("paula", 5), credit("ivan", 9), sale("s", "10.00")]))
    )
    [dist] = distribute_json(site)
    assert amounts(dist) == {"alice": "10.00"}


def test_inactive_distributor_is_never_triggered(site):
    site.config(collab_yaml(["alice"]), dist_yaml().replace("status: active", "status: inactive"))
    site.run("import", str(site.events([credit("alice", 1), sale("s", "10.00")])))
    assert distribute_json(site) == []


def test_explain_lists_the_events_behind_a_score(site):
    site.config(collab_yaml(["alice"]), dist_yaml(types="{manual: 2, boundCouponUsed: 5}", pct=100))
    site.run(
        "import",
        str(
            site.events(
                [
                    credit("alice", 3, key="crm:1"),
                    credit("alice", 1, key="crm:2", type_="boundCouponUsed"),
                    sale("s", "9.00"),
                ]
            )
        ),
    )
    distribute_json(site)
    code, out, _ = site.run("explain", "alice")
    assert code == 0
    assert "crm:1" in out and "crm:2" in out and "score 11" in out and "amount 9.00 USD" in out


def test_unknown_distributor_is_a_usage_error(site):
    site.config(collab_yaml(["alice"]), dist_yaml())
    code, _, err = site.run("distribute", "--distributor", "nope")
    assert code == 2 and "unknown distributor 'nope'" in err


def test_an_event_dated_years_ahead_counts_nothing(site):
    site.config(collab_yaml(["alice"]), dist_yaml(pct=100))
    code, out, _ = site.run(
        "import", str(site.events([credit("alice", 1), sale("typo", "999.00", "9999-11-10T12:00:00+00:00")]))
    )
    assert code == 0 and "imported 2 new events" in out
    [dist] = distribute_json(site)
    assert dist["revenue"] == "0.00"


# -- distribute syncs first, as the worker does (issue 15) ---------------------------------------

class _Shop:
    """A source whose site holds one sale of the closed period; `down` makes it unreachable."""

    name = "woocommerce"

    def __init__(self, down: bool = False):
        self.down = down
        self.synced = 0

    def sync(self, ctx, since=None):
        from datetime import UTC, datetime
        from decimal import Decimal

        from siren_sync.errors import RetriableSyncError
        from siren_sync.model import Event
        from siren_sync.sources.base import SyncReport
        if self.down:
            raise RetriableSyncError("connection refused (after 5 tries)", endpoint="wc/v3/orders", code="connection")
        self.synced += 1
        ctx.commit(self.name, [Event("woo:sale:1", "sale", datetime(2026, 11, 20, tzinfo=UTC),
                                     revenue=Decimal("500.00"), source=self.name)], {"at": "now"})
        return SyncReport(self.name, records=1, events=1)

    def check(self):
        return []


def _with_shop(monkeypatch, shop):
    from siren_sync.sources import registry
    monkeypatch.setattr(registry, "build_sources", lambda config, app, only=None: [shop])


def test_distribute_syncs_every_source_before_closing(site, monkeypatch):
    """Before: run before `sync`, it closed the period with revenue 0.00; its sales landed in the next one."""
    site.config(collab_yaml(["alice"]), dist_yaml())
    site.run("import", str(site.events([credit("alice", 1)])))
    shop = _Shop()
    _with_shop(monkeypatch, shop)
    [dist] = distribute_json(site)
    assert (dist["revenue"], dist["pool"], shop.synced) == ("500.00", "50.00", 1)


def test_distribute_refuses_when_a_source_is_behind_and_closes_nothing(site, monkeypatch):
    site.config(collab_yaml(["alice"]), dist_yaml())
    site.run("import", str(site.events([credit("alice", 1)])))
    _with_shop(monkeypatch, _Shop(down=True))
    code, out, err = site.run("distribute", "--as-of", "2026-12-01T00:00:00+00:00")
    assert code == 1 and out == ""
    assert err.splitlines()[-1] == (
        "siren-sync: distribute: nothing was closed: woocommerce could not be synced up to the trigger time "
        "2026-12-01T00:00:00+00:00 (woocommerce: wc/v3/orders: connection refused (after 5 tries)); try again when "
        "it can, or add --no-sync to close with what the store holds")
    assert json.loads(site.run("history", "--json")[1]) == {"distributions": []}


def test_distribute_no_sync_closes_offline_and_warns(site, monkeypatch):
    site.config(collab_yaml(["alice"]), dist_yaml())
    site.run("import", str(site.events([credit("alice", 1), sale("s", "10.00")])))
    _with_shop(monkeypatch, _Shop(down=True))
    code, out, err = site.run("distribute", "--as-of", "2026-12-01T00:00:00+00:00", "--no-sync", "--json")
    assert code == 0 and json.loads(out)["distributions"][0]["revenue"] == "10.00"
    assert err == ("warning: --no-sync: closing with what the store holds; what the sources have not synced "
                   "before a trigger time will count late, in the next period\n")


def test_distribute_refuses_a_trigger_still_ahead_of_now_while_sources_are_enabled(site, monkeypatch):
    site.config(collab_yaml(["alice"]), dist_yaml())
    shop = _Shop()
    _with_shop(monkeypatch, shop)
    code, _, err = site.run("distribute", "--as-of", "2099-01-01T00:00:00+00:00")
    assert code == 1 and "woocommerce could not be synced up to the trigger time" in err
    assert "can only be synced up to now" in err and shop.synced == 0


def test_distribute_with_nothing_due_syncs_nothing(site, monkeypatch):
    site.config(collab_yaml(["alice"]), dist_yaml())
    shop = _Shop(down=True)
    _with_shop(monkeypatch, shop)
    code, out, _ = site.run("distribute", "--as-of", "2026-11-15T00:00:00+00:00")
    assert (code, out) == (0, "nothing to distribute\n")
