"""The command line end to end on a store in a temp folder: import, credit, distribute, history,
standings, explain, payouts, check. These are the behaviours a site owner sees."""
from __future__ import annotations

import csv
import json

import pytest

from siren_sync.cli import main

BASE = """
site: {{url: "http://127.0.0.1:9", timezone: UTC}}
store: {{path: store/siren.json}}
collaborators:
{collaborators}
distributors:
{distributors}
"""


def collab_yaml(ids, status="active"):
    return "\n".join(f"  - {{id: {c}, name: {c.title()}, email: {c}@example.com, status: {status}}}" for c in ids)


def dist_yaml(key="pool", resolver="performanceSharedPool", pct=10, types="{manual: 1}", extra=""):
    return (f"  {key}:\n    name: {key.title()} Pool\n    distributionResolver: {resolver}\n"
            f"    distributionPoolResolver: revenueSinceLastDistribution\n    status: active\n    units: USD\n"
            f"    schedule: [\"first day of next month\"]\n    startsAt: 2026-11-01\n"
            f"    engagementTypes: {types}\n    revenuePercentage: {pct}\n{extra}")


@pytest.fixture
def site(tmp_path, capsys):
    class Site:
        root = tmp_path

        def config(self, collaborators, distributors):
            path = tmp_path / "siren.yaml"
            path.write_text(BASE.format(collaborators=collaborators, distributors=distributors))
            return path

        def run(self, *argv):
            code = main(["--config", str(tmp_path / "siren.yaml"), *argv])
            out = capsys.readouterr()
            return code, out.out, out.err

        def events(self, rows):
            path = tmp_path / f"events-{len(list(tmp_path.glob('events-*')))}.jsonl"
            path.write_text("".join(json.dumps(r) + "\n" for r in rows))
            return path

    return Site()


def credit(who, n, key=None, at="2026-11-10T12:00:00+00:00", type_="manual"):
    return {"key": key or f"t:{who}:{n}:{at}", "type": type_, "collaborator": who, "at": at, "quantity": n}


def sale(key, revenue, at="2026-11-10T12:00:00+00:00"):
    return {"key": key, "type": "sale", "at": at, "revenue": revenue}


def distribute_json(site, *extra):
    code, out, err = site.run("distribute", "--as-of", "2026-12-01T00:00:00+00:00", "--json", *extra)
    assert code == 0, err
    return json.loads(out)["distributions"]


def amounts(dist):
    return {o["collaborator"]: o["amount"] for o in dist["obligations"]}


def test_performance_pool_siren_example(site):
    """Siren's example: 500/300/200 points on a 6000.00 pool give 3000.00/1800.00/1200.00."""
    site.config(collab_yaml(["alice", "bob", "carol"]), dist_yaml())
    site.run("import", str(site.events([credit("alice", 500), credit("bob", 300), credit("carol", 200),
                                         sale("s1", "60000.00")])))
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
    site.run("import", str(site.events([credit("alice", 1), credit("bob", 1), credit("carol", 1), sale("s", "100.00")])))
    [dist] = distribute_json(site)
    assert amounts(dist) == {"alice": "33.34", "bob": "33.33", "carol": "33.33"}


def test_top_score_wins_tie_goes_to_who_reached_it_first(site):
    site.config(collab_yaml(["alice", "bob"]), dist_yaml(resolver="topScoreWins", pct=100))
    site.run("import", str(site.events([credit("bob", 5, at="2026-11-03T00:00:00+00:00"),
                                         credit("alice", 5, at="2026-11-04T00:00:00+00:00"), sale("s", "10.00")])))
    code, out, _ = site.run("distribute", "--as-of", "2026-12-01T00:00:00+00:00")
    assert code == 0
    assert "bob" in out and "10.00" in out and "reached it first" in out
    [dist] = json.loads(site.run("history", "--json")[1])["distributions"]
    assert amounts(dist) == {"bob": "10.00"}


def test_import_twice_records_nothing_new(site):
    site.config(collab_yaml(["alice"]), dist_yaml())
    path = site.events([credit("alice", 3), sale("s1", "10.00")])
    assert site.run("import", str(path))[1].startswith("imported 2 new events")
    assert site.run("import", str(path))[1].startswith("imported 0 new events (2 already recorded")


def test_bad_import_lines_are_reported_and_the_rest_kept(site):
    site.config(collab_yaml(["alice"]), dist_yaml())
    path = site.root / "mixed.jsonl"
    path.write_text(json.dumps(credit("alice", 2)) + "\n{not json\n"
                    + json.dumps(credit("nobody", 1)) + "\n" + json.dumps(sale("s", "abc")) + "\n")
    code, out, err = site.run("import", str(path))
    assert code == 1
    assert "imported 1 new events" in out
    assert f"{path}:2: not JSON" in err and f"{path}:3: unknown collaborator 'nobody'" in err
    assert f"{path}:4: 'revenue' is not a number" in err


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
    site.run("import", str(site.events([credit("alice", 1, at="2026-11-05T00:00:00+00:00"), sale("a", "10.00", "2026-11-05T00:00:00+00:00"),
                                         credit("alice", 1, at="2027-01-05T00:00:00+00:00"), sale("b", "30.00", "2027-01-05T00:00:00+00:00")])))
    code, out, _ = site.run("distribute", "--as-of", "2027-02-01T00:00:00+00:00", "--json")
    dists = json.loads(out)["distributions"]
    assert [d["period_end"][:10] for d in dists] == ["2026-12-01", "2027-01-01", "2027-02-01"]
    assert [d["pool"] for d in dists] == ["10.00", "0.00", "30.00"]


def test_late_event_counts_in_the_open_period(site):
    site.config(collab_yaml(["alice", "bob"]), dist_yaml(pct=100))
    site.run("import", str(site.events([credit("alice", 1), sale("a", "10.00")])))
    distribute_json(site)
    site.run("import", str(site.events([credit("bob", 4, at="2026-11-20T00:00:00+00:00"), sale("late", "20.00", "2026-11-20T00:00:00+00:00")])))
    code, out, _ = site.run("standings", "--json")
    [row] = json.loads(out)["standings"]
    assert row["period_start"] == "2026-12-01T00:00:00+00:00"
    assert row["revenue"] == "20.00" and row["scores"] == [{"collaborator": "bob", "score": "4", "projected": "20.00"}]
    [first] = json.loads(site.run("history", "--json")[1])["distributions"]
    assert amounts(first) == {"alice": "10.00"}  # the closed period was not edited


def test_refund_is_negative_revenue_and_a_negative_net_is_carried(site):
    site.config(collab_yaml(["alice"]), dist_yaml(pct=50))
    site.run("import", str(site.events([credit("alice", 1), sale("refund", "-40.00")])))
    site.run("import", str(site.events([credit("alice", 1, at="2026-12-02T00:00:00+00:00"),
                                         sale("dec", "100.00", "2026-12-02T00:00:00+00:00")])))
    code, out, _ = site.run("distribute", "--as-of", "2027-01-01T00:00:00+00:00", "--json")
    nov, dec = json.loads(out)["distributions"]
    assert (nov["revenue"], nov["pool"], nov["obligations"]) == ("-40.00", "0.00", [])
    assert (dec["revenue"], dec["pool"]) == ("60.00", "30.00")


def test_inactive_and_pending_collaborators_earn_nothing(site):
    site.config(collab_yaml(["alice"]) + "\n" + collab_yaml(["paula"], "pending") + "\n" + collab_yaml(["ivan"], "inactive"),
                dist_yaml(pct=100))
    site.run("import", str(site.events([credit("alice", 1), credit("paula", 5), credit("ivan", 9), sale("s", "10.00")])))
    [dist] = distribute_json(site)
    assert amounts(dist) == {"alice": "10.00"}


def test_inactive_distributor_is_never_triggered(site):
    site.config(collab_yaml(["alice"]), dist_yaml().replace("status: active", "status: inactive"))
    site.run("import", str(site.events([credit("alice", 1), sale("s", "10.00")])))
    assert distribute_json(site) == []


def test_credit_then_payouts_csv_and_mark_paid(site):
    site.config(collab_yaml(["alice", "bob"]), dist_yaml(pct=100))
    assert site.run("credit", "alice", "manual", "--count", "3", "--at", "2026-11-02T00:00:00+00:00")[0] == 0
    site.run("credit", "bob", "--count", "1", "--at", "2026-11-02T00:00:00+00:00")
    site.run("import", str(site.events([sale("s", "40.00")])))
    distribute_json(site)
    out_csv = site.root / "payouts.csv"
    code, out, _ = site.run("payouts", "--status", "pending", "--csv", str(out_csv), "--mark-paid")
    assert code == 0 and "marked 2 paid" in out
    rows = list(csv.reader(out_csv.open()))
    assert rows[0] == ["Payout ID", "Collaborator Email", "Collaborator Name", "Collaborator ID", "Currency", "Value"]
    assert sorted((r[3], r[5], r[4], r[1]) for r in rows[1:]) == [
        ("alice", "30.00", "USD", "alice@example.com"), ("bob", "10.00", "USD", "bob@example.com")]
    assert "no obligations" in site.run("payouts", "--status", "pending")[1]
    assert "paid" in site.run("payouts", "--collaborator", "alice")[1]


def test_explain_lists_the_events_behind_a_score(site):
    site.config(collab_yaml(["alice"]), dist_yaml(types="{manual: 2, boundCouponUsed: 5}", pct=100))
    site.run("import", str(site.events([credit("alice", 3, key="crm:1"), credit("alice", 1, key="crm:2", type_="boundCouponUsed"),
                                         sale("s", "9.00")])))
    distribute_json(site)
    code, out, _ = site.run("explain", "alice")
    assert code == 0
    assert "crm:1" in out and "crm:2" in out and "score 11" in out and "amount 9.00 USD" in out


def test_unknown_distributor_is_a_usage_error(site):
    site.config(collab_yaml(["alice"]), dist_yaml())
    code, _, err = site.run("distribute", "--distributor", "nope")
    assert code == 2 and "unknown distributor 'nope'" in err


def test_bad_config_exits_2_with_one_line(site):
    path = site.config(collab_yaml(["alice"]), dist_yaml().replace("revenuePercentage: 10", "revenuePercentage: 150"))
    code, _, err = site.run("check")
    assert code == 2
    assert err.count("\n") == 1 and str(path) in err and "revenuePercentage" in err


def test_check_prints_the_next_three_triggers(site):
    site.config(collab_yaml(["alice"]), dist_yaml())
    code, out, _ = site.run("check")
    assert "next triggers:" in out
    line = next(l for l in out.splitlines() if "next triggers:" in l)
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


def test_an_event_dated_years_ahead_counts_nothing(site):
    site.config(collab_yaml(["alice"]), dist_yaml(pct=100))
    code, out, _ = site.run("import", str(site.events([credit("alice", 1), sale("typo", "999.00", "9999-11-10T12:00:00+00:00")])))
    assert code == 0 and "imported 2 new events" in out
    [dist] = distribute_json(site)
    assert dist["revenue"] == "0.00"


def test_a_store_written_with_a_score_document_for_everyone_reads_the_same(site):
    """Since obligations carry their collaborator's score, `scores/<id>` holds only those scored but
    not paid; a store from before (every score there, status spelled out) reads the same."""
    from siren_sync.store import Store

    site.config(collab_yaml(["alice", "bob", "dan"]), dist_yaml(pct=100, extra="    minimumScore: 2\n"))
    site.run("import", str(site.events([credit("alice", 3), credit("bob", 2), credit("dan", 1), sale("s", "10.00")])))
    [dist] = distribute_json(site)
    assert amounts(dist) == {"alice": "6.00", "bob": "4.00"}
    views = [("history",), ("payouts",), ("explain", "alice"), ("explain", "dan")]
    before = [site.run(*argv)[1] for argv in views]
    assert "score 1 " in before[3] and "amount 0" in before[3]

    with Store(site.root / "store" / "siren.json") as store, store.transaction() as tx:
        obligations, scores = f"obligations/{dist['id']}", f"scores/{dist['id']}"
        for who, doc in store.table(obligations).items():
            tx.put(obligations, who, {"score": doc["score"], "amount": doc["amount"],
                                      "note": doc.get("note", ""), "status": "pending"})
            tx.put(scores, who, {"collaborator": who, "score": doc["score"],
                                 "last_scored_at": doc.get("last_scored_at")})
        for who, doc in store.table(scores).items():
            tx.put(scores, who, {"collaborator": who, **doc})
    assert [site.run(*argv)[1] for argv in views] == before
    code, out, _ = site.run("payouts", "--status", "pending", "--csv", str(site.root / "p.csv"), "--mark-paid")
    assert code == 0 and "marked 2 paid" in out
