"""Helpers for tests against a sandbox site served over loopback (`Sandbox`, a real HTTP server)."""
from __future__ import annotations

from datetime import UTC, datetime

import requests
from woocommerce import API

from siren_sync.sandbox import Sandbox

START = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)  # midnight in New York


def rest(sb: Sandbox, route: str) -> str:
    """The URL of a REST route of `sb`."""
    return f"{sb.url}/wp-json/{route}"


def wp_session(sb: Sandbox) -> requests.Session:
    """A session signed in with the admin's application password."""
    s = requests.Session()
    s.auth = (sb.credentials["wp_user"], sb.credentials["wp_app_password"])
    return s


def wc_api(sb: Sandbox, secret: str | None = None) -> API:
    """The `woocommerce` package's client (OAuth 1.0a over http) with the site's keys, or another secret."""
    return API(url=sb.url, consumer_key=sb.credentials["wc_key"],
               consumer_secret=secret or sb.credentials["wc_secret"], version="wc/v3", timeout=30)
