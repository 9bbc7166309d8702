"""Program rewards per sale (DESIGN section 8): engagements, window edges, structures and their ties,
groups and their tie, royalties, amounts and refunds, to the cent."""
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siren_sync.engine import commissions as c
from siren_sync.model import Collaborator, Event, Line, OrderValue, Program
from siren_sync.values import iso

CREATED = datetime(2026, 11, 10, 12, tzinfo=UTC)
PAID = CREATED + timedelta(minutes=5)
EVERYONE = {"alice", "bruno", "carol"}


def program(key="affiliates", **changes):
    fields = dict(key=key, name=key, units="USD", exponent=2, engagements=("boundCouponUsed", "referredSiteVisit"),
                  percentage=Decimal(25))
    return Program(**{**fields, **changes})


def order_sale(total="100.00", lines=None, discount="0", oid=7):
    lines = lines or (Line("1", Decimal(total), product_id=93),)
    value = OrderValue("USD", Decimal(total), lines, discount_total=Decimal(discount))
    return Event(key=f"woocommerce:sale:{oid}", type="sale", at=PAID, order=value, order_id=oid, source="woocommerce")


def sale(**changes):
    fields = dict(id="7", event=order_sale(), created_at=CREATED)
    return c.Sale(**{**fields, **changes})


def admits(who):
    return who in EVERYONE


def paid(award):
    return {a.collaborator: a.amount for a in award.allocations}


def visit(hours_before, who):
    return (CREATED - timedelta(hours=hours_before), who)


# -- engagements -------------------------------------------------------------------------------------


def test_a_coupon_and_a_visit_engage_the_same_order():
    found = c.engagements(sale(coupons=("alice",), visits=(visit(2, "bruno"),)), program())
    assert found == [c.Engagement("boundCouponUsed", "alice", CREATED),
                     c.Engagement("referredSiteVisit", "bruno", CREATED - timedelta(hours=2))]


def test_window_edges_a_visit_exactly_window_before_does_not_count():
    window = timedelta(days=30)
    edge = (CREATED - window, "alice")
    inside = (CREATED - window + timedelta(seconds=1), "bruno")
    after = (CREATED + timedelta(seconds=1), "carol")
    at_creation = (CREATED, "dora")
    found = c.engagements(sale(visits=(edge, inside, after, at_creation)), program(window=window))
    assert [e.collaborator for e in found] == ["bruno", "dora"]


def test_a_ref_the_order_names_without_a_time_engages_at_creation_unless_a_visit_of_theirs_already_does():
    assert c.engagements(sale(named="alice"), program()) == [c.Engagement("referredSiteVisit", "alice", CREATED)]
    assert len(c.engagements(sale(named="alice", visits=(visit(1, "alice"),)), program())) == 1
    # its time unknown (a `ref_meta_key`, an unreadable session start): inside any window
    assert [e.at for e in c.engagements(sale(named="alice"), program(window=timedelta(0)))] == [CREATED]


@pytest.mark.parametrize("before, engaged", [
    (timedelta(days=30), False),  # exactly `window` before: half-open, as a logged visit
    (timedelta(days=30) - timedelta(seconds=1), True),
    (timedelta(days=150), False),  # order attribution's cookie lives six months: long out of the window
    (timedelta(0), True),  # at the creation
    (-timedelta(seconds=1), False),  # after the creation (a browser clock ahead): it did not bring the order
])
def test_window_edges_of_a_ref_the_order_names_at_its_session_start(before, engaged):
    at = CREATED - before
    found = c.engagements(sale(named="bruno", named_at=at), program(window=timedelta(days=30)))
    assert found == ([c.Engagement("referredSiteVisit", "bruno", at)] if engaged else [])


def test_window_zero_leaves_a_named_ref_with_a_time_out():
    assert c.engagements(sale(named="bruno", named_at=CREATED - timedelta(minutes=5)),
                         program(window=timedelta(0))) == []


def test_a_named_ref_and_a_visit_of_the_same_collaborator_count_once_at_the_visit():
    named_at = CREATED - timedelta(hours=3)
    found = c.engagements(sale(named="alice", named_at=named_at, visits=(visit(1, "alice"),)), program())
    assert found == [c.Engagement("referredSiteVisit", "alice", CREATED - timedelta(hours=1))]
    # the visit out of the window: the named ref alone, at its own time
    old = c.engagements(sale(named="alice", named_at=named_at, visits=(visit(24 * 40, "alice"),)), program())
    assert old == [c.Engagement("referredSiteVisit", "alice", named_at)]


@pytest.mark.parametrize("structure, winner", [("newestEngagementWins", "carol"),
                                               ("oldestEngagementWins", "bruno")])
def test_a_named_ref_competes_at_its_session_start_with_a_coupon_and_a_logged_visit(structure, winner):
    # bruno's ref named 10 hours before creation, alice's logged visit 2 hours before, carol's coupon
    # at creation: the named ref is the oldest (at creation it would have tied carol's coupon)
    both = sale(coupons=("carol",), visits=(visit(2, "alice"),), named="bruno",
                named_at=CREATED - timedelta(hours=10))
    award = c.award(program(structure=structure), both, (), admits)
    assert paid(award) == {winner: Decimal("25.00")}
    newest_visit = sale(visits=(visit(10, "alice"),), named="bruno", named_at=CREATED - timedelta(hours=2))
    assert paid(c.award(program(structure="newestEngagementWins"), newest_visit, (), admits)) == {
        "bruno": Decimal("25.00")}
    assert paid(c.award(program(structure="oldestEngagementWins"), newest_visit, (), admits)) == {
        "alice": Decimal("25.00")}


def test_only_the_program_s_engagement_types_count():
    found = c.engagements(sale(coupons=("alice",), visits=(visit(1, "bruno"),)),
                          program(engagements=("referredSiteVisit",)))
    assert [e.collaborator for e in found] == ["bruno"]


@pytest.mark.parametrize("kind", ["boundCouponUsed", c.VISIT, c.REVISIT, "manual"])
def test_one_engagement_merges_as_it_would_among_others(kind):
    """One engagement (most sales) is merged as the loop over several merges it: a revisit alone scores
    nothing; one of a collaborator the program does not admit is left out."""
    at = CREATED - timedelta(hours=1)
    one = c.Engagement(kind, "alice", at)
    assert c.merged([one], admits) == [c.Engaged("alice", 0 if kind == c.REVISIT else 1, at, at, at)]
    assert c.merged([one, c.Engagement(kind, "nobody", at)], admits) == c.merged([one], admits)
    assert c.merged([c.Engagement(kind, "nobody", at)], admits) == []


# -- revisits: a click again inside the access log's visitor window ------------------------------------


def test_a_revisit_is_the_last_touch_but_adds_no_score():
    """alice 3 h before, bruno 2 h, alice again 1 h (inside her visitor window: a revisit)."""
    s = sale(visits=(visit(3, "alice"), visit(2, "bruno")), revisits=(visit(1, "alice"),))
    found = c.engagements(s, program())
    assert found[-1] == c.Engagement(c.REVISIT, "alice", CREATED - timedelta(hours=1))
    assert c.merged(found, admits) == [
        c.Engaged("alice", 1, CREATED - timedelta(hours=3), CREATED - timedelta(hours=1), CREATED - timedelta(hours=3)),
        c.Engaged("bruno", 1, CREATED - timedelta(hours=2), CREATED - timedelta(hours=2), CREATED - timedelta(hours=2))]
    assert paid(c.award(program(), s, (), admits)) == {"alice": Decimal("25.00")}
    assert paid(c.award(program(structure="performanceSharedPool"), s, (), admits)) == {
        "alice": Decimal("12.50"), "bruno": Decimal("12.50")}
    # a tie at one visit each: alice reached it first (her revisit is no new point)
    assert paid(c.award(program(structure="topScoreWins"), s, (), admits)) == {"alice": Decimal("25.00")}


def test_a_revisit_after_the_order_or_outside_the_window_engages_nothing():
    after = (CREATED + timedelta(minutes=1), "alice")
    s = sale(visits=(visit(3, "alice"), visit(2, "bruno")), revisits=(after, visit(24 * 31, "alice")))
    assert paid(c.award(program(), s, (), admits)) == {"bruno": Decimal("25.00")}


def test_a_revisit_whose_counted_visit_is_before_the_window_engages_once():
    """The visitor window opened just before the program's window: its revisit inside it is the
    collaborator's one visit there (scored once), their later revisits are not scored again."""
    window = timedelta(days=30)
    s = sale(visits=(visit(24 * 30 + 0.1, "alice"), visit(24 * 29, "bruno")),
             revisits=(visit(24 * 30 - 0.1, "alice"), visit(24 * 30 - 0.2, "alice")))
    engaged = c.merged(c.engagements(s, program(window=window)), admits)
    assert [(e.collaborator, e.score) for e in engaged] == [("alice", 1), ("bruno", 1)]
    assert paid(c.award(program(window=window, structure="oldestEngagementWins"), s, (), admits)) == {
        "alice": Decimal("25.00")}


# -- structures ---------------------------------------------------------------------------------------


def two_visits_and_a_coupon():
    return sale(coupons=("carol",), visits=(visit(5, "alice"), visit(3, "bruno"), visit(1, "bruno")))


@pytest.mark.parametrize("structure, expected", [
    ("oldestEngagementWins", {"alice": Decimal("25.00")}),
    ("newestEngagementWins", {"carol": Decimal("25.00")}),  # the coupon engages at creation, the newest
    # the left cent by largest remainder, tied: the higher score (bruno's two visits), then the smaller id
    ("sharedEngagementPool", {"alice": Decimal("8.33"), "bruno": Decimal("8.34"), "carol": Decimal("8.33")}),
    ("performanceSharedPool", {"alice": Decimal("6.25"), "bruno": Decimal("12.50"), "carol": Decimal("6.25")}),
    ("topScoreWins", {"bruno": Decimal("25.00")}),
])
def test_each_structure(structure, expected):
    award = c.award(program(structure=structure), two_visits_and_a_coupon(), (), admits)
    assert paid(award) == expected and sum(paid(award).values()) == Decimal("25.00")


def test_shared_remainder_goes_by_largest_remainder_then_smaller_id():
    award = c.award(program(structure="sharedEngagementPool", percentage=Decimal(1)),
                    sale(coupons=("carol",), visits=(visit(1, "alice"), visit(2, "bruno"))), (), admits)
    assert paid(award) == {"alice": Decimal("0.34"), "bruno": Decimal("0.33"), "carol": Decimal("0.33")}


@pytest.mark.parametrize("structure", ["oldestEngagementWins", "newestEngagementWins"])
def test_oldest_and_newest_ties_go_to_the_smaller_id(structure):
    award = c.award(program(structure=structure), sale(coupons=("bruno", "alice")), (), admits)
    assert paid(award) == {"alice": Decimal("25.00")}
    assert "tied with bruno: the smaller id wins" in award.why


def test_top_score_tie_goes_to_who_reached_it_first_then_the_smaller_id():
    first = sale(visits=(visit(5, "bruno"), visit(1, "alice")))
    assert paid(c.award(program(structure="topScoreWins"), first, (), admits)) == {"bruno": Decimal("25.00")}
    same = sale(coupons=("bruno", "alice"))
    assert paid(c.award(program(structure="topScoreWins"), same, (), admits)) == {"alice": Decimal("25.00")}


# -- members, status, amounts ------------------------------------------------------------------------


def test_an_inactive_program_and_a_non_member_earn_nothing():
    assert c.award(program(status="inactive"), sale(coupons=("alice",)), (), admits) is None
    members = program(members=frozenset({"bruno"}))
    people = {"alice": Collaborator("alice"), "bruno": Collaborator("bruno")}
    assert c.award(members, sale(coupons=("alice",)), (), c.admitted(members, people)) is None
    assert paid(c.award(members, sale(coupons=("alice", "bruno")), (), c.admitted(members, people))) == {
        "bruno": Decimal("25.00")}


def test_an_inactive_collaborator_earns_nothing():
    p = program()
    people = {"alice": Collaborator("alice", status="inactive")}
    assert c.award(p, sale(coupons=("alice",)), (), c.admitted(p, people)) is None


def test_percentage_is_of_the_counted_value_rounded_half_up():
    # 33.30 - 0.05 discount = 33.25 counted; 12.5% = 4.15625 -> 4.16
    event = order_sale("33.25", (Line("1", Decimal("33.30")),), discount="0.05")
    award = c.award(program(percentage=Decimal("12.5")), sale(event=event, coupons=("alice",)), (), admits)
    assert paid(award) == {"alice": Decimal("4.16")} and award.value == Decimal("33.25")
    assert award.arithmetic == "12.5% of 33.25 = 4.16 USD (rounded half-up to 0.01)"


def test_line_filters_scope_the_reward():
    lines = (Line("1", Decimal("60.00"), categories=(12,)), Line("2", Decimal("40.00"), categories=(7,)))
    p = program(filters=program().filters.__class__(in_categories=(12,)))
    award = c.award(p, sale(event=order_sale("100.00", lines), coupons=("alice",)), (), admits)
    assert paid(award) == {"alice": Decimal("15.00")}


def test_flat_is_paid_once_per_conversion_and_split_by_the_structure():
    p = program(percentage=None, flat=Decimal("50.00"), structure="sharedEngagementPool")
    assert paid(c.award(p, sale(coupons=("alice", "bruno")), (), admits)) == {"alice": Decimal("25.00"),
                                                                             "bruno": Decimal("25.00")}


def test_an_order_in_another_currency_pays_nothing():
    event = order_sale()
    other = Event(key=event.key, type="sale", at=PAID, order=OrderValue("EUR", Decimal(100), event.order.lines),
                  order_id=7)
    assert c.award(program(percentage=None, flat=Decimal("5.00")), sale(event=other, coupons=("alice",)), (),
                   admits) is None


def test_a_manual_sale_engages_its_collaborator():
    event = Event(key="crm:deal:9", type="sale", at=PAID, revenue=Decimal("200.00"), collaborator="bruno")
    award = c.award(program(engagements=("manual",)), sale(id="crm:deal:9", event=event, manual="bruno"), (), admits)
    assert paid(award) == {"bruno": Decimal("50.00")}


# -- royalties ------------------------------------------------------------------------------------------


def test_royalties_to_two_owners_of_one_order_each_on_their_own_lines():
    lines = (Line("1", Decimal("60.00"), product_id=93), Line("2", Decimal("30.00"), product_id=94),
             Line("3", Decimal("10.00"), product_id=95))
    p = program("royalties", engagements=("collaboratorProductSold",), percentage=Decimal(50))
    event = order_sale("90.00", lines, discount="10.00")  # the discount falls pro rata on each owner's lines
    award = c.award(p, sale(event=event, owners={"alice": frozenset({93}), "bruno": frozenset({94})}),
                    {93, 94}, admits)
    assert paid(award) == {"alice": Decimal("27.00"), "bruno": Decimal("13.50")}


# -- groups ---------------------------------------------------------------------------------------------


def test_a_group_pays_the_program_whose_winning_engagement_is_oldest():
    ambassadors = program("ambassadors", group="g", group_structure="oldestEngagementWins",
                          engagements=("referredSiteVisit",), structure="oldestEngagementWins")
    affiliates = program("affiliates", group="g", group_structure="oldestEngagementWins",
                         engagements=("boundCouponUsed",))
    s = sale(coupons=("alice",), visits=(visit(3, "bruno"),))
    programs = {p.key: p for p in (ambassadors, affiliates)}
    awards = c.in_groups([c.award(p, s, (), admits) for p in programs.values()], programs)
    assert [(a.program, paid(a)) for a in awards] == [("ambassadors", {"bruno": Decimal("25.00")})]
    newest = {k: program(k, group="g", group_structure="newestEngagementWins", engagements=p.engagements)
              for k, p in programs.items()}
    awards = c.in_groups([c.award(p, s, (), admits) for p in newest.values()], newest)
    assert [a.program for a in awards] == ["affiliates"]


def test_a_group_tie_goes_to_the_program_key_sorting_first():
    programs = {k: program(k, group="g") for k in ("zeta", "alpha")}
    s = sale(coupons=("alice",))
    awards = c.in_groups([c.award(p, s, (), admits) for p in programs.values()], programs)
    assert [a.program for a in awards] == ["alpha"]


@pytest.mark.parametrize("structure", ["sharedEngagementPool", "performanceSharedPool", "topScoreWins"])
def test_a_group_compares_a_shared_program_by_its_oldest_or_newest_engagement_as_the_group_says(structure):
    """A program that shares among its engaged has no single winning engagement: the group compares
    its first engagement (oldest rule) or its last (newest rule) with the other program's."""
    def group(rule):
        shared = program("ambassadors", group="g", group_structure=rule, engagements=("referredSiteVisit",),
                         structure=structure)
        coupons = program("coupons", group="g", group_structure=rule, engagements=("boundCouponUsed",))
        return {p.key: p for p in (shared, coupons)}

    s = sale(coupons=("carol",), visits=(visit(5, "alice"), visit(1, "bruno")))  # the coupon: at creation
    oldest = group("oldestEngagementWins")
    awards = c.in_groups([c.award(p, s, (), admits) for p in oldest.values()], oldest)
    assert [a.program for a in awards] == ["ambassadors"]  # alice's visit 5 h before the order
    assert sum(paid(awards[0]).values()) == Decimal("25.00")
    assert awards[0].won_at == CREATED - timedelta(hours=5)
    newest = group("newestEngagementWins")
    awards = c.in_groups([c.award(p, s, (), admits) for p in newest.values()], newest)
    assert [(a.program, paid(a)) for a in awards] == [("coupons", {"carol": Decimal("25.00")})]
    at_creation = sale(coupons=("carol",), visits=(visit(5, "alice"), visit(3, "bruno"), visit(0, "bruno")))
    awards = c.in_groups([c.award(p, at_creation, (), admits) for p in newest.values()], newest)
    # bruno's last visit (not his first) ties the coupon: the program key sorting first wins
    assert [a.program for a in awards] == ["ambassadors"]


def test_ungrouped_programs_all_pay():
    programs = {k: program(k) for k in ("a", "b")}
    s = sale(coupons=("alice",))
    assert len(c.in_groups([c.award(p, s, (), admits) for p in programs.values()], programs)) == 2


# -- renewals and refunds --------------------------------------------------------------------------------


def test_a_renewal_pays_the_first_order_s_collaborators_in_the_same_proportions():
    award = c.renewal_award(program(), sale(id="8", renewal_of="7"), {"alice": Decimal("2.00"),
                                                                       "bruno": Decimal("1.00")}, ())
    assert paid(award) == {"alice": Decimal("16.67"), "bruno": Decimal("8.33")}


def test_a_renewal_merges_a_share_and_a_royalty_of_one_collaborator_and_a_zero_share_gives_way():
    """alice is paid a share and a royalty: one allocation of both, her royalty kept apart; bruno's
    share of 0.00 leaves his royalty alone (written as one); carol, in the award only, is as she was."""
    share = c.Award("affiliates", (c.Allocation("alice", Decimal("2.00"), Decimal("10.42"), "why"),
                                   c.Allocation("bruno", Decimal("0.01"), Decimal("0.00"), "why"),
                                   c.Allocation("carol", Decimal("1.00"), Decimal("5.21"), "why")),
                    Decimal("83.33"), (), CREATED, "why", "25% of 83.33 = 20.83 USD")
    hers = c.Royalty("alice", frozenset({93}), Decimal("40.00"), Decimal("10.00"), "alice's lines: 10.00")
    his = c.Royalty("bruno", frozenset({94}), Decimal("4.00"), Decimal("1.00"), "bruno's lines: 1.00")
    award, alone = c.renewed(share, [hers, his])
    assert award is not None and alone == [his]
    assert award.allocations == (c.Allocation("alice", Decimal("2.00"), Decimal("20.42"), "why; alice's lines: 10.00"),
                                 c.Allocation("carol", Decimal("1.00"), Decimal("5.21"), "why"))
    assert award.royalties == {"alice": hers}
    assert award.arithmetic == "25% of 83.33 = 20.83 USD; alice's lines: 10.00"
    assert c.renewed(share, [his._replace(collaborator="dan")]) == (share, [his._replace(collaborator="dan")])


def test_refunds_partial_then_full_net_to_zero():
    reward, value = Decimal("25.00"), Decimal("99.99")
    first = c.adjustment(reward, reward, Decimal("-33.33"), value, 2, full=False, flat=False)
    assert first == Decimal("-8.33")  # 25 x 33.33 / 99.99 = 8.3333 -> 8.33
    left = reward + first
    rest = c.adjustment(reward, left, Decimal("-66.66"), value, 2, full=True, flat=False)
    assert left + rest == 0


def test_a_partial_refund_rounds_half_up_and_never_takes_more_than_is_left():
    assert c.adjustment(Decimal("0.05"), Decimal("0.05"), Decimal("-50.00"), Decimal("100.00"), 2, False,
                        False) == Decimal("-0.03")  # 0.025 -> 0.03
    assert c.adjustment(Decimal("10.00"), Decimal("1.00"), Decimal("-50.00"), Decimal("100.00"), 2, False,
                        False) == Decimal("-1.00")


def test_a_flat_reward_is_reversed_only_by_a_full_refund():
    assert c.adjustment(Decimal("50.00"), Decimal("50.00"), Decimal("-10"), Decimal("100"), 2, False, True) == 0
    assert c.adjustment(Decimal("50.00"), Decimal("50.00"), Decimal("-100"), Decimal("100"), 2, True, True) == -50


@given(st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31), timezones=st.just(UTC)))
def test_a_utc_time_is_written_as_iso_writes_it(at):
    """`iso_of`'s own formatting of UTC times (microseconds dropped) is `iso`'s, byte for byte."""
    c._utc_day.cache_clear()
    assert c.iso_of(at) == iso(at)
    assert c.iso_of(at) == iso(at)  # the day's text as cached
