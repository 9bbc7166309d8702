"""sandbox/programs.py: what the programs need of the demo shop (visitors and their referral visits, the
access log, subscriptions), behind options that leave the shop as it was when they are off."""
from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime

import pytest

from siren_sync.model import Collaborator
from siren_sync.sandbox import Sandbox, shapes
from siren_sync.sandbox.programs import AGENTS
from siren_sync.sources.access_log import AccessLogSource, parse_log_time
from tests.support.payloads import FakeContext

START = datetime(2026, 11, 1, 4, tzinfo=UTC)
DAY = 86_400
SHOP = {"seed": 11, "start": START, "history_days": 10, "days": 10, "orders_per_day": 30, "lms": False}
MONEY = ("id", "status", "currency", "total", "line_items", "coupon_lines", "refunds", "date_created_gmt",
         "date_paid_gmt", "date_modified_gmt", "customer_id", "billing")


def logged_at(line: str) -> datetime:
    return parse_log_time(line.split("[", 1)[1].split("]", 1)[0])


def orders(sb: Sandbox) -> dict[int, dict]:
    return {o.id: shapes.order(sb.site, o) for o in sb.site.orders.values()}


def test_visitors_add_to_the_orders_and_change_nothing_else():
    plain, seen = Sandbox(**SHOP), Sandbox(**SHOP, visitors=True)
    for box in (plain, seen):
        box.advance(10 * DAY)
    before, after = orders(plain), orders(seen)
    assert before.keys() == after.keys()
    assert all({k: before[i][k] for k in MONEY} == {k: after[i][k] for k in MONEY} for i in before)
    assert all((o["customer_ip_address"], o["customer_user_agent"], o["meta_data"]) == ("127.0.0.1", "", [])
               for o in before.values())
    assert all(o["customer_user_agent"] in AGENTS for o in after.values())
    mapped = [o for o in after.values() if o["customer_ip_address"].startswith("::ffff:")]
    assert 0 < len(mapped) < len(after) // 4
    keys = Counter(m["key"] for o in after.values() for m in o["meta_data"])
    assert keys["_wc_order_attribution_session_entry"] > len(after) // 10
    assert "_subscription_renewal" not in keys and 25 not in seen.site.products


def test_order_attribution_s_session_start_is_written_in_utc_like_sourcebuster_js():
    sb = Sandbox(**SHOP, visitors=True)  # a New York shop: local time is 4 or 5 hours behind
    sb.advance(10 * DAY)
    shown = {o.id: {m["key"]: m["value"] for m in shapes.order(sb.site, o)["meta_data"]}
             for o in sb.site.orders.values() if o.attribution is not None}
    assert shown and all(
        meta["_wc_order_attribution_session_start_time"]
        == datetime.fromtimestamp(sb.site.orders[oid].attribution.session_start, UTC).strftime("%Y-%m-%d %H:%M:%S")
        for oid, meta in shown.items())


def test_a_registered_customer_keeps_one_device():
    sb = Sandbox(**SHOP, visitors=True)
    sb.advance(10 * DAY)
    devices: dict[int, set] = {}
    for o in sb.site.orders.values():
        if o.customer_id and o.created_via == "checkout":  # a phone order has the shop manager's
            devices.setdefault(o.customer_id, set()).add((o.customer_ip.removeprefix("::ffff:"), o.customer_agent))
    assert devices and all(len(d) == 1 for d in devices.values())


def test_the_access_log_is_written_as_the_clock_moves(tmp_path):
    log = tmp_path / "access.log"
    sb = Sandbox(**SHOP, access_log=log)
    first = log.read_text().splitlines()
    assert first and all(logged_at(line) <= sb.now for line in first)
    sb.advance(5 * DAY)
    grown = log.read_text().splitlines()
    assert grown[:len(first)] == first and len(grown) > len(first)
    assert all(logged_at(line) <= sb.now for line in grown)
    times = [logged_at(line) for line in grown]
    assert times == sorted(times)
    ctx = FakeContext.of([Collaborator(id=t, tracking_ids=(t,)) for t in ("alice", "bruno", "chloe", "david")])
    report = AccessLogSource(log).sync(ctx)
    assert ctx.quarantined == [] and report.events > 0
    assert report.detail["unattributed"] > 0 and report.detail["ignored"] > 0  # unknown tracking ids, bots


def test_some_orders_follow_a_visit_by_their_customer_some_visits_lead_nowhere_some_orders_have_none(tmp_path):
    log = tmp_path / "access.log"
    sb = Sandbox(**SHOP, access_log=log)
    sb.advance(10 * DAY)
    visits: dict[tuple[str, str], list[datetime]] = {}
    for line in log.read_text().splitlines():
        m = re.match(r'(\S+) - - \[.*?\] "GET /\?ref=\w[\w-]* [^"]*" \d+ \d+ "[^"]*" "([^"]*)"', line)
        if m:
            visits.setdefault((m.group(1), m.group(2)), []).append(logged_at(line))
    within, none = 0, 0
    buyers = set()
    for o in sb.site.orders.values():
        device = (o.customer_ip.removeprefix("::ffff:"), o.customer_agent)
        buyers.add(device)
        created = datetime.fromtimestamp(o.created, UTC)
        before = [t for t in visits.get(device, []) if 0 < (created - t).total_seconds() <= 3 * DAY]
        within += bool(before)
        none += device not in visits
    n = len(sb.site.orders)  # returning customers' earlier visits precede some of their later orders too
    assert n // 5 < within < 3 * n // 4 and none > n // 20
    assert len([d for d in visits if d not in buyers]) > len(visits) // 3


def test_a_few_orders_are_keyed_in_by_the_shop_manager_who_had_tried_a_referral_link(tmp_path):
    """Phone orders: `created_via: admin`, the office computer's address and agent (its `?ref=` visit
    within two days before), no order attribution, and wp-admin requests in the log where the
    customer's checkout would be; the storefront's orders say `checkout`, and the money is the same."""
    log = tmp_path / "access.log"
    plain, sb = Sandbox(**SHOP), Sandbox(**SHOP, access_log=log)
    for box in (plain, sb):
        box.advance(10 * DAY)
    shown = orders(sb)
    vias = Counter(o["created_via"] for o in shown.values())
    assert set(vias) == {"checkout", "admin"} and 0 < vias["admin"] <= len(shown) // 30
    before = orders(plain)
    assert all({k: before[i][k] for k in MONEY} == {k: o[k] for k in MONEY} for i, o in shown.items())
    phone = [o for o in shown.values() if o["created_via"] == "admin"]
    office = {(o["customer_ip_address"], o["customer_user_agent"]) for o in phone}
    assert len(office) == 1 and all(o["meta_data"] == [] for o in phone)
    (address, agent), = office
    lines = [line for line in log.read_text().splitlines() if line.startswith(f"{address} ")]
    visits = [logged_at(line) for line in lines if '"GET /?ref=' in line]
    for o in phone:
        created = datetime.fromisoformat(o["date_created_gmt"]).replace(tzinfo=UTC)
        assert any(0 < (created - t).total_seconds() <= 2 * DAY for t in visits)
        assert any(logged_at(line) == created and '"POST /wp-admin/post.php ' in line for line in lines)
    assert all(agent in line for line in lines) and not any("wc-ajax=checkout" in line for line in lines)


def test_subscriptions_renew_weekly_and_name_their_first_order():
    sb = Sandbox(**SHOP, visitors=True, subscriptions=True)
    sb.advance(10 * DAY)
    site = sb.site
    assert site.has_subscriptions and site.products[25].owner == 2
    assert len(site.subscriptions) >= 2
    for sub in site.subscriptions.values():
        body = shapes.subscription(site, sub)
        parent = site.orders[body["parent_id"]]
        assert parent.line_items[0].product_id == 25 and sub.id == parent.id + 1
        assert body["billing_period"] == "week" and body["start_date_gmt"] == shapes.gmt(parent.paid)
        assert (body["customer_ip_address"], body["customer_user_agent"]) == (parent.customer_ip, parent.customer_agent)
        for k, renewal in enumerate(sub.renewals, 1):
            rendered = shapes.order(site, renewal)
            assert rendered["created_via"] == "subscription"
            assert {"id": renewal.id * 100 + 1, "key": "_subscription_renewal", "value": str(sub.id)} in \
                rendered["meta_data"]
            assert renewal.created == parent.paid + k * 7 * DAY
            assert (renewal.customer_ip, renewal.customer_agent) == (parent.customer_ip, parent.customer_agent)
    assert sum(len(s.renewals) for s in site.subscriptions.values()) >= len(site.subscriptions)


@pytest.mark.parametrize("options", [{}, {"visitors": True}])
def test_without_subscriptions_the_route_is_not_there(options):
    sb = Sandbox(**SHOP, **options)
    assert not sb.site.has_subscriptions and not sb.site.subscriptions
    assert 25 not in sb.site.products
