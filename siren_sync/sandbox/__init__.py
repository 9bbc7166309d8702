"""A loopback demo site speaking the REST shapes siren-sync reads and writes, with fault injection.

    with Sandbox(seed=1, days=60, orders_per_day=40) as sb:
        sb.url            # http://127.0.0.1:<port>  (the REST root is sb.url + "/wp-json/")
        sb.credentials    # {"wc_key", "wc_secret", "wp_user", "wp_app_password"}
        sb.site           # the in-memory Site (direct access, under sb.site.lock)
        sb.advance(86400) # move the simulated clock: activity up to the new now appears
        sb.faults.update({"rate_429": 0.1})

    Sandbox(visitors=True, subscriptions=True, access_log="access.log")   # what programs need (below)

The modules: `site` (data model and simulated clock), `generate` (seeded activity), `payloads`
(orders given as REST bodies, for tests), `order_query` (orders listed like WooCommerce), `shapes`
(REST JSON), `auth` (OAuth 1.0a, consumer keys and application passwords), `faults` (fault
switches), `rest` (requests, responses, paging), `routes/` (one module per REST namespace), `server`
(the one dispatcher, `Api.handle`, and the HTTP server), `programs` (visitors, the access log,
subscriptions). Tests serve the same `Api` in process (`tests/support/in_process.py`). Run one from
a shell with `python -m siren_sync.sandbox --port 0 --seed 1`.
"""
from __future__ import annotations

import gc
import os
import threading
from datetime import UTC, datetime
from typing import Any

from siren_sync.sandbox.auth import Authenticator
from siren_sync.sandbox.faults import Faults
from siren_sync.sandbox.generate import GenerationSpec, credentials, populate
from siren_sync.sandbox.rest import Stats
from siren_sync.sandbox.server import Api, SandboxServer
from siren_sync.sandbox.site import Site, from_ts, to_ts

DEFAULT_START = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)  # midnight in New York

__all__ = ["Sandbox", "DEFAULT_START"]


class Sandbox:
    """The sandbox site served over loopback in a background thread.

    Rate mode (default): `orders_per_day` orders on average over `history_days` before `start`
    (visible at once) and `days` after it (revealed by `advance`). Exact-count mode (benchmarks):
    `orders=N` orders with exactly `refunds` partial and `full_refunds` full refunds over the
    `history_days` (default 365) before `start`, all visible at once (`days` defaults to 0).

    What programs need, off by default (the shop is then the same as ever): `visitors` (orders carry
    their customer's address and user agent, some WooCommerce order attribution), `access_log` (a path:
    the web server's combined log, with referral visits by the same visitors, written as the clock
    moves; implies `visitors`), `subscriptions` (WooCommerce Subscriptions: weekly subscriptions,
    their renewal orders and `wc/v3/subscriptions`). See `sandbox.programs`.
    """

    def __init__(self, *, seed: int = 1, start: datetime | None = None, days: int | None = None,
                 orders_per_day: float = 40.0, history_days: int | None = None, orders: int | None = None,
                 refunds: int | None = None, full_refunds: int | None = None, eur_share: float = 0.05,
                 customers: int | None = None, lms: bool = True, timezone_name: str = "America/New_York",
                 currency: str = "USD", host: str = "127.0.0.1", port: int = 0,
                 faults: dict[str, Any] | None = None, name: str = "Siren Sandbox Shop",
                 prerender: bool | None = None, visitors: bool = False, subscriptions: bool = False,
                 access_log: str | os.PathLike[str] | None = None):
        start = start or DEFAULT_START
        exact = orders is not None
        if days is None:
            days = 0 if exact else 60
        if history_days is None:
            history_days = 365 if exact else 0
        self.spec = GenerationSpec(seed=seed, start=to_ts(start), days=days, history_days=history_days,
                                   orders_per_day=orders_per_day, eur_share=eur_share, customers=customers,
                                   orders=orders, refunds=refunds, full_refunds=full_refunds, lms=lms,
                                   visitors=visitors or access_log is not None, subscriptions=subscriptions,
                                   access_log=access_log is not None)
        self.site = Site(name=name, timezone_name=timezone_name, currency=currency, now=to_ts(start))
        self.site.has_subscriptions = subscriptions
        if access_log is not None:
            self.site.access_log = os.fspath(access_log)
            open(self.site.access_log, "w").close()  # a new log: the lines up to now are written below
        self.prerender = exact if prerender is None else prerender
        was_enabled = gc.isenabled()
        gc.disable()  # millions of long-lived objects: collections would only cost time here
        try:
            self.site.load_timeline(populate(self.site, self.spec))
        finally:
            if was_enabled:
                gc.enable()
        self.credentials = credentials(seed)
        self.faults = Faults(seed=seed)
        if faults:
            self.faults.update(faults)
        self.stats = Stats()
        self.auth = Authenticator(consumer_key=self.credentials["wc_key"],
                                  consumer_secret=self.credentials["wc_secret"])
        self.host, self.port = host, port
        self.server: SandboxServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> Sandbox:
        if self.server is None:
            self.server = SandboxServer((self.host, self.port), Api(self.site, self.auth, self.faults, self.stats))
            self.site.url = self.server.url
            if self.prerender:
                self.render_all()
            self._thread = threading.Thread(target=self.server.serve_forever, name="siren-sandbox", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def render_all(self) -> None:
        """Serialize every visible order now (benchmarks: serving then costs no JSON encoding)."""
        from siren_sync.sandbox.shapes import order_bytes

        was_enabled = gc.isenabled()
        gc.disable()
        try:
            with self.site.lock:
                for o in self.site.orders.values():
                    order_bytes(self.site, o)
        finally:
            if was_enabled:
                gc.enable()

    def serve_forever(self) -> None:
        """Serve in the calling thread (the command line)."""
        if self.server is None:
            self.server = SandboxServer((self.host, self.port), Api(self.site, self.auth, self.faults, self.stats))
            self.site.url = self.server.url
        self.server.serve_forever()

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- convenience ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        if self.server is None:
            raise RuntimeError("the sandbox is not started")
        return self.server.url

    @property
    def api_root(self) -> str:
        return self.url + "/wp-json/"

    @property
    def now(self) -> datetime:
        return from_ts(self.site.now)

    def advance(self, seconds: float) -> datetime:
        self.site.advance(int(seconds))
        return self.now

    def set_now(self, when: datetime) -> datetime:
        self.site.set_now(when)
        return self.now

    def env(self) -> dict[str, str]:
        """The environment variables the example config reads (`${SIREN_WC_KEY}`...)."""
        c = self.credentials
        return {"SIREN_SITE_URL": self.url, "SIREN_WC_KEY": c["wc_key"], "SIREN_WC_SECRET": c["wc_secret"],
                "SIREN_WP_USER": c["wp_user"], "SIREN_WP_APP_PASSWORD": c["wp_app_password"]}
