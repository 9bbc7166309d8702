"""`payouts`: the obligations, Siren's CSV and marking paid."""
from __future__ import annotations

import csv

from tests.support.cli import collab_yaml, dist_yaml, distribute_json, sale


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
