"""`payouts`: the obligations, Siren's CSV and marking paid."""
from __future__ import annotations

import csv

from tests.support.cli import amounts, collab_yaml, credit, dist_yaml, distribute_json, sale


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
