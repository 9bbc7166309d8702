"""Program rewards as a user sees them through the commands (DESIGN sections 6-9, README "Programs"):
netted with distributions' obligations, clawed back, held, selected, fulfilled, explained."""
from __future__ import annotations

import csv
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from siren_sync.app import open_app
from siren_sync.config import load_config
from siren_sync.model import Event, Line, OrderValue, Touch
from siren_sync.sync import begin_programs, reward_programs
from tests.support.cli import collab_yaml, credit, dist_yaml, distribute_json, sale
from tests.support.postgres import database_url, namespace_for
from tests.support.programs import DEALS, LEADS, deal, json_of, lead, shop

AFF = "aff: {units: USD, reward: {percentage: 25}, engagements: [boundCouponUsed]}"
PAID = datetime(2026, 11, 10, 12, 5, tzinfo=UTC)
REFUNDED = datetime(2026, 11, 12, 9, tzinfo=UTC)
AS_OF = "2026-11-20T00:00:00+00:00"
LATER = "2026-11-25T00:00:00+00:00"


def record(site, *events: Event) -> None:
    """Record WooCommerce's events of orders and reward them, as a sync does."""
    with open_app(load_config(site.root / "siren.yaml")) as app:
        begin_programs(app)
        app.ledger.record(events)
        reward_programs(app)


def _value(total: str) -> OrderValue:
    return OrderValue("USD", Decimal(total), (Line("1", Decimal(total)),))


def order(oid: int, who: str = "alice", total: str = "100.00", at: datetime = PAID) -> list[Event]:
    """A paid order with `who`'s coupon on it."""
    return [Event(key=f"woocommerce:sale:{oid}", type="sale", at=at, order=_value(total), order_id=oid,
                  touch=Touch(created_at=at - timedelta(minutes=5)), source="woocommerce"),
            Event(key=f"woocommerce:boundCouponUsed:{oid}:{who}", type="boundCouponUsed", at=at, collaborator=who,
                  order_id=oid, source="woocommerce")]


def refund(oid: int, rid: int, amount: str, total: str = "100.00", at: datetime = REFUNDED) -> Event:
    return Event(key=f"woocommerce:refund:{oid}:{rid}", type="sale", at=at, order=_value(total), order_id=oid,
                 share=-Fraction(Decimal(amount)) / Fraction(Decimal(total)), source="woocommerce")


def run_ok(site, *argv: str) -> str:
    code, out, err = site.run(*argv)
    assert code == 0, err
    return out


def fulfill(site, *argv: str, as_of: str = AS_OF, name: str = "f.csv") -> dict:
    return json_of(site, "fulfill", "--out", str(site.root / name), "--as-of", as_of, *argv)


def obligations(site, as_of: str = AS_OF, *argv: str) -> dict[str, tuple[str, str]]:
    return {o["id"]: (o["amount"], o["status"])
            for o in json_of(site, "payouts", "--as-of", as_of, *argv)["obligations"]}


def in_a_fulfillment(site) -> None:
    """alice's reward 25.00 on order 7 is in fulfillment F20261120-1, open."""
    shop(site, AFF)
    record(site, *order(7))
    fulfill(site)


def paid_then_refunded(site, **shop_options) -> None:
    """alice's reward 25.00 on order 7 is paid (F20261120-1), then 40.00 of the order is refunded."""
    shop(site, AFF, **shop_options)
    record(site, *order(7))
    fulfill(site)
    run_ok(site, "fulfillment", "complete", "F20261120-1", "--paid-at", AS_OF)
    record(site, refund(7, 55, "40.00", at=datetime(2026, 11, 21, tzinfo=UTC)))


# -- netting and clawbacks -------------------------------------------------------------------------------

def test_a_clawback_is_netted_with_a_distribution_and_a_program_reward_of_the_same_collaborator(site):
    site.config(collab_yaml(["alice", "bob"]), dist_yaml(pct=10) + f"programs:\n  {AFF}\n")
    record(site, *order(7))
    fulfill(site)
    run_ok(site, "fulfillment", "complete", "F20261120-1", "--paid-at", AS_OF)
    record(site, refund(7, 55, "40.00", at=datetime(2026, 11, 21, tzinfo=UTC)))
    site.run("import", str(site.events([credit("alice", 3), sale("s", "30.00")])))
    distribute_json(site)
    record(site, *order(8, at=datetime(2026, 12, 2, tzinfo=UTC)))
    made = fulfill(site, as_of="2026-12-03T00:00:00+00:00", name="g.csv")
    # the pool: 10% of the orders' 100.00 - 40.00 and the sale's 30.00
    assert [(p["collaborator"], p["amount"], p["obligations"]) for p in made["payouts"]] == [("alice", "24.00", 3)]
    assert (site.root / "g.csv").read_text().splitlines()[1:] == [
        "F20261203-1:alice,alice@example.com,Alice,alice,USD,24.00"]
    assert obligations(site, "2026-12-03T00:00:00+00:00") == {
        "pool-20261201t0000:alice": ("9.00", "processing"), "aff:7:alice": ("25.00", "paid"),
        "aff:7:alice:refund:55": ("-10.00", "processing"), "aff:8:alice": ("25.00", "processing")}


def test_a_clawback_alone_is_never_paid_and_waits_to_be_netted(site):
    paid_then_refunded(site)
    view = json_of(site, "payouts", "--as-of", LATER)
    assert [o for o in view["obligations"] if o["id"] == "aff:7:alice:refund:55"] == [{
        "id": "aff:7:alice:refund:55", "source": "program", "origin": "aff", "collaborator": "alice",
        "amount": "-10.00", "units": "USD", "status": "payable", "earned_at": "2026-11-21T00:00:00+00:00",
        "payable_at": "2026-11-21T00:00:00+00:00", "fulfillment": None, "paid_at": None}]
    assert view["collaborators"][0]["balance"] == "-10.00"
    made = fulfill(site, as_of=LATER, name="g.csv")
    assert made["payouts"] == [] and made["waiting"] == [{"collaborator": "alice", "units": "USD",
                                                          "balance": "-10.00"}]
    assert not (site.root / "g.csv").exists()
    code, out, _ = site.run("payouts", "--as-of", LATER)
    assert "(negative: netted against later obligations, never paid)" in out


def test_the_minimum_applies_to_the_balance_after_its_clawbacks(site):
    paid_then_refunded(site, payouts='payouts: {minimum: {USD: "20.00"}}\n')
    record(site, *order(8, total="120.00", at=datetime(2026, 11, 22, tzinfo=UTC)))  # 30.00 - 10.00 = 20.00
    record(site, refund(8, 56, "4.00", total="120.00", at=datetime(2026, 11, 23, tzinfo=UTC)))  # 29.00 left
    code, out, err = site.run("fulfill", "--out", str(site.root / "g.csv"), "--as-of", LATER)
    assert code == 0, err
    assert "waits: alice 19.00 USD (below the minimum 20.00 USD)" in out and not (site.root / "g.csv").exists()
    record(site, *order(9, total="4.00", at=datetime(2026, 11, 24, tzinfo=UTC)))  # + 1.00
    made = fulfill(site, as_of=LATER, name="g.csv")
    assert [(p["amount"], p["obligations"]) for p in made["payouts"]] == [("20.00", 3)]


def test_a_reward_refunded_while_processing_then_its_fulfillment_cancelled_pays_what_is_left(site):
    in_a_fulfillment(site)
    record(site, refund(7, 55, "40.00", at=datetime(2026, 11, 21, tzinfo=UTC)))
    assert obligations(site, LATER) == {"aff:7:alice": ("25.00", "processing"),
                                        "aff:7:alice:refund:55": ("-10.00", "payable")}
    assert "cancelled" in run_ok(site, "fulfillment", "cancel", "F20261120-1")
    made = fulfill(site, as_of=LATER, name="g.csv")
    assert [(p["amount"], p["obligations"]) for p in made["payouts"]] == [("15.00", 2)]


def test_a_reward_of_a_cancelled_fulfillment_is_reduced_by_a_refund_and_paid_once(site):
    in_a_fulfillment(site)
    run_ok(site, "fulfillment", "cancel", "F20261120-1")
    record(site, refund(7, 55, "40.00", at=datetime(2026, 11, 21, tzinfo=UTC)))
    assert obligations(site, LATER) == {"aff:7:alice": ("15.00", "payable")}
    made = fulfill(site, as_of=LATER, name="g.csv")
    assert [(p["id"], p["amount"]) for p in made["payouts"]] == [("F20261125-1:alice", "15.00")]
    again = fulfill(site, as_of=LATER, name="h.csv")
    assert again["fulfillment"] is None and again["payouts"] == []


def test_an_excepted_payout_s_reward_is_reduced_not_clawed_back(site):
    in_a_fulfillment(site)
    run_ok(site, "fulfillment", "complete", "F20261120-1", "--except", "alice")
    record(site, refund(7, 55, "40.00", at=datetime(2026, 11, 21, tzinfo=UTC)))
    assert obligations(site, LATER) == {"aff:7:alice": ("15.00", "payable")}


# -- selections, holds, units ----------------------------------------------------------------------------

def test_a_filtered_fulfill_never_touches_another_collaborator_s_rewards_or_clawbacks(site):
    paid_then_refunded(site)
    record(site, *order(8, who="bob", at=datetime(2026, 11, 22, tzinfo=UTC)))
    record(site, *order(9, at=datetime(2026, 11, 22, tzinfo=UTC)))
    made = fulfill(site, "--collaborator", "bob", as_of=LATER, name="g.csv")
    assert [(p["collaborator"], p["amount"]) for p in made["payouts"]] == [("bob", "25.00")]
    assert obligations(site, LATER, "--collaborator", "alice") == {
        "aff:7:alice": ("25.00", "paid"), "aff:7:alice:refund:55": ("-10.00", "payable"),
        "aff:9:alice": ("25.00", "payable")}


def test_fulfill_as_of_before_a_reward_s_hold_is_over_pays_nothing_of_it(site):
    shop(site, AFF, payouts="payouts: {hold: 30 days}\n")
    record(site, *order(7))
    code, out, err = site.run("fulfill", "--out", str(site.root / "f.csv"), "--as-of", "2026-12-01T00:00:00+00:00")
    assert code == 0, err
    assert out.startswith("nothing is payable for this selection") and not (site.root / "f.csv").exists()
    assert obligations(site, "2026-12-01T00:00:00+00:00")["aff:7:alice"] == ("25.00", "pending")
    view = json_of(site, "payouts", "--as-of", "2026-12-01T00:00:00+00:00")
    assert view["collaborators"][0]["next_payable_at"] == "2026-12-10T12:05:00+00:00"


def test_a_clawback_counts_at_once_even_inside_the_hold(site):
    """A negative obligation counts in the balance from the moment it exists (DESIGN 7), hold or not."""
    shop(site, AFF, payouts="payouts: {hold: 1 day}\n")
    record(site, *order(7))
    fulfill(site)
    run_ok(site, "fulfillment", "complete", "F20261120-1")
    record(site, refund(7, 55, "40.00", at=datetime(2026, 11, 21, tzinfo=UTC)))
    record(site, *order(8, at=datetime(2026, 11, 21, 1, tzinfo=UTC)))
    made = fulfill(site, as_of="2026-11-22T02:00:00+00:00", name="g.csv")
    assert [(p["amount"], p["obligations"]) for p in made["payouts"]] == [("15.00", 2)]


def test_units_selects_one_unit_and_paypal_refuses_custom_units_with_exit_2(site, capsys):
    credits = "credits: {units: credits, reward: {percentage: 10}, engagements: [boundCouponUsed]}"
    shop(site, AFF, credits)
    record(site, *order(7))
    capsys.readouterr()
    code, out, err = site.run("fulfill", "--format", "paypal", "--out", str(site.root / "p.csv"), "--as-of", AS_OF)
    assert code == 2 and "credits is not a currency" in err and err.count("\n") == 1
    assert not (site.root / "p.csv").exists() and run_ok(site, "fulfillments") == "no fulfillments\n"
    made = fulfill(site, "--format", "paypal", "--units", "USD", name="p.csv")
    assert [(p["collaborator"], p["units"], p["amount"]) for p in made["payouts"]] == [("alice", "USD", "25.00")]
    assert (site.root / "p.csv").read_text() == "alice@example.com,25.00,USD,F20261120-1-1,,PAYPAL\n"
    assert obligations(site)["credits:7:alice"] == ("10", "payable")


def test_paypal_rows_of_program_payouts_carry_the_note_and_customer_ids(site):
    shop(site, AFF, payouts='payouts: {note: "Rewards from Example Shop"}\n')
    record(site, *order(7), *order(8, who="bob"))
    fulfill(site, "--format", "paypal", name="p.csv")
    assert (site.root / "p.csv").read_text() == (
        "alice@example.com,25.00,USD,F20261120-1-1,Rewards from Example Shop,PAYPAL\n"
        "bob@example.com,25.00,USD,F20261120-1-2,Rewards from Example Shop,PAYPAL\n")
    run_ok(site, "fulfillment", "export", "F20261120-1", "--format", "siren", "--out", str(site.root / "s.csv"))
    assert [r[0] for r in csv.reader((site.root / "s.csv").open())][1:] == ["F20261120-1:alice", "F20261120-1:bob"]


# -- history, explain, approve ---------------------------------------------------------------------------

def test_history_lists_a_clawback_with_its_negative_amount(site):
    paid_then_refunded(site)
    rewards = {r["id"]: r for r in json_of(site, "history")["rewards"]}
    assert rewards["aff:7:alice:refund:55"] == {
        "id": "aff:7:alice:refund:55", "program": "aff", "collaborator": "alice", "amount": "-10.00",
        "units": "USD", "earned_at": "2026-11-21T00:00:00+00:00", "status": "payable"}
    assert rewards["aff:7:alice"]["status"] == "paid"


def test_explain_a_reward_shows_its_clawback_and_its_fulfillment(site):
    paid_then_refunded(site)
    out = run_ok(site, "explain", "alice", "--reward", "aff:7:alice")
    assert "    in fulfillment F20261120-1 as of 2026-11-20T00:00:00+00:00: paid 2026-11-20T00:00:00+00:00" in out
    assert "  clawback aff:7:alice:refund:55: -10.00 USD, earned 2026-11-21T00:00:00+00:00" in out


def test_explain_a_lead_and_a_manual_sale_keyed_by_digits(site):
    shop(site, DEALS, LEADS)
    deal(site, "7", "alice", "40.00", PAID)
    lead(site, "crm:lead:1", "bob", PAID)
    out = run_ok(site, "explain", "alice", "--reward", "deals:manual:7:alice")
    assert out.splitlines()[0] == "reward deals:manual:7:alice (program deals: deals), order manual:7"
    assert "  counted value 40.00; amount: 25% of 40.00 = 10.00 USD (rounded half-up to 0.01)" in out
    out = run_ok(site, "explain", "bob", "--reward", "leads:crm:lead:1:bob")
    assert out.splitlines()[0] == "reward leads:crm:lead:1:bob (program leads: leads), lead crm:lead:1"
    assert "now 10.00 USD, status payable" in out


def test_unknown_reward_ids_are_one_line_exit_2(site, capsys):
    paid_then_refunded(site)
    capsys.readouterr()
    for argv in (("explain", "alice", "--reward", "aff:99:alice"), ("explain", "alice", "--reward", "aff:7:bob"),
                 ("approve", "aff:99:alice"), ("approve", "aff:7:alice:refund:55")):
        code, out, err = site.run(*argv)
        assert code == 2 and out == "" and err.count("\n") == 1, argv


def test_reject_a_reviewed_program_reward(site):
    shop(site, AFF.replace("engagements", "review: true, engagements"))
    record(site, *order(7))
    assert obligations(site)["aff:7:alice"] == ("25.00", "draft")
    assert fulfill(site)["payouts"] == []
    code, out, err = site.run("approve", "aff:7:alice", "--reject", "--reason", "test order")
    assert code == 0, err
    assert out.strip() == "rejected program reward aff:7:alice: never paid"
    view = json_of(site, "payouts", "--as-of", AS_OF)
    assert [(o["status"], o["payable_at"]) for o in view["obligations"]] == [("rejected", None)]
    assert fulfill(site)["payouts"] == []
    code, _, err = site.run("approve", "aff:7:alice")
    assert code == 2 and "already rejected: a decision is final" in err


# -- standings --------------------------------------------------------------------------------------------

def test_standings_count_a_month_in_the_site_s_timezone(site, monkeypatch):
    from siren_sync.cli import periods

    shop(site, AFF)
    path = site.root / "siren.yaml"
    path.write_text(path.read_text().replace("timezone: UTC", "timezone: America/New_York"))
    record(site, *order(7, at=datetime(2026, 12, 1, 3, tzinfo=UTC)))  # 30 November, 22:00 in New York
    record(site, *order(8, who="bob", at=datetime(2026, 12, 1, 6, tzinfo=UTC)))  # 1 December, 01:00
    monkeypatch.setattr(periods, "utcnow", lambda: datetime(2026, 12, 3, tzinfo=UTC))
    (month,) = json_of(site, "standings")["programs"]
    assert (month["month_start"], month["month_end"]) == ("2026-12-01T00:00:00-05:00", "2027-01-01T00:00:00-05:00")
    assert month["collaborators"] == [{"collaborator": "bob", "amount": "25.00"}]
    monkeypatch.setattr(periods, "utcnow", lambda: datetime(2026, 12, 1, 4, tzinfo=UTC))  # still November there
    (month,) = json_of(site, "standings")["programs"]
    assert month["collaborators"] == [{"collaborator": "alice", "amount": "25.00"}]


def test_standings_net_a_clawback_of_the_month(site, monkeypatch):
    from siren_sync.cli import periods

    paid_then_refunded(site)
    monkeypatch.setattr(periods, "utcnow", lambda: datetime(2026, 11, 25, tzinfo=UTC))
    (month,) = json_of(site, "standings")["programs"]
    assert (month["rewards"], month["earned"]) == (1, "15.00")


# -- store copy --------------------------------------------------------------------------------------------

def _use_store(site, line: str) -> None:
    path = site.root / "siren.yaml"
    text = path.read_text()
    start = text.index("store: {")
    path.write_text(text[:start] + line + text[text.index("\n", start):])


@pytest.mark.parametrize("backend", ["tinydb", "postgresql"])
def test_store_copy_and_back_keeps_program_rewards_clawbacks_fulfillments_and_their_index(site, backend):
    paid_then_refunded(site)
    views = [("history", "--json"), ("payouts", "--as-of", LATER, "--json"), ("fulfillments", "--json"),
             ("explain", "alice", "--reward", "aff:7:alice"), ("standings", "--json")]
    before = [run_ok(site, *argv) for argv in views]
    assert json.loads(before[1])["obligations"]
    if backend == "postgresql":
        url, namespace = database_url(), namespace_for(site.root)
        run_ok(site, "store", "copy", "--to", url, "--namespace", namespace)
        _use_store(site, f'store: {{url: "{url}", namespace: "{namespace}"}}')
        assert [run_ok(site, *argv) for argv in views] == before
    run_ok(site, "store", "copy", "--to", str(site.root / "copy" / "siren.json"))
    _use_store(site, "store: {path: copy/siren.json}")
    assert [run_ok(site, *argv) for argv in views] == before
    record(site, refund(7, 56, "60.00", at=datetime(2026, 11, 22, tzinfo=UTC)))  # found through the copied index
    assert obligations(site, LATER)["aff:7:alice:refund:56"] == ("-15.00", "payable")
    record(site, *order(7))  # the same order read again: the copy knows it was rewarded
    assert len(json_of(site, "history")["rewards"]) == 3

# -- units and ids as the commands take them -----------------------------------------------------------------

CREDITS = "credits: {units: credits, reward: {percentage: 10}, engagements: [boundCouponUsed]}"


def test_a_minimum_in_a_unit_only_a_program_pays_in(site):
    """Before: a minimum in `credits`, paid by a program alone, was a config error (a unit no distributor pays in)."""
    shop(site, CREDITS, payouts='payouts: {minimum: {credits: "20"}}\n')
    record(site, *order(7))
    made = fulfill(site)
    assert made["payouts"] == [] and made["waiting"] == [{"collaborator": "alice", "units": "credits",
                                                          "balance": "10"}]


def test_units_of_a_program_with_nothing_payable_yet(site):
    """Before: `--units credits` was a usage error (exit 2) until a reward in credits existed."""
    shop(site, CREDITS)
    code, out, err = site.run("fulfill", "--out", str(site.root / "f.csv"), "--units", "credits", "--as-of", AS_OF)
    assert code == 0, err
    assert out.startswith("nothing is payable for this selection")


def test_fulfill_collaborator_in_another_unicode_form(site):
    """Ids are compared in NFC (README): before, `fulfill --collaborator` and `--except` refused a
    configured `José` typed with a combining accent (exit 2)."""
    site.config("  - {id: José, name: José, email: jose@example.com}", dist_yaml() + f"programs:\n  {AFF}\n")
    record(site, *order(7, who="José"))
    made = fulfill(site, "--collaborator", "Jose\u0301")
    assert [p["collaborator"] for p in made["payouts"]] == ["José"]
    out = run_ok(site, "fulfillment", "complete", "F20261120-1", "--except", "Jose\u0301")
    assert out.endswith("back to payable: José\n")
    assert obligations(site)["aff:7:José"] == ("25.00", "payable")


def test_a_month_with_nothing_earned_yet_shows_zero_in_the_unit_s_decimals(site, monkeypatch):
    """Before: a program's open month with no reward yet showed `0 USD` (`"earned": "0"`) where every
    other amount, zero too, has the unit's decimals."""
    from siren_sync.cli import periods

    shop(site, AFF, CREDITS.replace("percentage: 10}", "percentage: 10}, unitDecimals: 1"))
    monkeypatch.setattr(periods, "utcnow", lambda: datetime(2026, 11, 25, tzinfo=UTC))
    assert [(m["program"], m["earned"]) for m in json_of(site, "standings")["programs"]] == [
        ("aff", "0.00"), ("credits", "0.0")]
    assert "program aff: 2026-11-01T00:00:00+00:00 to 2026-12-01T00:00:00+00:00: 0 rewards, 0.00 USD" in run_ok(
        site, "standings")


def test_explain_a_clawback_id_explains_the_reward_it_takes_back(site):
    """`history` lists a clawback among the program rewards; before, `explain --reward` with its id
    said the collaborator had no such reward."""
    paid_then_refunded(site)
    lines = run_ok(site, "explain", "alice", "--reward", "aff:7:alice:refund:55").splitlines()
    assert lines[0] == ("clawback aff:7:alice:refund:55 of reward aff:7:alice: -10.00 USD, "
                        "earned 2026-11-21T00:00:00+00:00")
    assert lines[1] == "reward aff:7:alice (program aff: aff), order 7"
    assert "  clawback aff:7:alice:refund:55: -10.00 USD, earned 2026-11-21T00:00:00+00:00" in lines
    code, _, err = site.run("explain", "bob", "--reward", "aff:7:alice:refund:55")
    assert code == 2 and "bob has no program reward 'aff:7:alice:refund:55'" in err


# -- more of the lifecycle through the commands -------------------------------------------------------------

def test_paypal_writes_one_file_per_currency_of_program_payouts_with_ids_unique_across_them(site):
    shop(site, AFF, "euros: {units: EUR, reward: {percentage: 10}, engagements: [manual]}")
    record(site, *order(7), *order(8, who="bob"))
    deal(site, "crm:deal:1", "alice", "200.00", PAID)
    fulfill(site, "--format", "paypal", name="p.csv")
    assert (site.root / "p.EUR.csv").read_text() == "alice@example.com,20.00,EUR,F20261120-1-1,,PAYPAL\n"
    assert (site.root / "p.USD.csv").read_text() == ("alice@example.com,25.00,USD,F20261120-1-2,,PAYPAL\n"
                                                     "bob@example.com,25.00,USD,F20261120-1-3,,PAYPAL\n")
    assert not (site.root / "p.csv").exists()


def test_paypal_leaves_out_a_collaborator_without_email_and_keeps_their_rewards_payable(site, capsys):
    site.config(collab_yaml(["alice"]) + "\n  - {id: dan, name: Dan}", dist_yaml() + f"programs:\n  {AFF}\n")
    record(site, *order(7), *order(8, who="dan"))
    capsys.readouterr()
    code, out, err = site.run("fulfill", "--format", "paypal", "--out", str(site.root / "p.csv"), "--as-of", AS_OF)
    assert code == 0 and "dan has no email address PayPal can pay: left out of this fulfillment" in err
    assert (site.root / "p.csv").read_text() == "alice@example.com,25.00,USD,F20261120-1-1,,PAYPAL\n"
    assert obligations(site)["aff:8:dan"] == ("25.00", "payable")


def test_mark_paid_pays_program_rewards_once_and_nets_a_later_clawback(site):
    shop(site, AFF)
    record(site, *order(7))
    assert "marked 1 paid" in run_ok(site, "payouts", "--csv", str(site.root / "a.csv"), "--mark-paid",
                                     "--as-of", AS_OF)
    assert "nothing is payable" in run_ok(site, "payouts", "--csv", str(site.root / "b.csv"), "--mark-paid",
                                          "--as-of", AS_OF)
    record(site, refund(7, 55, "100.00", at=datetime(2026, 11, 21, tzinfo=UTC)))
    record(site, *order(8, total="200.00", at=datetime(2026, 11, 22, tzinfo=UTC)))
    run_ok(site, "payouts", "--csv", str(site.root / "c.csv"), "--mark-paid", "--as-of", LATER)
    assert (site.root / "c.csv").read_text().splitlines()[1:] == [
        "F20261125-1:alice,alice@example.com,Alice,alice,USD,25.00"]
    assert obligations(site, LATER) == {"aff:7:alice": ("25.00", "paid"), "aff:7:alice:refund:55": ("-25.00", "paid"),
                                        "aff:8:alice": ("50.00", "paid")}


def test_a_dry_run_shows_the_program_payouts_and_records_nothing(site):
    shop(site, AFF)
    record(site, *order(7))
    made = fulfill(site, "--dry-run")
    assert (made["dry_run"], made["fulfillment"]["id"], made["payouts"][0]["amount"]) == (True, "F20261120-1", "25.00")
    assert not (site.root / "f.csv").exists() and obligations(site)["aff:7:alice"] == ("25.00", "payable")
    assert fulfill(site)["fulfillment"]["id"] == "F20261120-1"
    assert fulfill(site, name="g.csv")["payouts"] == []  # never in two fulfillments


def test_check_lists_program_rewards_waiting_for_review_until_decided(site):
    shop(site, AFF.replace("engagements", "review: true, engagements"))
    record(site, *order(7), *order(8, who="bob"))
    out = site.run("check")[1]
    assert "program rewards waiting for review: 2 (siren-sync approve ID): aff:7:alice, aff:8:bob" in out
    run_ok(site, "approve", "aff:7:alice")
    run_ok(site, "approve", "aff:8:bob", "--reject", "--reason", "self-referral")
    assert "waiting for review" not in site.run("check")[1]
    assert obligations(site) == {"aff:7:alice": ("25.00", "payable"), "aff:8:bob": ("25.00", "rejected")}


def test_explain_a_reviewed_reward_shows_the_decision_and_a_rejected_one_no_payable_date(site):
    """`payouts --json` shows a rejected reward's `payable_at` as null; before, `explain --reward`
    said it was payable from its earning time, and the reason given to `approve --reject` was shown
    nowhere."""
    shop(site, AFF.replace("engagements", "review: true, engagements"))
    record(site, *order(7), *order(8, who="bob"))
    run_ok(site, "approve", "aff:7:alice")
    run_ok(site, "approve", "aff:8:bob", "--reject", "--reason", "self-referral")
    lines = run_ok(site, "explain", "bob", "--reward", "aff:8:bob").splitlines()
    assert "  now 25.00 USD, status rejected" in lines
    assert [line[:13] + line[38:] for line in lines if line.startswith("    rejected ")] == [
        "    rejected : self-referral"]
    lines = run_ok(site, "explain", "alice", "--reward", "aff:7:alice").splitlines()
    assert "  now 25.00 USD, status payable, payable from 2026-11-10T12:05:00+00:00" in lines
    assert [line[:13] for line in lines if line.startswith("    approved ")] == ["    approved "]


def test_the_payouts_section_s_review_does_not_make_program_rewards_drafts(site):
    """Review applies to programs only with `review: true` on the program (DESIGN 8)."""
    shop(site, AFF, payouts="payouts: {review: true, hold: 2 days}\n")
    record(site, *order(7))
    assert obligations(site, LATER) == {"aff:7:alice": ("25.00", "payable")}
    assert obligations(site, "2026-11-11T00:00:00+00:00") == {"aff:7:alice": ("25.00", "pending")}


def test_paypal_refuses_more_than_5000_program_payouts_and_records_nothing(site, capsys):
    people = [f"c{i}" for i in range(5001)]
    site.config(collab_yaml(people), dist_yaml() + f"programs:\n  {DEALS}\n")
    rows = [{"key": f"crm:{who}", "type": "sale", "collaborator": who, "at": PAID.isoformat(), "revenue": "4.00"}
            for who in people]
    run_ok(site, "import", str(site.events(rows)))
    capsys.readouterr()
    code, out, err = site.run("fulfill", "--format", "paypal", "--out", str(site.root / "p.csv"), "--as-of", AS_OF)
    assert (code, out) == (2, "") and err == (
        "siren-sync: PayPal takes at most 5,000 rows a file and USD has 5,001 payouts: fulfil fewer at a time with "
        "--collaborator, or use --format siren\n")
    assert not (site.root / "p.csv").exists() and run_ok(site, "fulfillments") == "no fulfillments\n"
    made = fulfill(site, "--format", "paypal", "--collaborator", *people[:5000], name="p.csv")
    assert len(made["payouts"]) == 5000 and (site.root / "p.csv").read_text().count("\n") == 5000
    assert obligations(site, AS_OF, "--collaborator", "c5000") == {"deals:crm:c5000:c5000": ("1.00", "payable")}


def test_explain_a_reward_of_a_collaborator_no_longer_configured(site):
    """`payouts --collaborator` takes a collaborator removed from the config who still has
    obligations; before, `explain` refused them (unknown collaborator), so a clawback of theirs
    could not be explained."""
    shop(site, AFF)
    record(site, *order(8, who="bob"))
    site.config(collab_yaml(["alice"]), dist_yaml() + f"programs:\n  {AFF}\n")
    assert obligations(site, AS_OF, "--collaborator", "bob") == {"aff:8:bob": ("25.00", "payable")}
    assert run_ok(site, "explain", "bob", "--reward", "aff:8:bob").startswith("reward aff:8:bob (program aff: aff)")
    code, _, err = site.run("explain", "dan", "--reward", "aff:8:bob")
    assert code == 2 and "unknown collaborator 'dan'" in err
