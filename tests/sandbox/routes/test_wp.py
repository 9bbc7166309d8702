"""sandbox/routes/wp.py: the REST index, and posts where distribution records are written."""
from __future__ import annotations

import json

import requests

from tests.support.loopback import rest
from tests.support.samples import sample


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
