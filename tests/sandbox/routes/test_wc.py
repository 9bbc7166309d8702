"""sandbox/routes/wc.py: WooCommerce's system status, the orders listing's description (OPTIONS), what
the site's version and statuses change; unknown routes."""
from __future__ import annotations

import requests

from tests.support.loopback import rest


def test_system_status_options_and_unknown_route(sb, wp):
    assert wp.get(rest(sb, "wc/v3/system_status")).json()["environment"]["version"] == "9.4.0"
    opts = wp.options(rest(sb, "wc/v3/orders")).json()
    args = opts["endpoints"][0]["args"]
    assert {"modified_after", "dates_are_gmt", "orderby", "status"} <= set(args)
    assert "modified" in args["orderby"]["enum"]
    r = requests.get(rest(sb, "wc/v3/nope"))
    assert r.status_code == 404 and r.json()["code"] == "rest_no_route"
    assert r.json()["data"] == {"status": 404}
