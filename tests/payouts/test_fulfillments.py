"""`fulfill`, `fulfillments`, `fulfillment complete|cancel|export` through the command line."""
from __future__ import annotations

import errno
import itertools
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

from tests.payouts.helpers import (
    CLOSE_FEBRUARY,
    JANUARY,
    LATER,
    close,
    credits,
    fulfillments,
    january,
    overview,
    second_pool,
    shop,
    statuses,
)

SIREN_JANUARY = (
    "Payout ID,Collaborator Email,Collaborator Name,Collaborator ID,Currency,Value\n"
    "F20250601-1:alice,alice@example.com,Alice Martin,alice,USD,30.00\n"
    'F20250601-1:bob,bob@example.com,"Bob, ""the builder""",bob,USD,10.00\n'
    "F20250601-1:carol,carol@example.com,Carol,carol,USD,10.00\n")


def fulfill(site, *argv, out="payouts.csv", as_of=LATER):
    return site.run("fulfill", "--out", str(site.root / out), "--as-of", as_of, *argv)


def test_fulfill_writes_the_siren_file_and_makes_the_obligations_processing(site):
    january(site)
    code, out, err = fulfill(site)
    assert code == 0, err
    assert (site.root / "payouts.csv").read_bytes() == SIREN_JANUARY.encode()
    assert out.splitlines()[0] == (f"fulfillment F20250601-1 (open): 3 payouts, 50.00 USD; "
                                   f"file {site.root / 'payouts.csv'}")
    assert set(statuses(site).values()) == {"processing"}
    [record] = fulfillments(site)
    assert {k: record[k] for k in ("id", "as_of", "status", "format", "payouts", "obligations", "totals",
                                   "collaborators", "units", "paid_at", "cancelled_at", "except")} == {
        "id": "F20250601-1", "as_of": LATER, "status": "open", "format": "siren", "payouts": 3, "obligations": 3,
        "totals": {"USD": "50.00"}, "collaborators": [], "units": None, "paid_at": None, "cancelled_at": None,
        "except": []}
    assert record["files"] == [str(site.root / "payouts.csv")]
    row = overview(site)["obligations"][0]
    assert (row["id"], row["status"], row["fulfillment"]) == (f"{JANUARY}:alice", "processing", "F20250601-1")


def test_a_second_fulfill_finds_nothing_more_to_pay_and_writes_nothing(site):
    january(site)
    assert fulfill(site)[0] == 0
    code, out, _ = fulfill(site, out="again.csv")
    assert code == 0 and out.startswith("nothing is payable for this selection: no fulfillment was made")
    assert not (site.root / "again.csv").exists() and len(fulfillments(site)) == 1


def test_fulfil_with_nothing_payable_says_so_and_creates_nothing(site):
    shop(site)
    code, out, err = fulfill(site)
    assert code == 0 and "fulfillment" not in err
    assert out == "nothing is payable for this selection: no fulfillment was made, no file written\n"
    assert not (site.root / "payouts.csv").exists() and fulfillments(site) == []


def test_selected_means_selected(site):
    """AffiliateWP #1173: a payout file filtered to one affiliate marked every affiliate paid."""
    january(site)
    code, _, err = fulfill(site, "--collaborator", "bob")
    assert code == 0, err
    assert (site.root / "payouts.csv").read_text().splitlines()[1:] == [
        'F20250601-1:bob,bob@example.com,"Bob, ""the builder""",bob,USD,10.00']
    assert statuses(site) == {f"{JANUARY}:alice": "payable", f"{JANUARY}:bob": "processing",
                              f"{JANUARY}:carol": "payable"}
    assert fulfillments(site)[0]["collaborators"] == ["bob"]
    # and completing it touches bob alone
    assert site.run("fulfillment", "complete", "F20250601-1", "--paid-at", LATER)[0] == 0
    assert statuses(site) == {f"{JANUARY}:alice": "payable", f"{JANUARY}:bob": "paid", f"{JANUARY}:carol": "payable"}


def test_several_collaborators_and_a_unit(site):
    shop(site, distributors=second_pool("points", "points", "sharedEngagementPool"))
    credits(site)
    close(site)
    code, _, err = fulfill(site, "--collaborator", "alice", "carol", "--units", "points")
    assert code == 0, err
    assert (site.root / "payouts.csv").read_text().splitlines()[1:] == [
        "F20250601-1:alice,alice@example.com,Alice Martin,alice,points,2",
        "F20250601-1:carol,carol@example.com,Carol,carol,points,1"]
    assert fulfill(site, "--units", "EURO")[0] == 2  # a unit nobody pays in


def test_the_minimum_keeps_a_small_balance_waiting_until_it_grows(site):
    january(site, payouts='  minimum: {USD: "15.00"}\n')
    code, out, _ = fulfill(site)
    assert code == 0
    assert "  waits: bob 10.00 USD (below the minimum 15.00 USD)" in out.splitlines()
    assert statuses(site)[f"{JANUARY}:bob"] == "payable"
    code, out, _ = site.run("payouts", "--as-of", LATER)
    assert "(below the minimum 15.00 USD: waits, nothing is lost)" in out
    credits(site, "2025-02", {"bob": 1, "carol": 1}, revenue="12.00")  # 6.00 more each: 16.00 reaches it
    close(site, CLOSE_FEBRUARY)
    assert fulfill(site, out="feb.csv")[0] == 0
    assert (site.root / "feb.csv").read_text().splitlines()[1:] == [
        'F20250601-2:bob,bob@example.com,"Bob, ""the builder""",bob,USD,16.00',
        "F20250601-2:carol,carol@example.com,Carol,carol,USD,16.00"]


def test_the_hold_keeps_obligations_pending_until_payable_at(site):
    january(site, payouts="  hold: 30 days\n")
    just_before = "2025-03-02T23:59:59+00:00"  # earned 2025-02-01, payable 30 days later
    assert set(statuses(site, as_of=just_before).values()) == {"pending"}
    code, out, _ = fulfill(site, as_of=just_before)
    assert code == 0 and out.startswith("nothing is payable")
    data = overview(site, as_of=just_before)
    assert data["collaborators"][0]["next_payable_at"] == "2025-03-03T00:00:00+00:00"
    assert data["obligations"][0]["payable_at"] == "2025-03-03T00:00:00+00:00"
    assert data["collaborators"][0]["pending"] == "30.00" and data["collaborators"][0]["balance"] == "0.00"
    assert fulfill(site, as_of="2025-03-03T00:00:00+00:00")[0] == 0
    assert len(fulfillments(site)) == 1


def test_complete_pays_and_complete_again_changes_nothing(site):
    january(site)
    fulfill(site)
    code, out, _ = site.run("fulfillment", "complete", "F20250601-1", "--paid-at", "2025-06-02T10:00:00+02:00")
    assert code == 0 and out == "fulfillment F20250601-1 complete: 3 payouts paid at 2025-06-02T10:00:00+02:00\n"
    data = overview(site)
    assert [(o["status"], o["paid_at"]) for o in data["obligations"]] == [("paid", "2025-06-02T10:00:00+02:00")] * 3
    assert data["collaborators"][0]["paid"] == "30.00" and data["collaborators"][0]["balance"] == "0.00"
    code, out, _ = site.run("fulfillment", "complete", "F20250601-1", "--paid-at", "2025-07-01T00:00:00+00:00")
    assert code == 0 and "was already complete (paid 2025-06-02T10:00:00+02:00): nothing changed" in out
    assert overview(site) == data
    assert fulfill(site, out="again.csv")[1].startswith("nothing is payable")  # never paid twice


def test_complete_except_a_failed_transfer_sends_it_back_to_payable(site):
    january(site)
    fulfill(site)
    code, out, _ = site.run("fulfillment", "complete", "F20250601-1", "--paid-at", LATER, "--except", "bob")
    assert code == 0 and out.endswith("; back to payable: bob\n")
    assert statuses(site) == {f"{JANUARY}:alice": "paid", f"{JANUARY}:bob": "payable", f"{JANUARY}:carol": "paid"}
    assert fulfillments(site)[0]["except"] == ["bob"]
    fulfill(site, out="retry.csv")
    assert (site.root / "retry.csv").read_text().splitlines()[1:] == [
        'F20250601-2:bob,bob@example.com,"Bob, ""the builder""",bob,USD,10.00']
    # the export of the first one holds what it paid, not bob
    export = site.root / "e.csv"
    code, _, _ = site.run("fulfillment", "export", "F20250601-1", "--format", "siren", "--out", str(export))
    assert code == 0 and "bob" not in export.read_text()


def test_complete_except_someone_it_does_not_pay_is_refused(site):
    january(site)
    fulfill(site, "--collaborator", "alice")
    code, _, err = site.run("fulfillment", "complete", "F20250601-1", "--except", "bob")
    assert code == 2 and "--except bob: not paid by fulfillment F20250601-1" in err
    assert fulfillments(site)[0]["status"] == "open"


def test_cancel_sends_every_payout_back_and_cancel_again_changes_nothing(site):
    january(site)
    fulfill(site)
    code, out, _ = site.run("fulfillment", "cancel", "F20250601-1")
    assert code == 0 and out == "fulfillment F20250601-1 cancelled: every payout is payable again\n"
    assert set(statuses(site).values()) == {"payable"}
    code, out, _ = site.run("fulfillment", "cancel", "F20250601-1")
    assert code == 0 and "was already cancelled: nothing changed" in out
    fulfill(site, out="second.csv")
    assert [f["id"] for f in fulfillments(site)] == ["F20250601-1", "F20250601-2"]
    assert (site.root / "second.csv").read_text() == SIREN_JANUARY.replace("F20250601-1", "F20250601-2")


@pytest.mark.parametrize("first, then, message", [
    ("complete", "cancel", "is complete: what it paid stays paid"),
    ("cancel", "complete", "was cancelled: its obligations are payable again"),
])
def test_a_decided_fulfillment_cannot_go_the_other_way(site, first, then, message):
    january(site)
    fulfill(site)
    assert site.run("fulfillment", first, "F20250601-1")[0] == 0
    before = overview(site)
    code, _, err = site.run("fulfillment", then, "F20250601-1")
    assert code == 2 and message in err
    assert overview(site) == before


@pytest.mark.parametrize("argv", [["complete", "F20990101-1"], ["cancel", "F20990101-1"],
                                  ["export", "F20990101-1", "--format", "siren", "--out", "x.csv"]])
def test_an_unknown_fulfillment_is_a_usage_error(site, argv):
    january(site)
    code, _, err = site.run("fulfillment", *argv)
    assert code == 2 and err == ("siren-sync: unknown fulfillment 'F20990101-1' (see `siren-sync fulfillments`)\n")


def test_export_writes_the_same_payouts_again_in_either_format(site):
    january(site)
    fulfill(site)
    out = site.root / "copy.csv"
    assert site.run("fulfillment", "export", "F20250601-1", "--format", "siren", "--out", str(out))[0] == 0
    assert out.read_bytes() == (site.root / "payouts.csv").read_bytes()
    code, said, _ = site.run("fulfillment", "export", "F20250601-1", "--format", "paypal", "--out", str(out))
    assert code == 0 and said == f"wrote fulfillment F20250601-1 (open) as paypal: {out}\n"
    assert out.read_text() == ("alice@example.com,30.00,USD,F20250601-1-1,,PAYPAL\n"
                               "bob@example.com,10.00,USD,F20250601-1-2,,PAYPAL\n"
                               "carol@example.com,10.00,USD,F20250601-1-3,,PAYPAL\n")
    site.run("fulfillment", "cancel", "F20250601-1")
    code, _, err = site.run("fulfillment", "export", "F20250601-1", "--format", "siren", "--out", str(out))
    assert code == 2 and "was cancelled: it pays nothing" in err


def test_paypal_fulfillment_leaves_out_who_has_no_email_with_a_warning(site):
    january(site, payouts='  note: "Rewards, January"\n', collaborators="""\
  - {id: alice, name: Alice Martin, email: alice@example.com}
  - {id: bob, name: Bob}
  - {id: carol, name: Carol, email: carol@example.com}
""")
    code, out, err = fulfill(site, "--format", "paypal", out="paypal.csv")
    assert code == 0
    assert "bob has no email address PayPal can pay: left out of this fulfillment, their 10.00 USD stays payable" in err
    assert (site.root / "paypal.csv").read_text() == (
        'alice@example.com,30.00,USD,F20250601-1-1,"Rewards, January",PAYPAL\n'
        'carol@example.com,10.00,USD,F20250601-1-2,"Rewards, January",PAYPAL\n')
    assert statuses(site)[f"{JANUARY}:bob"] == "payable"


def test_paypal_refuses_custom_units(site):
    january(site, units="points")
    code, _, err = fulfill(site, "--format", "paypal")
    assert code == 2 and "points is not a currency: PayPal pays currencies only" in err
    assert fulfillments(site) == [] and not (site.root / "payouts.csv").exists()


def test_paypal_several_currencies_write_one_file_each(site):
    shop(site, distributors=second_pool("euros", "EUR", "topScoreWins"))
    credits(site)
    close(site)
    assert fulfill(site, "--format", "paypal", out="pp.csv")[0] == 0
    assert (site.root / "pp.EUR.csv").read_text() == "alice@example.com,5.00,EUR,F20250601-1-1,,PAYPAL\n"
    assert (site.root / "pp.USD.csv").read_text().splitlines()[0] == "alice@example.com,30.00,USD,F20250601-1-2,,PAYPAL"
    assert not (site.root / "pp.csv").exists()
    assert fulfillments(site)[0]["files"] == [str(site.root / "pp.EUR.csv"), str(site.root / "pp.USD.csv")]


def test_dry_run_writes_nothing(site):
    january(site)
    code, out, _ = fulfill(site, "--dry-run")
    assert code == 0 and out.startswith("would make fulfillment F20250601-1: 3 payouts, 50.00 USD (dry run")
    assert not (site.root / "payouts.csv").exists() and fulfillments(site) == []


def test_fulfill_json(site):
    january(site, payouts='  minimum: {USD: "15.00"}\n')
    code, out, _ = fulfill(site, "--json")
    data = json.loads(out)
    assert data["fulfillment"]["id"] == "F20250601-1" and data["dry_run"] is False
    assert data["payouts"] == [{"id": "F20250601-1:alice", "collaborator": "alice", "units": "USD", "amount": "30.00",
                                "obligations": 1}]
    assert data["waiting"] == [{"collaborator": "bob", "units": "USD", "balance": "10.00"},
                               {"collaborator": "carol", "units": "USD", "balance": "10.00"}]
    assert data["left_out"] == []


def test_fulfill_to_standard_output_keeps_the_messages_on_stderr(site):
    january(site)
    code, out, err = site.run("fulfill", "--out", "-", "--as-of", LATER)
    assert code == 0 and out == SIREN_JANUARY
    assert err.startswith("fulfillment F20250601-1 (open): 3 payouts, 50.00 USD; file standard output")
    assert site.run("fulfill", "--out", "-", "--json", "--as-of", LATER)[0] == 2


def test_fulfillments_text(site):
    january(site)
    fulfill(site)
    site.run("fulfillment", "complete", "F20250601-1", "--paid-at", LATER, "--except", "carol")
    code, out, _ = site.run("fulfillments")
    assert code == 0
    assert out.startswith("F20250601-1    complete  created ")
    assert out.endswith("  3 payouts, 50.00 USD paid 2025-06-01T00:00:00+00:00 (except carol)\n")


@pytest.mark.parametrize("argv, message", [
    (["--as-of", "2999-01-01T00:00:00+00:00"], "--as-of is in the future"),
    (["--collaborator", "mallory"], "unknown collaborator 'mallory'"),
    (["--format", "csv"], "invalid choice"),
])
def test_bad_fulfill_arguments_are_usage_errors_and_write_nothing(site, argv, message):
    january(site)
    code, _, err = site.run("fulfill", "--out", str(site.root / "x.csv"), *argv)
    assert code == 2 and message in err
    assert not (site.root / "x.csv").exists() and fulfillments(site) == []


@pytest.mark.parametrize("kind", ["folder", "symlink", "device", "missing folder"])
def test_an_output_that_is_not_a_regular_file_is_refused_and_nothing_is_marked(site, kind):
    january(site)
    target = site.root / "out.csv"
    if kind == "folder":
        target.mkdir()
    elif kind == "symlink":
        (site.root / "real.csv").write_text("keep\n")
        target.symlink_to(site.root / "real.csv")
    elif kind == "device":
        target = "/dev/null"
    else:
        target = site.root / "nowhere" / "out.csv"
    code, out, err = site.run("fulfill", "--out", str(target), "--as-of", LATER)
    assert code == 2 and err.count("\n") == 1 and out == ""
    assert fulfillments(site) == [] and set(statuses(site).values()) == {"payable"}
    if kind == "symlink":
        assert (site.root / "real.csv").read_text() == "keep\n" and target.is_symlink()


@pytest.mark.parametrize("failure", [errno.ENOSPC, errno.EACCES])
def test_a_file_that_cannot_be_written_exits_1_and_marks_nothing(site, monkeypatch, failure):
    january(site)
    real_write = os.write

    def failing(fd, data):
        if b"Payout ID" in bytes(data):
            raise OSError(failure, os.strerror(failure))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", failing)
    code, _, err = fulfill(site)
    assert code == 1 and err == f"siren-sync: cannot write {site.root / 'payouts.csv'}: {os.strerror(failure)}\n"
    monkeypatch.undo()
    assert fulfillments(site) == [] and set(statuses(site).values()) == {"payable"}
    assert sorted(p.name for p in site.root.iterdir() if p.name.endswith(".tmp")) == []


def test_a_change_made_meanwhile_is_never_overwritten(site, monkeypatch):
    """Another command recorded a fulfillment between this one's plan and its commit (a store that
    lets writers interleave): nothing is written, no file either, and the obligations stay in one."""
    from siren_sync.payouts import fulfillments as module
    from siren_sync.payouts import records

    january(site)
    real_create = module.create

    def interleaved(store, made, paid_at=None):
        with store.transaction() as tx:
            records.bump_serial(tx, records.serial(store))
        return real_create(store, made, paid_at)

    monkeypatch.setattr(module, "create", interleaved)
    code, _, err = fulfill(site)
    assert code == 1 and "fulfillments changed while this change was being prepared" in err
    assert not (site.root / "payouts.csv").exists() and fulfillments(site) == []


# -- processes: killed at any point, or two at once ------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]

# `siren-sync fulfill` whose process dies (os._exit, as a kill -9 would) at the n-th call of one of
# the functions every durable write goes through: writing bytes, fsync, the renames that commit.
KILLED_AT = """
import os, sys
from siren_sync.cli import main
stop, calls = int(sys.argv[1]), [0]
def counted(real):
    def call(*args, **kwargs):
        calls[0] += 1
        if calls[0] == stop:
            os._exit(9)
        return real(*args, **kwargs)
    return call
for name in ("write", "fsync", "replace"):
    setattr(os, name, counted(getattr(os, name)))
code = main(sys.argv[2:])
print(calls[0], file=sys.stderr)
sys.exit(code)
"""


def run_killed(site, stop: int, *argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", KILLED_AT, str(stop), "--config", str(site.root / "siren.yaml"),
                           *argv], cwd=site.root, env={**os.environ, "PYTHONPATH": str(ROOT)},
                          capture_output=True, text=True, timeout=120)


def test_a_fulfill_killed_at_any_point_leaves_all_of_it_or_none_and_never_pays_twice(site):
    january(site)
    argv = ("fulfill", "--out", str(site.root / "payouts.csv"), "--as-of", LATER)
    points = int(run_killed(site, 0, "fulfillments", "--json").stderr.split()[-1])  # warm-up: counts nothing
    outcomes: set[bool] = set()
    for stop in itertools.count(1):
        snapshot = site.root / f"run-{stop}"
        shutil.copytree(site.root, snapshot, ignore=shutil.ignore_patterns("run-*"))
        done = run_killed(site, stop, *argv)
        if done.returncode == 0:  # it ran to its end before the n-th call: every point was tried
            _check_whole(site)
            break
        assert done.returncode == 9, done.stderr
        found = fulfillments(site)
        if found:  # committed: the whole fulfillment and its file
            _check_whole(site)
        else:  # not committed: every obligation as it was
            assert set(statuses(site).values()) == {"payable"}
        outcomes.add(bool(found))
        # run again: it completes what is missing, never paying anyone twice
        assert site.run(*argv)[0] == 0
        _check_whole(site)
        shutil.rmtree(site.root / "store")
        shutil.copytree(snapshot / "store", site.root / "store")
        (site.root / "payouts.csv").unlink(missing_ok=True)
    assert points == 0 and stop > 10  # the file's and the commit's writes, fsyncs and renames were all tried
    assert outcomes == {False, True}  # killed before the commit point, and after it


def _check_whole(site) -> None:
    [record] = fulfillments(site)
    assert record["id"] == "F20250601-1" and record["payouts"] == 3
    assert (site.root / "payouts.csv").read_text() == SIREN_JANUARY
    assert set(statuses(site).values()) == {"processing"}


def test_two_fulfill_processes_at_once_never_put_an_obligation_in_two_fulfillments(site):
    january(site)
    procs = [subprocess.Popen([sys.executable, "-m", "siren_sync", "--config", str(site.root / "siren.yaml"),
                               "fulfill", "--out", str(site.root / f"p{n}.csv"), "--as-of", LATER],
                              cwd=site.root, env={**os.environ, "PYTHONPATH": str(ROOT)},
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for n in range(2)]
    results = [(p.wait(timeout=120), p.stdout.read(), p.stderr.read()) for p in procs]
    assert [code for code, _, _ in results] == [0, 0], results  # the second one waits its turn, then finds
    outs = sorted(out.split(":")[0] for _, out, _ in results)  # nothing left to pay
    assert outs == ["fulfillment F20250601-1 (open)", "nothing is payable for this selection"], results
    found = fulfillments(site)
    assert len(found) == 1 and sum(f["obligations"] for f in found) == 3
    assert set(statuses(site).values()) == {"processing"}
    written = [n for n in range(2) if (site.root / f"p{n}.csv").exists()]
    assert len(written) == 1


def test_a_fulfillment_committed_between_the_plan_and_its_commit_is_planned_again(site, monkeypatch):
    """The run that loses the race writes no file and makes no fulfillment: it finds nothing left."""
    from siren_sync.app import open_app
    from siren_sync.config import load_config
    from siren_sync.payouts import fulfillments as module

    january(site)
    planned = module.plan
    calls = []

    def plan_then_let_another_commit(*args, **kwargs):
        made = planned(*args, **kwargs)
        calls.append(len(made.payouts))
        if len(calls) == 1:  # another command fulfils everything meanwhile
            assert site.run("fulfill", "--out", str(site.root / "other.csv"), "--as-of", LATER)[0] == 0
        return made

    with open_app(load_config(site.root / "siren.yaml")) as app:
        monkeypatch.setattr(module, "plan", plan_then_let_another_commit)
        made = module.fulfill(app.store, module.Selection(datetime.fromisoformat(LATER)), str(site.root / "mine.csv"),
                              app.ledger.collaborators, {}, "", datetime.fromisoformat(LATER))
    assert calls == [3, 3, 0]  # this run, the other run, this run again
    assert made.payouts == [] and not (site.root / "mine.csv").exists()
    assert [f["id"] for f in fulfillments(site)] == ["F20250601-1"] and (site.root / "other.csv").exists()


def test_fulfill_plans_again_while_other_commands_change_the_fulfillments_then_gives_up(store, monkeypatch):
    """Each refused commit (another command committed meanwhile) makes a new plan, up to five."""
    from types import SimpleNamespace

    from siren_sync.payouts import fulfillments, records

    plans, refusals = [], iter([True, False])

    def plan(*args):
        plans.append(args)
        return SimpleNamespace(payouts=["a payout"])

    def create(store, made, paid_at):
        if next(refusals, True):
            raise records.FulfillmentsChanged("changed meanwhile")

    monkeypatch.setattr(fulfillments, "plan", plan)
    monkeypatch.setattr(fulfillments, "create", create)
    args = (store, None, "out.csv", {}, {}, "", None)
    assert fulfillments.fulfill(*args).payouts == ["a payout"] and len(plans) == 2  # refused once, then made
    plans.clear()
    with pytest.raises(records.FulfillmentsChanged):
        fulfillments.fulfill(*args)
    assert len(plans) == fulfillments.ATTEMPTS == 5
