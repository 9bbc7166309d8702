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
