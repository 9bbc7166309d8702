"""sandbox/rest.py: paging headers and links, parameters checked like WordPress does."""
from __future__ import annotations

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
