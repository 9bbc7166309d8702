"""The WordPress side of the site: its timezone, collaborators read from users, bound post URLs.

Also the small helpers the WordPress-authenticated sources share (LifterLMS, LearnDash, Siren):
reading JSON through an `Upstream` (`sources.http`), walking `X-WP-TotalPages` pages, the HTTP status
of a failed request, and site-local times.

- `site_timezone(upstream)`: `GET /wp-json/` -> `timezone_string`, else `gmt_offset` as a fixed offset
  name (`"+05:30"`; `"UTC"` for 0). `siren_sync.app.zone(name)` turns that (or an IANA name) into a tzinfo.
- `fetch_collaborators(upstream, role, coupon_meta_key, product_meta_key, wc_upstream=None)`: the users
  with `role` (`wp/v2/users?roles=<role>&context=edit`), as `Collaborator(id=<user slug>, name, email,
  wp_user_id)`, with the coupons and products whose `meta_data[<key>]` names the user (by user id,
  login, slug or email; WooCommerce products have no author in `wc/v3`).
- `fetch_bound_posts(upstream, author_ids, post_ids=())` / `fetch_post_paths(...)`: the URL paths of
  the posts those users wrote (plus extra bound post ids), for the access log.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any
from urllib.parse import urlsplit

from siren_sync.errors import SyncError
from siren_sync.model import Collaborator

log = logging.getLogger(__name__)

PER_PAGE = 100


# -- transport helpers (thin layer over sources.http.Upstream) ----------------------------------------
def get_json(upstream, path: str, params: Mapping[str, Any] | None = None) -> tuple[Any, Mapping[str, str]]:
    """One GET through the upstream's pooled, retrying session (`sources.http.Upstream`):
    `(data, headers)`. Failures raise `errors.SyncError` (`.status`, `.code`)."""
    data, response = upstream.request("GET", path, dict(params) if params else None)
    return data, response.headers


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        low = name.lower()
        for k, v in headers.items():
            if k.lower() == low:
                return v
    return value


def pages(upstream, path: str, params: Mapping[str, Any] | None = None,
          per_page: int = PER_PAGE) -> Iterator[tuple[list, int, int | None]]:
    """Yield `(items, page number, total pages)` of a WordPress collection (`X-WP-TotalPages`, page
    numbers, `per_page` <= 100), through `Upstream.pages`."""
    for page in upstream.pages(path, params, per_page):
        yield page.items, page.number, page.total_pages


def all_items(upstream, path: str, params: Mapping[str, Any] | None = None) -> list:
    return [item for items, _, _ in pages(upstream, path, params) for item in items]


def http_status(exc: BaseException) -> int | None:
    """The HTTP status behind a failed request, whatever exception carries it (None if unknown)."""
    for attr in ("status", "status_code", "http_status"):
        value = getattr(exc, attr, None)
        if isinstance(value, int):
            return value
    response = getattr(exc, "response", None)
    value = getattr(response, "status_code", None)
    if isinstance(value, int):
        return value
    cause = exc.__cause__ or exc.__context__
    return http_status(cause) if cause is not None and cause is not exc else None


def error_code(exc: BaseException) -> str | None:
    """The WordPress error `code` (e.g. `rest_invalid_param`) of a failed request, if known."""
    for attr in ("code", "error_code"):
        value = getattr(exc, attr, None)
        if isinstance(value, str):
            return value
    body = getattr(exc, "body", None) or getattr(exc, "data", None)
    if isinstance(body, Mapping) and isinstance(body.get("code"), str):
        return body["code"]
    response = getattr(exc, "response", None)
    if response is not None:
        try:
            payload = response.json()
        except Exception:  # noqa: BLE001
            return None
        if isinstance(payload, Mapping) and isinstance(payload.get("code"), str):
            return payload["code"]
    return None


def bad_shape(upstream, path: str, expected: str) -> SyncError:
    base = getattr(upstream, "base_url", "")
    return SyncError(f"{base.rstrip('/')}/{path.lstrip('/')}: expected {expected}")


# -- time --------------------------------------------------------------------------------------------
def offset_name(hours: float) -> str:
    """WordPress `gmt_offset` (hours, may be fractional: 5.5, -3.5, 5.75) -> `+05:30`; 0 -> `UTC`."""
    minutes = round(float(hours) * 60)
    if minutes == 0:
        return "UTC"
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def site_timezone(upstream) -> str:
    """The site's timezone from `GET /wp-json/`: `timezone_string`, else `gmt_offset` as `+HH:MM`."""
    data, _ = get_json(upstream, "", None)
    if not isinstance(data, Mapping):
        raise bad_shape(upstream, "", "the REST index object")
    name = (data.get("timezone_string") or "").strip()
    if name:
        return name
    return offset_name(data.get("gmt_offset") or 0)


def parse_site_time(text: str, tz: tzinfo) -> datetime:
    """A WordPress/LMS date (`2026-10-14 05:56:04` or `2026-10-29T22:58:02`, offset optional): a naive
    value is site-local time in `tz`; the result is aware. A bare number is a Unix timestamp."""
    if isinstance(text, (int, float)) or str(text).strip().isdigit():
        seconds = int(str(text).strip())
        if seconds <= 0:
            raise ValueError(f"no time in {text!r}")
        return datetime.fromtimestamp(seconds, UTC)
    value = datetime.fromisoformat(str(text).strip().replace(" ", "T", 1).replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


# -- collaborators from the site ---------------------------------------------------------------------
def _meta(item: Mapping[str, Any], key: str) -> list[str]:
    return [str(m.get("value")).strip() for m in item.get("meta_data") or ()
            if isinstance(m, Mapping) and m.get("key") == key and m.get("value") not in (None, "")]


def fetch_collaborators(upstream, role: str = "siren_collaborator", coupon_meta_key: str = "siren_collaborator",
                        product_meta_key: str = "siren_collaborator", wc_upstream=None) -> list[Collaborator]:
    """Collaborators read from the site: users with `role`, their coupons and products by meta key.

    `id` is the user's slug (stable and readable); coupon and product meta values may name the user by
    id, login, slug or email (case-insensitive). `wc_upstream` reads `wc/v3` (default: `upstream`).
    """
    users = all_items(upstream, "wp/v2/users", {"roles": role, "context": "edit", "orderby": "id",
                                                "order": "asc"})
    if not users:  # WordPress filters on any role name, known or not: a typo reads nobody, silently
        log.warning("collaborators_from_site: no WordPress user has the role %r, so no collaborator is read "
                    "from the site (check sync.collaborators_from_site.role)", role)
    who: dict[str, int] = {}
    for u in users:
        for name in (u.get("id"), u.get("username"), u.get("slug"), u.get("email")):
            if name not in (None, ""):
                who[str(name).lower()] = int(u["id"])
    coupons: dict[int, list[str]] = {}
    products: dict[int, list[int]] = {}
    wc = wc_upstream or upstream
    if users and coupon_meta_key:
        for c in all_items(wc, "wc/v3/coupons", {"orderby": "id", "order": "asc"}):
            for value in _meta(c, coupon_meta_key):
                if value.lower() in who:
                    coupons.setdefault(who[value.lower()], []).append(str(c["code"]).lower())
    if users and product_meta_key:
        for p in all_items(wc, "wc/v3/products", {"orderby": "id", "order": "asc"}):
            for value in _meta(p, product_meta_key):
                if value.lower() in who:
                    products.setdefault(who[value.lower()], []).append(int(p["id"]))
    result = []
    for u in users:
        uid = int(u["id"])
        result.append(Collaborator(
            id=str(u.get("slug") or u.get("username") or f"wp-{uid}"),
            name=str(u.get("name") or u.get("username") or ""),
            email=str(u.get("email") or ""), status="active", wp_user_id=uid,
            coupons=tuple(sorted(set(coupons.get(uid, ())))),
            products=tuple(sorted(set(products.get(uid, ()))))))
    return result


# -- bound posts -------------------------------------------------------------------------------------
@dataclass
class BoundPosts:
    paths: dict[str, int] = field(default_factory=dict)  # URL path (with `?p=` for plain links) -> post id
    authors: dict[int, int] = field(default_factory=dict)  # post id -> author's WordPress user id


def url_path(link: str) -> str:
    """A post's `link` as the path a request line shows: `/2026/11/my-post/`, or `/?p=12`."""
    parts = urlsplit(link)
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


def fetch_bound_posts(upstream, author_ids: Iterable[int], post_ids: Iterable[int] = ()) -> BoundPosts:
    """Published posts by these authors, plus these extra post ids: their URL paths and authors."""
    bound = BoundPosts()
    fields = "id,link,author"
    authors = sorted({int(a) for a in author_ids})
    extra = sorted({int(p) for p in post_ids})
    batches: list[dict[str, Any]] = []
    if authors:
        batches.append({"author": ",".join(map(str, authors))})
    for i in range(0, len(extra), PER_PAGE):
        batches.append({"include": ",".join(map(str, extra[i:i + PER_PAGE]))})
    for params in batches:
        for post in all_items(upstream, "wp/v2/posts", {**params, "_fields": fields, "orderby": "id",
                                                         "order": "asc"}):
            if not post.get("link"):
                continue
            pid = int(post["id"])
            bound.paths[url_path(post["link"])] = pid
            if post.get("author") is not None:
                bound.authors[pid] = int(post["author"])
    return bound


def fetch_post_paths(upstream, author_ids: Iterable[int], post_ids: Iterable[int] = ()) -> dict[str, int]:
    """URL path -> post id for the bound posts (see `fetch_bound_posts`)."""
    return fetch_bound_posts(upstream, author_ids, post_ids).paths


def check_site(upstream, namespaces: Iterable[str] = ()) -> list[tuple[str, bool, str]]:
    """Rows for `check`: the REST index is reachable, the credentials work, the namespaces exist."""
    rows: list[tuple[str, bool, str]] = []
    try:
        index, _ = get_json(upstream, "", None)
    except Exception as exc:  # noqa: BLE001 - check reports, never raises
        return [("site: REST index", False, str(exc))]
    have = set(index.get("namespaces") or ()) if isinstance(index, Mapping) else set()
    rows.append(("site: REST index", True, f"{index.get('name', '?')} (timezone "
                 f"{index.get('timezone_string') or offset_name(index.get('gmt_offset') or 0)})"))
    try:
        me, _ = get_json(upstream, "wp/v2/users/me", {"context": "edit"})
        rows.append(("site: WordPress credentials", True, f"authenticated as {me.get('slug') or me.get('id')}"))
    except Exception as exc:  # noqa: BLE001
        rows.append(("site: WordPress credentials", False, str(exc)))
    for ns in namespaces:
        rows.append((f"site: {ns}", ns in have, "route namespace present" if ns in have else "not installed"))
    return rows
