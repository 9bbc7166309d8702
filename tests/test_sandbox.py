"""The sandbox site: REST shapes against the captured samples, pagination, auth, clock, faults."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from woocommerce import API

from siren_sync.sandbox import Sandbox, shapes

SAMPLES = Path("/work/shared/reference/samples")
GMT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$")
MONEY_RE = re.compile(r"^-?\d+\.\d{2}$")
START = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)


def sample(name: str) -> dict:
    path = SAMPLES / name
    if not path.exists():
        pytest.skip(f"sample {name} not available")
    return json.loads(path.read_text())


@pytest.fixture(scope="module")
def sb():
    with Sandbox(seed=1, start=START, history_days=30, days=30, orders_per_day=40) as box:
        yield box


@pytest.fixture(scope="module")
def wp(sb):
    s = requests.Session()
    s.auth = (sb.credentials["wp_user"], sb.credentials["wp_app_password"])
    return s


def rest(sb, route: str) -> str:
    return f"{sb.url}/wp-json/{route}"


def wc_api(sb, secret: str | None = None) -> API:
    return API(url=sb.url, consumer_key=sb.credentials["wc_key"],
               consumer_secret=secret or sb.credentials["wc_secret"], version="wc/v3", timeout=30)


# -- shapes -----------------------------------------------------------------------------------------

def test_index_has_timezone_namespaces_and_refunds_route(sb):
    r = requests.get(sb.url + "/wp-json/")
    assert r.status_code == 200
    body = r.json()
    assert set(sample("wp-json-index.json")["body"]) <= set(body)
    assert body["timezone_string"] == "America/New_York"
    assert body["gmt_offset"] in (-4, -5)
    assert body["url"] == body["home"] == sb.url
    assert {"wc/v3", "wp/v2", "llms/v1", "siren/v1"} <= set(body["namespaces"])
    assert "/wc/v3/refunds" in body["routes"]


def test_order_shapes_match_the_samples(sb, wp):
    ref = sample("wc-v3-order-partial-refund.json")["body"]
    r = wp.get(rest(sb, "wc/v3/orders"), params={"per_page": 100, "status": "any"})
    assert r.status_code == 200
    orders = r.json()
    assert orders
    for o in orders:
        assert set(o) == set(ref)
        for li in o["line_items"]:
            assert set(li) == set(ref["line_items"][0])
            assert MONEY_RE.match(li["subtotal"]) and MONEY_RE.match(li["total"])
        for cl in o["coupon_lines"]:
            assert set(cl) == set(ref["coupon_lines"][0])
            assert cl["code"] == cl["code"].lower()
            assert set(cl["meta_data"][0]) == set(ref["coupon_lines"][0]["meta_data"][0])
        for key in ("total", "discount_total", "shipping_total", "total_tax"):
            assert MONEY_RE.match(o[key])
        for key in ("date_created_gmt", "date_modified_gmt", "date_created", "date_modified"):
            assert GMT_RE.match(o[key]), (key, o[key])
        assert o["date_paid_gmt"] is None or GMT_RE.match(o["date_paid_gmt"])
        assert o["currency"] in ("USD", "EUR")
    assert any(o["coupon_lines"] for o in orders)
    assert {o["currency"] for o in orders} >= {"USD"}


def test_refund_shapes_match_the_samples(sb, wp):
    ref_order = sample("wc-v3-order-partial-refund.json")["body"]
    ref_refund = sample("wc-v3-order-partial-refund-refunds.json")["body"][0]
    with sb.site.lock:
        order_id = next(o.id for o in sb.site.orders.values() if o.refunds and o.status != "refunded")
    o = wp.get(rest(sb, f"wc/v3/orders/{order_id}")).json()
    assert set(o["refunds"][0]) == set(ref_order["refunds"][0])
    assert o["refunds"][0]["total"].startswith("-")
    r = wp.get(rest(sb, f"wc/v3/orders/{order_id}/refunds"))
    assert r.status_code == 200 and r.headers["X-WP-Total"] == str(len(o["refunds"]))
    refund = r.json()[0]
    assert set(refund) == set(ref_refund)
    assert set(refund["line_items"][0]) == set(ref_refund["line_items"][0])
    assert refund["line_items"][0]["quantity"] < 0 and not refund["amount"].startswith("-")
    assert GMT_RE.match(refund["date_created_gmt"])
    all_refunds = wp.get(rest(sb, "wc/v3/refunds"), params={"per_page": 100}).json()
    assert all_refunds and set(all_refunds[0]) == set(ref_refund) | {"parent_id"}
    mine = wp.get(rest(sb, "wc/v3/refunds"), params={"parent": order_id}).json()
    assert {x["parent_id"] for x in mine} == {order_id}


def test_coupon_product_and_user_shapes(sb, wp):
    coupons = wp.get(rest(sb, "wc/v3/coupons"), params={"per_page": 100}).json()
    assert set(coupons[0]) == set(sample("wc-v3-coupons.json")["body"][0])
    assert all(c["code"] == c["code"].lower() for c in coupons)
    one = wp.get(rest(sb, "wc/v3/coupons"), params={"code": "ALICE10"}).json()
    assert [c["code"] for c in one] == ["alice10"]
    assert {"key": "collaborator_user_id", "value": "2"}.items() <= one[0]["meta_data"][0].items()
    products = wp.get(rest(sb, "wc/v3/products"), params={"per_page": 100}).json()
    assert set(products[0]) == set(sample("wc-v3-products.json")["body"][0])
    assert all(MONEY_RE.match(p["price"]) for p in products)
    users = wp.get(rest(sb, "wp/v2/users"), params={"context": "edit", "per_page": 100}).json()
    assert set(users[0]) == set(sample("wp-v2-users.json")["body"][0])


def test_lifterlms_shapes_and_not_enrolled_400(sb, wp):
    courses = wp.get(rest(sb, "llms/v1/courses"), params={"per_page": 1})
    assert set(courses.json()[0]) == set(sample("llms-v1-courses.json")["body"][0])
    assert 'rel="next"' in courses.headers["Link"] and 'rel="last"' in courses.headers["Link"]
    lessons = wp.get(rest(sb, "llms/v1/lessons"), params={"per_page": 2}).json()
    assert set(lessons[0]) == set(sample("llms-v1-lessons.json")["body"][0])
    students = wp.get(rest(sb, "llms/v1/students"), params={"per_page": 2}).json()
    assert set(students[0]) == set(sample("llms-v1-students.json")["body"][0])
    with sb.site.lock:
        (student, course_id), _e = next(iter(sb.site.enrollments.items()))
        lesson_id = sb.site.courses[course_id].lessons[0]
        other = next(c for c in sb.site.courses if (student, c) not in sb.site.enrollments)
    enr = wp.get(rest(sb, f"llms/v1/students/{student}/enrollments")).json()
    assert set(enr[0]) == set(sample("llms-v1-student-enrollments.json")["body"][0])
    prog = wp.get(rest(sb, f"llms/v1/students/{student}/progress/{course_id}"))
    assert prog.status_code == 200
    assert set(prog.json()) == set(sample("llms-v1-progress-course.json")["body"])
    assert GMT_RE.match(prog.json()["date_created"])
    assert wp.get(rest(sb, f"llms/v1/students/{student}/progress/{lesson_id}")).status_code == 200
    bad = wp.get(rest(sb, f"llms/v1/students/{student}/progress/{other}"))
    assert bad.status_code == 400
    assert bad.json() == sample("llms-v1-progress-not-enrolled-400.json")["body"]
    assert requests.get(rest(sb, f"llms/v1/students/{student}/enrollments")).status_code == 401


def test_lifterlms_students_are_every_user_unless_roles_is_given(sb, wp):
    """LifterLMS lists all users as students (its `roles` filter has no default), as the source needs:
    a customer enrolled through a WooCommerce purchase does not get the student role."""
    everyone = wp.get(rest(sb, "llms/v1/students"), params={"per_page": 100}).json()
    only = wp.get(rest(sb, "llms/v1/students"), params={"per_page": 100, "roles": "student"}).json()
    with sb.site.lock:
        users = sorted(sb.site.users)
        students = sorted(u.id for u in sb.site.users.values() if "student" in u.roles)
        admin = next(u.id for u in sb.site.users.values() if "student" not in u.roles)
    assert [u["id"] for u in everyone] == users[:100] and [u["id"] for u in only] == students[:100]
    assert wp.get(rest(sb, f"llms/v1/students/{admin}")).status_code == 200


def test_learndash_and_siren_minimal(sb, wp):
    with sb.site.lock:
        student = next(iter(sb.site.enrollments))[0]
    prog = wp.get(rest(sb, f"ldlms/v2/users/{student}/course-progress")).json()
    assert prog and {"course", "progress_status", "steps_completed", "steps_total", "date_completed",
                     "date_completed_gmt"} <= set(prog[0])
    steps = wp.get(rest(sb, f"ldlms/v2/users/{student}/course-progress/{prog[0]['course']}/steps")).json()
    assert {"step", "post_type", "step_status", "date_completed", "date_completed_gmt"} <= set(steps[0])
    r = wp.get(rest(sb, "siren/v1/engagements"), params={"number": 500, "orderBy": "id", "order": "DESC"})
    assert r.status_code == 200 and len(r.json()) == 50  # silently capped
    assert int(r.headers["x-siren-estimated-count"]) > 50
    ids = [e["id"] for e in r.json()]
    assert ids == sorted(ids, reverse=True)
    assert set(r.json()[0]) == {"id", "opportunityId", "programId", "collaboratorId", "score", "status",
                                "dateCreated", "dateModified"}
    assert wp.get(rest(sb, f"siren/v1/engagements/{ids[0]}")).json()["id"] == ids[0]
    assert wp.get(rest(sb, "siren/v1/engagements"), params={"number": "x"}).json()["context"]["failedValidations"]


def test_system_status_options_and_unknown_route(sb, wp):
    assert wp.get(rest(sb, "wc/v3/system_status")).json()["environment"]["version"] == "9.4.0"
    opts = wp.options(rest(sb, "wc/v3/orders")).json()
    args = opts["endpoints"][0]["args"]
    assert {"modified_after", "dates_are_gmt", "orderby", "status"} <= set(args)
    assert "modified" in args["orderby"]["enum"]
    r = requests.get(rest(sb, "wc/v3/nope"))
    assert r.status_code == 404 and r.json()["code"] == "rest_no_route"
    assert r.json()["data"] == {"status": 404}


# -- pagination and filters ------------------------------------------------------------------------

def test_pagination_headers_and_past_the_end(sb, wp):
    total = len(sb.site.orders) - sb.site.status_counts.get("trash", 0)
    r = wp.get(rest(sb, "wc/v3/orders"), params={"per_page": 7, "page": 2})
    assert r.headers["X-WP-Total"] == str(total)
    assert r.headers["X-WP-TotalPages"] == str(-(-total // 7))
    assert 'rel="prev"' in r.headers["Link"] and 'rel="next"' in r.headers["Link"]
    assert "page=3" in r.links["next"]["url"] and "per_page=7" in r.links["next"]["url"]
    assert len(r.json()) == 7
    last = int(r.headers["X-WP-TotalPages"])
    end = wp.get(rest(sb, "wc/v3/orders"), params={"per_page": 7, "page": last + 1})
    assert end.status_code == 200 and end.json() == []
    posts_end = wp.get(rest(sb, "wp/v2/posts"), params={"per_page": 100, "page": 5})
    assert posts_end.status_code == 400 and posts_end.json()["code"] == "rest_post_invalid_page_number"


def test_per_page_over_100_is_400(sb, wp):
    r = wp.get(rest(sb, "wc/v3/orders"), params={"per_page": 101})
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "rest_invalid_param" and "per_page" in body["data"]["params"]
    assert wp.get(rest(sb, "wp/v2/posts"), params={"per_page": 0}).status_code == 400


def test_modified_after_gmt_ordering(sb, wp):
    cutoff = (sb.now - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%S")
    seen, page = [], 1
    while True:
        r = wp.get(rest(sb, "wc/v3/orders"), params={
            "modified_after": cutoff, "dates_are_gmt": "true", "orderby": "modified", "order": "asc",
            "per_page": 50, "page": page, "_fields": "id,date_modified_gmt,status",
            "status": "pending,processing,on-hold,completed,cancelled,refunded,failed,trash"})
        batch = r.json()
        if not batch:
            break
        assert set(batch[0]) == {"id", "date_modified_gmt", "status"}
        seen.extend(batch)
        page += 1
    assert seen and int(r.headers["X-WP-Total"]) == len(seen)
    keys = [(o["date_modified_gmt"], o["id"]) for o in seen]
    assert keys == sorted(keys)
    assert all(o["date_modified_gmt"] > cutoff for o in seen)
    with sb.site.lock:
        expected = sum(1 for o in sb.site.orders.values()
                       if shapes.gmt(o.modified) > cutoff)
    assert len(seen) == expected
    # `any` short-circuits the status list and never includes trash, like WooCommerce
    with sb.site.lock:
        trashed = sum(1 for o in sb.site.orders.values() if o.status == "trash" and shapes.gmt(o.modified) > cutoff)
    anyt = wp.get(rest(sb, "wc/v3/orders"), params={"modified_after": cutoff, "dates_are_gmt": 1,
                                                    "status": "any,trash", "per_page": 1})
    assert int(anyt.headers["X-WP-Total"]) == len(seen) - trashed
    # without dates_are_gmt the cutoff is site-local (4 or 5 hours later in UTC)
    local = wp.get(rest(sb, "wc/v3/orders"), params={"modified_after": cutoff, "per_page": 1})
    assert int(local.headers["X-WP-Total"]) <= len(seen)
    # status lists: comma or status[]
    a = wp.get(rest(sb, "wc/v3/orders"), params={"status": "processing,completed", "per_page": 1})
    b = wp.get(rest(sb, "wc/v3/orders"), params=[("status[]", "processing"), ("status[]", "completed"),
                                                 ("per_page", 1)])
    assert a.headers["X-WP-Total"] == b.headers["X-WP-Total"]
    assert wp.get(rest(sb, "wc/v3/orders"), params={"status": "bogus"}).status_code == 400


# -- authentication --------------------------------------------------------------------------------

def test_oauth_with_the_woocommerce_package(sb):
    r = wc_api(sb).get("orders", params={"per_page": 5, "orderby": "modified", "order": "asc",
                                         "modified_after": "2026-10-01T00:00:00", "dates_are_gmt": "true"})
    assert r.status_code == 200, r.text
    assert len(r.json()) == 5 and "X-WP-TotalPages" in r.headers
    bad = wc_api(sb, secret="cs_wrong").get("orders")
    assert bad.status_code == 401
    assert bad.json()["code"] == "woocommerce_rest_authentication_error"
    basic = requests.get(rest(sb, "wc/v3/orders"), auth=(sb.credentials["wc_key"], sb.credentials["wc_secret"]))
    assert basic.status_code == 401
    assert set(basic.json()) == set(sample("wc-v3-unauthenticated-401.json")["body"])
    assert basic.json()["code"] == "woocommerce_rest_cannot_view"
    assert requests.get(rest(sb, "wc/v3/orders")).status_code == 401


def test_oauth_nonce_is_single_use(sb):
    from woocommerce.oauth import OAuth
    url = OAuth(url=rest(sb, "wc/v3/orders") + "?per_page=1", consumer_key=sb.credentials["wc_key"],
                consumer_secret=sb.credentials["wc_secret"], version="wc/v3", method="GET").get_oauth_url()
    assert requests.get(url).status_code == 200
    again = requests.get(url)
    assert again.status_code == 401
    assert again.json()["message"] == "Invalid nonce - nonce has already been used."


def test_application_password_on_wp_routes(sb, wp):
    me = wp.get(rest(sb, "wp/v2/users/me"), params={"context": "edit"})
    assert me.status_code == 200 and me.json()["username"] == "admin"
    assert requests.get(rest(sb, "wp/v2/users/me")).json()["code"] == "rest_not_logged_in"
    anon = requests.get(rest(sb, "wp/v2/users"), params={"context": "edit"})
    assert anon.status_code == 401 and anon.json()["code"] == "rest_forbidden_context"
    wrong = requests.get(rest(sb, "wp/v2/users/me"), auth=("admin", "xxxx xxxx xxxx xxxx xxxx xxxx"))
    assert wrong.status_code == 401 and wrong.json()["code"] == "incorrect_password"
    nospace = requests.get(rest(sb, "wp/v2/users/me"),
                           auth=("admin@example.test", sb.credentials["wp_app_password"].replace(" ", "")))
    assert nospace.status_code == 200
    roles = wp.get(rest(sb, "wp/v2/users"), params={"roles": "instructor", "context": "edit"}).json()
    assert {u["username"] for u in roles} == {"alice.martin", "bruno.costa", "chloe.dubois", "david.nguyen"}


def test_post_create_then_slug_lookup(sb, wp):
    slug = "siren-sync-monthly-20261201t0000"
    body = {"title": "Monthly: 2026-11-01 to 2026-12-01", "content": "<table></table>", "status": "private",
            "slug": slug, "meta": {"siren_sync": json.dumps({"pool": "12.34"}), "not_registered": "x"}}
    assert requests.post(rest(sb, "wp/v2/posts"), json=body).status_code == 401
    r = wp.post(rest(sb, "wp/v2/posts"), json=body)
    assert r.status_code == 201
    created = r.json()
    assert r.headers["Location"] == rest(sb, f"wp/v2/posts/{created['id']}")
    assert created["slug"] == slug and created["status"] == "private"
    assert created["meta"] == {"siren_sync": body["meta"]["siren_sync"]}  # unregistered key dropped
    found = wp.get(rest(sb, "wp/v2/posts"), params={"slug": slug, "status": "any", "context": "edit"}).json()
    assert [p["id"] for p in found] == [created["id"]]
    assert found[0]["title"]["raw"] == body["title"]
    assert requests.get(rest(sb, "wp/v2/posts"), params={"slug": slug}).json() == []  # private: not public
    anon = requests.get(rest(sb, "wp/v2/posts"), params={"slug": slug, "status": "any"})
    assert anon.status_code == 401
    stats = requests.get(rest(sb, "sandbox/v1/stats")).json()
    assert slug in [p["slug"] for p in stats["posts_created"]]
    assert stats["requests"]["POST /wp/v2/posts"] >= 1 and stats["bytes_sent"] > 0
    dup = wp.post(rest(sb, "wp/v2/posts"), json=body).json()
    assert dup["slug"] == f"{slug}-2"  # WordPress de-duplicates non-draft slugs


# -- the simulated clock ---------------------------------------------------------------------------

def test_clock_advance_reveals_new_orders():
    with Sandbox(seed=7, start=START, days=5, orders_per_day=30) as box:
        s = requests.Session()
        s.auth = (box.credentials["wp_user"], box.credentials["wp_app_password"])
        before = int(s.get(rest(box, "wc/v3/orders"), params={"per_page": 1}).headers["X-WP-Total"])
        assert before == 0
        clock = requests.post(rest(box, "sandbox/v1/clock"), json={"advance": 2 * 86400}).json()
        assert clock["now"] == (START + timedelta(days=2)).isoformat()
        r = s.get(rest(box, "wc/v3/orders"), params={"per_page": 100, "orderby": "modified", "order": "desc"})
        after = int(r.headers["X-WP-Total"])
        assert after > 20
        newest = r.json()[0]["date_modified_gmt"]
        assert START.strftime("%Y-%m-%dT%H:%M:%S") < newest <= clock["now"][:19]
        requests.post(rest(box, "sandbox/v1/clock"), json={"now": (START + timedelta(days=4)).isoformat()})
        assert requests.get(rest(box, "sandbox/v1/clock")).json()["now"] == (START + timedelta(days=4)).isoformat()
        assert int(s.get(rest(box, "wc/v3/orders"), params={"per_page": 1}).headers["X-WP-Total"]) > after
        back = requests.post(rest(box, "sandbox/v1/clock"), json={"now": START.isoformat()})
        assert back.status_code == 400
        # control route: change an order now
        oid = r.json()[-1]["id"]
        changed = requests.post(rest(box, f"sandbox/v1/orders/{oid}"), json={"status": "cancelled"}).json()
        assert changed["status"] == "cancelled"
        assert changed["date_modified_gmt"] == (START + timedelta(days=4)).strftime("%Y-%m-%dT%H:%M:%S")


# -- faults ----------------------------------------------------------------------------------------

def test_faults_429_5xx_html(sb, wp):
    try:
        f = requests.post(rest(sb, "sandbox/v1/faults"), json={"rate_429": 1.0, "retry_after": 3}).json()
        assert f["rate_429"] == 1.0
        r = wp.get(rest(sb, "wc/v3/orders"))
        assert r.status_code == 429 and r.headers["Retry-After"] == "3"
        assert requests.get(rest(sb, "sandbox/v1/clock")).status_code == 200  # control routes unaffected
        requests.post(rest(sb, "sandbox/v1/faults"), json={"rate_429": 0, "rate_5xx": 1.0, "html_errors": True})
        r = wp.get(rest(sb, "wp/v2/users/me"))
        assert r.status_code in (500, 502, 503, 504)
        assert r.headers["Content-Type"].startswith("text/html") and "<html" in r.text
        with pytest.raises(ValueError):
            r.json()
        requests.post(rest(sb, "sandbox/v1/faults"), json={"rate_5xx": 0.5, "seed": 3, "html_errors": False})
        codes = [wp.get(rest(sb, "wp/v2/users/me")).status_code for _ in range(40)]
        assert 200 in codes and any(c >= 500 for c in codes)
        requests.post(rest(sb, "sandbox/v1/faults"), json={"rate_5xx": 0, "latency_ms": 30})
        r = wp.get(rest(sb, "wp/v2/users/me"))
        assert r.status_code == 200 and r.elapsed.total_seconds() >= 0.03
    finally:
        requests.post(rest(sb, "sandbox/v1/faults"), json={"reset": True})
    assert requests.get(rest(sb, "sandbox/v1/faults")).json()["rate_5xx"] == 0
    assert requests.post(rest(sb, "sandbox/v1/faults"), json={"bogus": 1}).status_code == 400


def test_modify_during_sync_moves_a_served_order_to_the_end():
    with Sandbox(seed=2, start=START, history_days=10, days=0, orders_per_day=30) as box:
        s = requests.Session()
        s.auth = (box.credentials["wp_user"], box.credentials["wp_app_password"])
        params = {"orderby": "modified", "order": "asc", "per_page": 20, "dates_are_gmt": "true",
                  "modified_after": "2000-01-01T00:00:00", "_fields": "id,date_modified_gmt"}
        requests.post(rest(box, "sandbox/v1/faults"), json={"modify_during_sync": True})
        first = s.get(rest(box, "wc/v3/orders"), params={**params, "page": 1}).json()
        moved = requests.get(rest(box, "sandbox/v1/stats")).json()["orders_modified"]
        assert len(moved) == 1 and moved[0] in [o["id"] for o in first]
        requests.post(rest(box, "sandbox/v1/faults"), json={"modify_during_sync": False})
        last = s.get(rest(box, "wc/v3/orders"), params={**params, "order": "desc", "per_page": 1}).json()
        assert last[0]["id"] == moved[0]
        assert last[0]["date_modified_gmt"] == START.strftime("%Y-%m-%dT%H:%M:%S")


# -- generation --------------------------------------------------------------------------------------

def test_determinism_by_seed():
    a = Sandbox(seed=11, start=START, history_days=5, days=5, orders_per_day=20)
    b = Sandbox(seed=11, start=START, history_days=5, days=5, orders_per_day=20)
    c = Sandbox(seed=12, start=START, history_days=5, days=5, orders_per_day=20)
    for box in (a, b, c):
        box.site.url = "http://127.0.0.1:1"
        box.advance(3 * 86400)
    dump = lambda box: [shapes.order_bytes(box.site, o) for o in sorted(box.site.orders.values(), key=lambda o: o.id)]
    assert dump(a) == dump(b)
    assert dump(a) != dump(c)
    assert a.credentials == b.credentials != c.credentials
    assert [(e.id, e.collaborator_id, e.created) for e in a.site.engagements.values()] == \
           [(e.id, e.collaborator_id, e.created) for e in b.site.engagements.values()]


def test_exact_counts_for_benchmarks():
    box = Sandbox(orders=3000, refunds=40, full_refunds=25, start=START, prerender=False)
    site = box.site
    assert len(site.orders) == 3000
    partial = [r for r in site.refunds.values() if r.lines]
    full = [r for r in site.refunds.values() if not r.lines]
    assert len(partial) == 40 and len(full) == 25
    assert site.status_counts["refunded"] == 25
    assert all(o.created < site.now and o.modified <= site.now for o in site.orders.values())
    ids = sorted(site.orders)
    by_created = sorted(site.orders.values(), key=lambda o: (o.created, o.id))
    assert [o.id for o in by_created] == ids  # ids grow with creation time, like WordPress
    eur = sum(1 for o in site.orders.values() if o.currency == "EUR")
    assert 0 < eur < 0.15 * len(site.orders)
    assert any(o.coupon_lines for o in site.orders.values())
    for o in site.orders.values():
        if o.refunds:
            assert o.paid is not None and all(r.created >= o.paid for r in o.refunds)
            assert o.modified >= max(r.created for r in o.refunds)


def test_command_line_prints_url_and_credentials():
    proc = subprocess.Popen([sys.executable, "-m", "siren_sync.sandbox", "--port", "0", "--seed", "1",
                             "--days", "2", "--json"], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        info = json.loads(line)
        assert info["url"].startswith("http://127.0.0.1:")
        assert info["wc_key"].startswith("ck_") and info["wc_secret"].startswith("cs_")
        r = requests.get(info["url"] + "/wp-json/", timeout=10)
        assert r.json()["timezone_string"] == "America/New_York"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_a_bulk_edited_second_is_read_whole_when_the_database_mixes_its_ties():
    """Over loopback: 250 orders modified in one second (a bulk action) while the site lists equal
    modification times in another order on each page (the `mixed_ties` fault). Paging through that
    second by number misses orders; the WooCommerce source records every paid one all the same."""
    from tests.support.payloads import FakeContext

    from siren_sync.sources.woocommerce import WooCommerceSource
    from siren_sync.sources.woocommerce.walk import order_params

    with Sandbox(seed=3, start=START, history_days=10, days=0, orders_per_day=40) as box:
        bulk = sorted(box.site.orders)[:250]
        at = int(box.now.timestamp()) - 60
        for order_id in bulk:
            box.site.touch_order(order_id, at=at, note="bulk action")

        def sales() -> set[str]:
            ctx = FakeContext(now=box.now)
            source = WooCommerceSource(box.url, box.credentials["wc_key"], box.credentials["wc_secret"],
                                       sleep=lambda s: None)
            source.sync(ctx)
            source.close()
            return {k for k in ctx.events if k.startswith("woocommerce:sale:")}

        in_order = sales()
        box.faults.update({"mixed_ties": True})
        source = WooCommerceSource(box.url, box.credentials["wc_key"], box.credentials["wc_secret"])
        second = order_params(source.statuses.current, datetime.fromtimestamp(at - 1, UTC))
        by_number = {o["id"] for n in (1, 2, 3) for o in source.http.page("wc/v3/orders", second, n, 100).items}
        source.close()
        assert len(set(bulk) - by_number) > 0  # what paging on by number would have lost
        mixed = sales()
        with box.site.lock:
            paid_in_bulk = {f"woocommerce:sale:{i}" for i in bulk if box.site.orders[i].paid is not None}
    assert paid_in_bulk and paid_in_bulk <= mixed
    assert mixed == in_order
