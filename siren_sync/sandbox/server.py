"""The sandbox's dispatcher and HTTP server: one `Api.handle(request)` for every route and transport.

`Api(site, auth, faults, stats).handle(request)` answers a `Request` under `/wp-json/`: it finds
the route (`sandbox/routes/`, one module per namespace; an unknown route is `404 rest_no_route`),
applies the faults (latency, random 429/5xx, a refused OPTIONS, one-off answers), authenticates,
and runs the route under the site's lock (a write first waits its turn while writes are held).
`answer(api, request)` adds what any transport needs (a sandbox bug still answers 500; every
request is counted); `SandboxServer` serves it over HTTP (a `ThreadingHTTPServer`, HTTP/1.1
keep-alive, `Content-Length` always), and tests serve it in process (`tests/support/`).

Routes served:

* `GET /` (index: `timezone_string`, `gmt_offset`, namespaces, routes);
* `wc/v3`: `orders`, `orders/<id>`, `orders/<id>/refunds[/<id>]`, `refunds` (WooCommerce 9),
  `coupons[/<id>]`, `products[/<id>]`, `system_status`, `OPTIONS orders`;
* `wp/v2`: `users`, `users/me`, `users/<id>`, `posts` (GET, POST), `posts/<id>` (GET, POST, DELETE);
* `llms/v1`: `courses`, `lessons`, `sections/<id>`, `students`, `students/<id>/enrollments`,
  `students/<id>/progress/<post>`, `courses/<id>/enrollments`;
* `ldlms/v2`: `sfwd-courses`, `sfwd-courses/<id>/users`, `users/<id>/course-progress[/<course>[/steps]]`;
* `siren/v1`: `engagements[/<id>]`, `collaborators`;
* `sandbox/v1` (no auth, never faulted): `clock`, `faults`, `stats`, `orders/<id>`.
"""
from __future__ import annotations

import re
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from siren_sync.sandbox.auth import Authenticator, AuthError
from siren_sync.sandbox.faults import HTML_PAGE, REASONS, FaultDecision, Faults, OneOff
from siren_sync.sandbox.rest import JSON_TYPE, NO_ROUTE, ApiError, Env, Request, Response, Route, Stats
from siren_sync.sandbox.routes import ROUTES
from siren_sync.sandbox.site import Site

ORDERS_LISTING = "/wc/v3/orders"
FORBIDDEN = {"code": "rest_forbidden", "message": "Sorry, you are not allowed to do that.", "data": {"status": 403}}


class Api:
    """The one dispatcher. One instance per site; reads and writes the `Site` under its lock.

    `before_orders` holds functions run before each `GET wc/v3/orders` is answered (before faults
    and authentication), given the request: tests change the site between two pages with them.
    """

    def __init__(self, site: Site, auth: Authenticator, faults: Faults, stats: Stats):
        self.site, self.auth, self.faults, self.stats = site, auth, faults, stats
        self.env = Env(site, faults, stats, ROUTES)
        self.before_orders: list[Callable[[Request], None]] = []

    def handle(self, req: Request) -> tuple[Response, str]:
        """The response to `req` and the route's label (for the statistics)."""
        rel = req.route_path
        if rel is None:
            return Response(404, "<html><body><h1>Not Found</h1></body></html>", content_type="text/html"), "html"
        self.stats.record(req, self.site.url)
        route, m = _find(rel, req.method, self.site)
        if route is None or m is None:
            return ApiError(404, "rest_no_route", NO_ROUTE).response(), "unknown"
        label = f"{req.method} {route.label}"
        if route.label.startswith("/sandbox/"):
            return self._run(route, req, m), label
        if req.method == "GET" and route.label == ORDERS_LISTING:
            for hook in list(self.before_orders):
                hook(req)
        faulted = self._faulted(req, rel)
        if faulted is not None:
            return faulted, label
        self._authenticate(req, rel)
        with self.faults.write_turn(req.method):
            resp = self._run(route, req, m)
        if self.faults.drop_counts:
            resp.headers.pop("X-WP-Total", None)
            resp.headers.pop("X-WP-TotalPages", None)
        return resp, label

    def _run(self, route: Route, req: Request, m: re.Match[str]) -> Response:
        try:
            with self.site.lock:
                resp = route.handler(self.env, req, m)
        except ApiError as exc:
            resp = exc.response()
        resp.headers.setdefault("Link", f'<{self.site.url}/wp-json/>; rel="https://api.w.org/"')
        return resp

    def _faulted(self, req: Request, rel: str) -> Response | None:
        """What a host, WAF or CDN answers instead of WordPress this time, if anything."""
        once = self.faults.take_once(req.method, rel.lstrip("/"))
        if once is not None:
            return _one_off(once)
        if req.method == "OPTIONS" and self.faults.refuse_options:
            return Response(403, FORBIDDEN)
        delay = self.faults.latency()
        if delay:
            time.sleep(delay)
        decision = self.faults.decide()
        if decision is None:
            return None
        with self.stats.lock:
            self.stats.faults_injected += 1
        return self._fault(decision)

    def _fault(self, d: FaultDecision) -> Response:
        headers = {}
        if d.retry_after is not None:
            headers["Retry-After"] = str(d.retry_after)
        reason = REASONS.get(d.status, "Error")
        if d.html:
            return Response(d.status, HTML_PAGE.format(status=d.status, reason=reason, ray=self.faults.ray()),
                            headers, "text/html; charset=UTF-8")
        code = "rest_too_many_requests" if d.status == 429 else "internal_server_error"
        return Response(d.status, {"code": code, "message": reason, "data": {"status": d.status}}, headers)

    def _authenticate(self, req: Request, rel: str) -> None:
        """WooCommerce's keys on `wc` routes (OAuth 1.0a over http, Basic over https), application
        passwords everywhere; a wrong credential raises AuthError (401 before any route runs)."""
        header = req.headers.get("Authorization")
        woocommerce = rel.startswith("/wc/") or rel.startswith("/wc-")
        https = urlsplit(self.site.url).scheme == "https"
        if woocommerce and not https:
            principal = self.auth.oauth(req.method, self.site.url + req.raw_path, req.args, header)
            if principal is not None:
                req.user = principal
                return
        basic = self.auth.basic(header)
        if basic is None:
            return
        user, password = basic
        if woocommerce and user.startswith("ck_"):
            # WooCommerce honours key/secret Basic auth over HTTPS only: anonymous over http
            req.user = self.auth.check_key(user, password) if https else None
            return
        with self.site.lock:
            users = list(self.site.users.values())
        req.user = self.auth.application_password(users, user, password)


def _find(rel: str, method: str, site: Site) -> tuple[Route | None, re.Match[str] | None]:
    """The route serving `method` on `rel` on this site, with its match."""
    for route in ROUTES:
        if route.method != method:
            continue
        m = route.pattern.match(rel)
        if m and route.serves(site):
            return route, m
    return None, None


def _one_off(once: OneOff) -> Response:
    body = once.body
    if isinstance(body, str) and body[:1] not in ("[", "{"):
        return Response(once.status, body, dict(once.headers), "text/html; charset=UTF-8")
    return Response(once.status, body, dict(once.headers), JSON_TYPE)


def answer(api: Api, req: Request) -> tuple[Response, str]:
    """`api.handle(req)`, counted; a credential refused or a sandbox bug still gets an answer."""
    try:
        resp, label = api.handle(req)
    except AuthError as exc:
        resp, label = ApiError(exc.status, exc.code, exc.message).response(), "auth"
    except Exception as exc:  # noqa: BLE001 - a sandbox bug must still answer
        resp = Response(500, {"code": "internal_server_error", "message": f"sandbox error: {exc!r}",
                              "data": {"status": 500}})
        label = "error"
    api.stats.count(label, resp.status, len(resp.body))
    return resp, label


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def version_string(self) -> str:
        return "nginx"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        raw_path, _, query = self.path.partition("?")
        if raw_path.startswith("http://") or raw_path.startswith("https://"):
            raw_path = "/" + raw_path.split("/", 3)[3] if raw_path.count("/") >= 3 else "/"
        api: Api = self.server.api  # type: ignore[attr-defined]
        resp, _label = answer(api, Request(self.command, raw_path, query, self.headers, body))
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], api: Api):
        super().__init__(address, _Handler)
        self.api = api

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host.decode() if isinstance(host, bytes) else host}:{port}"
