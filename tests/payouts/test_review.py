"""`siren-sync approve`: a distribution closed with `review: true` waits for a decision."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from siren_sync.app import open_app
from siren_sync.config import load_config
from siren_sync.history import load
from siren_sync.publish import body_of
from tests.payouts.helpers import JANUARY, LATER, january, statuses

REVIEWED = "  review: true\n  hold: 7 days\n"


def outbox(site) -> dict:
    with open_app(load_config(site.root / "siren.yaml"), readonly=True) as app:
        return app.store.table("outbox")


def record_body(site) -> dict:
    with open_app(load_config(site.root / "siren.yaml"), readonly=True) as app:
        record = load(app.store, JANUARY)
        assert record is not None
        return body_of(record, "slug", "private", app.tz, {})


def test_a_reviewed_distribution_is_a_draft_unpublished_and_unpayable(site):
    january(site, REVIEWED)
    assert set(statuses(site).values()) == {"draft"}
    assert outbox(site) == {}
    code, out, _ = site.run("fulfill", "--out", str(site.root / "p.csv"), "--as-of", LATER)
    assert code == 0 and out.startswith("nothing is payable")
    code, out, _ = site.run("explain", "alice")
    assert f"    draft: waits for `siren-sync approve {JANUARY}`" in out


def test_approve_makes_it_pending_then_payable_and_queues_its_record(site):
    january(site, REVIEWED)
    code, out, _ = site.run("approve", JANUARY)
    assert code == 0 and out.startswith(f"approved {JANUARY}: its obligations are payable now")  # the hold is over
    assert set(statuses(site, as_of="2025-02-07T00:00:00+00:00").values()) == {"pending"}
    assert set(statuses(site, as_of="2025-02-08T00:00:00+00:00").values()) == {"payable"}
    assert outbox(site)[JANUARY]["status"] == "queued"
    assert json.loads(record_body(site)["meta"]["siren_sync"])["status"] == "approved"
    code, out, _ = site.run("approve", JANUARY)
    assert code == 0 and out == f"{JANUARY} was already approved: nothing changed\n"


def test_approve_inside_the_hold_says_until_when(site, monkeypatch):
    """Before: `pending until their hold is over`, whether the hold was over or not (see below)."""
    from siren_sync.cli import payouts

    january(site, REVIEWED)
    monkeypatch.setattr(payouts, "utcnow", lambda: datetime(2025, 2, 3, tzinfo=UTC))
    code, out, _ = site.run("approve", JANUARY)
    assert code == 0 and out == (f"approved {JANUARY}: its obligations are pending until 2025-02-08T00:00:00+00:00, "
                                 "when their hold is over; its record is queued for the site\n")


def test_approve_without_a_hold_says_payable_now(site):
    """Before: `pending until their hold is over`, though there is none: they are payable at once."""
    january(site, "  review: true\n")
    code, out, _ = site.run("approve", JANUARY)
    assert code == 0
    assert out == f"approved {JANUARY}: its obligations are payable now; its record is queued for the site\n"
    assert set(statuses(site).values()) == {"payable"}


def test_reject_with_a_reason_is_published_saying_so_and_never_paid(site):
    january(site, REVIEWED)
    code, out, _ = site.run("approve", JANUARY, "--reject", "--reason", "Test orders <b>only</b>")
    assert code == 0 and out.startswith(f"rejected {JANUARY}: nothing of it will be paid")
    assert set(statuses(site).values()) == {"rejected"}
    assert outbox(site)[JANUARY]["status"] == "queued"
    body = record_body(site)
    assert body["content"].startswith("<p>Rejected: Test orders &lt;b&gt;only&lt;/b&gt;. Nothing of this "
                                      "distribution is paid.</p>")
    assert "<td>rejected</td>" in body["content"]
    meta = json.loads(body["meta"]["siren_sync"])
    assert (meta["status"], meta["reason"]) == ("rejected", "Test orders <b>only</b>")
    assert {o["status"] for o in meta["obligations"]} == {"rejected"}
    code, _, err = site.run("approve", JANUARY)
    assert code == 2 and f"distribution {JANUARY} is already rejected: a decision is final" in err
    assert site.run("fulfill", "--out", str(site.root / "p.csv"), "--as-of", LATER)[1].startswith("nothing is payable")


@pytest.mark.parametrize("argv, message", [
    (["approve", "nope-20250201t0000"], "unknown distribution 'nope-20250201t0000'"),
    (["approve", JANUARY, "--reject"], "--reject needs --reason TEXT"),
    (["approve", JANUARY, "--reason", "why"], "--reason explains a rejection: give --reject with it"),
])
def test_approve_usage_errors(site, argv, message):
    january(site, REVIEWED)
    code, _, err = site.run(*argv)
    assert code == 2 and message in err
    assert set(statuses(site).values()) == {"draft"}


def test_an_approved_distribution_cannot_be_rejected_afterwards(site):
    january(site)  # no review: approved at once
    code, _, err = site.run("approve", JANUARY, "--reject", "--reason", "late")
    assert code == 2 and "is already approved: a decision is final" in err


def test_a_distributor_can_have_its_own_review(site):
    january(site, "  review: true\n", extra="    payouts: {review: false}\n")
    assert set(statuses(site).values()) == {"payable"}
    assert outbox(site)[JANUARY]["status"] == "queued"


def test_history_and_check_show_what_waits_for_review(site):
    january(site, REVIEWED)
    code, out, _ = site.run("history")
    assert out.splitlines()[0].endswith(f" [draft: waits for `siren-sync approve {JANUARY}`]")
    code, out, _ = site.run("check")
    assert f"waiting for review: 1 distributions (siren-sync approve ID): {JANUARY}" in out
    site.run("approve", JANUARY, "--reject", "--reason", "test orders")
    assert site.run("history")[1].splitlines()[0].endswith(" [rejected: test orders]")
    assert "waiting for review" not in site.run("check")[1]
