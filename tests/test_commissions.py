"""commissions.py: program rewards written as obligations after a sync, refunds, clawbacks, renewals,
leads; on a real store, through the ledger, and (last) against the sandbox site."""
from __future__ import annotations

import json
import logging
from dataclasses import replace as dataclass_replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from siren_sync import commissions
from siren_sync.app import open_app
from siren_sync.config import load_config
from siren_sync.demo import THREE_POOLS, sandbox_config_text, sandbox_env
from siren_sync.engine import commissions as engine
from siren_sync.model import Collaborator, Event, Line, OrderValue, Program, Touch
from siren_sync.payouts import fulfillments
from siren_sync.payouts.overview import settled
from siren_sync.sync import sync_all
from tests.support.ledgers import make_ledger

CREATED = datetime(2026, 11, 10, 12, tzinfo=UTC)
PAID = CREATED + timedelta(minutes=5)
LATER = datetime(2026, 11, 20, tzinfo=UTC)
PEOPLE = {c.id: c for c in (Collaborator("alice", email="alice@example.com", coupons=("alice10",),
                                         tracking_ids=("alice",), products=(93,)),
                            Collaborator("bruno", email="bruno@example.com", tracking_ids=("bruno",), products=(94,)),
                            Collaborator("carol", email="carol@example.com", status="inactive"))}
VISITOR = "d" * 64


def program(key="affiliates", **changes):
    fields = dict(key=key, name=key, units="USD", exponent=2, engagements=("boundCouponUsed", "referredSiteVisit"),
                  percentage=Decimal(25))
    return Program(**{**fields, **changes})


def value(total="100.00"):
    return OrderValue("USD", Decimal(total), (Line("1", Decimal("60.00"), product_id=93),
                                              Line("2", Decimal(total) - Decimal("60.00"), product_id=94)))


def order(oid=7, total="100.00", coupon=None, visitor=VISITOR, renewal_of=None, at=PAID):
    """The events WooCommerce gives for a paid order (its sale, coupon and product owners)."""
    touch = Touch(visitor=visitor, created_at=at - timedelta(minutes=5), renewal_of=renewal_of)
    events = [Event(key=f"woocommerce:sale:{oid}", type="sale", at=at, order=value(total), order_id=oid,
                    touch=touch, source="woocommerce")]
    if coupon:
        events.append(Event(key=f"woocommerce:boundCouponUsed:{oid}:{coupon}", type="boundCouponUsed", at=at,
                            collaborator=coupon, order_id=oid, source="woocommerce"))
    events += [Event(key=f"woocommerce:collaboratorProductSold:{oid}:{line}", type="collaboratorProductSold",
                     at=at, collaborator=who, order_id=oid, source="woocommerce") for line, who in (("1", "alice"),
                                                                                                     ("2", "bruno"))]
    return events


def refund(rid, amount, oid=7, total="100.00", at=CREATED + timedelta(days=2)):
    return Event(key=f"woocommerce:refund:{oid}:{rid}", type="sale", at=at, order=value(total), order_id=oid,
                 share=-Fraction(Decimal(amount)) / Fraction(Decimal(total)), source="woocommerce")


def visit(who, at, n=1, visitor=VISITOR):
    return Event(key=f"access_log:referredSiteVisit:{who}:{n}", type="referredSiteVisit", at=at, collaborator=who,
                 touch=Touch(visitor=visitor), source="access_log")


class Shop:
    def __init__(self, store, *programs):
        self.store = store
        self.programs = {p.key: p for p in programs}
        self.ledger = make_ledger(store, collaborators=PEOPLE)

    def record(self, *events):
        self.ledger.record(events)
        return commissions.reward(self.store, self.programs, PEOPLE, LATER)

    def docs(self):
        return commissions.documents(self.store)

    def owed(self, as_of=LATER):
        return {o.id: (o.amount, o.status) for o in settled(self.store, as_of)}

    def pay(self, tmp_path, as_of=LATER, name="f.csv"):
        made = fulfillments.plan(self.store, fulfillments.Selection(as_of), str(tmp_path / name), PEOPLE, {}, "",
                                 as_of)
        done = fulfillments.create(self.store, made)
        fulfillments.complete(self.store, done.id, as_of, (), as_of)
        return made


def test_a_reward_is_an_obligation_earned_at_payment_and_a_rerun_writes_nothing_more(store):
    shop = Shop(store, program())
    done = shop.record(visit("bruno", CREATED - timedelta(hours=3)), *order(coupon="alice"))
    assert done.rewards == 1
    (o,) = commissions.obligations(store)
    assert (o.id, o.source, o.origin, o.collaborator, o.amount, o.units, o.earned_at) == (
        "affiliates:7:alice", "program", "affiliates", "alice", Decimal("25.00"), "USD", PAID)
    doc = shop.docs()["affiliates:7:alice"]
    assert doc["engagements"] == [["boundCouponUsed", "alice", "2026-11-10T12:00:00+00:00"],
                                  ["referredSiteVisit", "bruno", "2026-11-10T09:00:00+00:00"]]
    assert "newestEngagementWins: alice's engagement" in doc["why"]
    assert commissions.reward(store, shop.programs, PEOPLE, LATER).rewards == 0
    shop.ledger.record(order(coupon="alice"))  # the same order read again: duplicates
    assert commissions.reward(store, shop.programs, PEOPLE, LATER).rewards == 0
    assert len(commissions.obligations(store)) == 1


def test_the_stored_reward_documents_field_by_field(store):
    """What a reward stores, pinned (the royalties alone are written by their own fast path; the
    property test below compares it with the award's, so this pins the writer they share)."""
    shop = Shop(store, program("royalties", engagements=("collaboratorProductSold",), percentage=Decimal(50)),
                program())
    shop.record(visit("bruno", CREATED - timedelta(hours=3)), *order(coupon="alice"))
    created, paid = "2026-11-10T12:00:00+00:00", "2026-11-10T12:05:00+00:00"
    both = ("alice's lines: 50% of 60.00 = 30.00 USD (rounded half-up to 0.01); "
            "bruno's lines: 50% of 40.00 = 20.00 USD (rounded half-up to 0.01)")
    owners = [["collaboratorProductSold", "alice", created], ["collaboratorProductSold", "bruno", created]]
    assert shop.docs() == {
        "affiliates:7:alice": {
            "program": "affiliates", "order": "7", "collaborator": "alice", "amount": "25.00", "reward": "25.00",
            "units": "USD", "score": "1", "earned_at": paid, "value": "100.00",
            "why": f"newestEngagementWins: alice's engagement at {created} is the newest",
            "arithmetic": "25% of 100.00 = 25.00 USD (rounded half-up to 0.01)",
            "engagements": [["boundCouponUsed", "alice", created],
                            ["referredSiteVisit", "bruno", "2026-11-10T09:00:00+00:00"]]},
        "royalties:7:alice": {
            "program": "royalties", "order": "7", "collaborator": "alice", "amount": "30.00", "reward": "30.00",
            "units": "USD", "score": "1", "earned_at": paid, "value": "60.00",
            "why": "alice's lines: 50% of 60.00 = 30.00 USD (rounded half-up to 0.01)", "arithmetic": both,
            "engagements": owners, "products": [93]},
        "royalties:7:bruno": {
            "program": "royalties", "order": "7", "collaborator": "bruno", "amount": "20.00", "reward": "20.00",
            "units": "USD", "score": "1", "earned_at": paid, "value": "40.00",
            "why": "bruno's lines: 50% of 40.00 = 20.00 USD (rounded half-up to 0.01)", "arithmetic": both,
            "engagements": owners, "products": [94]},
    }


def _stored(store):
    """Every program table as stored (the rewards, the order index), as the store's own documents."""
    return {table: store.table(table) for table in store.tables("programs/") if table != "programs/visits"}


def test_rewards_are_stored_lean_and_read_whole(store):
    """The documents of the test above as the store keeps them: no field twice. `program`, `order`
    and `collaborator` are in the id, `reward` is the `amount` (no refund yet), a `why` equal to the
    `arithmetic` is left out (a royalty of an order with one owner), and the order's index entry
    has no `renewals`; every reader takes them whole (`documents`, above)."""
    shop = Shop(store, program("royalties", engagements=("collaboratorProductSold",), percentage=Decimal(50)),
                program())
    shop.record(visit("bruno", CREATED - timedelta(hours=3)), *order(coupon="alice"))
    shop.record(*order(oid=8, coupon="alice"))
    created, paid = "2026-11-10T12:00:00+00:00", "2026-11-10T12:05:00+00:00"
    both = ("alice's lines: 50% of 60.00 = 30.00 USD (rounded half-up to 0.01); "
            "bruno's lines: 50% of 40.00 = 20.00 USD (rounded half-up to 0.01)")
    owners = [["collaboratorProductSold", "alice", created], ["collaboratorProductSold", "bruno", created]]
    stored = _stored(store)
    day = "2026-11-10"  # the reward's day names its table: its time is in the reward
    assert stored["programs/orders/0"] == {
        "7": {"rewards": dict.fromkeys(("affiliates:7:alice", "royalties:7:alice", "royalties:7:bruno"), day)},
        "8": {"rewards": dict.fromkeys(("affiliates:8:alice", "royalties:8:alice", "royalties:8:bruno"), day)}}
    docs = stored["programs/obligations/2026-11"]
    assert {ident: docs[ident] for ident in ("affiliates:7:alice", "royalties:7:alice")} == {
        "affiliates:7:alice": {
            "amount": "25.00", "units": "USD", "score": "1", "earned_at": paid, "value": "100.00",
            "why": f"newestEngagementWins: alice's engagement at {created} is the newest",
            "arithmetic": "25% of 100.00 = 25.00 USD (rounded half-up to 0.01)",
            "engagements": [["boundCouponUsed", "alice", created],
                            ["referredSiteVisit", "bruno", "2026-11-10T09:00:00+00:00"]]},
        "royalties:7:alice": {
            "amount": "30.00", "units": "USD", "score": "1", "earned_at": paid, "value": "60.00",
            "why": "alice's lines: 50% of 60.00 = 30.00 USD (rounded half-up to 0.01)", "arithmetic": both,
            "engagements": owners, "products": [93]}}
    shop = Shop(store, program("royalties", engagements=("collaboratorProductSold",), percentage=Decimal(50)))
    one = _stored(store)["programs/obligations/2026-11"]["royalties:8:bruno"]
    assert "why" not in one or one["why"] != one["arithmetic"]
    assert "reward" not in one and "program" not in one and "order" not in one and "collaborator" not in one
    assert commissions.full("royalties:8:bruno", one) == shop.docs()["royalties:8:bruno"]


def test_a_royalty_of_one_owner_stores_no_why_and_reads_it_as_its_arithmetic(store):
    shop = Shop(store, program("royalties", engagements=("collaboratorProductSold",), percentage=Decimal(50)))
    shop.ledger.record(order()[:2])  # the order's sale and alice's line only
    commissions.reward(store, shop.programs, PEOPLE, LATER)
    (doc,) = _stored(store)["programs/obligations/2026-11"].values()
    assert "why" not in doc and doc["arithmetic"] == "alice's lines: 50% of 60.00 = 30.00 USD (rounded half-up to 0.01)"
    (o,) = commissions.obligations(store)
    assert o.note == doc["arithmetic"] == shop.docs()["royalties:7:alice"]["why"]


def _whole(store):
    """Write every stored reward again as a store before lean documents held it (every field; in the
    index, each reward's earned_at and the empty `renewals`)."""
    earned = {ident: doc["earned_at"] for ident, doc in commissions.documents(store).items()}
    with store.transaction() as tx:
        for table, docs in _stored(store).items():
            for ident, doc in docs.items():
                whole = commissions.full(ident, doc) if "obligations" in table else {
                    "renewals": {}, **doc, "rewards": {reward: earned[reward] for reward in doc["rewards"]}}
                tx.put(table, ident, dict(whole))


def test_rewards_stored_whole_before_lean_documents_read_refund_and_renew_as_lean_ones(store_path, tmp_path):
    """The same sales, refunds and a renewal on a store whose first rewards are lean and on one whose
    first rewards were rewritten whole (as written before): every reader sees the same documents,
    obligations and earnings; a refund that changes a lean reward's amount writes its `reward`."""
    from siren_sync.store import Store

    seen = []
    for whole in (False, True):
        with Store(store_path.parent / f"{whole}" / "s.json") as store:
            shop = Shop(store, program(renewals=None), program("royalties", engagements=("collaboratorProductSold",),
                                                               percentage=Decimal(50), clawback=False))
            shop.record(*order(coupon="alice"), *order(oid=9, coupon="alice", total="50.00"))
            (tmp_path / f"{whole}").mkdir()
            shop.pay(tmp_path / f"{whole}")
            if whole:
                _whole(store)
                whole_docs = _stored(store)["programs/obligations/2026-11"].values()
                assert all("reward" in d and "program" in d for d in whole_docs)
                assert _stored(store)["programs/orders/0"]["7"] == {"rewards": {
                    "affiliates:7:alice": "2026-11-10T12:05:00+00:00", "royalties:7:alice": "2026-11-10T12:05:00+00:00",
                    "royalties:7:bruno": "2026-11-10T12:05:00+00:00"}, "renewals": {}}
            shop.record(*order(oid=8, coupon="alice", total="70.00"))
            shop.record(refund(55, "40.00"), refund(56, "10.00", oid=8, total="70.00"))
            shop.record(*order(oid=20, total="80.00", visitor=None, renewal_of=7, at=PAID + timedelta(days=7)))
            seen.append((shop.docs(), commissions.obligations(store), shop.owed(LATER + timedelta(days=30))))
            if not whole:
                docs = _stored(store)["programs/obligations/2026-11"]
                reduced, clawed = docs["affiliates:8:alice"], docs["affiliates:7:alice"]
                left = docs["royalties:7:alice"]
                assert (reduced["amount"], reduced["reward"]) == ("15.00", "17.50")  # written at the change
                assert "reward" not in clawed and "reward" not in left  # paid: a clawback, or left alone
                assert _stored(store)["programs/orders/0"]["7"]["renewals"] == {"affiliates": ["20"]}
                assert "renewals" not in _stored(store)["programs/orders/0"]["20"]
    assert seen[0] == seen[1]
    docs = seen[0][0]
    assert docs["affiliates:20:alice"]["amount"] == "20.00" and docs["affiliates:8:alice"]["reward"] == "17.50"


def test_a_visit_of_another_visitor_or_outside_the_window_engages_nothing(store):
    shop = Shop(store, program(engagements=("referredSiteVisit",), window=timedelta(days=1)))
    shop.record(visit("bruno", CREATED - timedelta(days=1)), visit("alice", CREATED - timedelta(hours=1), 2, "e" * 64))
    shop.record(*order())
    assert commissions.obligations(store) == []


def test_a_visit_from_an_earlier_sync_engages_a_later_order(store):
    shop = Shop(store, program(engagements=("referredSiteVisit",), structure="oldestEngagementWins"))
    shop.record(visit("bruno", CREATED - timedelta(days=3)), visit("alice", CREATED - timedelta(days=2), 2))
    shop.record(*order())
    assert shop.owed() == {"affiliates:7:bruno": (Decimal("25.00"), "payable")}


def test_royalties_to_the_two_owners_of_one_order(store):
    shop = Shop(store, program("royalties", engagements=("collaboratorProductSold",), percentage=Decimal(50)))
    shop.record(*order())
    assert shop.owed() == {"royalties:7:alice": (Decimal("30.00"), "payable"),
                           "royalties:7:bruno": (Decimal("20.00"), "payable")}


def test_refunds_partial_then_full_reduce_an_unpaid_reward_to_zero_rejected(store):
    shop = Shop(store, program(percentage=Decimal(10)))
    shop.record(*order(total="99.99", coupon="alice"))  # 10% of 99.99 = 10.00
    shop.record(refund(55, "33.33", total="99.99"))  # -10.00 x 33.33 / 99.99 = -3.3333 -> -3.33
    assert shop.owed() == {"affiliates:7:alice": (Decimal("6.67"), "payable")}
    done = shop.record(refund(56, "66.66", total="99.99"))
    assert done.adjusted == 1 and shop.owed() == {"affiliates:7:alice": (Decimal("0.00"), "rejected")}
    assert shop.docs()["affiliates:7:alice"]["refunds"] == {"55": "-3.33", "56": "-6.67"}


def test_a_cancellation_reverses_exactly_what_is_left(store):
    shop = Shop(store, program(percentage=Decimal("12.5")))
    shop.record(*order(total="33.33", coupon="alice"))  # 4.16625 -> 4.17
    shop.record(refund(1, "10.00", total="33.33"))  # 4.17 x 10 / 33.33 = 1.2511 -> 1.25
    cancel = Event(key="woocommerce:cancel:7", type="sale", at=CREATED + timedelta(days=3), order=value("33.33"),
                   order_id=7, share=-Fraction(Decimal("23.33")) / Fraction(Decimal("33.33")), source="woocommerce")
    shop.record(cancel)
    doc = shop.docs()["affiliates:7:alice"]
    assert doc["refunds"] == {"1": "-1.25", "cancel": "-2.92"} and doc["amount"] == "0.00"


@pytest.mark.parametrize("marked", [True, False], ids=["marked flat", "written before the mark"])
def test_a_flat_reward_of_a_program_no_longer_configured_goes_back_only_with_a_full_refund(store, marked):
    bounty, other = program("bounty", percentage=None, flat=Decimal("50.00")), program("other", engagements=())
    shop = Shop(store, bounty, other)
    shop.record(*order(coupon="alice"))
    if not marked:  # a store written before rewards carried the mark: its arithmetic says it
        with store.transaction() as tx:
            (table,) = store.tables("programs/obligations/")
            doc = dict(store.get(table, "bounty:7:alice"))
            assert doc.pop("flat") is True and doc["arithmetic"] == "flat 50.00 USD per conversion"
            tx.put(table, "bounty:7:alice", doc)
    shop.programs = {"other": other}  # the bounty program was removed from the config
    shop.record(refund(55, "40.00"))
    assert shop.owed() == {"bounty:7:alice": (Decimal("50.00"), "payable")}
    assert shop.docs()["bounty:7:alice"]["notes"][-1].endswith(
        "0.00 = nothing (a flat reward goes back only with a full refund)")
    shop.record(refund(56, "60.00"))
    assert shop.owed() == {"bounty:7:alice": (Decimal("0.00"), "rejected")}


def test_a_flat_reward_for_a_free_order_goes_back_with_its_cancellation(store):
    """A 100%-coupon order (0.00) still pays a flat bounty; its cancellation (share -1 of nothing:
    the source gives one for a free order too) takes the bounty back whole."""
    shop = Shop(store, program(percentage=None, flat=Decimal("50.00")))
    free = OrderValue("USD", Decimal("0.00"), (Line("1", Decimal("0.00"), product_id=93),))
    shop.record(Event(key="woocommerce:sale:7", type="sale", at=PAID, order=free, order_id=7,
                      touch=Touch(created_at=CREATED), source="woocommerce"),
                Event(key="woocommerce:boundCouponUsed:7:alice", type="boundCouponUsed", at=PAID,
                      collaborator="alice", order_id=7, source="woocommerce"))
    assert shop.owed() == {"affiliates:7:alice": (Decimal("50.00"), "payable")}
    shop.record(Event(key="woocommerce:cancel:7", type="sale", at=LATER - timedelta(days=1), order=free,
                      order_id=7, share=Fraction(-1), source="woocommerce"))
    assert shop.owed() == {"affiliates:7:alice": (Decimal("0.00"), "rejected")}


def test_a_percentage_reward_of_a_program_no_longer_configured_goes_back_pro_rata(store):
    shop = Shop(store, program(), program("other", engagements=()))
    shop.record(*order(coupon="alice"))
    shop.programs = {"other": shop.programs["other"]}
    shop.record(refund(55, "40.00"))  # 25.00 x 40 / 100
    assert shop.owed() == {"affiliates:7:alice": (Decimal("15.00"), "payable")}


def test_a_refund_after_payment_is_a_clawback_netted_in_the_next_fulfillment(store, tmp_path):
    shop = Shop(store, program())
    shop.record(*order(coupon="alice"))
    shop.pay(tmp_path)
    refunded_at = CREATED + timedelta(days=12)
    shop.record(refund(55, "40.00", at=refunded_at))
    (claw,) = [o for o in commissions.obligations(store) if o.amount < 0]
    assert (claw.id, claw.amount, claw.earned_at, claw.source) == (
        "affiliates:7:alice:refund:55", Decimal("-10.00"), refunded_at, "program")
    assert shop.docs()["affiliates:7:alice"]["amount"] == "25.00"  # what was paid stays paid
    shop.record(*order(oid=8, coupon="alice", at=CREATED + timedelta(days=13)))
    later = LATER + timedelta(days=10)
    made = shop.pay(tmp_path, later, "g.csv")
    assert [(p.collaborator, p.amount, set(p.obligations)) for p in made.payouts] == [
        ("alice", Decimal("15.00"), {"affiliates:7:alice:refund:55", "affiliates:8:alice"})]


def test_a_refund_between_fulfill_s_plan_and_its_commit_makes_it_plan_again_never_pay_the_old_amount(
        store, tmp_path, monkeypatch):
    """The worker reduces an unpaid reward while `fulfill` is between its plan and its commit: the
    commit is refused and the plan made again pays what is left (15.00), never the 25.00 planned."""
    shop = Shop(store, program())
    shop.record(*order(coupon="alice"))
    real_plan = fulfillments.plan
    calls = []

    def plan_then_refund(*args, **kwargs):
        made = real_plan(*args, **kwargs)
        if not calls:  # the worker's poll lands right after the first plan
            shop.record(refund(55, "40.00"))
        calls.append(made)
        return made

    monkeypatch.setattr(fulfillments, "plan", plan_then_refund)
    made = fulfillments.fulfill(store, fulfillments.Selection(LATER), str(tmp_path / "f.csv"), PEOPLE, {}, "", LATER)
    assert [p.amount for p in calls[0].payouts] == [Decimal("25.00")]  # planned before the refund
    assert [(p.collaborator, p.amount) for p in made.payouts] == [("alice", Decimal("15.00"))]
    assert shop.owed()["affiliates:7:alice"] == (Decimal("15.00"), "processing")


def test_store_adopt_committing_while_a_run_starts_keeps_its_horizon(store, monkeypatch):
    """`store adopt` commits its horizon after a run read the cursor but before it took the write
    lock: the run reads the cursor again under the lock, so the adopted sale is not rewarded and the
    horizon stays."""
    shop = Shop(store, program())
    shop.ledger.record(order(coupon="alice"))
    real = store.transaction

    def adopt_first():
        monkeypatch.setattr(store, "transaction", real)
        with real() as tx:  # another process's `store adopt`, just before the run's transaction
            commissions.adopted(tx, PAID + timedelta(minutes=1))
        return real()

    monkeypatch.setattr(store, "transaction", adopt_first)
    assert commissions.reward(store, shop.programs, PEOPLE, LATER).rewards == 0
    assert shop.docs() == {}
    assert store.get("cursors", "programs")["adopted_until"] == "2026-11-10T12:06:00+00:00"


def test_clawback_false_leaves_a_paid_reward_alone_and_says_how_much(store, tmp_path):
    shop = Shop(store, program(clawback=False))
    shop.record(*order(coupon="alice"))
    shop.pay(tmp_path)
    done = shop.record(refund(55, "40.00"))
    assert done.clawbacks == 0 and done.left_alone == Decimal("10.00")
    assert all(o.amount > 0 for o in commissions.obligations(store))
    assert commissions.left_alone(commissions.documents(store)) == {"USD": Decimal("10.00")}


def test_a_renewal_pays_the_first_order_s_collaborator_while_renewals_allows(store):
    shop = Shop(store, program(renewals=1))
    shop.record(*order(coupon="alice"))
    shop.record(*order(oid=20, total="80.00", visitor=None, renewal_of=7, at=PAID + timedelta(days=7)))
    shop.record(*order(oid=21, total="80.00", visitor=None, renewal_of=7, at=PAID + timedelta(days=14)))
    assert shop.owed(LATER + timedelta(days=30)) == {"affiliates:7:alice": (Decimal("25.00"), "payable"),
                                                      "affiliates:20:alice": (Decimal("20.00"), "payable")}
    assert shop.docs()["affiliates:20:alice"]["renewal_of"] == "7"


def test_without_renewals_a_renewal_order_pays_nothing(store):
    shop = Shop(store, program())
    shop.record(*order(coupon="alice"))
    shop.record(*order(oid=20, coupon="alice", renewal_of=7, at=PAID + timedelta(days=7)))
    assert list(shop.docs()) == ["affiliates:7:alice"]


def test_an_inactive_program_and_a_non_member_earn_nothing(store):
    shop = Shop(store, program("off", status="inactive"), program("members", members=frozenset({"bruno"})))
    shop.record(*order(coupon="alice"))
    assert shop.docs() == {}


def test_review_makes_a_draft_and_the_hold_a_payable_time(store):
    shop = Shop(store, program(review=True, hold=timedelta(days=30)))
    shop.record(*order(coupon="alice"))
    (o,) = commissions.obligations(store)
    assert (o.status, o.payable_at) == ("draft", PAID + timedelta(days=30))


def test_a_lead_pays_the_flat_bounty_of_lead_programs(store):
    leads = program("leads", conversion="lead", percentage=None, flat=Decimal("10.00"), engagements=())
    shop = Shop(store, leads, program())
    shop.record(Event(key="crm:lead:1", type="lead", at=CREATED, collaborator="bruno", source="import"))
    assert shop.owed() == {"leads:crm:lead:1:bruno": (Decimal("10.00"), "payable")}


def test_of_two_lead_programs_in_one_group_the_key_sorting_first_pays_a_lead(store):
    bounty = dict(conversion="lead", percentage=None, flat=Decimal("10.00"), engagements=())
    shop = Shop(store, program("zeta", group="g", **bounty), program("alpha", group="g", **bounty),
                program("solo", **bounty))
    shop.record(Event(key="crm:lead:1", type="lead", at=CREATED, collaborator="bruno", source="import"))
    assert shop.owed() == {"alpha:crm:lead:1:bruno": (Decimal("10.00"), "payable"),
                           "solo:crm:lead:1:bruno": (Decimal("10.00"), "payable")}


def test_a_lead_from_before_an_adoption_imported_again_pays_nothing(store):
    """Before: `_after_adoption` kept leads, so a CRM file imported again after `store adopt` paid
    every old lead's bounty a second time."""
    leads = program("leads", conversion="lead", percentage=None, flat=Decimal("10.00"), engagements=())
    shop = Shop(store, leads)
    with store.transaction() as tx:
        commissions.adopted(tx, LATER)
    shop.record(Event(key="crm:lead:1", type="lead", at=CREATED, collaborator="bruno", source="import"),
                Event(key="crm:lead:2", type="lead", at=LATER, collaborator="bruno", source="import"))
    assert shop.owed() == {"leads:crm:lead:2:bruno": (Decimal("10.00"), "payable")}


def test_either_adoption_is_refused_once_the_store_holds_program_rewards(store):
    """Both set the programs' horizon; rewards already written (an `import` before it) would stay
    to be paid again. Before, the distributors' adoption took them silently."""
    from siren_sync.closing import AdoptRefused, adopt, adopt_programs

    shop = Shop(store, program())
    shop.record(*order(coupon="alice"))
    for adopting in (lambda: adopt(shop.ledger, [], paid=True, now=LATER), lambda: adopt_programs(store, LATER)):
        with pytest.raises(AdoptRefused, match="already holds program rewards"):
            adopting()
    assert "adopted_until" not in store.get("cursors", "programs")


def test_a_manual_sale_pays_its_collaborator(store):
    shop = Shop(store, program(engagements=("manual",), percentage=None, flat=Decimal("50.00")))
    shop.record(Event(key="crm:deal:9", type="sale", at=CREATED, revenue=Decimal("900"), collaborator="bruno",
                      source="import"))
    assert shop.owed() == {"affiliates:crm:deal:9:bruno": (Decimal("50.00"), "payable")}


def test_a_sale_whose_key_holds_a_colon_keeps_what_its_id_cannot_name_and_one_without_is_lean(store):
    shop = Shop(store, program(engagements=("manual",), percentage=None, flat=Decimal("50.00")))
    shop.record(Event(key="crm:deal:9", type="sale", at=CREATED, revenue=Decimal("900"), collaborator="bruno",
                      source="import"),
                Event(key="deal-10", type="sale", at=CREATED, revenue=Decimal("900"), collaborator="bruno",
                      source="import"))
    stored = _stored(store)["programs/obligations/2026-11"]
    named, lean = stored["affiliates:crm:deal:9:bruno"], stored["affiliates:deal-10:bruno"]
    assert (named["program"], named["order"], named["collaborator"]) == ("affiliates", "crm:deal:9", "bruno")
    assert "program" not in lean and "order" not in lean and "collaborator" not in lean
    docs = shop.docs()
    assert (docs["affiliates:deal-10:bruno"]["order"], docs["affiliates:deal-10:bruno"]["collaborator"]) == (
        "deal-10", "bruno")
    assert shop.owed() == {"affiliates:crm:deal:9:bruno": (Decimal("50.00"), "payable"),
                           "affiliates:deal-10:bruno": (Decimal("50.00"), "payable")}


def test_a_manual_sale_keyed_like_an_order_number_and_that_order_are_two_rewards(store):
    """A CRM deal imported with the key `7` and WooCommerce order 7, both alice's: two obligations
    (one id for both would keep only one of them), and order 7's refund touches only its own."""
    shop = Shop(store, program(engagements=("manual", "boundCouponUsed"), percentage=Decimal(10)))
    shop.record(Event(key="7", type="sale", at=CREATED + timedelta(days=1), revenue=Decimal("300.00"),
                      collaborator="alice", source="import"), *order(coupon="alice"))
    assert shop.owed() == {"affiliates:7:alice": (Decimal("10.00"), "payable"),
                           "affiliates:manual:7:alice": (Decimal("30.00"), "payable")}
    shop.record(refund(55, "100.00"))
    assert shop.owed() == {"affiliates:7:alice": (Decimal("0.00"), "rejected"),
                           "affiliates:manual:7:alice": (Decimal("30.00"), "payable")}


def test_against_the_sandbox_visits_match_orders_and_nothing_raw_is_stored_or_logged(make_sandbox, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    log = tmp_path / "access.log"
    sb = make_sandbox(seed=5, days=6, orders_per_day=30, lms=False, access_log=log)
    sb.advance(6 * 86400)
    folder = tmp_path / "worker"
    folder.mkdir()
    path = folder / "siren.yaml"
    sync = f"sync:\n  woocommerce: {{enabled: true}}\n  access_log: {{enabled: true, path: {log}}}\n"
    programs = ("programs:\n  affiliates: {units: USD, reward: {percentage: 25}, engagements: [referredSiteVisit], "
                "window: 30 days}\n")
    path.write_text(sandbox_config_text(sb.url, sync + programs + THREE_POOLS.format(schedule="+1 week",
                                                                                     start="2026-11-01")))
    config = load_config(path, env=sandbox_env(sb.credentials))
    with open_app(config, now=sb.now, fetch_timezone=lambda: sb.site.timezone_name) as opened:
        sync_all(config, opened, sb.now, stream=None)
        rewards = commissions.obligations(opened.store)
    assert len(rewards) > 5 and all(o.id.startswith("affiliates:") and o.amount > 0 for o in rewards)
    orders = sb.site.orders.values()
    raw = {o.customer_ip for o in orders} | {o.customer_agent for o in orders}
    raw |= {o.customer_ip.removeprefix("::ffff:") for o in orders}
    stored = b"".join(p.read_bytes() for p in folder.rglob("*") if p.is_file())
    assert b"programs" in stored and [v for v in raw if v.encode() in stored or v in caplog.text] == []


@pytest.mark.parametrize("key, expected", [("woocommerce:refund:7:55", "55"), ("woocommerce:cancel:7", "cancel")])
def test_refund_ids(key, expected):
    event = Event(key=key, type="sale", at=CREATED, order_id=7, share=Fraction(-1))
    assert commissions.refund_id(event) == expected


def test_a_sale_the_ledger_ignores_earns_nothing(store):
    shop = Shop(store, program())
    far = PAID + timedelta(days=800)  # more than a year after the ledger's now: a typo'd date
    shop.record(*order(coupon="alice", at=far))
    assert shop.docs() == {}


def test_against_the_sandbox_subscription_renewals_pay_the_first_order_s_owner(make_sandbox, tmp_path):
    sb = make_sandbox(seed=11, days=10, orders_per_day=30, lms=False, visitors=True, subscriptions=True)
    sb.advance(10 * 86400)
    folder = tmp_path / "worker"
    folder.mkdir()
    path = folder / "siren.yaml"
    royalties = ("sync:\n  woocommerce: {enabled: true}\nprograms:\n  royalties: {units: USD, "
                 "reward: {percentage: 50}, engagements: [collaboratorProductSold], renewals: true}\n")
    text = sandbox_config_text(sb.url, royalties + THREE_POOLS.format(schedule="+1 week", start="2026-11-01"))
    path.write_text(text.replace("products: [10, 18]", "products: [10, 18, 25]"))  # alice's subscription product
    config = load_config(path, env=sandbox_env(sb.credentials))
    with open_app(config, now=sb.now, fetch_timezone=lambda: sb.site.timezone_name) as opened:
        sync_all(config, opened, sb.now, stream=None)
        docs = commissions.documents(opened.store)
    firsts = {str(s.id - 1) for s in sb.site.subscriptions.values()}  # a subscription's id follows its first order's
    renewals = [d for d in docs.values() if d.get("renewal_of")]
    assert renewals and {d["renewal_of"] for d in renewals} <= firsts
    for d in renewals:
        first = [f for f in docs.values() if f["order"] == d["renewal_of"]]
        assert [f["collaborator"] for f in first] == [d["collaborator"]]


def test_a_partial_refund_takes_the_same_share_back_from_each_owner_s_royalty(store):
    shop = Shop(store, program("royalties", engagements=("collaboratorProductSold",), percentage=Decimal(50)))
    shop.record(*order())  # alice's line 60.00 -> 30.00, bruno's 40.00 -> 20.00
    shop.record(refund(55, "25.00"))  # a quarter of the order: a quarter of each line
    assert shop.owed() == {"royalties:7:alice": (Decimal("22.50"), "payable"),
                           "royalties:7:bruno": (Decimal("15.00"), "payable")}
    assert shop.docs()["royalties:7:alice"]["value"] == "60.00"


def test_an_owner_also_engaged_gets_both_rewards_as_one(store):
    stacked = program("stack", engagements=("boundCouponUsed", "collaboratorProductSold"), percentage=Decimal(10))
    shop = Shop(store, stacked)
    shop.record(*order(coupon="alice"))  # 10% of 100.00 as engaged, and 10% of her 60.00 line as owner
    assert shop.owed() == {"stack:7:alice": (Decimal("16.00"), "payable"),
                           "stack:7:bruno": (Decimal("4.00"), "payable")}


def test_programs_added_to_a_store_with_history_reward_from_then_on(store):
    shop = Shop(store, program())
    shop.ledger.record(order(oid=6, coupon="alice"))  # recorded before the store ran programs
    commissions.begin(store, shop.programs)
    commissions.begin(store, shop.programs)  # once only
    shop.record(*order(oid=7, coupon="alice"))
    assert list(shop.docs()) == ["affiliates:7:alice"]


def test_on_an_empty_store_the_first_sync_is_rewarded_whole(store):
    shop = Shop(store, program())
    commissions.begin(store, shop.programs)
    shop.record(*order(coupon="alice"))
    assert list(shop.docs()) == ["affiliates:7:alice"]


def test_what_the_ledger_kept_in_memory_is_used_only_when_it_is_all_that_is_new(store):
    shop = Shop(store, program())
    commissions.begin(store, shop.programs)
    shop.ledger.keep_recent()
    shop.ledger.record(order(oid=7, coupon="alice"))
    kept = shop.ledger.take_recent()
    assert [e.key for _, e, _ in kept][:1] == ["woocommerce:sale:7"]
    shop.ledger.record(order(oid=8, coupon="alice"))  # recorded, but not in what is handed over
    done = commissions.reward(store, shop.programs, PEOPLE, LATER, kept)
    assert done.rewards == 2 and sorted(shop.docs()) == ["affiliates:7:alice", "affiliates:8:alice"]
    shop.ledger.record(order(oid=9, coupon="alice"))
    assert commissions.reward(store, shop.programs, PEOPLE, LATER, shop.ledger.take_recent()).rewards == 1
    assert commissions.reward(store, shop.programs, PEOPLE, LATER, shop.ledger.take_recent()).rewards == 0


def test_past_the_limit_the_ledger_keeps_nothing_until_taken_and_the_rewards_read_the_store(store, monkeypatch):
    monkeypatch.setattr("siren_sync.ledger.RECENT_LIMIT", 5)
    shop = Shop(store, program())
    commissions.begin(store, shop.programs)
    shop.ledger.keep_recent()
    shop.ledger.record(order(oid=7, coupon="alice"))  # four events: kept
    shop.ledger.record(order(oid=8, coupon="alice"))  # eight: too many, none kept
    shop.ledger.record(order(oid=9, coupon="alice"))  # would fit again, but the run's events are not all held
    assert shop.ledger.recent == []
    done = commissions.reward(store, shop.programs, PEOPLE, LATER, shop.ledger.take_recent())
    assert done.rewards == 3 and sorted(shop.docs()) == ["affiliates:7:alice", "affiliates:8:alice",
                                                         "affiliates:9:alice"]
    shop.ledger.record(order(oid=10, coupon="alice"))  # taken: kept again
    assert [e.key for _, e, _ in shop.ledger.recent][:1] == ["woocommerce:sale:10"]


def test_a_poll_reads_the_rewards_of_the_orders_it_touches_never_every_reward_stored(store, monkeypatch):
    """A poll's cost follows its events, not the store's history: after 60 days of rewards, a poll
    with a refund, a renewal and a new order reads the index entries and month tables of those
    orders only (today's code read every reward table at every poll), and lists the tables' names."""
    shop = Shop(store, program(renewals=2))
    days = [PAID - timedelta(days=60 - d) for d in range(60)]
    for d, at in enumerate(days):
        shop.record(*[e for n in range(3) for e in order(oid=1000 * d + n + 1, coupon="alice", at=at)])
    assert len(shop.docs()) == 180
    read: set[str] = set()
    for name in ("get", "table", "tables"):
        real = getattr(store, name)
        monkeypatch.setattr(store, name, lambda table="", *args, real=real: read.add(table) or real(table, *args))
    done = shop.record(refund(9, "50.00", oid=3001, at=LATER), *order(oid=70001, coupon="alice", at=LATER),
                       *order(oid=80001, at=LATER, renewal_of=5001))
    monkeypatch.undo()
    assert (done.rewards, done.adjusted) == (2, 1)
    assert sorted(shop.store.tables("programs/obligations/")) == [
        "programs/obligations/2026-09", "programs/obligations/2026-10", "programs/obligations/2026-11"]
    assert {t for t in read if t.startswith("programs/")} == {
        "programs/obligations/",  # the names (a store from before months keeps tables of days)
        "programs/obligations/2026-09",  # the refunded and the first order's month
        "programs/orders/3", "programs/orders/5", "programs/orders/70", "programs/orders/80", "programs/visits"}
    assert shop.owed()["affiliates:3001:alice"] == (Decimal("12.50"), "payable")
    assert shop.owed()["affiliates:80001:alice"] == (Decimal("25.00"), "payable")


def test_a_renewal_pays_nobody_whose_first_order_reward_was_taken_back(store):
    """Before: a first order cancelled (its reward `rejected`) still made its renewals pay the
    collaborator in full: DESIGN pays the collaborators the first order paid."""
    shop = Shop(store, program(renewals=True))
    shop.record(*order(coupon="alice"))
    shop.record(refund(1, "100.00", at=PAID + timedelta(days=1)))  # the whole order refunded
    assert shop.owed() == {"affiliates:7:alice": (Decimal("0.00"), "rejected")}
    shop.record(*order(oid=20, total="80.00", visitor=None, renewal_of=7, at=PAID + timedelta(days=7)))
    assert list(shop.docs()) == ["affiliates:7:alice"]


def _open_fulfillment(shop, tmp_path):
    made = fulfillments.plan(shop.store, fulfillments.Selection(LATER), str(tmp_path / "open.csv"), PEOPLE, {}, "",
                             LATER)
    return fulfillments.create(shop.store, made)


def test_a_refund_while_the_reward_is_in_an_open_fulfillment_is_a_clawback(store, tmp_path):
    """The reward is `processing`: what is in the payout file may be paid any moment, so it is not
    reduced; the refund is a clawback, netted in the next fulfillment."""
    shop = Shop(store, program())
    shop.record(*order(coupon="alice"))
    opened = _open_fulfillment(shop, tmp_path)
    shop.record(refund(55, "40.00"))
    assert shop.docs()["affiliates:7:alice"]["amount"] == "25.00"
    assert shop.owed()["affiliates:7:alice:refund:55"] == (Decimal("-10.00"), "payable")
    fulfillments.complete(store, opened.id, LATER, (), LATER)
    shop.record(*order(oid=8, coupon="alice", at=CREATED + timedelta(days=13)))
    made = shop.pay(tmp_path, LATER + timedelta(days=10), "next.csv")
    assert [(p.collaborator, p.amount) for p in made.payouts] == [("alice", Decimal("15.00"))]


def test_a_refund_after_a_cancelled_fulfillment_reduces_the_reward(store, tmp_path):
    """Cancelling the fulfillment put the reward back to payable (nothing was paid): a refund then
    reduces it, as for any unpaid reward, and makes no clawback."""
    shop = Shop(store, program())
    shop.record(*order(coupon="alice"))
    opened = _open_fulfillment(shop, tmp_path)
    fulfillments.cancel(store, opened.id, LATER)
    shop.record(refund(55, "40.00"))
    assert shop.owed() == {"affiliates:7:alice": (Decimal("15.00"), "payable")}


# -- a program of royalties alone: the rewards its award would write, without the award -----------------

class _NothingStored:
    """A store and transaction holding no reward yet (what `_Work` reads of them)."""

    def get(self, table, key, default=None):
        return default

    def table(self, table):
        return {}

    def tables(self, prefix=""):
        return []


OWNER_OF = {93: "alice", 94: "bruno", 95: "bruno", 96: "carol", 97: None}


@st.composite
def _sales(draw):
    """A first sale of 1 to 4 lines (products of alice, bruno, carol the inactive, or nobody), a
    discount up to its subtotal, maybe alice's coupon: the sale as `_Work.sale_of` makes it."""
    products = draw(st.lists(st.sampled_from(sorted(OWNER_OF)), min_size=1, max_size=4))
    cents = draw(st.lists(st.integers(0, 10 ** 6), min_size=len(products), max_size=len(products)))
    lines = tuple(Line(str(n), Decimal(c).scaleb(-2), product_id=p)
                  for n, (p, c) in enumerate(zip(products, cents, strict=True)))
    subtotal = sum((line.subtotal for line in lines), Decimal(0))
    discount = Decimal(draw(st.integers(0, int(subtotal * 100)))).scaleb(-2)
    event = Event(key="woocommerce:sale:7", type="sale", at=PAID, order_id=7, source="woocommerce",
                  order=OrderValue("USD", subtotal - discount, lines, discount_total=discount))
    owners: dict[str, set[int]] = {}
    for p in products:
        if OWNER_OF[p]:
            owners.setdefault(OWNER_OF[p], set()).add(p)
    coupons = ("alice",) if draw(st.booleans()) else ()
    return engine.Sale("7", event, CREATED, coupons=coupons,
                       owners={who: frozenset(mine) for who, mine in owners.items()})


@st.composite
def _royalty_programs(draw):
    """A program of royalties alone: a percentage or a flat reward, maybe members, a hold, a review,
    in USD or whole points, and a key sorting before or after `affiliates`."""
    reward = draw(st.sampled_from([{"percentage": Decimal(50)}, {"percentage": Decimal("12.5")},
                                   {"percentage": Decimal(100)}, {"flat": Decimal("5.00")}]))
    units = draw(st.sampled_from([{"units": "USD", "exponent": 2}, {"units": "points", "exponent": 0,
                                                                      "is_currency": False}]))
    return program(draw(st.sampled_from(["royalties", "a-royalties"])), engagements=("collaboratorProductSold",),
                   members=draw(st.sampled_from([None, frozenset({"alice"})])), review=draw(st.booleans()),
                   hold=draw(st.sampled_from([timedelta(0), timedelta(days=7)])), **{"percentage": None, **reward},
                   **units)


@settings(max_examples=300, deadline=None)
@given(sale=_sales(), royalties=_royalty_programs(), with_affiliates=st.booleans())
def test_a_program_of_royalties_alone_writes_what_its_award_would(sale, royalties, with_affiliates):
    """`_Work.sale` writes a royalties-alone program's rewards from the owners' royalties, without
    the award (`engine.royalties_alone`): the same documents, index entries and order as the award
    of every program through `in_groups` and `write_award` (the general path)."""
    programs = {p.key: p for p in ([program()] if with_affiliates else []) + [royalties]}
    assert engine.royalties_alone(royalties)
    fast = commissions._Work(_NothingStored(), _NothingStored(), programs, PEOPLE)
    fast.sale(sale)
    general = commissions._Work(_NothingStored(), _NothingStored(), programs, PEOPLE)
    awards = engine.in_groups([a for key, p in programs.items()
                               if (a := engine.award(p, sale, general.owned, general.admits[key])) is not None],
                              programs)
    for a in awards:
        general.write_award(programs[a.program], sale, a, "2026-11-10T12:05:00+00:00")
    assert json.dumps(fast.written) == json.dumps(general.written)  # the same documents, in the same order
    assert fast.entries == general.entries and fast.done == general.done


@settings(max_examples=200, deadline=None)
@given(sale=_sales(), currency=st.sampled_from(["USD", "usd", "EUR"]), royalties=_royalty_programs(),
       owners_too=st.booleans())
def test_an_award_told_its_order_is_in_every_unit_is_the_one_comparing_currencies(sale, currency, royalties,
                                                                                  owners_too):
    """`_Work.first_sale` tells `engine.award` whether the order may be in another currency than a
    program's (`foreign`); when it is not, the award compares no currency and is still the award
    that compares them, for an order in the programs' unit (however spelt) or in another."""
    order = dataclass_replace(sale.event.order, currency=currency)
    sale = sale._replace(event=dataclass_replace(sale.event, order=order))
    mixed = dataclass_replace(royalties, key="mixed", engagements=("boundCouponUsed", "collaboratorProductSold"))
    programs = {p.key: p for p in (program(), royalties, *([mixed] if owners_too else []))}
    work = commissions._Work(_NothingStored(), _NothingStored(), programs, PEOPLE)
    foreign = work.foreign(sale)
    assert foreign == (currency != "USD")
    for key, p in programs.items():
        admits = work.admits[key]
        assert engine.award(p, sale, work.owned, admits, foreign=foreign) == engine.award(p, sale, work.owned, admits)


def _reading(store, monkeypatch):
    """The tables `store` is asked for from now on (by `get` or `table`)."""
    asked: set[str] = set()
    for name in ("get", "table"):
        real = getattr(store, name)

        def spy(table, *args, _real=real):
            asked.add(table)
            return _real(table, *args)
        monkeypatch.setattr(store, name, spy)
    return asked


def test_a_reward_and_its_clawbacks_are_found_through_their_order_reading_no_other_month(store, tmp_path,
                                                                                           monkeypatch):
    shop = Shop(store, program(percentage=Decimal(10)))
    for n, oid in enumerate((7, 8, 1007)):  # September, October, November; two index tables
        shop.record(*order(oid=oid, coupon="alice", at=PAID - timedelta(days=31 * (2 - n))))
    shop.pay(tmp_path)
    shop.record(refund("1", "50.00", oid=8, at=LATER + timedelta(hours=1)))
    docs = shop.docs()
    asked = _reading(store, monkeypatch)
    found = commissions.find(store, "affiliates:8:alice")
    assert found == ("programs/obligations/2026-10", docs["affiliates:8:alice"], "affiliates:8:alice")
    assert commissions.clawbacks_of(store, "affiliates:8:alice", docs["affiliates:8:alice"]) == {
        "affiliates:8:alice:refund:1": docs["affiliates:8:alice:refund:1"]}
    assert commissions.find(store, "affiliates:8:alice:refund:1")[1]["amount"] == "-5.00"
    assert asked == {"programs/orders/0", "programs/obligations/2026-10", "programs/obligations/2026-11"}
    assert commissions.find(store, "affiliates:9:alice") is None  # not an order's: every month is looked in


def test_the_month_s_earnings_read_only_the_tables_of_the_days_the_month_spans(store, monkeypatch):
    shop = Shop(store, program(percentage=Decimal(10)))
    shop.record(*order(oid=7, coupon="alice", at=datetime(2026, 10, 31, 23, tzinfo=UTC)))
    shop.record(*order(oid=8, coupon="alice", at=datetime(2026, 11, 1, 3, 59, tzinfo=UTC)))  # October in New York
    shop.record(*order(oid=9, coupon="alice", at=datetime(2026, 11, 1, 4, tzinfo=UTC)))
    asked = _reading(store, monkeypatch)
    (month,) = commissions.month_earnings(store, shop.programs, ZoneInfo("America/New_York"), LATER)
    assert (month.rewards, dict(month.earned)) == (1, {"alice": Decimal("10.00")})
    assert asked == {"programs/obligations/2026-11"}  # not October's, which the month does not span



def _by_day(store):
    """The store as written before rewards were kept by month: each in its UTC day's table."""
    with store.transaction() as tx:
        for table in store.tables("programs/obligations/"):
            for ident, doc in store.table(table).items():
                tx.put(f"programs/obligations/{doc['earned_at'][:10]}", ident, doc)
                tx.delete(table, ident)


def test_a_store_that_kept_rewards_by_day_keeps_them_there_and_refunds_and_renewals_find_them(store, tmp_path):
    """Rewards were kept by UTC day before they were kept by month: such a store's rewards never
    move. A refund reduces the one in its day's table (a copy in the month's would be paid twice),
    a renewal finds its first order's, a new reward of such a day joins them, one of another day
    goes to its month, and every reader sees each reward once."""
    shop = Shop(store, program(renewals=1))
    shop.record(*order(oid=7, coupon="alice"), *order(oid=8, coupon="alice", at=PAID + timedelta(days=1)))
    _by_day(store)
    assert store.tables("programs/obligations/") == ["programs/obligations/2026-11-10",
                                                     "programs/obligations/2026-11-11"]
    shop.record(refund("1", "40.00", oid=7, at=PAID + timedelta(hours=2)),
                *order(oid=9, coupon="alice", at=PAID + timedelta(hours=3)),  # a day that has a table
                *order(oid=10, coupon="alice", at=PAID + timedelta(days=3)),  # one that has none
                *order(oid=11, renewal_of=8, at=PAID + timedelta(days=3)))
    assert store.tables("programs/obligations/") == [
        "programs/obligations/2026-11", "programs/obligations/2026-11-10", "programs/obligations/2026-11-11"]
    assert sorted(store.table("programs/obligations/2026-11-10")) == ["affiliates:7:alice", "affiliates:9:alice"]
    assert sorted(store.table("programs/obligations/2026-11")) == ["affiliates:10:alice", "affiliates:11:alice"]
    owed = shop.owed()
    assert owed["affiliates:7:alice"] == (Decimal("15.00"), "payable")  # 25.00 less 25% of the 40.00 refunded
    assert owed["affiliates:11:alice"] == (Decimal("25.00"), "payable")  # the renewal of order 8
    assert len(owed) == 5 and len(shop.docs()) == 5
    assert commissions.find(store, "affiliates:7:alice")[0] == "programs/obligations/2026-11-10"
    shop.pay(tmp_path)
    shop.record(refund("2", "60.00", oid=7, at=LATER + timedelta(hours=1)))  # the rest, after it was paid
    assert commissions.clawbacks_of(store, "affiliates:7:alice", shop.docs()["affiliates:7:alice"]) == {
        "affiliates:7:alice:refund:2": store.get("programs/obligations/2026-11", "affiliates:7:alice:refund:2")}
    assert shop.owed(LATER + timedelta(days=1))["affiliates:7:alice:refund:2"][0] == Decimal("-15.00")
    (month,) = commissions.month_earnings(store, shop.programs, UTC, LATER)
    assert month.earned == {"alice": Decimal("100.00")}  # 15 + 25 + 25 + 25 + 25, less the 15 clawed back

def test_visitors_no_order_to_come_can_be_matched_to_are_forgotten_once_a_day_of_orders(store):
    """The window is 30 days and the margin 90: a visit 121 days before the newest order is
    forgotten; one 119 days before is kept, and still engages an order created just after it and
    paid only now."""
    shop = Shop(store, program(engagements=("referredSiteVisit",)))
    old, recent = CREATED - timedelta(days=121), CREATED - timedelta(days=119)
    shop.record(visit("bruno", old, 1, "a" * 64), visit("alice", recent, 2, "b" * 64))
    assert set(store.table("programs/visits")) == {"a" * 64, "b" * 64}  # no order yet: nothing is swept
    shop.record(*order(oid=7, visitor="c" * 64))  # the newest order, created at CREATED
    assert set(store.table("programs/visits")) == {"b" * 64}
    cursor = store.get("cursors", "programs")
    assert cursor["newest_order"] == cursor["visits_swept"] == "2026-11-10T12:00:00+00:00"
    late = order(oid=8, visitor="b" * 64, at=recent + timedelta(hours=1, minutes=5))  # created an hour after
    shop.record(*[dataclass_replace(e, at=PAID) for e in late])  # paid now
    assert shop.owed()["affiliates:8:alice"] == (Decimal("25.00"), "payable")
    assert store.get("cursors", "programs")["visits_swept"] == "2026-11-10T12:00:00+00:00"  # not again that day
    shop.record(visit("bruno", old, 3, "d" * 64), *order(oid=9, visitor="c" * 64, at=PAID + timedelta(days=1)))
    assert set(store.table("programs/visits")) == {"b" * 64}  # a day of orders later: swept again, an old visit too


def test_an_order_dated_ahead_by_mistake_forgets_no_visitor(store):
    shop = Shop(store, program(engagements=("referredSiteVisit",)))
    shop.record(visit("alice", LATER - timedelta(days=2), 1, "b" * 64))
    shop.record(*order(oid=7, visitor="c" * 64, at=LATER + timedelta(days=200)))  # "paid" 200 days after now
    assert set(store.table("programs/visits")) == {"b" * 64}
    assert store.get("cursors", "programs")["newest_order"] == "2026-11-20T00:00:00+00:00"  # now, no later


@st.composite
def _run_events(draw):
    """A run's sales, refunds, cancellations and leads over a few seconds (many at the same second):
    refunds dated before, at or after their order's payment, some of orders this run did not pay."""
    events = []
    for oid in range(1, draw(st.integers(1, 8)) + 1):
        paid = PAID + timedelta(seconds=draw(st.integers(0, 4)))
        if draw(st.booleans()):
            events.append(order(oid=oid, at=paid)[0])
        for n in range(draw(st.integers(0, 2))):
            at = paid + timedelta(seconds=draw(st.integers(-2, 2)))
            events.append(refund(str(n), "10.00", oid=oid, at=at) if draw(st.booleans()) else
                          Event(key=f"woocommerce:cancel:{oid}", type="sale", at=at, order=value("100.00"),
                                order_id=oid, share=Fraction(-1), source="woocommerce"))
    for n in range(draw(st.integers(0, 2))):
        events.append(Event(key=f"crm:lead:{n}", type="lead", at=PAID + timedelta(seconds=draw(st.integers(0, 4))),
                            collaborator="alice", source="import"))
    return draw(st.permutations(events))


@given(_run_events())
@settings(max_examples=300, deadline=None)
def test_a_run_takes_each_take_back_after_its_payment_and_the_rest_by_time_then_key(events):
    """`_in_turn` puts the few take-backs of orders paid in the run in place rather than sorting
    every event by a key of its own: the order is exactly what that key would give."""
    paid = {e.order_id: e.at for e in events if e.order_id is not None and commissions.is_payment(e)}

    def turn(e):
        payment = paid.get(e.order_id) if commissions.is_take_back(e) else None
        return (e.at, False, e.key) if payment is None else (max(e.at, payment), True, e.key)

    taken = list(events)
    commissions._in_turn(taken)
    assert [e.key for e in taken] == [e.key for e in sorted(events, key=turn)]


def test_only_a_whole_sale_is_a_payment_a_sale_moving_no_share_or_part_of_one_pays_nothing(store):
    """Before: any sale of an order with a share not below zero was read as its payment, so a sale
    event moving 0 (or half) of an order would have been paid the whole reward."""
    shop = Shop(store, program())
    sale, coupon = order(coupon="alice")[:2]
    nothing = dataclass_replace(sale, key="woocommerce:adjust:7:1", share=Fraction(0))
    half = dataclass_replace(sale, key="woocommerce:adjust:7:2", share=Fraction(1, 2))
    shop.record(nothing, half, coupon)
    assert shop.owed() == {}
    assert not commissions.is_payment(nothing) and not commissions.is_payment(half)
    assert not commissions.is_take_back(nothing)
    shop.record(*order(8, coupon="alice"))  # an order's payment: the whole of it
    assert shop.owed() == {"affiliates:8:alice": (Decimal("25.00"), "payable")}
