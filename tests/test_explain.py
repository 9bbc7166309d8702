"""`explain`: after the events and points, where the collaborator's obligation stands and how it got there."""
from __future__ import annotations

from tests.payouts.helpers import JANUARY, LATER, january


def explain_status(site, who="alice"):
    code, out, err = site.run("explain", who, "--distribution", JANUARY)
    assert code == 0, err
    lines = out.splitlines()
    return lines[next(i for i, line in enumerate(lines) if line.startswith("  status ")):]


def test_the_status_history_of_an_obligation(site):
    january(site, "  review: true\n  hold: 7 days\n")
    assert explain_status(site) == ["  status draft", "    earned 2025-02-01T00:00:00+00:00",
                                    f"    draft: waits for `siren-sync approve {JANUARY}`",
                                    "    payable from 2025-02-08T00:00:00+00:00"]
    site.run("approve", JANUARY)
    site.run("fulfill", "--out", str(site.root / "a.csv"), "--as-of", "2025-03-01T00:00:00+00:00")
    site.run("fulfillment", "cancel", "F20250301-1")
    site.run("fulfill", "--out", str(site.root / "b.csv"), "--as-of", LATER)
    site.run("fulfillment", "complete", "F20250601-1", "--paid-at", "2025-06-02T09:00:00+00:00")
    lines = explain_status(site)
    assert lines[0] == "  status paid" and lines[1] == "    earned 2025-02-01T00:00:00+00:00"
    assert lines[2].startswith("    approved ")
    assert lines[3] == "    payable from 2025-02-08T00:00:00+00:00"
    assert lines[4].startswith("    in fulfillment F20250301-1 as of 2025-03-01T00:00:00+00:00: cancelled ")
    assert lines[5] == "    in fulfillment F20250601-1 as of 2025-06-01T00:00:00+00:00: paid 2025-06-02T09:00:00+00:00"
    assert len(lines) == 6


def test_an_excepted_payout_and_an_open_fulfillment(site):
    january(site)
    site.run("fulfill", "--out", str(site.root / "a.csv"), "--as-of", LATER)
    assert explain_status(site, "bob")[-1] == ("    in fulfillment F20250601-1 as of 2025-06-01T00:00:00+00:00: "
                                               "open (processing)")
    site.run("fulfillment", "complete", "F20250601-1", "--except", "bob")
    lines = explain_status(site, "bob")
    assert lines[0] == "  status payable"
    assert lines[-1].startswith("    in fulfillment F20250601-1 as of 2025-06-01T00:00:00+00:00: excepted when it "
                                "completed ") and lines[-1].endswith(": payable again")


def test_a_rejected_distribution(site):
    january(site, "  review: true\n")
    site.run("approve", JANUARY, "--reject", "--reason", "test orders")
    lines = explain_status(site)
    assert lines[0] == "  status rejected"
    assert lines[2].startswith("    rejected ") and lines[2].endswith(": test orders")
    assert len(lines) == 3  # never payable
