"""Program money over weeks of a real shop, through the commands (DESIGN sections 7 and 8): refunds
between a payout file and its completion or cancellation, renewals over several polls and a crash,
royalties renewed, refunds of orders paid after a `store adopt`, reviewed rewards refunded before
approval, files imported twice. Each test says what DESIGN pays, computed by hand."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction

from siren_sync import commissions
from siren_sync.app import open_app
from siren_sync.cli import main
from siren_sync.config import load_config
from siren_sync.demo import THREE_POOLS, sandbox_config_text, sandbox_env
from siren_sync.model import Event, Line, OrderValue, Touch
from siren_sync.sandbox import Sandbox
from siren_sync.sync import begin_programs
from siren_sync.worker import Worker
from tests.cli.test_programs_hunt import fulfill, obligations, record, run_ok
from tests.support.programs import json_of, shop

PAID = datetime(2026, 11, 10, 12, 5, tzinfo=UTC)
AFF = "aff: {units: USD, reward: {percentage: 25}, engagements: [boundCouponUsed]}"


def aff(extra: str) -> str:
    """AFF with `extra` fields (`renewals: 2`)."""
    return AFF[:-1] + f", {extra}}}"


def day(n: int) -> str:
    """Midnight UTC of November `n` 2026 (December when past 30), as the commands take it."""
    return (datetime(2026, 11, 1, tzinfo=UTC) + timedelta(days=n - 1)).isoformat()


def _value(lines: tuple[tuple[str, int | None], ...]) -> OrderValue:
    """An order of lines (subtotal, product id), its total their sum."""
    made = tuple(Line(str(n), Decimal(amount), product_id=product) for n, (amount, product) in enumerate(lines, 1))
    return OrderValue("USD", sum((line.subtotal for line in made), Decimal(0)), made)


def sold(oid: int, at: datetime, coupon: str | None = "alice", renewal_of: int | None = None,
         lines: tuple[tuple[str, int | None], ...] = (("100.00", None),), owners: dict[int, str] | None = None,
         ) -> list[Event]:
    """The events WooCommerce gives for a paid order: its sale, a coupon, each owned line."""
    ov = _value(lines)
    events = [Event(key=f"woocommerce:sale:{oid}", type="sale", at=at, order=ov, order_id=oid, source="woocommerce",
                    touch=Touch(created_at=at - timedelta(minutes=5), renewal_of=renewal_of))]
    if coupon:
        events.append(Event(key=f"woocommerce:boundCouponUsed:{oid}:{coupon}", type="boundCouponUsed", at=at,
                            collaborator=coupon, order_id=oid, source="woocommerce"))
    events += [Event(key=f"woocommerce:collaboratorProductSold:{oid}:{line.id}", type="collaboratorProductSold",
                     at=at, collaborator=(owners or {})[line.product_id], order_id=oid, source="woocommerce")
               for line in ov.lines if line.product_id in (owners or {})]
    return events


def refunded(oid: int, rid: int | str, amount: str, at: datetime,
             lines: tuple[tuple[str, int | None], ...] = (("100.00", None),)) -> Event:
    """A refund of `amount` of an order of `lines` (`rid` "cancel": its cancellation of what is left)."""
    key = f"woocommerce:cancel:{oid}" if rid == "cancel" else f"woocommerce:refund:{oid}:{rid}"
    ov = _value(lines)
    return Event(key=key, type="sale", at=at, order=ov, order_id=oid, source="woocommerce",
                 share=-Fraction(Decimal(amount)) / Fraction(ov.total))


def paid_files(site) -> Decimal:
    """What every completed fulfillment paid, from `fulfillments --json`."""
    done = json_of(site, "fulfillments")["fulfillments"]
    return sum((Decimal(f["totals"].get("USD", "0")) for f in done if f["status"] == "complete"), Decimal(0))


# -- refunds between a payout file and its completion ----------------------------------------------------

def test_refunds_around_a_payout_file_cancelled_then_made_again_pay_the_reward_less_the_refunds(site):
    """Order 7 (100.00, alice's coupon): reward 25.00. Refund 55 (40.00) before any file: 25.00 x 40 /
    100 = 10.00 off, 15.00 left. `fulfill` puts 15.00 in F1; refund 56 (20.00) while F1 is open: a
    clawback of 5.00. F1 is cancelled, a new file pays 15.00 - 5.00 = 10.00 (25.00 - 10.00 - 5.00).
    Refund 57 (the last 40.00) after it is paid: a clawback of all that is left, 10.00, netted with
    order 8's 25.00. Paid in all: 10.00 + 15.00 = 25.00 + 25.00 - 25.00 of refunds."""
    shop(site, AFF)
    record(site, *sold(7, PAID))
    record(site, refunded(7, 55, "40.00", PAID + timedelta(days=1)))
    assert fulfill(site, as_of=day(12))["payouts"][0]["amount"] == "15.00"
    record(site, refunded(7, 56, "20.00", PAID + timedelta(days=2, hours=1)))
    assert obligations(site, day(13)) == {"aff:7:alice": ("15.00", "processing"),
                                          "aff:7:alice:refund:56": ("-5.00", "payable")}
    run_ok(site, "fulfillment", "cancel", "F20261112-1")
    made = fulfill(site, as_of=day(14), name="g.csv")
    assert [(p["amount"], p["obligations"]) for p in made["payouts"]] == [("10.00", 2)]
    run_ok(site, "fulfillment", "complete", "F20261114-1", "--paid-at", day(14))
    record(site, refunded(7, 57, "40.00", PAID + timedelta(days=5)))
    record(site, *sold(8, PAID + timedelta(days=6)))
    assert obligations(site, day(17))["aff:7:alice:refund:57"] == ("-10.00", "payable")
    made = fulfill(site, as_of=day(17), name="h.csv")
    assert [(p["amount"], p["obligations"]) for p in made["payouts"]] == [("15.00", 2)]
    run_ok(site, "fulfillment", "complete", "F20261117-1", "--paid-at", day(17))
    assert paid_files(site) == Decimal("25.00")
    assert json_of(site, "payouts", "--as-of", day(30))["collaborators"][0]["balance"] == "0.00"


def test_a_refund_then_a_cancellation_while_a_file_is_open_and_completed_net_the_order_to_zero(site):
    """Reward 25.00 in an open F1; refund 55 (30.00): clawback 7.50; the order is cancelled (the 70.00
    left): clawback of the 17.50 left. F1 completes (25.00 paid); the two clawbacks (-25.00) wait and
    are netted with order 8's 25.00: the next file pays nothing, the balance is 0.00."""
    shop(site, AFF)
    record(site, *sold(7, PAID))
    fulfill(site, as_of=day(12))
    record(site, refunded(7, 55, "30.00", PAID + timedelta(days=2)),
           refunded(7, "cancel", "70.00", PAID + timedelta(days=3)))
    run_ok(site, "fulfillment", "complete", "F20261112-1", "--paid-at", day(14))
    record(site, *sold(8, PAID + timedelta(days=5)))
    assert obligations(site, day(16)) == {
        "aff:7:alice": ("25.00", "paid"), "aff:7:alice:refund:55": ("-7.50", "payable"),
        "aff:7:alice:refund:cancel": ("-17.50", "payable"), "aff:8:alice": ("25.00", "payable")}
    made = fulfill(site, as_of=day(16), name="g.csv")
    assert made["payouts"] == [] and made["waiting"] == [{"collaborator": "alice", "units": "USD",
                                                          "balance": "0.00"}]


# -- renewals over weeks -----------------------------------------------------------------------------------

def _crashed(site, *events: Event) -> None:
    """A poll killed after the ledger committed `events`, before the programs' commit."""
    with open_app(load_config(site.root / "siren.yaml")) as app:
        begin_programs(app)
        app.ledger.record(events)


def test_renewals_2_pays_two_renewals_over_weekly_polls_and_a_crash_and_no_more(site):
    """`renewals: 2`: the first order pays 25.00, the first two renewals (80.00 each: 20.00) pay, the
    third and fourth nothing, whether their poll was killed before the rewards or not."""
    shop(site, aff("renewals: 2"))
    record(site, *sold(7, PAID))
    week = timedelta(days=7)
    _crashed(site, *sold(20, PAID + week, renewal_of=7, lines=(("80.00", None),)))
    record(site, *sold(21, PAID + 2 * week, renewal_of=7, lines=(("80.00", None),)))
    _crashed(site, *sold(22, PAID + 3 * week, renewal_of=7, lines=(("80.00", None),)))
    record(site)
    record(site, *sold(23, PAID + 4 * week, renewal_of=7, lines=(("80.00", None),)))
    assert obligations(site, day(40)) == {"aff:7:alice": ("25.00", "payable"), "aff:20:alice": ("20.00", "payable"),
                                          "aff:21:alice": ("20.00", "payable")}


def test_a_royalty_renews_on_the_owner_s_own_lines_only(site):
    """Royalties (50%, `renewals: 1`) on an order of bob's course (30.00) and another product (70.00):
    bob is paid 15.00 on his line. The renewal of the same two lines pays him 15.00 again (DESIGN 8:
    each owner on their own lines only), not 50% of the whole renewal (50.00); a refund of half the
    renewal takes half of his line back (7.50), and a second renewal pays nothing."""
    shop(site, "roy: {units: USD, reward: {percentage: 50}, engagements: [collaboratorProductSold], renewals: 1}")
    lines = (("30.00", 93), ("70.00", None))
    record(site, *sold(7, PAID, coupon=None, lines=lines, owners={93: "bob"}))
    record(site, *sold(20, PAID + timedelta(days=7), coupon=None, renewal_of=7, lines=lines, owners={93: "bob"}))
    assert obligations(site, day(30)) == {"roy:7:bob": ("15.00", "payable"), "roy:20:bob": ("15.00", "payable")}
    record(site, refunded(20, 60, "50.00", PAID + timedelta(days=8), lines))
    record(site, *sold(21, PAID + timedelta(days=14), coupon=None, renewal_of=7, lines=lines, owners={93: "bob"}))
    assert obligations(site, day(30)) == {"roy:7:bob": ("15.00", "payable"), "roy:20:bob": ("7.50", "payable")}


def test_a_renewal_pays_the_affiliate_and_the_owner_of_one_program_as_the_first_order_did(site):
    """One program of 25% engaged by coupons and royalties: order 7 (bob's 40.00 line, 60.00 more, alice's
    coupon) pays alice 25.00 and bob 10.00 on his line. Its renewal (the same lines) pays them the same,
    35.00 in all, not 25.00 split 25:10 (17.86 and 7.14); a renewal without bob's line pays him nothing."""
    shop(site, aff("engagements: [boundCouponUsed, collaboratorProductSold], renewals: true")
         .replace("engagements: [boundCouponUsed], ", ""))
    lines = (("40.00", 93), ("60.00", None))
    record(site, *sold(7, PAID, lines=lines, owners={93: "bob"}))
    record(site, *sold(20, PAID + timedelta(days=7), renewal_of=7, lines=lines, owners={93: "bob"}))
    record(site, *sold(21, PAID + timedelta(days=14), renewal_of=7, lines=(("60.00", None),), owners={93: "bob"}))
    assert obligations(site, day(30)) == {"aff:7:alice": ("25.00", "payable"), "aff:7:bob": ("10.00", "payable"),
                                          "aff:20:alice": ("25.00", "payable"), "aff:20:bob": ("10.00", "payable"),
                                          "aff:21:alice": ("15.00", "payable")}


def test_a_renewal_s_full_refund_is_taken_from_its_reward_not_from_the_first_order_s(site):
    """Renewal 20 (20.00) refunded in full: its reward is rejected; the first order's 25.00 stays."""
    shop(site, aff("renewals: true"))
    record(site, *sold(7, PAID))
    record(site, *sold(20, PAID + timedelta(days=7), renewal_of=7, lines=(("80.00", None),)))
    record(site, refunded(20, 60, "80.00", PAID + timedelta(days=8), (("80.00", None),)))
    assert obligations(site, day(30)) == {"aff:7:alice": ("25.00", "payable"), "aff:20:alice": ("0.00", "rejected")}


# -- a collaborator both engaged with the order and owner of a line of it -----------------------------------

BOTH = ("aff: {units: USD, reward: {percentage: 25}, engagements: [boundCouponUsed, collaboratorProductSold], "
        "structure: %s, renewals: true}")
FIRST = (("40.00", 93), ("59.99", None))  # product 93 is alice's (bob's in the newest-wins test)
RENEWED = (("40.00", 93), ("43.33", None))


def coupons(oid: int, at: datetime, lines: tuple[tuple[str, int | None], ...], owner: str = "alice",
            renewal_of: int | None = None) -> list[Event]:
    """Order `oid` of `lines` with alice's and bob's coupons on it, product 93 `owner`'s."""
    return [*sold(oid, at, renewal_of=renewal_of, lines=lines, owners={93: owner}),
            Event(key=f"woocommerce:boundCouponUsed:{oid}:bob", type="boundCouponUsed", at=at, collaborator="bob",
                  order_id=oid, source="woocommerce")]


def _doc(site, ident: str) -> dict:
    """The stored document of a program reward."""
    with open_app(load_config(site.root / "siren.yaml")) as app:
        found = commissions.find(app.store, ident)
    assert found is not None
    return found[1]


def test_an_affiliate_who_owns_a_line_is_renewed_with_her_share_and_her_royalty_as_a_first_order_pays(site):
    """25%, shared between the coupons, royalties on owned lines. Order 7 (alice's line 40.00 and
    59.99 more, alice's and bob's coupons): 25% of 99.99 = 24.9975 -> 25.00, 12.50 each; alice's
    royalty 25% of 40.00 = 10.00: alice 22.50 (one reward, its parts recorded apart), bob 12.50.
    Renewal 20 (40.00 of hers and 43.33): the share 25% of 83.33 = 20.8325 -> 20.83, split 12.50 :
    12.50 as the first order's shares were: 10.415 each, the left cent to alice (a tie: the smaller
    id): 10.42 and 10.41; alice's royalty 10.00 again: alice 20.42, bob 10.41, as order 30, a first
    order of the same lines and coupons, pays them. Before, alice was renewed as a share only, in
    the proportions 22.50 : 12.50: 13.39 and 7.44. Renewal 21 without her line: 25% of 43.33 =
    10.83, 5.42 and 5.41, no royalty."""
    shop(site, BOTH % "sharedEngagementPool")
    record(site, *coupons(7, PAID, FIRST))
    assert obligations(site, day(30)) == {"aff:7:alice": ("22.50", "payable"), "aff:7:bob": ("12.50", "payable")}
    mine, bobs = _doc(site, "aff:7:alice"), _doc(site, "aff:7:bob")
    assert (mine["value"], mine["reward"], mine["share"], mine["royalty_on"]) == ("99.99", "22.50", "12.50", [93])
    assert "products" not in mine and not {"share", "royalty_on", "products"} & bobs.keys()
    week = timedelta(days=7)
    record(site, *coupons(20, PAID + week, RENEWED, renewal_of=7), *coupons(30, PAID + week, RENEWED))
    record(site, *coupons(21, PAID + 2 * week, (("43.33", None),), renewal_of=7))
    assert obligations(site, day(30)) == {
        "aff:7:alice": ("22.50", "payable"), "aff:7:bob": ("12.50", "payable"),
        "aff:20:alice": ("20.42", "payable"), "aff:20:bob": ("10.41", "payable"),
        "aff:30:alice": ("20.42", "payable"), "aff:30:bob": ("10.41", "payable"),
        "aff:21:alice": ("5.42", "payable"), "aff:21:bob": ("5.41", "payable")}
    renewed = _doc(site, "aff:20:alice")
    assert (renewed["value"], renewed["share"], renewed["royalty_on"]) == ("83.33", "10.42", [93])
    assert "share" not in _doc(site, "aff:21:alice")  # no line of hers: a share alone


def test_explain_a_renewed_affiliate_and_owner_shows_both_parts(site):
    shop(site, BOTH % "sharedEngagementPool")
    record(site, *coupons(7, PAID, FIRST), *coupons(20, PAID + timedelta(days=7), RENEWED, renewal_of=7))
    out = run_ok(site, "explain", "alice", "--reward", "aff:20:alice")
    assert ("  counted value 83.33; amount: 25% of 83.33 = 20.83 USD (rounded half-up to 0.01); "
            "alice's lines: 25% of 40.00 = 10.00 USD (rounded half-up to 0.01)") in out
    assert "  reward 20.42 USD, earned 2026-11-17T12:05:00+00:00 (the payment)" in out
    assert "    in two parts: a share of the order 10.42 + a royalty on the lines of products 93 10.00" in out
    assert "two parts" not in run_ok(site, "explain", "bob", "--reward", "aff:20:bob")


def test_partial_refunds_of_the_first_order_and_of_the_renewal_of_an_affiliate_and_owner(site):
    """The first order's refund of 30.00 (of 99.99) takes 22.50 x 30.00 / 99.99 = 6.7507 -> 6.75 from
    alice (15.75 left) and 12.50 x 30 / 99.99 = 3.7504 -> 3.75 from bob (8.75), as it always did; the
    renewal is still paid on the first order's parts (20.42 and 10.41). Its refund of 33.33 (of
    83.33) takes 20.42 x 33.33 / 83.33 = 8.1675 -> 8.17 (12.25 left) and 10.41 x 33.33 / 83.33 =
    4.1638 -> 4.16 (6.25 left); the rest refunded, both are rejected at 0.00."""
    shop(site, BOTH % "sharedEngagementPool")
    record(site, *coupons(7, PAID, FIRST))
    record(site, refunded(7, 55, "30.00", PAID + timedelta(days=1), FIRST))
    record(site, *coupons(20, PAID + timedelta(days=7), RENEWED, renewal_of=7))
    record(site, refunded(20, 60, "33.33", PAID + timedelta(days=8), RENEWED))
    assert obligations(site, day(30)) == {
        "aff:7:alice": ("15.75", "payable"), "aff:7:bob": ("8.75", "payable"),
        "aff:20:alice": ("12.25", "payable"), "aff:20:bob": ("6.25", "payable")}
    record(site, refunded(20, 61, "50.00", PAID + timedelta(days=9), RENEWED))
    assert obligations(site, day(30))["aff:20:alice"] == ("0.00", "rejected")
    assert obligations(site, day(30))["aff:20:bob"] == ("0.00", "rejected")


def test_a_merged_reward_of_an_older_store_without_its_parts_is_renewed_as_a_share_as_before(site):
    """A store written before the parts were kept apart: alice's 22.50 has no `share`: the renewal
    splits its 20.83 in the proportions 22.50 : 12.50 (13.3907 and 7.4393: floors 13.39 and 7.43,
    the left cent to bob's larger remainder), and pays no royalty."""
    shop(site, BOTH % "sharedEngagementPool")
    record(site, *coupons(7, PAID, FIRST))
    with open_app(load_config(site.root / "siren.yaml")) as app, app.store.transaction() as tx:
        found = commissions.find(app.store, "aff:7:alice")
        assert found is not None
        table, doc, _ = found
        tx.put(table, "aff:7:alice", {k: v for k, v in doc.items() if k not in ("share", "royalty_on")})
    record(site, *coupons(20, PAID + timedelta(days=7), RENEWED, renewal_of=7))
    assert obligations(site, day(30)) == {
        "aff:7:alice": ("22.50", "payable"), "aff:7:bob": ("12.50", "payable"),
        "aff:20:alice": ("13.39", "payable"), "aff:20:bob": ("7.44", "payable")}


def test_an_owner_engaged_whose_share_another_won_is_renewed_as_a_royalty(site):
    """Newest engagement wins: both coupons engage at the creation, the tie goes to alice (25% of
    99.99 = 25.00); bob, owner of product 93, is paid his royalty alone (10.00 on his 40.00), and
    renewed so: alice 20.83, bob 10.00, as order 30 pays. Before, his royalty was written as a share
    of the order and the renewal split 20.83 in the proportions 25.00 : 10.00 (14.88 and 5.95)."""
    shop(site, BOTH % "newestEngagementWins")
    record(site, *coupons(7, PAID, FIRST, owner="bob"))
    week = timedelta(days=7)
    record(site, *coupons(20, PAID + week, RENEWED, owner="bob", renewal_of=7),
           *coupons(30, PAID + week, RENEWED, owner="bob"))
    assert obligations(site, day(30)) == {
        "aff:7:alice": ("25.00", "payable"), "aff:7:bob": ("10.00", "payable"),
        "aff:20:alice": ("20.83", "payable"), "aff:20:bob": ("10.00", "payable"),
        "aff:30:alice": ("20.83", "payable"), "aff:30:bob": ("10.00", "payable")}
    bobs = _doc(site, "aff:7:bob")
    assert (bobs["value"], bobs["products"]) == ("40.00", [93]) and "share" not in bobs


# -- after `store adopt` -------------------------------------------------------------------------------------

def test_an_order_refunded_on_hold_before_an_adoption_and_paid_after_it_pays_the_reward_less_the_refund(site):
    """The lost store never rewarded order 7 (paid after the adoption): its refund of 40.00, made
    while the order was on hold before the adoption, must still be taken: 25.00 - 10.00 = 15.00."""
    shop(site, AFF)
    horizon = PAID - timedelta(hours=1)
    with open_app(load_config(site.root / "siren.yaml")) as app, app.store.transaction() as tx:
        commissions.adopted(tx, horizon)
    record(site, *sold(7, PAID), refunded(7, 55, "40.00", horizon - timedelta(hours=1)))
    assert obligations(site, day(30)) == {"aff:7:alice": ("15.00", "payable")}


# -- review ----------------------------------------------------------------------------------------------------

def test_a_reviewed_reward_refunded_before_approval_is_approved_at_what_is_left(site):
    shop(site, aff("review: true"))
    record(site, *sold(7, PAID))
    record(site, refunded(7, 55, "40.00", PAID + timedelta(days=1)))
    assert obligations(site, day(20)) == {"aff:7:alice": ("15.00", "draft")}
    run_ok(site, "approve", "aff:7:alice")
    made = fulfill(site, as_of=day(20))
    assert [(p["amount"], p["obligations"]) for p in made["payouts"]] == [("15.00", 1)]


def test_a_reviewed_reward_refunded_in_full_before_approval_cannot_be_approved_into_money(site):
    shop(site, aff("review: true"))
    record(site, *sold(7, PAID))
    record(site, refunded(7, 55, "100.00", PAID + timedelta(days=1)))
    code, _, err = site.run("approve", "aff:7:alice")
    assert code == 2 and "a decision is final" not in err  # it was the refund, not a decision
    assert "program reward aff:7:alice is rejected: its refunds took it back whole, nothing is left to approve" in err
    assert obligations(site, day(20)) == {"aff:7:alice": ("0.00", "rejected")}
    run_ok(site, "approve", "aff:7:alice", "--reject", "--reason", "refunded")  # rejecting it again changes nothing


# -- files imported twice ----------------------------------------------------------------------------------------

def test_a_file_of_a_deal_its_reversal_and_a_lead_imported_twice_pays_once(site):
    """Deal 9 (400.00: 100.00) and its partial reversal (100.00: 25.00 back) and a lead (10.00), in one
    file imported twice: 75.00 + 10.00, once."""
    shop(site, "deals: {units: USD, reward: {percentage: 25}, engagements: [manual]}",
         'leads: {units: USD, reward: {flat: "10.00"}, conversion: lead}')
    rows = [{"key": "crm:deal:9", "type": "sale", "collaborator": "alice", "at": PAID.isoformat(), "revenue": "400.00"},
            {"key": "crm:deal:9:r1", "type": "sale", "at": (PAID + timedelta(days=1)).isoformat(), "revenue": "-100.00",
             "reverses": "crm:deal:9"},
            {"key": "crm:lead:3", "type": "lead", "collaborator": "alice", "at": PAID.isoformat()}]
    path = site.events(rows)
    run_ok(site, "import", str(path))
    run_ok(site, "import", str(path))
    assert obligations(site, day(20)) == {"deals:crm:deal:9:alice": ("75.00", "payable"),
                                          "leads:crm:lead:3:alice": ("10.00", "payable")}


def test_a_lead_correction_is_a_bad_line_never_a_second_bounty(site):
    """A CRM file that takes a lead back as engagements are taken back (`"correction": true,
    "quantity": -1`): a lead is a conversion, not points. Before, programs took the correction for
    a new lead and paid its bounty a second time (20.00)."""
    shop(site, 'leads: {units: USD, reward: {flat: "10.00"}, conversion: lead}')
    rows = [{"key": "crm:lead:3", "type": "lead", "collaborator": "alice", "at": PAID.isoformat()},
            {"key": "crm:lead:3:undo", "type": "lead", "collaborator": "alice", "at": PAID.isoformat(),
             "quantity": -1, "correction": True},
            {"key": "crm:lead:4", "type": "lead", "collaborator": "alice", "at": PAID.isoformat(), "quantity": 2},
            {"key": "crm:lead:5", "type": "lead", "collaborator": "alice", "at": PAID.isoformat(), "quantity": 1,
             "correction": False}]  # what an export may say of every line: one lead, paid once
    path = site.events(rows)
    code, out, err = site.run("import", str(path))
    assert code == 1 and f"{path}:2: a lead is one conversion: its 'quantity' is 1" in err
    assert f"{path}:3: a lead is one conversion" in err and f"{path}:4:" not in err
    assert obligations(site, day(20)) == {"leads:crm:lead:3:alice": ("10.00", "payable"),
                                          "leads:crm:lead:5:alice": ("10.00", "payable")}


# -- the worker against the sandbox: orders read again ------------------------------------------------------

SANDBOX_PROGRAMS = """\
sync: {woocommerce: {enabled: true}, every: 5m, overlap: 5m}
programs:
  aff: {units: USD, reward: {percentage: 25}, engagements: [boundCouponUsed]}
  roy: {units: USD, reward: {percentage: 50}, engagements: [collaboratorProductSold]}
"""


def _rewards(worker: Worker) -> dict[str, tuple[str, Decimal]]:
    """Each program obligation's (order, amount), as the worker's store holds them."""
    return {o.id: (o.id.split(":")[1], o.amount) for o in commissions.obligations(worker.app.store)}


def _cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"), ROUND_HALF_UP)


def test_the_worker_reads_orders_again_after_notes_status_changes_and_refunds_and_pays_each_reward_once(
        tmp_path, monkeypatch):
    """Weeks of a shop: orders get notes and move to completed (each read again by the walk), one is
    refunded 40% before any payout, then everything is paid, then the rest of it is refunded. Nothing
    is rewarded twice; the partial refund takes reward x 40% (half-up) from each of its rewards, and
    the last one claws back exactly what was left: the order nets to zero to the cent."""
    with Sandbox(seed=3, days=6, orders_per_day=10, lms=False) as sb:
        path = tmp_path / "siren.yaml"
        path.write_text(sandbox_config_text(sb.url, SANDBOX_PROGRAMS + THREE_POOLS.format(
            schedule="+1 week", start="2026-11-01")))
        worker = Worker(load_config(path, env=sandbox_env(sb.credentials)), clock=lambda: sb.now,
                        fetch_timezone=lambda: sb.site.timezone_name)
        sb.advance(3 * 86400)
        worker.step()
        before = _rewards(worker)
        orders = sorted({int(order) for order, _ in before.values()})
        assert len(orders) > 5
        for oid in orders:
            sb.site.touch_order(oid, note="gift wrapped")
        for oid in orders[::2]:
            sb.site.set_order_status(oid, "completed")
        sb.advance(3600)
        worker.step()
        assert {i: r for i, r in _rewards(worker).items() if i in before} == before
        target = next(oid for oid in orders if sb.site.orders[oid].status in ("processing", "completed")
                      and sb.site.orders[oid].total > 0)
        total = sb.site.orders[target].total
        mine = {i: amount for i, (order, amount) in before.items() if order == str(target)}
        assert mine and all(amount > 0 for amount in mine.values())
        part = total * 2 // 5
        sb.site.refund_order(target, part)
        sb.advance(3600)
        worker.step()
        after = _rewards(worker)
        assert {i: after[i][1] for i in mine} == {
            i: r - _cents(r * Decimal(part) / Decimal(total)) for i, r in mine.items()}
        for name, value in sandbox_env(sb.credentials).items():
            monkeypatch.setenv(name, value)
        assert main(["--config", str(path), "payouts", "--csv", str(tmp_path / "paid.csv"), "--mark-paid",
                     "--as-of", sb.now.isoformat()]) == 0
        sb.site.refund_order(target)
        sb.advance(3600)
        worker.step()
        sb.site.touch_order(target, note="refunded in full")
        sb.advance(3600)
        worker.step()
        final = _rewards(worker)
        worker.app.close()
    taken = {i: r for i, r in final.items() if r[0] == str(target)}
    assert len(taken) == 2 * len(mine) and sum(amount for _, amount in taken.values()) == 0
