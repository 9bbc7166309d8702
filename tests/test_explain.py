"""`siren-sync explain` (siren_sync/explain.py): the events behind one collaborator's score, with the
same numbers the distribution used: they add up to the score, a late event is marked, and before
anything closed the open period is explained as projected."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from siren_sync import explain
from siren_sync.app import open_app
from siren_sync.config import load_config
from siren_sync.errors import UsageError
from tests.payouts.helpers import JANUARY as JANUARY_ID
from tests.payouts.helpers import LATER, january
from tests.support.cli import collab_yaml, dist_yaml
from tests.support.ledgers import close, credit, sale

JANUARY = datetime(2027, 1, 1, tzinfo=UTC)
EVENT_LINE = re.compile(r"^  (\S+)  (\w+) +x(-?\d+) +(-?[\d.]+) pts  (\S+)( late)?$")


@pytest.fixture
def app(site):
    """alice and bob on a monthly pool paying 100% of revenue; `manual` scores 2, `boundCouponUsed` 5."""
    path = site.config(collab_yaml(["alice", "bob"]), dist_yaml(pct=100, types="{manual: 2, boundCouponUsed: 5}"))
    with open_app(load_config(path), now=datetime(2026, 11, 20, tzinfo=UTC)) as opened:
        opened.ledger.record([credit("alice", 3, key="crm:1"), credit("alice", 1, key="crm:2", type_="boundCouponUsed"),
                              credit("bob", 1, key="crm:3"), sale("s", "9.00")])
        yield opened


def events_of(text: str) -> list[tuple[str, int, Decimal, str, bool]]:
    """(type, quantity, points, key, late) of each event line."""
    return [(m[2], int(m[3]), Decimal(m[4]), m[5], bool(m[6])) for m in map(EVENT_LINE.match, text.splitlines()) if m]


def score_line(text: str) -> tuple[Decimal, Decimal, str]:
    """(score, the events' total, amount) from the last line."""
    m = re.search(r"score (\S+) \(events above add up to (\S+)\); amount (\S+)", text)
    assert m, text
    return Decimal(m[1]), Decimal(m[2]), m[3]


def test_the_events_of_a_closed_distribution_add_up_to_the_score(app):
    [made] = close(app.ledger)
    text = explain.render(app, "alice", None)
    assert text.splitlines()[0].startswith(f"{made.id} [closed] Pool Pool: 2026-11-01T00:00:00+00:00 to ")
    assert events_of(text) == [("manual", 3, Decimal(6), "crm:1", False),
                               ("boundCouponUsed", 1, Decimal(5), "crm:2", False)]
    score, total, amount = score_line(text)
    assert score == total == sum(points for _, _, points, _, _ in events_of(text)) == 11
    assert amount == next(str(o.amount) for o in made.obligations if o.collaborator == "alice") == "7.62"


def test_only_the_collaborators_own_events_are_listed(app):
    close(app.ledger)
    assert [key for *_, key, _ in events_of(explain.render(app, "bob", None))] == ["crm:3"]


def test_a_late_event_is_listed_in_the_period_it_counted_in_and_marked(app):
    close(app.ledger)
    app.ledger.record([credit("alice", 2, key="late:1"), credit("alice", 1, key="dec:1", at=datetime(2026, 12, 5,
                                                                                                       tzinfo=UTC))])
    close(app.ledger, JANUARY)
    text = explain.render(app, "alice", "pool-20270101t0000")
    assert [(key, late) for *_, key, late in events_of(text)] == [("late:1", True), ("dec:1", False)]
    assert score_line(text)[:2] == (Decimal(6), Decimal(6))
    november = explain.render(app, "alice", "pool-20261201t0000")
    assert "late:1" not in november  # the closed period was not edited


def test_without_a_distribution_the_latest_one_the_collaborator_was_in_is_explained(app):
    close(app.ledger)
    app.ledger.record([credit("bob", 1, key="dec:bob", at=datetime(2026, 12, 5, tzinfo=UTC))])
    close(app.ledger, JANUARY)
    assert explain.render(app, "bob", None).startswith("pool-20270101t0000 [closed]")
    assert explain.render(app, "alice", None).startswith("pool-20261201t0000 [closed]")


def test_an_unknown_distribution_is_a_usage_error(app):
    with pytest.raises(UsageError, match="unknown distribution 'pool-20991201t0000'") as info:
        explain.render(app, "alice", "pool-20991201t0000")
    assert info.value.exit_code == 2


def test_before_anything_closed_the_open_period_is_explained_as_projected(app):
    text = explain.render(app, "alice", None)
    assert text.splitlines()[0] == ("pool-20261201t0000 [open (projected)] Pool Pool: 2026-11-01T00:00:00+00:00 to "
                                    "2026-12-01T00:00:00+00:00")
    assert [key for *_, key, _ in events_of(text)] == ["crm:1", "crm:2"]
    assert score_line(text) == (Decimal(11), Decimal(11), "7.62")
    assert app.store.table("distributions") == {}  # projected, not closed


def test_a_collaborator_who_did_not_score_in_a_distribution_has_no_events_and_0(app):
    close(app.ledger)
    app.ledger.record([credit("alice", 1, key="dec:1", at=datetime(2026, 12, 5, tzinfo=UTC))])
    close(app.ledger, JANUARY)
    text = explain.render(app, "bob", "pool-20270101t0000")
    assert events_of(text) == [] and score_line(text) == (Decimal(0), Decimal(0), "0")


def explain_status(site, who="alice"):
    code, out, err = site.run("explain", who, "--distribution", JANUARY_ID)
    assert code == 0, err
    lines = out.splitlines()
    return lines[next(i for i, line in enumerate(lines) if line.startswith("  status ")):]


def test_the_status_history_of_an_obligation(site):
    january(site, "  review: true\n  hold: 7 days\n")
    assert explain_status(site) == ["  status draft", "    earned 2025-02-01T00:00:00+00:00",
                                    f"    draft: waits for `siren-sync approve {JANUARY_ID}`",
                                    "    payable from 2025-02-08T00:00:00+00:00"]
    site.run("approve", JANUARY_ID)
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
    site.run("approve", JANUARY_ID, "--reject", "--reason", "test orders")
    lines = explain_status(site)
    assert lines[0] == "  status rejected"
    assert lines[2].startswith("    rejected ") and lines[2].endswith(": test orders")
    assert len(lines) == 3  # never payable


def test_explain_a_reward_shows_what_refunds_took_back_and_its_clawback(site, tmp_path):
    from datetime import timedelta
    from fractions import Fraction

    from siren_sync import commissions
    from siren_sync.model import Event, Line, OrderValue
    from siren_sync.payouts import fulfillments

    programs = "programs:\n  aff: {units: USD, reward: {percentage: 10}, engagements: [boundCouponUsed]}\n"
    config = load_config(site.config(collab_yaml(["alice", "bob"]), dist_yaml() + programs))
    paid, now = datetime(2026, 11, 2, tzinfo=UTC), datetime(2026, 11, 20, tzinfo=UTC)
    value = OrderValue("USD", Decimal("99.99"), (Line("1", Decimal("99.99")),))
    with open_app(config, now=now) as app:
        def record(*events):
            app.ledger.record(events)
            commissions.reward(app.store, config.programs, app.ledger.collaborators, now)
        record(Event(key="woocommerce:sale:7", type="sale", at=paid, order=value, order_id=7),
               Event(key="woocommerce:boundCouponUsed:7:a", type="boundCouponUsed", at=paid, collaborator="alice",
                     order_id=7))
        record(Event(key="woocommerce:refund:7:1", type="sale", at=paid + timedelta(days=1), order=value, order_id=7,
                     share=-Fraction(Decimal("33.33")) / Fraction(Decimal("99.99"))))
        made = fulfillments.plan(app.store, fulfillments.Selection(now), str(tmp_path / "f.csv"),
                                 app.ledger.collaborators, {}, "", now)
        fulfillments.create(app.store, made, paid_at=now)
        record(Event(key="woocommerce:cancel:7", type="sale", at=now, order=value, order_id=7,
                     share=-Fraction(Decimal("66.66")) / Fraction(Decimal("99.99"))))
        lines = explain.reward(app, "alice", "aff:7:alice").splitlines()
        with app.store.transaction() as tx:  # the reward as a store before lean documents held it
            tx.put("programs/obligations/2026-11", "aff:7:alice",
                   commissions.full("aff:7:alice", app.store.get("programs/obligations/2026-11", "aff:7:alice")))
        assert explain.reward(app, "alice", "aff:7:alice").splitlines() == lines
    assert "  reward 10.00 USD, earned 2026-11-02T00:00:00+00:00 (the payment)" in lines
    assert "  counted value 99.99; amount: 10% of 99.99 = 10.00 USD (rounded half-up to 0.01)" in lines
    assert ("  refund 1 at 2026-11-03T00:00:00+00:00: -3.33 = 10.00 x 33.33 / 99.99, rounded half-up; "
            "the reward is reduced") in lines
    assert ("  cancellation at 2026-11-20T00:00:00+00:00: -6.67 = the 6.67 left (full refund or cancellation); "
            "the reward was paid: clawback aff:7:alice:refund:cancel") in lines
    assert "  clawback aff:7:alice:refund:cancel: -6.67 USD, earned 2026-11-20T00:00:00+00:00" in lines
