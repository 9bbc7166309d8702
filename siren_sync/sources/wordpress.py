"""The WordPress side of the site: its timezone, collaborators read from users, bound post URLs.

Also the small helpers the WordPress-authenticated sources share (LifterLMS, LearnDash, Siren):
reading JSON through an `Upstream` (`sources.http`), walking `X-WP-TotalPages` pages, reading a
header whatever its case, and site-local times (`parse_site_time`: WordPress's rule for a time
without an offset, on top of `values.parse_time`).

- `site_timezone(upstream)`: `GET /wp-json/` -> `timezone_string`, else `gmt_offset` as a fixed offset
  name (`"+05:30"`; `"UTC"` for 0). `siren_sync.app.zone(name)` turns that (or an IANA name) into a tzinfo.
- `fetch_collaborators(upstream, role, coupon_meta_key, product_meta_key, wc_upstream=None)`: the users
  with `role` (`wp/v2/users?roles=<role>&context=edit`), as `Collaborator(id=<user slug>, name, email,
  wp_user_id)`, with the coupons and products whose `meta_data[<key>]` names the user (by user id,
  login, slug or email; WooCommerce products have no author in `wc/v3`).
- `fetch_bound_posts(upstream, author_ids, post_ids=())`: the URL paths of the posts those users
  wrote (plus extra bound post ids) and their authors, for the access log.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, TypeVar
from urllib.parse import urlsplit

from siren_sync.errors import SyncError
from siren_sync.model import Collaborator
from siren_sync.sources.http import Upstream
from siren_sync.values import coupon_code, nfc, parse_time

log = logging.getLogger(__name__)

PER_PAGE = 100
T = TypeVar("T")


# -- transport helpers (thin layer over sources.http.Upstream) ----------------------------------------
def get_json(upstream: Upstream, path: str,
             params: Mapping[str, Any] | None = None) -> tuple[Any, Mapping[str, str]]:
    """One GET through the upstream's pooled, retrying session (`sources.http.Upstream`):
    `(data, headers)`. Failures raise `errors.SyncError` (`.status`, `.code`)."""
    data, response = upstream.request("GET", path, dict(params) if params else None)
    return data, response.headers


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A response header whatever the case of its name (None when absent)."""
    value = headers.get(name)
    if value is None:
        low = name.lower()
        for k, v in headers.items():
            if k.lower() == low:
                return v
    return value


def pages(upstream: Upstream, path: str, params: Mapping[str, Any] | None = None,
          per_page: int = PER_PAGE) -> Iterator[tuple[list[Any], int, int | None]]:
    """Yield `(items, page number, total pages)` of a WordPress collection (`X-WP-TotalPages`, page
    numbers, `per_page` <= 100), through `Upstream.pages`."""
    for page in upstream.pages(path, params, per_page):
        yield page.items, page.number, page.total_pages


def all_items(upstream: Upstream, path: str, params: Mapping[str, Any] | None = None) -> list[Any]:
    """Every item of a WordPress collection, all pages read."""
    return [item for items, _, _ in pages(upstream, path, params) for item in items]


def bad_shape(upstream: Upstream, path: str, expected: str) -> SyncError:
    """The error of an answer that is JSON but not the shape the route promises."""
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


def site_timezone(upstream: Upstream) -> str:
    """The site's timezone from `GET /wp-json/`: `timezone_string`, else `gmt_offset` as `+HH:MM`."""
    data, _ = get_json(upstream, "", None)
    if not isinstance(data, Mapping):
        raise bad_shape(upstream, "", "the REST index object")
    name = str(data.get("timezone_string") or "").strip()
    if name:
        return name
    return offset_name(data.get("gmt_offset") or 0)


def parse_site_time(value: Any, tz: tzinfo) -> datetime:
    """A WordPress/LMS date (`2026-10-14 05:56:04` or `2026-10-29T22:58:02`, offset optional) as an
    aware datetime: WordPress writes its non-`_gmt` dates in site-local time, so a naive value is read
    in `tz`. A bare number is a Unix timestamp (some LMS fields are). Raises `ValueError`."""
    text = str(value).strip()
    if isinstance(value, (int, float)) or text.isdigit():
        seconds = int(text)
        if seconds <= 0:
            raise ValueError(f"no time in {value!r}")
        return datetime.fromtimestamp(seconds, UTC)
    return parse_time(text, naive=tz)


# -- collaborators from the site ---------------------------------------------------------------------
def _meta(item: Mapping[str, Any], key: str) -> list[str]:
    return [str(m.get("value")).strip() for m in item.get("meta_data") or ()
            if isinstance(m, Mapping) and m.get("key") == key and m.get("value") not in (None, "")]


def fetch_collaborators(upstream: Upstream, role: str = "siren_collaborator",
                        coupon_meta_key: str = "siren_collaborator", product_meta_key: str = "siren_collaborator",
                        wc_upstream: Upstream | None = None) -> list[Collaborator]:
    """Collaborators read from the site: users with `role`, their coupons and products by meta key.

    `id` is the user's slug (stable and readable); coupon and product meta values may name the user by
    id, login, slug or email (case-insensitive). `wc_upstream` reads `wc/v3` (default: `upstream`).
    """
    users = all_items(upstream, "wp/v2/users", {"roles": role, "context": "edit", "orderby": "id",
                                                "order": "asc"})
    if not users:  # WordPress filters on any role name, known or not: a typo reads nobody, silently
        log.warning("collaborators_from_site: no WordPress user has the role %r, so no collaborator is read "
                    "from the site (check sync.collaborators_from_site.role)", role)
        return []
    who = _user_names(users)
    wc = wc_upstream or upstream
    coupons = _owned(wc, "wc/v3/coupons", coupon_meta_key, who, lambda c: coupon_code(str(c["code"])))
    products = _owned(wc, "wc/v3/products", product_meta_key, who, lambda p: int(p["id"]))
    result = []
    for u in users:
        uid = int(u["id"])
        result.append(Collaborator(
            id=nfc(str(u.get("slug") or u.get("username") or f"wp-{uid}")),
            name=str(u.get("name") or u.get("username") or ""),
            email=str(u.get("email") or ""), status="active", wp_user_id=uid,
            coupons=tuple(sorted(set(coupons.get(uid, ())))),
            products=tuple(sorted(set(products.get(uid, ()))))))
    return result


def _user_names(users: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Every way a meta value may name a user (id, login, slug, email; lower case) -> user id."""
    who: dict[str, int] = {}
    for u in users:
        for name in (u.get("id"), u.get("username"), u.get("slug"), u.get("email")):
            if name not in (None, ""):
                who[str(name).lower()] = int(u["id"])
    return who


def _owned(upstream: Upstream, path: str, meta_key: str, who: Mapping[str, int],
           value: Callable[[Mapping[str, Any]], T]) -> dict[int, list[T]]:
    """User id -> `value(item)` of the items at `path` whose `meta_key` names that user (none without a key)."""
    owned: dict[int, list[T]] = {}
    if not meta_key:
        return owned
    for item in all_items(upstream, path, {"orderby": "id", "order": "asc"}):
        for name in _meta(item, meta_key):
            if name.lower() in who:
                owned.setdefault(who[name.lower()], []).append(value(item))
    return owned


# -- bound posts -------------------------------------------------------------------------------------
@dataclass
class BoundPosts:
    """What the access log needs to know of the bound posts."""

    paths: dict[str, int] = field(default_factory=dict)  # URL path (with `?p=` for plain links) -> post id
    authors: dict[int, int] = field(default_factory=dict)  # post id -> author's WordPress user id


def url_path(link: str) -> str:
    """A post's `link` as the path a request line shows: `/2026/11/my-post/`, or `/?p=12`."""
    parts = urlsplit(link)
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


def fetch_bound_posts(upstream: Upstream, author_ids: Iterable[int], post_ids: Iterable[int] = ()) -> BoundPosts:
    """Published posts by these authors, plus these extra post ids: their URL paths and authors."""
    bound = BoundPosts()
    for params in _post_queries(author_ids, post_ids):
        for post in all_items(upstream, "wp/v2/posts", {**params, "_fields": "id,link,author", "orderby": "id",
                                                         "order": "asc"}):
            if not post.get("link"):
                continue
            pid = int(post["id"])
            bound.paths[url_path(post["link"])] = pid
            if post.get("author") is not None:
                bound.authors[pid] = int(post["author"])
    return bound


def _post_queries(author_ids: Iterable[int], post_ids: Iterable[int]) -> list[dict[str, Any]]:
    """The `wp/v2/posts` filters that read them: all the authors at once, the extra ids by the page."""
    authors = sorted({int(a) for a in author_ids})
    extra = sorted({int(p) for p in post_ids})
    queries: list[dict[str, Any]] = []
    if authors:
        queries.append({"author": ",".join(map(str, authors))})
    for i in range(0, len(extra), PER_PAGE):
        queries.append({"include": ",".join(map(str, extra[i:i + PER_PAGE]))})
    return queries


def check_site(upstream: Upstream, namespaces: Iterable[str] = ()) -> list[tuple[str, bool, str]]:
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
