"""sandbox/rest.py: paging headers and links, parameters checked like WordPress does."""
from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from siren_sync.sandbox.rest import InvalidParams, Request, fields, page_args, parse_date
from siren_sync.sandbox.site import Site, to_ts
from tests.support.loopback import rest


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


def test_parameter_problems_are_gathered_and_answered_together():
    req = Request("GET", "/wp-json/wc/v3/orders", "page=0&per_page=500&dates_are_gmt=perhaps&orderby=price",
                  {}, b"")
    assert page_args(req) == (1, 10) and req.bool("dates_are_gmt") is False
    assert req.enum("orderby", ("date", "modified"), "date") == "date"
    with pytest.raises(InvalidParams) as info:
        req.check()
    body = json.loads(info.value.response().body)
    assert body["code"] == "rest_invalid_param" and set(body["data"]["params"]) == {
        "page", "per_page", "dates_are_gmt", "orderby"}
    assert body["message"] == "Invalid parameter(s): page, per_page, dates_are_gmt, orderby"


def test_dates_as_wordpress_reads_them():
    site = Site(timezone_name="America/New_York")
    noon_utc = to_ts(datetime(2026, 9, 1, 12, tzinfo=UTC))
    assert parse_date("2026-09-01T12:00:00", site, True) == noon_utc
    assert parse_date("2026-09-01 08:00:00", site, False) == noon_utc  # site-local without dates_are_gmt
    assert parse_date("2026-09-01T14:00:00+02:00", site, False) == noon_utc
    assert parse_date("2026-09-01T12:00:00Z", site, False) == noon_utc
    for bad in ("2026-09-31T12:00:00", "yesterday"):
        with pytest.raises(ValueError):
            parse_date(bad, site, True)


def test_fields_reach_into_objects():
    req = Request("GET", "/wp-json/wc/v3/orders/1", "_fields=id,billing.city,nothing", {}, b"")
    assert fields(req, {"id": 1, "total": "9.00", "billing": {"city": "Lyon", "country": "FR"}}) == {
        "id": 1, "billing": {"city": "Lyon"}}
