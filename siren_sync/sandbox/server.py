"""The sandbox's HTTP server: WordPress REST routing, auth, pagination, errors and faults.

`SandboxServer` is a `ThreadingHTTPServer` (HTTP/1.1 keep-alive, `Content-Length` always) that
answers under `/wp-json/` the routes siren-sync's sources read and write:

* `GET /` (index: `timezone_string`, `gmt_offset`, namespaces, routes);
* `wc/v3`: `orders`, `orders/<id>`, `orders/<id>/refunds[/<id>]`, `refunds` (WooCommerce 9),
  `coupons[/<id>]`, `products[/<id>]`, `system_status`, `OPTIONS orders`;
* `wp/v2`: `users`, `users/me`, `users/<id>`, `posts` (GET, POST), `posts/<id>` (GET, POST, DELETE);
* `llms/v1`: `courses`, `lessons`, `sections/<id>`, `students`, `students/<id>/enrollments`,
  `students/<id>/progress/<post>`, `courses/<id>/enrollments`;
* `ldlms/v2`: `sfwd-courses`, `sfwd-courses/<id>/users`, `users/<id>/course-progress[/<course>[/steps]]`;
* `siren/v1`: `engagements[/<id>]`, `collaborators`;
* `sandbox/v1` (no auth, never faulted): `clock`, `faults`, `stats`, `orders/<id>`.

Errors use WordPress's JSON shape `{code, message, data: {status}}` (Siren's own errors are
`{message}`); an unknown route is `404 rest_no_route`. Collections carry `X-WP-Total`,
`X-WP-TotalPages` and a `Link` header; past the last page WooCommerce answers `200 []` and
`wp/v2/posts` answers `400 rest_post_invalid_page_number`.
"""
from __future__ import annotations

import json
import math
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlencode

from siren_sync.sandbox import shapes
from siren_sync.sandbox.auth import Authenticator, AuthError, Principal, php_query
from siren_sync.sandbox.faults import HTML_PAGE, REASONS, Faults
from siren_sync.sandbox.site import ANY_ORDER_STATUSES, ORDER_STATUSES, Post, Site, from_ts, to_ts

JSON_TYPE = "application/json; charset=UTF-8"
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|z|[+-]\d{2}(:?\d{2})?)?$")
POST_STATUSES = ("publish", "future", "draft", "pending", "private")


# -- request / response ----------------------------------------------------------------------------

class Response:
    __slots__ = ("status", "body", "headers", "content_type")

    def __init__(self, status: int, body: Any = None, headers: dict | None = None,
                 content_type: str = JSON_TYPE):
        self.status = status
        if isinstance(body, (bytes, bytearray)):
            self.body = bytes(body)
        elif isinstance(body, str):
            self.body = body.encode("utf-8")
        else:
            self.body = shapes.dumps(body)
        self.headers = headers or {}
        self.content_type = content_type


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, **data: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.data = status, code, message, data

    def response(self) -> Response:
        return Response(self.status, {"code": self.code, "message": self.message,
                                      "data": {"status": self.status, **self.data}})


class SirenError(ApiError):
    def response(self) -> Response:
        body: dict = {"message": self.message}
        if self.data:
            body["context"] = self.data
        return Response(self.status, body)


class InvalidParams(ApiError):
    def __init__(self, problems: dict[str, tuple[str, str]]):
        names = ", ".join(problems)
        super().__init__(400, "rest_invalid_param", f"Invalid parameter(s): {names}",
                         params={k: m for k, (_c, m) in problems.items()},
                         details={k: {"code": c, "message": m, "data": None} for k, (c, m) in problems.items()})


class Request:
    def __init__(self, method: str, raw_path: str, query: str, headers, body: bytes):
        self.method = method
        self.raw_path = raw_path  # as sent, e.g. /wp-json/wc/v3/orders
        self.query = query
        self.args = php_query(query)
        self.headers = headers
        self.body = body
        self.user: Principal | None = None
        self.problems: dict[str, tuple[str, str]] = {}

    def json(self) -> Any:
        if not self.body:
            return {}
        ctype = (self.headers.get("Content-Type") or "").lower()
        if "application/x-www-form-urlencoded" in ctype:
            return php_query(self.body.decode("utf-8", "replace"))
        try:
            return json.loads(self.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "rest_invalid_json", "Invalid JSON body passed.") from None

    # parameters (validation problems are gathered, then raised together like WordPress)

    def has(self, name: str) -> bool:
        return name in self.args and self.args[name] not in ("", None)

    def int(self, name: str, default: int | None = None, minimum: int | None = None,
            maximum: int | None = None) -> int | None:
        raw = self.args.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(str(raw).strip())
        except ValueError:
            self.problems[name] = ("rest_invalid_type", f"{name} is not of type integer.")
            return default
        if minimum is not None and maximum is not None and not minimum <= value <= maximum:
            self.problems[name] = ("rest_out_of_bounds",
                                   f"{name} must be between {minimum} (inclusive) and {maximum} (inclusive)")
            return default
        if minimum is not None and value < minimum:
            self.problems[name] = ("rest_out_of_bounds", f"{name} must be greater than or equal to {minimum}")
            return default
        return value

    def list(self, name: str) -> list[str] | None:
        raw = self.args.get(name)
        if raw is None:
            return None
        if isinstance(raw, dict):
            values = [str(v) for v in raw.values()]
        else:
            values = [v for v in re.split(r"[,\s]+", str(raw)) if v]
        return values

    def ints(self, name: str) -> list[int] | None:
        values = self.list(name)
        if values is None:
            return None
        try:
            return [int(v) for v in values]
        except ValueError:
            self.problems[name] = ("rest_invalid_type", f"{name}[0] is not of type integer.")
            return None

    def bool(self, name: str, default: bool = False) -> bool:
        raw = self.args.get(name)
        if raw is None:
            return default
        value = str(raw).strip().lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off", ""):
            return False
        self.problems[name] = ("rest_invalid_type", f"{name} is not of type boolean.")
        return default

    def enum(self, name: str, choices: tuple[str, ...], default: str) -> str:
        raw = self.args.get(name)
        if raw is None or raw == "":
            return default
        if raw not in choices:
            self.problems[name] = ("rest_not_in_enum", f"{name} is not one of {', '.join(choices)}.")
            return default
        return str(raw)

    def date(self, name: str, site: Site, gmt: bool) -> int | None:
        """A date filter as epoch seconds: naive values are UTC with `gmt`, else site-local."""
        raw = self.args.get(name)
        if raw is None or raw == "":
            return None
        m = _DATE_RE.match(str(raw).strip())
        if not m:
            self.problems[name] = ("rest_invalid_date", "Invalid date.")
            return None
        y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
        try:
            naive = datetime(y, mo, d, h, mi, s)
        except ValueError:
            self.problems[name] = ("rest_invalid_date", "Invalid date.")
            return None
        off = m.group(8)
        if off:
            if off in ("Z", "z"):
                return to_ts(naive.replace(tzinfo=UTC))
            sign = -1 if off[0] == "-" else 1
            digits = off[1:].replace(":", "")
            delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
            return to_ts((naive - sign * delta).replace(tzinfo=UTC))
        if gmt:
            return to_ts(naive.replace(tzinfo=UTC))
        return int(naive.replace(tzinfo=site.tz).timestamp())

    def check(self) -> None:
        if self.problems:
            raise InvalidParams(self.problems)


# -- the server --------------------------------------------------------------------------------------

Handler = Callable[["Api", Request, re.Match], Response]


class Stats:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        self.requests: dict[str, int] = {}
        self.statuses: dict[str, int] = {}
        self.bytes_sent = 0
        self.faults_injected = 0
        self.posts_created: list[dict] = []
        self.orders_modified: list[int] = []

    def count(self, route: str, status: int, nbytes: int) -> None:
        with self.lock:
            self.requests[route] = self.requests.get(route, 0) + 1
            self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
            self.bytes_sent += nbytes

    def as_dict(self) -> dict:
        with self.lock:
            return {"requests": dict(self.requests), "statuses": dict(self.statuses),
                    "bytes_sent": self.bytes_sent, "faults_injected": self.faults_injected,
                    "posts_created": list(self.posts_created), "orders_modified": list(self.orders_modified)}


ROUTES: list[tuple[str, re.Pattern, str, str]] = []  # (method, pattern, handler name, route label)


def route(method: str, pattern: str):
    def deco(fn):
        ROUTES.append((method, re.compile("^" + pattern + "$"), fn.__name__, pattern))
        return fn
    return deco


class Api:
    """The routes. One instance per server; reads and writes the `Site` under its lock."""

    def __init__(self, site: Site, auth: Authenticator, faults: Faults, stats: Stats):
        self.site, self.auth, self.faults, self.stats = site, auth, faults, stats

    # -- dispatch -------------------------------------------------------------------------------

    def handle(self, req: Request) -> tuple[Response, str]:
        path = req.raw_path
        if req.method == "GET" and path in ("/wp-json", "/wp-json/"):
            rel = "/"
        elif path.startswith("/wp-json/"):
            rel = "/" + path[len("/wp-json/"):].strip("/")
        else:
            return Response(404, "<html><body><h1>Not Found</h1></body></html>", content_type="text/html"), "html"
        matched_path = False
        for method, pattern, name, label in ROUTES:
            m = pattern.match(rel)
            if not m:
                continue
            matched_path = True
            if method != req.method:
                continue
            control = label.startswith("/sandbox/")
            if not control:
                delay = self.faults.latency()
                if delay:
                    time.sleep(delay)
                decision = self.faults.decide()
                if decision is not None:
                    with self.stats.lock:
                        self.stats.faults_injected += 1
                    return self._fault(decision), f"{req.method} {label}"
            try:
                if not control:
                    self._authenticate(req, rel)
                with self.site.lock:
                    resp = getattr(self, name)(req, m)
            except ApiError as exc:
                resp = exc.response()
            resp.headers.setdefault("Link", f'<{self.site.url}/wp-json/>; rel="https://api.w.org/"')
            return resp, f"{req.method} {label}"
        if matched_path:
            msg = "No route was found matching the URL and request method."
        else:
            msg = "No route was found matching the URL and request method."
        return ApiError(404, "rest_no_route", msg).response(), "unknown"

    def _fault(self, d) -> Response:
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
        header = req.headers.get("Authorization")
        if rel.startswith("/wc/") or rel.startswith("/wc-"):
            url = self.site.url + req.raw_path
            principal = self.auth.oauth(req.method, url, req.args, header)
            if principal is not None:
                req.user = principal
                return
        basic = self.auth.basic(header)
        if basic is None:
            return
        user, password = basic
        if (rel.startswith("/wc/") or rel.startswith("/wc-")) and user.startswith("ck_"):
            return  # WooCommerce honours key/secret Basic auth over HTTPS only: anonymous here
        with self.site.lock:
            users = list(self.site.users.values())
        req.user = self.auth.application_password(users, user, password)

    # -- helpers --------------------------------------------------------------------------------

    def _require(self, req: Request, code: str, message: str) -> None:
        if req.user is None:
            raise ApiError(401, code, message)

    def _page(self, req: Request, default_per_page: int = 10) -> tuple[int, int]:
        page = req.int("page", 1, minimum=1)
        per_page = req.int("per_page", default_per_page, 1, 100)
        return page or 1, per_page or default_per_page

    def _link_base(self, req: Request) -> str:
        pairs = []
        seen: dict[str, int] = {}
        for part in req.query.split("&") if req.query else []:
            key = part.partition("=")[0]
            if not key or key.startswith("oauth_") or key == "page":
                continue
            if key in seen and "%5B%5D" not in key and "[]" not in key:
                pairs[seen[key]] = None
            seen[key] = len(pairs)
            pairs.append(part)
        query = "&".join(p for p in pairs if p is not None)
        return f"{self.site.url}{req.raw_path}" + (f"?{query}" if query else "")

    def _paged(self, req: Request, body: Any, total: int, page: int, per_page: int,
               style: str = "wc") -> Response:
        pages = math.ceil(total / per_page) if per_page else 0
        base = self._link_base(req)
        sep = "&" if "?" in base else "?"
        links = []
        if style == "llms" and page > 1:
            links.append(f'<{base}{sep}page=1>; rel="first"')
        if page > 1:
            links.append(f'<{base}{sep}page={min(page - 1, max(pages, 1))}>; rel="prev"')
        if pages > page:
            links.append(f'<{base}{sep}page={page + 1}>; rel="next"')
        if style == "llms" and pages > page:
            links.append(f'<{base}{sep}page={pages}>; rel="last"')
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        if links:
            headers["Link"] = ", ".join(links)
        return Response(200, body, headers)

    def _fields(self, req: Request, item: dict) -> dict:
        fields = req.list("_fields")
        if not fields:
            return item
        out: dict = {}
        for f in fields:
            parts = f.split(".")
            src, dst = item, out
            for n, p in enumerate(parts):
                if not isinstance(src, dict) or p not in src:
                    break
                if n == len(parts) - 1:
                    dst[p] = src[p]
                else:
                    src = src[p]
                    dst = dst.setdefault(p, {})
        return out

    def _json_list(self, req: Request, items: list[dict]) -> Any:
        if req.has("_fields"):
            return [self._fields(req, i) for i in items]
        return items

    # -- index ----------------------------------------------------------------------------------

    @route("GET", r"/")
    def get_index(self, req, m):
        routes = sorted({"/" + lbl.strip("/").replace("(?P<id>\\d+)", "(?P<id>[\\d]+)")
                         for _m, _p, _n, lbl in ROUTES if not lbl.startswith("/sandbox")} | {"/"})
        return Response(200, shapes.index(self.site, routes))

    @route("GET", r"/wc/v3")
    def get_wc_namespace(self, req, m):
        routes = {lbl: {"methods": [meth]} for meth, _p, _n, lbl in ROUTES if lbl.startswith("/wc/v3")}
        return Response(200, {"namespace": "wc/v3", "routes": routes})

    # -- WooCommerce ----------------------------------------------------------------------------

    ORDER_ARGS = ("context", "page", "per_page", "search", "after", "before", "modified_after",
                  "modified_before", "dates_are_gmt", "exclude", "include", "offset", "order", "orderby",
                  "parent", "parent_exclude", "status", "customer", "product", "dp", "_fields")

    @route("OPTIONS", r"/wc/v3/orders")
    def options_orders(self, req, m):
        args = {a: {"required": False, "description": a} for a in self.ORDER_ARGS}
        args["per_page"].update({"type": "integer", "default": 10, "minimum": 1, "maximum": 100})
        args["status"].update({"type": "array", "default": "any",
                               "items": {"type": "string", "enum": ["any", *ORDER_STATUSES]}})
        args["orderby"].update({"type": "string", "default": "date",
                                "enum": ["date", "id", "include", "title", "slug", "modified"]})
        args["dates_are_gmt"].update({"type": "boolean", "default": False})
        return Response(200, {"namespace": "wc/v3", "methods": ["GET", "POST"],
                              "endpoints": [{"methods": ["GET"], "args": args},
                                            {"methods": ["POST"], "args": {}}],
                              "schema": {"title": "shop_order", "type": "object"}})

    def _order_statuses(self, req: Request) -> frozenset[str] | None:
        values = req.list("status")
        if not values:
            return ANY_ORDER_STATUSES
        for n, v in enumerate(values):
            if v != "any" and v not in ORDER_STATUSES:
                req.problems["status"] = ("rest_not_in_enum",
                                          f"status[{n}] is not one of any, {', '.join(ORDER_STATUSES)}.")
                return None
        if "any" in values:
            return ANY_ORDER_STATUSES  # `any` short-circuits the list, trash excluded
        return frozenset(values)

    @route("GET", r"/wc/v3/orders")
    def get_orders(self, req, m):
        page, per_page = self._page(req)
        gmt = req.bool("dates_are_gmt")
        dates = {k: req.date(k, self.site, gmt) for k in ("after", "before", "modified_after", "modified_before")}
        orderby = req.enum("orderby", ("date", "id", "include", "title", "slug", "modified"), "date")
        order = req.enum("order", ("asc", "desc"), "desc")
        statuses = self._order_statuses(req)
        include, exclude = req.ints("include"), req.ints("exclude") or []
        customer, product = req.int("customer"), req.int("product")
        parent = req.ints("parent")
        offset = req.int("offset", None, minimum=0)
        req.check()
        self._require(req, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
        start = offset if offset is not None else (page - 1) * per_page
        total, orders = self.site.query_orders(
            statuses=statuses, orderby=orderby, desc=order == "desc", created_after=dates["after"],
            created_before=dates["before"], modified_after=dates["modified_after"],
            modified_before=dates["modified_before"], include=include, exclude=exclude, customer=customer,
            product=product, parent=parent, offset=start, limit=per_page, mixed_ties=self.faults.mixed_ties)
        if req.has("_fields"):
            body = shapes.dumps([self._fields(req, shapes.order(self.site, o)) for o in orders])
        else:
            body = b"[" + b",".join(shapes.order_bytes(self.site, o) for o in orders) + b"]"
        resp = self._paged(req, body, total, page, per_page)
        if self.faults.modify_during_sync and orders:
            victim = self.faults.pick(orders)
            self.site.touch_order(victim.id, note="edited during a sync (sandbox fault)")
            with self.stats.lock:
                self.stats.orders_modified.append(victim.id)
        return resp

    def _order(self, oid: int):
        o = self.site.orders.get(oid)
        if o is None:
            raise ApiError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        return o

    @route("GET", r"/wc/v3/orders/(?P<id>\d+)")
    def get_order(self, req, m):
        self._require(req, "woocommerce_rest_cannot_view", "Sorry, you cannot view this resource.")
        o = self._order(int(m["id"]))
        if req.has("_fields"):
            return Response(200, self._fields(req, shapes.order(self.site, o)))
        return Response(200, shapes.order_bytes(self.site, o))

    @route("GET", r"/wc/v3/orders/(?P<id>\d+)/refunds")
    def get_order_refunds(self, req, m):
        page, per_page = self._page(req)
        req.check()
        self._require(req, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
        o = self._order(int(m["id"]))
        refunds = sorted(o.refunds, key=lambda r: (r.created, r.id), reverse=req.args.get("order") != "asc")
        chunk = refunds[(page - 1) * per_page: page * per_page]
        return self._paged(req, self._json_list(req, [shapes.refund(self.site, r) for r in chunk]),
                           len(refunds), page, per_page)

    @route("GET", r"/wc/v3/orders/(?P<id>\d+)/refunds/(?P<rid>\d+)")
    def get_order_refund(self, req, m):
        self._require(req, "woocommerce_rest_cannot_view", "Sorry, you cannot view this resource.")
        o = self._order(int(m["id"]))
        for r in o.refunds:
            if r.id == int(m["rid"]):
                return Response(200, shapes.refund(self.site, r))
        raise ApiError(404, "woocommerce_rest_shop_order_refund_invalid_id", "Invalid ID.")

    @route("GET", r"/wc/v3/refunds")
    def get_refunds(self, req, m):
        page, per_page = self._page(req)
        gmt = req.bool("dates_are_gmt")
        dates = {k: req.date(k, self.site, gmt) for k in ("after", "before", "modified_after", "modified_before")}
        orderby = req.enum("orderby", ("date", "id", "include", "title", "slug", "modified"), "date")
        order = req.enum("order", ("asc", "desc"), "desc")
        parents = req.ints("parent") or req.ints("parent_id")
        include = req.ints("include")
        req.check()
        self._require(req, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
        items = list(self.site.refunds.values())
        if parents:
            items = [r for r in items if r.order_id in parents]
        if include:
            items = [r for r in items if r.id in include]
        lo = [v for v in (dates["after"], dates["modified_after"]) if v is not None]
        hi = [v for v in (dates["before"], dates["modified_before"]) if v is not None]
        if lo:
            items = [r for r in items if r.created > max(lo)]
        if hi:
            items = [r for r in items if r.created < min(hi)]
        key = (lambda r: r.id) if orderby == "id" else (lambda r: (r.created, r.id))
        items.sort(key=key, reverse=order == "desc")
        chunk = items[(page - 1) * per_page: page * per_page]
        body = [shapes.refund(self.site, r, with_parent=True) for r in chunk]
        return self._paged(req, self._json_list(req, body), len(items), page, per_page)

    @route("GET", r"/wc/v3/coupons")
    def get_coupons(self, req, m):
        page, per_page = self._page(req)
        gmt = req.bool("dates_are_gmt")
        mod_after = req.date("modified_after", self.site, gmt)
        req.check()
        self._require(req, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
        items = sorted(self.site.coupons.values(), key=lambda c: (c.created, c.id),
                       reverse=req.args.get("order", "desc") != "asc")
        code = req.args.get("code")
        if code:
            items = [c for c in items if c.code == str(code).strip().lower()]
        search = req.args.get("search")
        if search:
            items = [c for c in items if str(search).lower() in c.code]
        if mod_after is not None:
            items = [c for c in items if c.modified > mod_after]
        chunk = items[(page - 1) * per_page: page * per_page]
        return self._paged(req, self._json_list(req, [shapes.coupon(self.site, c) for c in chunk]),
                           len(items), page, per_page)

    @route("GET", r"/wc/v3/coupons/(?P<id>\d+)")
    def get_coupon(self, req, m):
        self._require(req, "woocommerce_rest_cannot_view", "Sorry, you cannot view this resource.")
        c = self.site.coupons.get(int(m["id"]))
        if c is None:
            raise ApiError(404, "woocommerce_rest_shop_coupon_invalid_id", "Invalid ID.")
        return Response(200, shapes.coupon(self.site, c))

    @route("GET", r"/wc/v3/products")
    def get_products(self, req, m):
        page, per_page = self._page(req)
        include = req.ints("include")
        req.check()
        self._require(req, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
        items = sorted(self.site.products.values(), key=lambda p: (p.created, p.id),
                       reverse=req.args.get("order", "desc") != "asc")
        if include:
            items = [p for p in items if p.id in include]
        for name, attr in (("sku", "sku"), ("slug", "slug")):
            if req.has(name):
                items = [p for p in items if getattr(p, attr) == req.args[name]]
        if req.has("category"):
            items = [p for p in items if str(p.category[0]) == str(req.args["category"])]
        chunk = items[(page - 1) * per_page: page * per_page]
        return self._paged(req, self._json_list(req, [shapes.product(self.site, p) for p in chunk]),
                           len(items), page, per_page)

    @route("GET", r"/wc/v3/products/(?P<id>\d+)")
    def get_product(self, req, m):
        self._require(req, "woocommerce_rest_cannot_view", "Sorry, you cannot view this resource.")
        p = self.site.products.get(int(m["id"]))
        if p is None:
            raise ApiError(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
        return Response(200, shapes.product(self.site, p))

    @route("GET", r"/wc/v3/system_status")
    def get_system_status(self, req, m):
        self._require(req, "woocommerce_rest_cannot_view", "Sorry, you cannot list resources.")
        return Response(200, shapes.system_status(self.site))

    # -- WordPress users ------------------------------------------------------------------------

    def _context(self, req: Request, message: str) -> bool:
        ctx = req.enum("context", ("view", "embed", "edit"), "view")
        req.check()
        if ctx == "edit":
            self._require(req, "rest_forbidden_context", message)
        return ctx == "edit"

    def _authors(self) -> set[int]:
        authors = {p.author for p in self.site.posts.values() if p.status == "publish"}
        authors |= {c.author for c in self.site.courses.values()}
        return authors

    @route("GET", r"/wp/v2/users")
    def get_users(self, req, m):
        page, per_page = self._page(req)
        include = req.ints("include")
        edit = self._context(req, "Sorry, you are not allowed to list users.")
        roles = req.list("roles")
        if roles:
            self._require(req, "rest_user_cannot_view", "Sorry, you are not allowed to filter users by role.")
        users = sorted(self.site.users.values(), key=lambda u: u.id)
        if req.user is None:
            authors = self._authors()
            users = [u for u in users if u.id in authors]
        if roles:
            users = [u for u in users if set(u.roles) & set(roles)]
        if include:
            users = [u for u in users if u.id in include]
        slugs = req.list("slug")
        if slugs:
            users = [u for u in users if u.slug in slugs]
        if req.has("search"):
            s = str(req.args["search"]).lower().strip("*")
            users = [u for u in users if s in u.username.lower() or s in u.email.lower() or s in u.name.lower()]
        if req.args.get("orderby", "name") == "name":
            users.sort(key=lambda u: u.name.lower())
        if req.args.get("order") == "desc":
            users.reverse()
        chunk = users[(page - 1) * per_page: page * per_page]
        body = [shapes.user(self.site, u, edit=edit) for u in chunk]
        return self._paged(req, self._json_list(req, body), len(users), page, per_page, style="wp")

    @route("GET", r"/wp/v2/users/me")
    def get_me(self, req, m):
        if req.user is None:
            raise ApiError(401, "rest_not_logged_in", "You are not currently logged in.")
        edit = self._context(req, "Sorry, you are not allowed to edit this user.")
        return Response(200, shapes.user(self.site, self.site.users[req.user.user_id], edit=edit))

    @route("GET", r"/wp/v2/users/(?P<id>\d+)")
    def get_user(self, req, m):
        edit = self._context(req, "Sorry, you are not allowed to edit this user.")
        u = self.site.users.get(int(m["id"]))
        if u is None or (req.user is None and u.id not in self._authors()):
            raise ApiError(404, "rest_user_invalid_id", "Invalid user ID.")
        return Response(200, shapes.user(self.site, u, edit=edit))

    # -- WordPress posts (distribution records are written here) ---------------------------------

    def _post_statuses(self, req: Request) -> set[str]:
        values = req.list("status") or ["publish"]
        allowed = ("publish", "future", "draft", "pending", "private", "trash", "auto-draft", "inherit",
                   "request-pending", "request-confirmed", "request-failed", "request-completed", "any")
        for n, v in enumerate(values):
            if v not in allowed:
                req.problems["status"] = ("rest_not_in_enum", f"status[{n}] is not one of {', '.join(allowed)}.")
        req.check()
        if values != ["publish"] and req.user is None:
            raise ApiError(401, "rest_forbidden_status", "Status is forbidden.")
        if "any" in values:
            return {"publish", "future", "draft", "pending", "private"}
        return set(values)

    @route("GET", r"/wp/v2/posts")
    def get_posts(self, req, m):
        page, per_page = self._page(req)
        include = req.ints("include")
        authors = req.ints("author")
        after = req.date("after", self.site, False)
        before = req.date("before", self.site, False)
        mod_after = req.date("modified_after", self.site, False)
        orderby = req.enum("orderby", ("author", "date", "id", "include", "modified", "parent", "relevance",
                                       "slug", "include_slugs", "title"), "date")
        order = req.enum("order", ("asc", "desc"), "desc")
        edit = self._context(req, "Sorry, you are not allowed to edit posts in this post type.")
        statuses = self._post_statuses(req)
        posts = [p for p in self.site.posts.values() if p.type == "post" and p.status in statuses]
        slugs = req.list("slug")
        if slugs:
            posts = [p for p in posts if p.slug in slugs]
        if include:
            posts = [p for p in posts if p.id in include]
        if authors:
            posts = [p for p in posts if p.author in authors]
        if after is not None:
            posts = [p for p in posts if p.date > after]
        if before is not None:
            posts = [p for p in posts if p.date < before]
        if mod_after is not None:
            posts = [p for p in posts if p.modified > mod_after]
        if req.has("search"):
            s = str(req.args["search"]).lower()
            posts = [p for p in posts if s in p.title.lower() or s in p.content.lower()]
        keyf = {"id": lambda p: p.id, "modified": lambda p: (p.modified, p.id), "slug": lambda p: p.slug,
                "title": lambda p: p.title.lower(), "author": lambda p: (p.author, p.id)}.get(
            orderby, lambda p: (p.date, p.id))
        posts.sort(key=keyf, reverse=order == "desc")
        total = len(posts)
        pages = math.ceil(total / per_page)
        if page > pages and total > 0:
            raise ApiError(400, "rest_post_invalid_page_number",
                           "The page number requested is larger than the number of pages available.")
        chunk = posts[(page - 1) * per_page: page * per_page]
        body = [shapes.post(self.site, p, edit=edit) for p in chunk]
        return self._paged(req, self._json_list(req, body), total, page, per_page, style="wp")

    def _post(self, pid: int, req: Request) -> Post:
        p = self.site.posts.get(pid)
        if p is None or p.type != "post":
            raise ApiError(404, "rest_post_invalid_id", "Invalid post ID.")
        if p.status != "publish" and req.user is None:
            raise ApiError(401, "rest_forbidden", "Sorry, you are not allowed to do that.")
        return p

    @route("GET", r"/wp/v2/posts/(?P<id>\d+)")
    def get_post(self, req, m):
        edit = self._context(req, "Sorry, you are not allowed to edit this post.")
        p = self._post(int(m["id"]), req)
        return Response(200, self._fields(req, shapes.post(self.site, p, edit=edit)))

    @staticmethod
    def _text(value: Any) -> str:
        if isinstance(value, dict):
            value = value.get("raw", value.get("rendered", ""))
        return "" if value is None else str(value)

    @staticmethod
    def sanitize_slug(text: str) -> str:
        text = re.sub(r"<[^>]*>", "", text).lower()
        text = re.sub(r"[^a-z0-9_\-\s]", "", text)
        return re.sub(r"[\s\-]+", "-", text).strip("-")

    def _unique_slug(self, slug: str, status: str, pid: int) -> str:
        if not slug or status in ("draft", "pending", "auto-draft"):
            return slug
        taken = {p.slug for p in self.site.posts.values() if p.id != pid and p.type == "post"}
        if slug not in taken:
            return slug
        n = 2
        while f"{slug}-{n}" in taken:
            n += 1
        return f"{slug}-{n}"

    def _write_post(self, req: Request, p: Post | None) -> Post:
        data = req.json()
        if not isinstance(data, dict):
            raise ApiError(400, "rest_invalid_json", "Invalid JSON body passed.")
        status = data.get("status", p.status if p else "draft")
        if status not in POST_STATUSES:
            raise InvalidParams({"status": ("rest_not_in_enum", f"status is not one of {', '.join(POST_STATUSES)}.")})
        meta = data.get("meta", {})
        if meta is None:
            meta = {}
        if not isinstance(meta, dict):
            raise InvalidParams({"meta": ("rest_invalid_type", "meta is not of type object.")})
        now = self.site.now
        if p is None:
            p = Post(self.site.new_post_id(), int(data.get("author") or req.user.user_id), "", "", status, "",
                     now, now)
            if data.get("date_gmt"):
                ts = Request("GET", "", urlencode({"d": data["date_gmt"]}), {}, b"").date("d", self.site, True)
                if ts is not None:
                    p.date = ts
        if "title" in data:
            p.title = self._text(data["title"])
        if "content" in data:
            p.content = self._text(data["content"])
        if "excerpt" in data:
            p.excerpt = self._text(data["excerpt"])
        p.status = status
        slug = self.sanitize_slug(self._text(data["slug"])) if data.get("slug") else p.slug
        if not slug and status not in ("draft", "pending"):
            slug = self.sanitize_slug(p.title) or str(p.id)
        p.slug = self._unique_slug(slug, status, p.id)
        for key, value in meta.items():
            if key in self.site.registered_meta:  # unregistered keys are silently ignored, like WordPress
                p.meta[key] = value
        p.modified = now
        return p

    @route("POST", r"/wp/v2/posts")
    def create_post(self, req, m):
        self._require(req, "rest_cannot_create", "Sorry, you are not allowed to create posts as this user.")
        p = self.site.add_post(self._write_post(req, None))
        with self.stats.lock:
            self.stats.posts_created.append({"id": p.id, "slug": p.slug, "title": p.title, "status": p.status,
                                             "meta": dict(p.meta), "date_gmt": shapes.gmt(p.date)})
        return Response(201, shapes.post(self.site, p, edit=True),
                        {"Location": f"{self.site.url}/wp-json/wp/v2/posts/{p.id}"})

    @route("POST", r"/wp/v2/posts/(?P<id>\d+)")
    def update_post(self, req, m):
        self._require(req, "rest_cannot_edit", "Sorry, you are not allowed to edit this post.")
        p = self._post(int(m["id"]), req)
        self._write_post(req, p)
        self.site.version += 1
        return Response(200, shapes.post(self.site, p, edit=True))

    @route("DELETE", r"/wp/v2/posts/(?P<id>\d+)")
    def delete_post(self, req, m):
        self._require(req, "rest_cannot_delete", "Sorry, you are not allowed to delete this post.")
        p = self._post(int(m["id"]), req)
        previous = shapes.post(self.site, p, edit=True)
        if req.bool("force"):
            del self.site.posts[p.id]
            return Response(200, {"deleted": True, "previous": previous})
        p.status, p.slug, p.modified = "trash", f"{p.slug}__trashed", self.site.now
        return Response(200, shapes.post(self.site, p, edit=True))

    # -- LifterLMS ------------------------------------------------------------------------------

    def _llms_list(self, req: Request, items: list, render) -> Response:
        page, per_page = self._page(req)
        req.check()
        if req.args.get("order") == "desc":
            items = list(reversed(items))
        chunk = items[(page - 1) * per_page: page * per_page]
        return self._paged(req, self._json_list(req, [render(i) for i in chunk]), len(items), page, per_page,
                           style="llms")

    @route("GET", r"/llms/v1/courses")
    def llms_courses(self, req, m):
        include = req.ints("include")
        items = sorted(self.site.courses.values(), key=lambda c: c.id)
        if include:
            items = [c for c in items if c.id in include]
        return self._llms_list(req, items, lambda c: shapes.course(self.site, c))

    @route("GET", r"/llms/v1/courses/(?P<id>\d+)")
    def llms_course(self, req, m):
        c = self.site.courses.get(int(m["id"]))
        if c is None:
            raise ApiError(404, "llms_rest_not_found", "Course not found.")
        return Response(200, shapes.course(self.site, c))

    @route("GET", r"/llms/v1/courses/(?P<id>\d+)/enrollments")
    def llms_course_enrollments(self, req, m):
        self._require(req, "llms_rest_unauthorized_request", "The API credentials were invalid.")
        cid = int(m["id"])
        if cid not in self.site.courses:
            raise ApiError(404, "llms_rest_not_found", "Course not found.")
        items = [e for e in self.site.enrollments.values() if e.course == cid]
        return self._enrollments(req, items)

    def _enrollments(self, req: Request, items: list) -> Response:
        status = req.args.get("status")
        if status:
            items = [e for e in items if e.status == status]
        post = req.ints("post")
        if post:
            items = [e for e in items if e.course in post]
        orderby = req.enum("orderby", ("date_created", "date_updated", "id"), "date_created")
        key = {"date_updated": lambda e: (e.updated, e.student, e.course)}.get(
            orderby, lambda e: (e.created, e.student, e.course))
        items = sorted(items, key=key)
        if req.args.get("order", "asc") == "desc":
            items.reverse()
        page, per_page = self._page(req)
        req.check()
        chunk = items[(page - 1) * per_page: page * per_page]
        if not chunk:  # LifterLMS: "Specs require 404 when no course enrollments are found."
            raise ApiError(404, "llms_rest_not_found", "The requested resource could not be found.")
        return self._paged(req, [shapes.enrollment(self.site, e) for e in chunk], len(items), page, per_page,
                           style="llms")

    @route("GET", r"/llms/v1/lessons")
    def llms_lessons(self, req, m):
        items = sorted(self.site.lessons.values(), key=lambda lsn: lsn.id)
        parent = req.int("parent")
        if parent is not None:
            items = [lsn for lsn in items if lsn.section_id == parent or lsn.course_id == parent]
        return self._llms_list(req, items, lambda lsn: shapes.lesson(self.site, lsn))

    @route("GET", r"/llms/v1/lessons/(?P<id>\d+)")
    def llms_lesson(self, req, m):
        lsn = self.site.lessons.get(int(m["id"]))
        if lsn is None:
            raise ApiError(404, "llms_rest_not_found", "Lesson not found.")
        return Response(200, shapes.lesson(self.site, lsn))

    @route("GET", r"/llms/v1/sections/(?P<id>\d+)")
    def llms_section(self, req, m):
        s = self.site.sections.get(int(m["id"]))
        if s is None:
            raise ApiError(404, "llms_rest_not_found", "Section not found.")
        return Response(200, shapes.section(self.site, s))

    @route("GET", r"/llms/v1/students")
    def llms_students(self, req, m):
        """Every user unless `roles` is given: LifterLMS filters the list by role only then
        (LLMS_REST_Users_Controller::get_objects_query), so enrolled customers and admins are in it."""
        self._require(req, "llms_rest_unauthorized_request", "The API credentials were invalid.")
        roles = set(req.list("roles") or ())
        items = sorted((u for u in self.site.users.values() if not roles or roles & set(u.roles)),
                       key=lambda u: u.id)
        enrolled_in = req.ints("enrolled_in")
        if enrolled_in:
            items = [u for u in items if any((u.id, c) in self.site.enrollments for c in enrolled_in)]
        include = req.ints("include")
        if include:
            items = [u for u in items if u.id in include]
        return self._llms_list(req, items, lambda u: shapes.student(self.site, u))

    def _student(self, sid: int):
        """Any user: `llms_get_student()` does not look at roles."""
        u = self.site.users.get(sid)
        if u is None:
            raise ApiError(404, "llms_rest_not_found", "Student not found.")
        return u

    @route("GET", r"/llms/v1/students/(?P<id>\d+)")
    def llms_student(self, req, m):
        self._require(req, "llms_rest_unauthorized_request", "The API credentials were invalid.")
        return Response(200, shapes.student(self.site, self._student(int(m["id"]))))

    @route("GET", r"/llms/v1/students/(?P<id>\d+)/enrollments")
    def llms_student_enrollments(self, req, m):
        self._require(req, "llms_rest_unauthorized_request", "The API credentials were invalid.")
        sid = self._student(int(m["id"])).id
        return self._enrollments(req, [e for e in self.site.enrollments.values() if e.student == sid])

    @route("GET", r"/llms/v1/students/(?P<id>\d+)/enrollments/(?P<post>\d+)")
    def llms_student_enrollment(self, req, m):
        self._require(req, "llms_rest_unauthorized_request", "The API credentials were invalid.")
        e = self.site.enrollments.get((int(m["id"]), int(m["post"])))
        if e is None:
            raise ApiError(404, "llms_rest_not_found", "Enrollment not found.")
        return Response(200, shapes.enrollment(self.site, e))

    @route("GET", r"/llms/v1/students/(?P<id>\d+)/progress/(?P<post>\d+)")
    def llms_progress(self, req, m):
        self._require(req, "llms_rest_unauthorized_request", "The API credentials were invalid.")
        sid = self._student(int(m["id"])).id
        body = shapes.progress(self.site, sid, int(m["post"]))
        if body is None:
            raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): post_id",
                           params={"post_id": "Invalid parameter."}, details=[])
        return Response(200, body)

    # -- LearnDash (minimal) --------------------------------------------------------------------

    @route("GET", r"/ldlms/v2/sfwd-courses")
    def ld_courses(self, req, m):
        items = sorted(self.site.courses.values(), key=lambda c: c.id)
        page, per_page = self._page(req)
        req.check()
        chunk = items[(page - 1) * per_page: page * per_page]
        return self._paged(req, [shapes.ld_course(self.site, c) for c in chunk], len(items), page, per_page, "wp")

    @route("GET", r"/ldlms/v2/sfwd-courses/(?P<id>\d+)")
    def ld_course(self, req, m):
        c = self.site.courses.get(int(m["id"]))
        if c is None:
            raise ApiError(404, "rest_post_invalid_id", "Invalid post ID.")
        return Response(200, shapes.ld_course(self.site, c))

    @route("GET", r"/ldlms/v2/sfwd-courses/(?P<id>\d+)/users")
    def ld_course_users(self, req, m):
        self._require(req, "rest_forbidden", "Sorry, you are not allowed to do that.")
        cid = int(m["id"])
        ids = sorted({e.student for e in self.site.enrollments.values() if e.course == cid and e.status == "enrolled"})
        page, per_page = self._page(req)
        req.check()
        chunk = ids[(page - 1) * per_page: page * per_page]
        body = [shapes.user(self.site, self.site.users[i], edit=False) for i in chunk]
        return self._paged(req, body, len(ids), page, per_page, "wp")

    def _ld_enrolled(self, uid: int) -> list[int]:
        return sorted(c for (s, c), e in self.site.enrollments.items() if s == uid and e.status == "enrolled")

    @route("GET", r"/ldlms/v2/users/(?P<id>\d+)/course-progress")
    def ld_progress(self, req, m):
        self._require(req, "rest_forbidden", "Sorry, you are not allowed to do that.")
        uid = int(m["id"])
        if uid not in self.site.users:
            raise ApiError(404, "rest_user_invalid_id", "Invalid user ID.")
        courses = self._ld_enrolled(uid)
        page, per_page = self._page(req)
        req.check()
        chunk = courses[(page - 1) * per_page: page * per_page]
        body = [shapes.ld_course_progress(self.site, uid, c) for c in chunk]
        return self._paged(req, body, len(courses), page, per_page, "wp")

    @route("GET", r"/ldlms/v2/users/(?P<id>\d+)/course-progress/(?P<course>\d+)")
    def ld_progress_one(self, req, m):
        self._require(req, "rest_forbidden", "Sorry, you are not allowed to do that.")
        uid, cid = int(m["id"]), int(m["course"])
        if cid not in self._ld_enrolled(uid):
            raise ApiError(404, "rest_post_invalid_id", "Invalid course ID.")
        return Response(200, shapes.ld_course_progress(self.site, uid, cid))

    @route("GET", r"/ldlms/v2/users/(?P<id>\d+)/course-progress/(?P<course>\d+)/steps")
    def ld_steps(self, req, m):
        self._require(req, "rest_forbidden", "Sorry, you are not allowed to do that.")
        uid, cid = int(m["id"]), int(m["course"])
        if cid not in self._ld_enrolled(uid):
            raise ApiError(404, "rest_post_invalid_id", "Invalid course ID.")
        steps = shapes.ld_steps(self.site, uid, cid)
        return self._paged(req, steps, len(steps), 1, max(len(steps), 1), "wp")

    # -- Siren ----------------------------------------------------------------------------------

    @route("GET", r"/siren/v1/engagements")
    def siren_engagements(self, req, m):
        self._require(req, "rest_forbidden", "Sorry, you are not allowed to do that.")
        failed: dict[str, list[str]] = {}
        def num(name, default):
            raw = req.args.get(name)
            if raw in (None, ""):
                return default
            try:
                value = int(str(raw))
                if value < 0:
                    raise ValueError
                return value
            except ValueError:
                failed[name] = [f"{name} must be a non-negative integer"]
                return default
        number = min(num("number", 10), 50)  # Siren caps silently at 50
        offset = num("offset", 0)
        order_by = req.args.get("orderBy", "id")
        if order_by not in ("id", "dateCreated", "dateModified", "score", "collaboratorId"):
            failed["orderBy"] = ["orderBy must be one of id, dateCreated, dateModified, score, collaboratorId"]
        order = str(req.args.get("order", "DESC")).upper()
        if order not in ("ASC", "DESC"):
            failed["order"] = ["order must be ASC or DESC"]
        if failed:
            raise SirenError(400, "invalid", "Validation failed.", failedValidations=failed)
        items = list(self.site.engagements.values())
        for name, attr in (("status", "status"), ("collaboratorId", "collaborator_id"),
                           ("programId", "program_id"), ("opportunityId", "opportunity_id")):
            if req.has(name):
                wanted = {v for v in str(req.args[name]).split(",")}
                items = [e for e in items if str(getattr(e, attr)) in wanted]
        attr = {"id": "id", "dateCreated": "created", "dateModified": "modified", "score": "score",
                "collaboratorId": "collaborator_id"}[order_by]
        items.sort(key=lambda e: (getattr(e, attr), e.id), reverse=order == "DESC")
        chunk = items[offset:offset + number]
        fields = req.list("fields")
        body = [shapes.engagement(e) for e in chunk]
        if fields:
            body = [{k: v for k, v in b.items() if k in fields} for b in body]
        return Response(200, body, {"x-siren-estimated-count": str(len(items))})

    @route("GET", r"/siren/v1/engagements/(?P<id>\d+)")
    def siren_engagement(self, req, m):
        self._require(req, "rest_forbidden", "Sorry, you are not allowed to do that.")
        e = self.site.engagements.get(int(m["id"]))
        if e is None:
            raise SirenError(404, "not_found", "Engagement not found.")
        return Response(200, shapes.engagement(e))

    @route("GET", r"/siren/v1/collaborators")
    def siren_collaborators(self, req, m):
        self._require(req, "rest_forbidden", "Sorry, you are not allowed to do that.")
        body = [{"id": c.id, "userId": c.user_id, "status": c.status, "trackingId": c.tracking_id}
                for c in sorted(self.site.siren_collaborators.values(), key=lambda c: c.id)]
        return Response(200, body, {"x-siren-estimated-count": str(len(body))})

    # -- sandbox control (no auth, never faulted) -----------------------------------------------

    def _clock_body(self) -> dict:
        return {"now": from_ts(self.site.now).isoformat(), "timestamp": self.site.now,
                "played": self.site.played, "pending": len(self.site.timeline) - self.site.played,
                "orders": len(self.site.orders)}

    @route("GET", r"/sandbox/v1/clock")
    def get_clock(self, req, m):
        return Response(200, self._clock_body())

    @route("POST", r"/sandbox/v1/clock")
    def set_clock(self, req, m):
        data = req.json() or {}
        try:
            if "advance" in data:
                self.site.advance(int(float(data["advance"])))
            elif "now" in data:
                value = datetime.fromisoformat(str(data["now"]).replace("Z", "+00:00"))
                self.site.set_now(value)
            else:
                raise ValueError("give {\"advance\": seconds} or {\"now\": iso}")
        except (TypeError, ValueError) as exc:
            raise ApiError(400, "sandbox_invalid_clock", str(exc)) from None
        return Response(200, self._clock_body())

    @route("GET", r"/sandbox/v1/faults")
    def get_faults(self, req, m):
        return Response(200, self.faults.as_dict())

    @route("POST", r"/sandbox/v1/faults")
    def set_faults(self, req, m):
        data = req.json() or {}
        try:
            if data.get("reset"):
                self.faults.reset()
                data = {k: v for k, v in data.items() if k != "reset"}
            self.faults.update(data)
        except (TypeError, ValueError) as exc:
            raise ApiError(400, "sandbox_invalid_faults", str(exc)) from None
        return Response(200, self.faults.as_dict())

    @route("GET", r"/sandbox/v1/stats")
    def get_stats(self, req, m):
        return Response(200, self.stats.as_dict())

    @route("POST", r"/sandbox/v1/stats")
    def reset_stats(self, req, m):
        with self.stats.lock:
            self.stats.reset()
        return Response(200, self.stats.as_dict())

    @route("POST", r"/sandbox/v1/orders/(?P<id>\d+)")
    def change_order(self, req, m):
        data = req.json() or {}
        oid = int(m["id"])
        if oid not in self.site.orders:
            raise ApiError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        try:
            if "status" in data:
                self.site.set_order_status(oid, str(data["status"]))
            if "refund" in data:
                amount = data["refund"]
                cents = None if amount in (None, "full") else int(round(float(amount) * 100))
                self.site.refund_order(oid, cents, str(data.get("reason", "")))
            if data.get("touch"):
                self.site.touch_order(oid)
        except ValueError as exc:
            raise ApiError(400, "sandbox_invalid_change", str(exc)) from None
        return Response(200, shapes.order(self.site, self.site.orders[oid]))


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
        req = Request(self.command, raw_path, query, self.headers, body)
        try:
            resp, label = api.handle(req)
        except AuthError as exc:
            resp, label = ApiError(exc.status, exc.code, exc.message).response(), "auth"
        except Exception as exc:  # noqa: BLE001 - a sandbox bug must still answer
            resp = Response(500, {"code": "internal_server_error", "message": f"sandbox error: {exc!r}",
                                  "data": {"status": 500}})
            label = "error"
        self.send_response(resp.status)
        self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(len(resp.body)))
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(resp.body)
        api.stats.count(label, resp.status, len(resp.body))

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
        return f"http://{host}:{port}"
