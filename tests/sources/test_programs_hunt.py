"""The sources that feed programs, hunted for bugs (DESIGN section 8, "Engagements of an order" and
"Refunds, cancellations, renewals"): orders, subscriptions and access log lines shaped as the real
site and web server send them go through the real sources, and the rewards are read back as a user
sees them."""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import responses

from siren_sync import commissions
from siren_sync.model import Collaborator, Event, LineItemFilters, Program
from siren_sync.sources.access_log import AccessLogSource
from tests.support.ledgers import DECEMBER, NOVEMBER, distributor, make_ledger
from tests.support.payloads import FakeContext, coupon_line, line_item, order, renewal, subscription
from tests.support.shop import NOW, make_shop, source

DAVID = Collaborator("david", email="david@example.com", coupons=("DAVID20",), tracking_ids=("david",))
PEOPLE = {DAVID.id: DAVID}
FIRST = order(1001, "completed", "19.00", currency="USD", created="2026-09-13T10:41:33", paid="2026-09-13T10:51:33",
              coupon_lines=[coupon_line(10015, "david20", "0.00")])


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    """The site's HTTP, mocked (the in-process shop installs itself in it)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def program(**changes) -> Program:
    fields = dict(key="affiliates", name="Affiliates", units="USD", exponent=2,
                  engagements=("boundCouponUsed", "referredSiteVisit"), percentage=Decimal(25))
    return Program(**{**fields, **changes})


def context(**kw) -> FakeContext:
    return FakeContext.of(PEOPLE.values(), now=kw.pop("now", NOW), **kw)


def rewards(store, events: Iterable[Event], *programs: Program,
            people: dict[str, Collaborator] = PEOPLE) -> dict[str, Decimal]:
    """obligation id -> amount, once the ledger recorded `events` and programs ran (as a sync does)."""
    ledger = make_ledger(store, collaborators=people)
    ledger.record(list(events))
    commissions.reward(store, {p.key: p for p in programs}, people, NOW)
    return {o.id: o.amount for o in commissions.obligations(store)}


def recurring(order_id: int, sub_id: int, day: int, **kw) -> dict:
    """A paid renewal order carrying the recurring coupon of its first order (WooCommerce Subscriptions
    copies it from the subscription), with the first order's landing page (copied meta)."""
    body = renewal(order_id, sub_id, status="processing", total="19.00", currency="USD",
                   created=f"2026-10-{day:02d}T09:00:00", paid=f"2026-10-{day:02d}T09:00:30",
                   coupon_lines=[coupon_line(order_id * 10 + 5, "david20", "0.00")], **kw)
    body["meta_data"].append({"id": order_id * 10 + 2, "key": "_wc_order_attribution_session_entry",
                              "value": "https://shop.example/?ref=david"})
    return body


# -- renewals -------------------------------------------------------------------------------------------

def test_a_renewal_of_a_subscription_with_no_first_order_never_earns_as_a_first_sale(rsps, store):
    """A subscription made by hand in the admin has `parent_id: 0`: its renewal orders are still
    renewals (README: "A renewal order never earns as a new conversion"), so its recurring coupon
    pays nothing, with `renewals` off or on; its sale still counts in the pools."""
    shop = make_shop(rsps)
    shop.add_subscription(subscription(1010, 0))
    shop.add(recurring(2100, 1010, 5))
    ctx = context()
    source().sync(ctx)
    assert ctx.events["woocommerce:sale:2100"].order.total == Decimal("19.00")
    assert rewards(store, ctx.events.values(), program(), program(key="recurring", renewals=None)) == {}


def test_a_renewal_read_while_subscriptions_cannot_be_read_never_earns_as_a_first_sale(rsps, store):
    """The key may not read subscriptions (403), or WooCommerce Subscriptions is switched off: the
    renewal's first order is unknown, and the renewal still does not pay its copied coupon and
    landing page's referrer as if it were a new conversion."""
    shop = make_shop(rsps)
    shop.add(FIRST)
    shop.add_subscription(subscription(1002, 1001))
    shop.add(recurring(2000, 1002, 1))
    shop.fail("wc/v3/subscriptions", 403, {"code": "woocommerce_rest_cannot_view",
                                           "message": "Sorry, you cannot list resources.", "data": {"status": 403}})
    ctx = context()
    source().sync(ctx)
    assert rewards(store, ctx.events.values(), program()) == {"affiliates:1001:david": Decimal("4.75")}


def test_resubscribe_and_switch_orders_are_first_sales_not_renewals(rsps, store):
    """A resubscribe order (`_subscription_resubscribe`) starts a new subscription and a switch order
    (`_subscription_switch`) pays for a change of plan: both are sales of their own, engaged by their
    own coupon, not renewals of the subscription they name."""
    shop = make_shop(rsps)
    shop.add(FIRST)
    shop.add_subscription(subscription(1002, 1001))
    for oid, key in ((3000, "_subscription_resubscribe"), (3001, "_subscription_switch")):
        body = order(oid, "completed", "40.00", currency="USD", created="2026-10-20T09:00:00",
                     paid="2026-10-20T09:01:00", coupon_lines=[coupon_line(oid * 10 + 5, "david20", "0.00")])
        body["meta_data"] = [{"id": oid * 10 + 1, "key": key, "value": "1002"}]
        shop.add(body)
    ctx = context()
    source().sync(ctx)
    assert {k: e.touch.renewal_of for k, e in ctx.events.items() if k.startswith("woocommerce:sale:")} == {
        "woocommerce:sale:1001": None, "woocommerce:sale:3000": None, "woocommerce:sale:3001": None}
    assert rewards(store, ctx.events.values(), program()) == {
        "affiliates:1001:david": Decimal("4.75"), "affiliates:3000:david": Decimal("10.00"),
        "affiliates:3001:david": Decimal("10.00")}


# -- the same visitor: the access log's visits and the order -------------------------------------------

ERIN = Collaborator("erin", email="erin@example.com", tracking_ids=("erin",))
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
ADDRESS = "2001:db8:85a3::8a2e:370:7334"


def log_line(target: str, at: datetime, ip: str = ADDRESS, ua: str = FIREFOX) -> str:
    """A combined log line as nginx writes it."""
    return (f'{ip} - - [{at.strftime("%d/%b/%Y:%H:%M:%S %z")}] "GET {target} HTTP/2.0" 200 5120 '
            f'"https://news.example/story" "{ua}"\n')


def placed(oid: int, created: datetime, ip: str = ADDRESS, ua: str = FIREFOX) -> dict:
    body = order(oid, "processing", "100.00", currency="USD", created=created.strftime("%Y-%m-%dT%H:%M:%S"),
                 paid=(created + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S"))
    body["customer_ip_address"], body["customer_user_agent"], body["created_via"] = ip, ua, "checkout"
    return body


def test_an_ipv6_visitor_s_visit_engages_the_order_it_placed_and_another_agent_s_does_not(rsps, store, tmp_path):
    """The visit's address and agent, as nginx logs them (HTTP/2, IPv6), and the order's
    `customer_ip_address` and `customer_user_agent` make the same visitor; another browser behind the
    same address (erin's later link) is another visitor."""
    t0 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    log = tmp_path / "access.log"
    log.write_text(log_line("/shop/?utm_source=news&ref=david", t0)
                   + log_line("/?ref=erin", t0 + timedelta(minutes=5), ua=FIREFOX.replace("128.0", "129.0")))
    shop = make_shop(rsps)
    shop.add(placed(4000, t0 + timedelta(minutes=15), ip="2001:DB8:85A3:0:0:8A2E:370:7334"))
    people = {c.id: c for c in (DAVID, ERIN)}
    ctx = FakeContext.of(people.values(), now=NOW)
    AccessLogSource(log).sync(ctx)
    source().sync(ctx)
    assert rewards(store, ctx.events.values(), program(engagements=("referredSiteVisit",)), people=people) == {
        "affiliates:4000:david": Decimal("25.00")}


def test_apache_s_c_style_whitespace_escapes_are_whitespace_in_the_visitor(tmp_path):
    """Apache writes whitespace in a logged header C-style (`\\t`, `\\n`), and `\\"` and `\\\\` with a
    backslash; WordPress keeps the order's agent with its whitespace collapsed to one space. The
    same browser is one visitor."""
    sent = 'Mozilla/5.0 (X11; Linux x86_64) "Tab\there" C:\\Apps Firefox/128.0'
    logged = 'Mozilla/5.0 (X11; Linux x86_64) \\"Tab\\there\\" C:\\\\Apps Firefox/128.0'
    log = tmp_path / "access.log"
    log.write_text(log_line("/?ref=david", datetime(2026, 11, 20, 10, 0, tzinfo=UTC), ip="203.0.113.9", ua=logged))
    ctx = context()
    AccessLogSource(log).sync(ctx)
    [visit] = ctx.events.values()
    assert visit.touch.visitor == ctx.visitor("203.0.113.9", sent.replace("\t", " "))


def test_a_variation_s_line_is_its_parent_product_s_owner_s(rsps):
    """A variable product's line names the parent in `product_id` and the variation in
    `variation_id` (apis.md 1.5): collaborators own products by the parent's id, which `products`
    lists, so the owner of the T-shirt is paid on its red variation."""
    shop = make_shop(rsps)
    line = line_item(60010, 93, "30.00", sku="TEE-RED", name="T-shirt - Red")
    line["variation_id"] = 96
    shop.add(order(6001, "completed", "30.00", currency="USD", line_items=[line]))
    ctx = FakeContext.of([Collaborator("frank", email="frank@example.com", products=(93,))], now=NOW)
    source().sync(ctx)
    [sold] = [e for e in ctx.events.values() if e.type == "collaboratorProductSold"]
    assert (sold.key, sold.collaborator) == ("woocommerce:collaboratorProductSold:6001:60010", "frank")


# -- variable products: an owner of one variation -------------------------------------------------------

LENA = Collaborator("lena", email="lena@example.com", products=(31,))  # owns the T-shirt's size L
FRANK = Collaborator("frank", email="frank@example.com", products=(30,))  # owns the T-shirt (the parent)
ROYALTIES = program(key="royalties", engagements=("collaboratorProductSold",), percentage=Decimal(50))


def shirts(order_id: int = 7001, status: str = "completed", **kw) -> dict:
    """Size L (variation 31) and two of size XL (variation 32) of the T-shirt (product 30), paid in November."""
    return order(order_id, status, "75.00", currency="USD", created="2026-11-10T10:00:00",
                 paid="2026-11-10T10:05:00", line_items=[
                     line_item(order_id * 10 + 1, 30, "25.00", variation_id=31, sku="TEE-L", name="T-shirt - L"),
                     line_item(order_id * 10 + 2, 30, "50.00", quantity=2, variation_id=32, sku="TEE-XL",
                               name="T-shirt - XL")], **kw)


def shirt_events(rsps, *bodies: dict, people: Iterable[Collaborator]) -> list[Event]:
    shop = make_shop(rsps)
    shop.add(*bodies)
    ctx = FakeContext.of(people, now=NOW)
    source().sync(ctx)
    return list(ctx.events.values())


@pytest.mark.parametrize("owners, paid", [
    ([LENA], {"royalties:7001:lena": Decimal("12.50")}),  # size L alone, not the XL
    ([FRANK], {"royalties:7001:frank": Decimal("37.50")}),  # the parent: every size
    # both: the L is Lena's alone, Frank keeps the XL; no line is paid twice
    ([LENA, FRANK], {"royalties:7001:lena": Decimal("12.50"), "royalties:7001:frank": Decimal("25.00")}),
])
def test_an_owner_of_a_variation_is_paid_the_royalty_on_its_lines_only(rsps, store, owners, paid):
    people = {c.id: c for c in owners}
    events = shirt_events(rsps, shirts(), people=owners)
    assert rewards(store, events, ROYALTIES, people=people) == paid


def test_a_refund_takes_back_the_variation_owner_s_share_of_their_own_lines(rsps, store):
    """A refund of 15.00 on the 75.00 order: a fifth of every line, so a fifth of Lena's 12.50."""
    people = {c.id: c for c in (LENA, FRANK)}
    events = shirt_events(rsps, shirts(), people=people.values())
    rewards(store, events, ROYALTIES, people=people)
    refunded = shirts(status="completed", modified="2026-11-12T09:00:00", refunds=[{"id": 7090, "total": "-15.00"}])
    later = shirt_events(rsps, refunded, people=people.values())
    assert rewards(store, later, ROYALTIES, people=people) == {"royalties:7001:lena": Decimal("10.00"),
                                                               "royalties:7001:frank": Decimal("20.00")}


def test_a_variation_s_owner_scores_in_a_distributor_and_its_collaborator_owned_pool_keeps_that_line(rsps, store):
    """`collaboratorProductSold` scores the variation's owner per unit sold, and a pool counting only
    collaborator-owned lines counts the L (owned) and not the XL (nobody's)."""
    pool = distributor(points={"collaboratorProductSold": 1}, filters=LineItemFilters(collaborator_owned=True))
    ledger = make_ledger(store, [pool], collaborators={"lena": LENA})
    ledger.record(shirt_events(rsps, shirts(), people=[LENA]))
    made = ledger.project("pool", NOVEMBER, DECEMBER, {})
    assert made.revenue == Decimal("25.00") and made.pool == Decimal("25.00")
    assert [(s.collaborator, s.score) for s in made.scores] == [("lena", Decimal(1))]


# -- the last touch inside a visitor's 30 minutes ------------------------------------------------------
# The access log counts a visitor's `?ref=` visits of one collaborator once per 30 minutes (one point
# per window, for the pools). A program's last touch is still the link clicked last: david, erin, then
# david again within his 30 minutes, then the order: david brought it.

PAIR = {c.id: c for c in (DAVID, ERIN)}
T10 = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
CLICKS = (("david", 0), ("erin", 5), ("david", 10))  # (tracking id, minutes after 10:00)


def clicked(log, clicks=CLICKS) -> None:
    log.write_text("".join(log_line(f"/?ref={ref}", T10 + timedelta(minutes=m)) for ref, m in clicks))


def paid_for(rsps, store, log, *programs: Program, ctx: FakeContext | None = None) -> dict[str, Decimal]:
    """Order 4000 (100.00) placed at 10:15 by the visitor who clicked; the rewards once the log, the shop
    and programs ran (as a poll does)."""
    shop = make_shop(rsps)
    shop.add(placed(4000, T10 + timedelta(minutes=15)))
    ctx = ctx or FakeContext.of(PAIR.values(), now=NOW)
    AccessLogSource(log).sync(ctx)
    source().sync(ctx)
    return rewards(store, ctx.events.values(), *programs, people=PAIR)


VISITS_ONLY = ("referredSiteVisit",)


def test_the_newest_engagement_is_the_link_clicked_last_even_inside_its_window(rsps, store, tmp_path):
    """david 10:00, erin 10:05, david 10:10, order 10:15: david's 10:10 click is the last touch."""
    log = tmp_path / "access.log"
    clicked(log)
    assert paid_for(rsps, store, log, program(engagements=VISITS_ONLY)) == {"affiliates:4000:david": Decimal("25.00")}
    [reward] = commissions.obligations(store)
    assert "engagement at 2026-11-20T10:10:00+00:00 is the newest" in reward.note


def test_the_oldest_engagement_is_still_the_first_click(rsps, store, tmp_path):
    """erin 10:00, david 10:05, erin 10:10: first touch is erin's 10:00 (her 10:10 changes nothing)."""
    log = tmp_path / "access.log"
    clicked(log, (("erin", 0), ("david", 5), ("erin", 10)))
    assert paid_for(rsps, store, log, program(engagements=VISITS_ONLY, structure="oldestEngagementWins")) == {
        "affiliates:4000:erin": Decimal("25.00")}


@pytest.mark.parametrize(("structure", "paid"), [
    ("performanceSharedPool", {"affiliates:4000:david": Decimal("12.50"), "affiliates:4000:erin": Decimal("12.50")}),
    ("topScoreWins", {"affiliates:4000:david": Decimal("25.00")}),  # a tie at 1: david reached it first
])
def test_a_click_again_inside_the_window_adds_no_score(rsps, store, tmp_path, structure, paid):
    """Scores count visits once per visitor window, as the pools do: david's second click within his 30
    minutes does not weigh twice, nor make him the top score; the tie at one visit each goes to whoever
    reached it first (david at 10:00), as it did before he clicked again."""
    log = tmp_path / "access.log"
    clicked(log)
    assert paid_for(rsps, store, log, program(engagements=VISITS_ONLY, structure=structure)) == paid


def test_the_click_again_is_remembered_across_syncs(rsps, store, tmp_path):
    """The log is read in two polls (david 10:00 and erin 10:05, then david 10:10): the cursor keeps
    whose link the visitor clicked last, so the 10:10 click is still remembered."""
    log = tmp_path / "access.log"
    clicked(log, CLICKS[:2])
    ctx = FakeContext.of(PAIR.values(), now=NOW)
    AccessLogSource(log).sync(ctx)
    with open(log, "a") as fh:
        fh.write(log_line("/?ref=david", T10 + timedelta(minutes=10)))
    assert paid_for(rsps, store, log, program(engagements=VISITS_ONLY), ctx=ctx) == {
        "affiliates:4000:david": Decimal("25.00")}


def test_the_pools_score_one_point_per_window_as_before(store, tmp_path):
    """A distributor scoring referred visits counts david once and erin once (the README's one point per
    visitor window), and the period's event count is the counted visits; reading the log again, from
    its cursor or from the start (a backfill), records nothing twice."""
    from tests.support.ledgers import DECEMBER, NOVEMBER, distributor
    log = tmp_path / "access.log"
    clicked(log, (*CLICKS, ("david", 12), ("david", 14)))
    ctx = FakeContext.of(PAIR.values(), now=NOW)
    src = AccessLogSource(log)
    src.sync(ctx)
    ledger = make_ledger(store, [distributor(points={"referredSiteVisit": 1})], collaborators=PAIR)
    ledger.record(list(ctx.events.values()))
    aggregate, totals = ledger.period_aggregate("pool", NOVEMBER, DECEMBER)
    assert {who: {t: c["qty"] for t, c in by.items()} for who, by in aggregate["counts"].items()} == {
        "david": {"referredSiteVisit": 1}, "erin": {"referredSiteVisit": 1}}
    assert aggregate["counts"]["david"]["referredSiteVisit"]["last"] == "2026-11-20T10:00:00+00:00"
    assert totals["events"] == 2
    recorded = set(ctx.events)
    assert src.sync(ctx).events == 0 and src.sync(ctx, since=T10).events == 0 and set(ctx.events) == recorded
