"""sandbox/__init__.py: `Sandbox`, the site served over loopback in a thread, as the demo and the
end-to-end tests start it."""
from __future__ import annotations

import pytest
import requests

from siren_sync.sandbox import Sandbox
from tests.support.loopback import START, rest


def test_a_sandbox_serves_while_started_and_names_its_keys_for_the_example_config():
    box = Sandbox(seed=5, start=START, days=1, orders_per_day=10, lms=False)
    with pytest.raises(RuntimeError, match="not started"):
        _ = box.url
    with box:
        assert requests.get(rest(box, ""), timeout=5).json()["url"] == box.url
        env = box.env()
        assert env["SIREN_SITE_URL"] == box.url and env["SIREN_WC_KEY"] == box.credentials["wc_key"]
        assert set(env) == {"SIREN_SITE_URL", "SIREN_WC_KEY", "SIREN_WC_SECRET", "SIREN_WP_USER",
                            "SIREN_WP_APP_PASSWORD"}
        assert box.advance(3600) == box.now and box.api_root == box.url + "/wp-json/"
    assert box.server is None
