"""sources/wordpress.py: site timezone, site times, collaborators from users/coupons/products, bound post paths."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import responses
from responses import matchers

from siren_sync.app import zone
from siren_sync.errors import ConfigError
from siren_sync.sources import wordpress as wp
from tests.support.payloads import SITE_ROOT as ROOT
from tests.support.payloads import site_upstream as upstream

JSON = {"Content-Type": "application/json; charset=UTF-8"}

# Shaped like reference/samples/wp-json-index.json
INDEX = {"name": "Peer Test Shop", "url": "https://shop.example", "home": "https://shop.example",
         "gmt_offset": 0, "timezone_string": "UTC",
         "namespaces": ["oembed/1.0", "wc/v3", "llms/v1", "wc/store/v1", "wp/v2", "wp-site-health/v1"]}


def user(uid, username, name, email, slug, roles=("siren_collaborator",)):
    # Shaped like reference/samples/wp-v2-users.json (context=edit)
    return {"id": uid, "username": username, "name": name, "first_name": name.split()[0], "last_name": "",
            "email": email, "url": "", "description": "", "link": f"https://shop.example/author/{slug}/",
            "locale": "en_US", "nickname": username, "slug": slug, "roles": list(roles),
            "registered_date": "2026-11-23T04:00:33+00:00", "capabilities": {"read": True},
            "extra_capabilities": {r: True for r in roles}, "avatar_urls": {}, "meta": {"persisted_preferences": []},
            "_links": {}}


def coupon(cid, code, meta):
    # Shaped like reference/samples/wc-v3-coupons.json
    return {"id": cid, "code": code, "amount": "20.00", "status": "publish", "discount_type": "percent",
            "date_created": "2026-11-23T04:00:34", "date_created_gmt": "2026-11-23T04:00:34",
            "usage_count": 8, "used_by": ["13"], "email_restrictions": [],
            "meta_data": [{"id": 200 + i, "key": k, "value": v} for i, (k, v) in enumerate(meta)], "_links": {}}


def product(pid, meta):
    # Shaped like reference/samples/wc-v3-products.json
    return {"id": pid, "name": f"Product {pid}", "slug": f"product-{pid}", "type": "simple", "status": "publish",
            "sku": f"PEER-{pid}", "price": "249.00", "categories": [{"id": 16, "name": "Online Courses",
                                                                    "slug": "online-courses"}],
            "meta_data": [{"id": 150 + i, "key": k, "value": v} for i, (k, v) in enumerate(meta)], "_links": {}}


def paged(items, headers=None):
    def callback(request):
        q = parse_qs(urlsplit(request.url).query)
        per_page, page = int(q["per_page"][0]), int(q["page"][0])
        pages = max(1, -(-len(items) // per_page))
        return 200, {**JSON, "X-WP-Total": str(len(items)), "X-WP-TotalPages": str(pages)}, json.dumps(
            items[(page - 1) * per_page: page * per_page])
    return callback


@pytest.mark.parametrize("index, expected", [
    ({"timezone_string": "UTC", "gmt_offset": 0}, "UTC"),
    ({"timezone_string": "Europe/Paris", "gmt_offset": 1}, "Europe/Paris"),
    ({"timezone_string": "", "gmt_offset": 5.5}, "+05:30"),
    ({"timezone_string": "", "gmt_offset": "-3.5"}, "-03:30"),
    ({"timezone_string": "", "gmt_offset": 5.75}, "+05:45"),
    ({"timezone_string": "", "gmt_offset": 0}, "UTC"),
])
@responses.activate
def test_site_timezone(index, expected):
    responses.get(f"{ROOT}/", json={**INDEX, **index})
    assert wp.site_timezone(upstream()) == expected


def test_site_timezone_names_become_zones_and_site_times_parse():
    """What site_timezone returns (a city, UTC or an offset) is a zone the rest can use."""
    assert zone("UTC").utcoffset(None) == timedelta(0)
    assert zone("+05:30").utcoffset(None) == timedelta(hours=5, minutes=30)
    assert zone("-03:30").utcoffset(None) == -timedelta(hours=3, minutes=30)
    assert zone("Europe/Paris") == ZoneInfo("Europe/Paris")
    with pytest.raises(ConfigError):
        zone("Mars/Olympus")
    paris = ZoneInfo("Europe/Paris")
    assert wp.parse_site_time("2026-10-14 05:56:04", paris) == datetime(2026, 10, 14, 3, 56, 4, tzinfo=UTC)
    assert wp.parse_site_time("2026-10-29T22:58:02", paris) == datetime(2026, 10, 29, 21, 58, 2, tzinfo=UTC)
    assert wp.parse_site_time("2026-10-29T22:58:02+00:00", paris).utcoffset() == timedelta(0)
    assert wp.parse_site_time(1793318400, paris) == datetime(2026, 10, 30, 0, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        wp.parse_site_time("0", paris)


@responses.activate
def test_fetch_collaborators_reads_users_coupons_and_products_across_pages():
    filler = [user(100 + i, f"user{i}", f"User {i}", f"user{i}@example.test", f"user-{i}") for i in range(99)]
    users = [user(2, "alice.martin", "Alice Martin", "alice.martin@example.test", "alice-martin"),
             user(5, "david.nguyen", "David Nguyen", "david.nguyen@example.test", "david-nguyen")] + filler
    responses.add_callback(responses.GET, f"{ROOT}/wp/v2/users", callback=paged(users),
                           match=[matchers.query_param_matcher({"roles": "siren_collaborator", "context": "edit"},
                                                               strict_match=False)])
    coupons = [coupon(22, "welcome5", []),
               coupon(21, "david20", [("collaborator_user_id", "5"), ("collaborator_login", "david.nguyen")]),
               coupon(23, "alice10", [("collaborator_user_id", "alice.martin")]),
               coupon(24, "ghost", [("collaborator_user_id", "999")])]
    responses.add_callback(responses.GET, f"{ROOT}/wc/v3/coupons", callback=paged(coupons))
    products = [product(17, [("collaborator_user_id", "5")]),
                product(18, [("collaborator_user_id", "ALICE.MARTIN@example.test")]), product(19, [])]
    responses.add_callback(responses.GET, f"{ROOT}/wc/v3/products", callback=paged(products))

    found = wp.fetch_collaborators(upstream(), "siren_collaborator", "collaborator_user_id", "collaborator_user_id")
    assert len(found) == 101
    by_id = {c.id: c for c in found}
    david = by_id["david-nguyen"]
    assert (david.name, david.email, david.wp_user_id, david.status) == (
        "David Nguyen", "david.nguyen@example.test", 5, "active")
    assert david.coupons == ("david20",) and david.products == (17,)
    assert by_id["alice-martin"].coupons == ("alice10",) and by_id["alice-martin"].products == (18,)
    assert len([c for c in responses.calls if "/wp/v2/users" in c.request.url]) == 2  # both pages


@responses.activate
def test_a_role_nobody_has_reads_no_collaborator_and_says_so(caplog):
    responses.add_callback(responses.GET, f"{ROOT}/wp/v2/users", callback=paged([]))
    responses.add_callback(responses.GET, f"{ROOT}/wc/v3/coupons", callback=paged([]))
    responses.add_callback(responses.GET, f"{ROOT}/wc/v3/products", callback=paged([]))
    with caplog.at_level("WARNING", logger="siren_sync.sources.wordpress"):
        assert wp.fetch_collaborators(upstream(), "siren_colaborator") == []
    assert "no WordPress user has the role 'siren_colaborator'" in caplog.text


@responses.activate
def test_fetch_post_paths_and_authors():
    posts = [{"id": 12, "link": "https://shop.example/2026/11/my-post/", "author": 2},
             {"id": 13, "link": "https://shop.example/?p=13", "author": 5},
             {"id": 14, "link": "https://shop.example/blog/caf%C3%A9/", "author": 2}]
    responses.add_callback(responses.GET, f"{ROOT}/wp/v2/posts", callback=paged(posts),
                           match=[matchers.query_param_matcher({"author": "2,5"}, strict_match=False)])
    bound = wp.fetch_bound_posts(upstream(), [5, 2])
    assert bound.paths == {"/2026/11/my-post/": 12, "/?p=13": 13, "/blog/caf%C3%A9/": 14}
    assert bound.authors == {12: 2, 13: 5, 14: 2}
    assert wp.fetch_bound_posts(upstream(), [2, 5]) == bound  # the authors' order does not matter


@responses.activate
def test_check_site_rows():
    responses.get(f"{ROOT}/", json=INDEX)
    responses.get(f"{ROOT}/wp/v2/users/me", json={"id": 1, "slug": "admin"})
    rows = wp.check_site(upstream(), ["llms/v1", "ldlms/v2"])
    assert rows[0][1] and "UTC" in rows[0][2]
    assert rows[1] == ("site: WordPress credentials", True, "authenticated as admin")
    assert rows[2][1] is True and rows[3][1] is False


@responses.activate
def test_check_site_reports_bad_credentials():
    responses.get(f"{ROOT}/", json=INDEX)
    responses.get(f"{ROOT}/wp/v2/users/me", status=401,
                  json={"code": "incorrect_password", "message": "The provided password is an invalid application "
                        "password.", "data": {"status": 401}})
    rows = wp.check_site(upstream())
    assert rows[1][1] is False and "401 incorrect_password" in rows[1][2] and "abcd" not in rows[1][2]
