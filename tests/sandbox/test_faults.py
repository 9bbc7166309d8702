"""sandbox/faults.py: what a host, WAF or CDN does now and then, switched on over the control route or
directly; the orders walk reads a bulk-edited second whole when the database mixes its ties."""
from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import requests

from siren_sync.sandbox import Sandbox
from siren_sync.sources.woocommerce import WooCommerceSource
from siren_sync.sources.woocommerce.walk import order_params
from tests.support.e2e import wait_until
from tests.support.loopback import START, rest
from tests.support.payloads import FakeContext


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


def test_held_writes_are_carried_out_in_the_order_they_came_once_released(sb, wp):
    """`hold_writes`: a write waits (a GET does not); released, the writes go on one at a time in the
    order they came, the one whose client gave up included."""
    faults = rest(sb, "sandbox/v1/faults")
    posts = rest(sb, "wp/v2/posts")
    answers: dict[str, dict] = {}

    def create(name: str, timeout: float = 30) -> None:
        body = {"title": name, "slug": "held-record", "status": "private"}
        try:
            answers[name] = wp.post(posts, json=body, timeout=timeout).json()
        except requests.Timeout:
            answers[name] = {}  # the client gave up; the site carries it out all the same

    try:
        assert requests.post(faults, json={"hold_writes": True}).json()["hold_writes"] is True
        first = threading.Thread(target=create, args=("first", 0.5))
        first.start()
        wait_until(lambda: requests.get(faults).json()["held"] == 1, 10, 0.02, "the first write held")
        second = threading.Thread(target=create, args=("second",))
        second.start()
        wait_until(lambda: requests.get(faults).json()["held"] == 2, 10, 0.02, "the second write held")
        assert wp.get(posts, params={"slug": "held-record", "status": "any"}).json() == []  # reads go on
        first.join()
        assert answers["first"] == {}  # its client gave up before the site got to it
        requests.post(faults, json={"hold_writes": False})
        second.join(10)
        assert answers["second"]["slug"] == "held-record-2"  # the first was carried out first
        assert requests.get(faults).json()["held"] == 0
        made = wp.get(posts, params={"slug": "held-record", "status": "any", "context": "edit"}).json()
        assert [p["title"]["raw"] for p in made] == ["first"]
        assert wp.post(posts, json={"title": "third", "slug": "held-third", "status": "private"},
                       timeout=5).status_code == 201  # nothing held any more
    finally:
        requests.post(faults, json={"reset": True})
        for p in wp.get(posts, params={"search": "held", "status": "any", "per_page": 100}).json():
            wp.delete(f"{posts}/{p['id']}", params={"force": "true"})


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


def test_a_bulk_edited_second_is_read_whole_when_the_database_mixes_its_ties():
    """Over loopback: 250 orders modified in one second (a bulk action) while the site lists equal
    modification times in another order on each page (the `mixed_ties` fault). Paging through that
    second by number misses orders; the WooCommerce source records every paid one all the same."""
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
