"""`payouts`: the overview, Siren's CSV and `--mark-paid`; and where a file may be written."""
from __future__ import annotations

import csv
import os

import pytest

from tests.support.cli import amounts, collab_yaml, credit, dist_yaml, distribute_json, sale

AT = "2025-11-02T00:00:00+00:00"
CLOSED = "2025-12-01T00:00:00+00:00"
AS_OF = "2026-01-01T00:00:00+00:00"


def two_paid(site):
    """alice is owed 30.00 and bob 10.00, closed 2025-12-01 (dates before any real clock)."""
    site.config(collab_yaml(["alice", "bob"]), dist_yaml(pct=100, starts="2025-11-01"))
    assert site.run("credit", "alice", "manual", "--count", "3", "--at", AT)[0] == 0
    site.run("credit", "bob", "--count", "1", "--at", AT)
    site.run("import", str(site.events([sale("s", "40.00", at=AT)])))
    distribute_json(site, as_of=CLOSED)


def test_credit_then_payouts_csv_and_mark_paid(site):
    two_paid(site)
    out_csv = site.root / "payouts.csv"
    code, out, _ = site.run("payouts", "--status", "pending", "--csv", str(out_csv), "--mark-paid", "--as-of", AS_OF)
    assert code == 0 and "marked 2 paid" in out
    assert "wrote 2 payouts to" in out and "(fulfillment F20260101-1)" in out
    rows = list(csv.reader(out_csv.open()))
    assert rows[0] == ["Payout ID", "Collaborator Email", "Collaborator Name", "Collaborator ID", "Currency", "Value"]
    assert sorted((r[3], r[5], r[4], r[1]) for r in rows[1:]) == [
        ("alice", "30.00", "USD", "alice@example.com"), ("bob", "10.00", "USD", "bob@example.com")]
    assert "no obligations" in site.run("payouts", "--status", "payable", "--as-of", AS_OF)[1]
    assert "paid" in site.run("payouts", "--collaborator", "alice", "--as-of", AS_OF)[1]
    code, out, _ = site.run("payouts", "--csv", str(site.root / "again.csv"), "--mark-paid", "--as-of", AS_OF)
    assert code == 0 and out.startswith("nothing is payable: no file was written and nothing was marked")
    assert not (site.root / "again.csv").exists()
    code, out, _ = site.run("fulfillments")
    assert out.startswith("F20260101-1    complete")


def test_mark_paid_keeps_the_selection_rules(site):
    two_paid(site)
    code, _, _ = site.run("payouts", "--csv", str(site.root / "a.csv"), "--mark-paid", "--collaborator", "bob",
                          "--as-of", AS_OF)
    assert code == 0 and [r[3] for r in csv.reader((site.root / "a.csv").open())][1:] == ["bob"]
    assert "payable" in site.run("payouts", "--collaborator", "alice", "--as-of", AS_OF)[1]


@pytest.mark.parametrize("argv, message", [
    (["--mark-paid"], "--mark-paid marks only what --csv FILE exported; give --csv"),
    (["--csv", "x.csv", "--mark-paid", "--status", "paid"], "--mark-paid pays what is payable; --status paid"),
    (["--csv", "x.csv", "--json"], "give one of them"),
    (["--csv", "x.csv", "--mark-paid", "--as-of", "2999-01-01T00:00:00+00:00"], "--as-of is in the future"),
    (["--status", "unpaid"], "invalid choice"),
])
def test_payouts_usage_errors(site, argv, message):
    two_paid(site)
    code, _, err = site.run("payouts", *argv)
    assert code == 2 and message in err


def test_payouts_csv_is_a_listing_that_marks_nothing(site):
    two_paid(site)
    code, out, _ = site.run("payouts", "--csv", str(site.root / "list.csv"), "--as-of", AS_OF)
    assert code == 0 and out.endswith("wrote 2 obligations to " + str(site.root / "list.csv")
                                      + " (a listing: nothing is marked)\n")
    assert (site.root / "list.csv").read_text().splitlines()[1:] == [
        "pool-20251201t0000:alice,alice@example.com,Alice,alice,USD,30.00",
        "pool-20251201t0000:bob,bob@example.com,Bob,bob,USD,10.00"]
    assert site.run("payouts", "--json", "--status", "payable", "--as-of", AS_OF)[1].count('"payable"') == 4


def test_payouts_csv_to_stdout_writes_no_file_named_dash(site, monkeypatch):
    two_paid(site)
    monkeypatch.chdir(site.root)
    code, out, err = site.run("payouts", "--csv", "-", "--mark-paid", "--as-of", AS_OF)
    assert code == 0 and out.startswith("Payout ID,Collaborator Email")
    assert "marked 2 paid" in err and not (site.root / "-").exists()


def test_formula_cells_are_neutralised(site):
    site.config("  - {id: '-alice', name: '=HYPERLINK(\"x\")', email: '+alice@example.com'}",
                dist_yaml(pct=100, starts="2025-11-01"))
    site.run("import", str(site.events([credit("-alice", 1, at=AT), sale("s", "40.00", at=AT)])))
    distribute_json(site, as_of=CLOSED)
    assert site.run("payouts", "--csv", str(site.root / "x.csv"), "--mark-paid", "--as-of", AS_OF)[0] == 0
    assert (site.root / "x.csv").read_text().splitlines()[1] == (
        "F20260101-1:-alice,'+alice@example.com,\"'=HYPERLINK(\"\"x\"\")\",'-alice,USD,40.00")


@pytest.mark.parametrize("kind", ["device", "symlink", "folder", "fifo", "missing folder", "under a file"])
def test_payouts_csv_refuses_what_is_not_a_regular_file_and_marks_nothing(site, kind):
    """Issue 15: the first wave replaced a device or a link with a regular file, and said it marked paid."""
    two_paid(site)
    (site.root / "real.csv").write_text("keep\n")
    target = {"device": "/dev/null", "symlink": site.root / "link.csv", "folder": site.root / "folder",
              "fifo": site.root / "fifo", "missing folder": site.root / "no" / "x.csv",
              "under a file": site.root / "real.csv" / "x.csv"}[kind]
    if kind == "symlink":
        target.symlink_to(site.root / "real.csv")
    elif kind == "folder":
        target.mkdir()
    elif kind == "fifo":
        os.mkfifo(target)
    code, out, err = site.run("payouts", "--csv", str(target), "--mark-paid", "--as-of", AS_OF)
    assert code == 2 and out == "" and err.count("\n") == 1 and err.startswith(f"siren-sync: output {target}: ")
    assert (site.root / "real.csv").read_text() == "keep\n"
    assert "payable" in site.run("payouts", "--collaborator", "alice", "--as-of", AS_OF)[1]
    assert not [p for p in site.root.rglob(".*.tmp")]


def test_an_unwritable_folder_is_one_line_exit_1_and_leaves_no_temp_file(site, monkeypatch):
    two_paid(site)
    real_open = os.open

    def refuse(path, *args, **kwargs):
        if os.path.basename(str(path)).startswith(".out.csv."):
            raise PermissionError(13, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    code, out, err = site.run("payouts", "--csv", str(site.root / "out.csv"), "--mark-paid", "--as-of", AS_OF)
    assert code == 1 and err == f"siren-sync: cannot write {site.root / 'out.csv'}: Permission denied\n"
    assert "marked" not in out
    monkeypatch.undo()
    assert "payable" in site.run("payouts", "--collaborator", "alice", "--as-of", AS_OF)[1]
    assert not [p for p in site.root.rglob(".*.tmp")]


def test_a_store_written_with_a_score_document_for_everyone_reads_the_same(site):
    """Since obligations carry their collaborator's score, `scores/<id>` holds only those scored but
    not paid; a store from before (every score there, status spelled out) reads the same."""
    from siren_sync.store import Store

    site.config(collab_yaml(["alice", "bob", "dan"]), dist_yaml(pct=100, starts="2025-11-01",
                                                                extra="    minimumScore: 2\n"))
    site.run("import", str(site.events([credit("alice", 3, at=AT), credit("bob", 2, at=AT), credit("dan", 1, at=AT),
                                        sale("s", "10.00", at=AT)])))
    [dist] = distribute_json(site, as_of=CLOSED)
    assert amounts(dist) == {"alice": "6.00", "bob": "4.00"}
    views = [("history",), ("payouts", "--as-of", AS_OF), ("explain", "alice"), ("explain", "dan")]
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
    code, out, _ = site.run("payouts", "--status", "pending", "--csv", str(site.root / "p.csv"), "--mark-paid",
                            "--as-of", AS_OF)
    assert code == 0 and "marked 2 paid" in out
