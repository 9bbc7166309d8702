"""The sandbox's REST plumbing: requests, responses, errors, paging, and the route table's shape.

Every route is a function `(env, request, match) -> Response` registered in its namespace's
`Routes` table (`sandbox/routes/`); `env` is what it may read and write (the site, the fault
switches, the request statistics). Parameters are read like WordPress does: validation problems are
gathered and raised together (`400 rest_invalid_param`); errors use WordPress's JSON shape `{code,
message, data: {status}}` (Siren's own are `{message}`). Collections carry `X-WP-Total`,
`X-WP-TotalPages` and a `Link` header.
"""
from __future__ import annotations

import builtins
import json
import math
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar

from siren_sync.sandbox import shapes
from siren_sync.sandbox.auth import Principal, php_query
from siren_sync.sandbox.faults import Faults
from siren_sync.sandbox.site import Site, to_ts

JSON_TYPE = "application/json; charset=UTF-8"
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|z|[+-]\d{2}(:?\d{2})?)?$")
NO_ROUTE = "No route was found matching the URL and request method."
T = TypeVar("T")


# -- responses and errors --------------------------------------------------------------------------

class Response:
    __slots__ = ("status", "body", "headers", "content_type")

    def __init__(self, status: int, body: Any = None, headers: dict[str, str] | None = None,
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
    """A WordPress REST error: `{code, message, data: {status, ...}}`."""

    def __init__(self, status: int, code: str, message: str, **data: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.data = status, code, message, data

    def response(self) -> Response:
        return Response(self.status, {"code": self.code, "message": self.message,
                                      "data": {"status": self.status, **self.data}})


class SirenError(ApiError):
    """Siren's own error shape: `{message, context}`."""

    def response(self) -> Response:
        body: dict[str, Any] = {"message": self.message}
        if self.data:
            body["context"] = self.data
        return Response(self.status, body)


class InvalidParams(ApiError):
    def __init__(self, problems: dict[str, tuple[str, str]]):
        names = ", ".join(problems)
        super().__init__(400, "rest_invalid_param", f"Invalid parameter(s): {names}",
                         params={k: m for k, (_c, m) in problems.items()},
                         details={k: {"code": c, "message": m, "data": None} for k, (c, m) in problems.items()})


# -- requests ----------------------------------------------------------------------------------------

class Headers(Protocol):
    """Request headers: case-insensitive `get`, as `http.server` and `requests` both give them."""

    def get(self, name: str, default: None = None) -> str | None: ...


class Request:
    """One request to the REST API: its path as sent, its query as PHP reads it, who sent it."""

    def __init__(self, method: str, raw_path: str, query: str, headers: Headers, body: bytes):
        self.method = method
        self.raw_path = raw_path  # as sent, e.g. /wp-json/wc/v3/orders
        self.query = query
        self.args = php_query(query)
        self.headers = headers
        self.body = body
        self.user: Principal | None = None
        self.problems: dict[str, tuple[str, str]] = {}

    @property
    def route_path(self) -> str | None:
        """The path under the REST root (`/wc/v3/orders`, `/` for the index), None outside it."""
        path = self.raw_path
        if self.method == "GET" and path in ("/wp-json", "/wp-json/"):
            return "/"
        if path.startswith("/wp-json/"):
            return "/" + path[len("/wp-json/"):].strip("/")
        return None

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
            return [str(v) for v in raw.values()]
        return [v for v in re.split(r"[,\s]+", str(raw)) if v]

    def ints(self, name: str) -> builtins.list[builtins.int] | None:
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

    def date(self, name: str, site: Site, gmt: builtins.bool) -> builtins.int | None:
        """A date filter as epoch seconds: naive values are UTC with `gmt`, else site-local."""
        raw = self.args.get(name)
        if raw is None or raw == "":
            return None
        try:
            return parse_date(str(raw), site, gmt)
        except ValueError:
            self.problems[name] = ("rest_invalid_date", "Invalid date.")
            return None

    def check(self) -> None:
        if self.problems:
            raise InvalidParams(self.problems)


def parse_date(text: str, site: Site, gmt: bool) -> int:
    """A WordPress REST date (RFC 3339, the offset optional) as epoch seconds; ValueError if invalid."""
    m = _DATE_RE.match(text.strip())
    if not m:
        raise ValueError(text)
    y, mo, d, h, mi, s = (int(m.group(i)) for i in range(1, 7))
    naive = datetime(y, mo, d, h, mi, s)
    off = m.group(8)
    if off in ("Z", "z"):
        return to_ts(naive.replace(tzinfo=UTC))
    if off:
        sign = -1 if off[0] == "-" else 1
        digits = off[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        return to_ts((naive - sign * delta).replace(tzinfo=UTC))
    if gmt:
        return to_ts(naive.replace(tzinfo=UTC))
    return int(naive.replace(tzinfo=site.tz).timestamp())


# -- what a route sees --------------------------------------------------------------------------------

class Stats:
    """Requests counted per route and status, bytes sent, what faults and writes did. With `keep`,
    also every request as it came: (method, path under the REST root, query arguments, URL)."""

    def __init__(self, keep: bool = False) -> None:
        self.lock = threading.Lock()
        self.keep = keep
        self.reset()

    def reset(self) -> None:
        self.requests: dict[str, int] = {}
        self.statuses: dict[str, int] = {}
        self.bytes_sent = 0
        self.faults_injected = 0
        self.posts_created: list[dict[str, Any]] = []
        self.orders_modified: list[int] = []
        self.calls: list[tuple[str, str, dict[str, Any], str]] = []

    def record(self, req: Request, site_url: str) -> None:
        """Keep the request (with `keep`): tests read what was asked, in order."""
        if self.keep:
            url = site_url + req.raw_path + (f"?{req.query}" if req.query else "")
            with self.lock:
                self.calls.append((req.method, req.raw_path[len("/wp-json/"):].strip("/"), dict(req.args), url))

    def count(self, route: str, status: int, nbytes: int) -> None:
        with self.lock:
            self.requests[route] = self.requests.get(route, 0) + 1
            self.statuses[str(status)] = self.statuses.get(str(status), 0) + 1
            self.bytes_sent += nbytes

    def as_dict(self) -> dict[str, Any]:
        with self.lock:
            return {"requests": dict(self.requests), "statuses": dict(self.statuses),
                    "bytes_sent": self.bytes_sent, "faults_injected": self.faults_injected,
                    "posts_created": list(self.posts_created), "orders_modified": list(self.orders_modified)}


@dataclass
class Env:
    """What a route may use: the site (read and written under its lock), faults, stats, the route table."""

    site: Site
    faults: Faults
    stats: Stats
    routes: Sequence[Route]


Handler = Callable[[Env, Request, "re.Match[str]"], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    label: str  # the pattern as written: the statistics' and the index's name of the route
    available: Callable[[Site], bool] | None = None  # None: always; else whether this site has the route

    def serves(self, site: Site) -> bool:
        return self.available is None or self.available(site)


class Routes:
    """A namespace's route table, filled by the `route` decorator in the order routes are written."""

    def __init__(self) -> None:
        self.table: list[Route] = []

    def route(self, method: str, pattern: str,
              available: Callable[[Site], bool] | None = None) -> Callable[[Handler], Handler]:
        def register(fn: Handler) -> Handler:
            self.table.append(Route(method, re.compile("^" + pattern + "$"), fn, pattern, available))
            return fn
        return register

    def __iter__(self) -> Iterator[Route]:
        return iter(self.table)


# -- helpers routes share ------------------------------------------------------------------------------

def require(req: Request, code: str, message: str) -> None:
    """401 unless the request is authenticated."""
    if req.user is None:
        raise ApiError(401, code, message)


def page_args(req: Request, default_per_page: int = 10) -> tuple[int, int]:
    """`page` and `per_page` (1 to 100), problems gathered."""
    page = req.int("page", 1, minimum=1)
    per_page = req.int("per_page", default_per_page, 1, 100)
    return page or 1, per_page or default_per_page


def one(items: Mapping[int, T], m: re.Match[str], error: ApiError) -> T:
    """The record the route's `<id>` names, or `error` (a 404 in the namespace's words)."""
    item = items.get(int(m["id"]))
    if item is None:
        raise error
    return item


def page_of(items: Sequence[T], page: int, per_page: int) -> Sequence[T]:
    return items[(page - 1) * per_page: page * per_page]


def listing(site: Site, req: Request, items: Sequence[T], render: Callable[[T], dict[str, Any]], page: int,
            per_page: int, style: str = "wc") -> Response:
    """One page of `items`, each rendered and cut to `_fields`, with the collection's headers."""
    body = json_list(req, [render(i) for i in page_of(items, page, per_page)])
    return paged(site, req, body, len(items), page, per_page, style)


def _link_base(site: Site, req: Request) -> str:
    """The request's URL for `Link` headers: without `page` and OAuth parameters, each other once."""
    pairs: list[str | None] = []
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
    return f"{site.url}{req.raw_path}" + (f"?{query}" if query else "")


def paged(site: Site, req: Request, body: Any, total: int, page: int, per_page: int,
          style: str = "wc") -> Response:
    """One page of a collection with `X-WP-Total`, `X-WP-TotalPages` and `Link` (LifterLMS adds first
    and last)."""
    pages = math.ceil(total / per_page) if per_page else 0
    base = _link_base(site, req)
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


def fields(req: Request, item: dict[str, Any]) -> dict[str, Any]:
    """`item` cut to `_fields` (dotted names reach into objects), or whole without it."""
    names = req.list("_fields")
    if not names:
        return item
    out: dict[str, Any] = {}
    for name in names:
        parts = name.split(".")
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


def json_list(req: Request, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    if req.has("_fields"):
        return [fields(req, i) for i in items]
    return items
