"""sandbox/routes/control.py: the simulated clock reveals activity; an order changed now."""
from __future__ import annotations

from datetime import timedelta

import requests

from siren_sync.sandbox import Sandbox
from tests.support.loopback import START, rest


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
