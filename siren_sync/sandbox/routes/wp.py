"""The REST index and `wp/v2`: users (`me`, by id, listed by role) and posts, where siren-sync writes
its distribution records (create, update, trash or delete; looked up by slug before posting).

As WordPress does: a listing past its last page of posts is `400 rest_post_invalid_page_number`;
`context=edit` and any status but `publish` need a signed-in user; a non-draft slug already taken
gets `-2`, `-3`...; post meta keys not registered with `show_in_rest` are dropped silently.
"""
from __future__ import annotations

import math
import re
from typing import Any

from siren_sync.sandbox import shapes
from siren_sync.sandbox.rest import (
    ApiError,
    Env,
    InvalidParams,
    Request,
    Response,
    Routes,
    fields,
    listing,
    page_args,
    parse_date,
    require,
)
from siren_sync.sandbox.site import Post, Site, User

ROUTES = Routes()
route = ROUTES.route

POST_STATUSES = ("publish", "future", "draft", "pending", "private")
POST_ORDERBY = ("author", "date", "id", "include", "modified", "parent", "relevance", "slug", "include_slugs",
                "title")
STATUS_FILTERS = ("publish", "future", "draft", "pending", "private", "trash", "auto-draft", "inherit",
                  "request-pending", "request-confirmed", "request-failed", "request-completed", "any")


@route("GET", r"/")
def get_index(env: Env, req: Request, m: re.Match[str]) -> Response:
    routes = sorted({"/" + r.label.strip("/").replace("(?P<id>\\d+)", "(?P<id>[\\d]+)") for r in env.routes
                     if not r.label.startswith("/sandbox") and r.serves(env.site)} | {"/"})
    return Response(200, shapes.index(env.site, routes))


# -- users --------------------------------------------------------------------------------------------

def _context(req: Request, message: str) -> bool:
    """Whether `context=edit` was asked (which needs a signed-in user)."""
    ctx = req.enum("context", ("view", "embed", "edit"), "view")
    req.check()
    if ctx == "edit":
        require(req, "rest_forbidden_context", message)
    return ctx == "edit"


def _authors(site: Site) -> set[int]:
    """The users anyone may see: those who published something."""
    authors = {p.author for p in site.posts.values() if p.status == "publish"}
    authors |= {c.author for c in site.courses.values()}
    return authors


def _filter_users(site: Site, req: Request, users: list[User], include: list[int] | None,
                  roles: list[str] | None) -> list[User]:
    if req.user is None:
        authors = _authors(site)
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
    return users


@route("GET", r"/wp/v2/users")
def get_users(env: Env, req: Request, m: re.Match[str]) -> Response:
    page, per_page = page_args(req)
    include = req.ints("include")
    edit = _context(req, "Sorry, you are not allowed to list users.")
    roles = req.list("roles")
    if roles:
        require(req, "rest_user_cannot_view", "Sorry, you are not allowed to filter users by role.")
    users = _filter_users(env.site, req, sorted(env.site.users.values(), key=lambda u: u.id), include, roles)
    if req.args.get("orderby", "name") == "name":
        users.sort(key=lambda u: u.name.lower())
    if req.args.get("order") == "desc":
        users.reverse()
    return listing(env.site, req, users, lambda u: shapes.user(env.site, u, edit=edit), page, per_page, style="wp")


@route("GET", r"/wp/v2/users/me")
def get_me(env: Env, req: Request, m: re.Match[str]) -> Response:
    if req.user is None:
        raise ApiError(401, "rest_not_logged_in", "You are not currently logged in.")
    edit = _context(req, "Sorry, you are not allowed to edit this user.")
    return Response(200, shapes.user(env.site, env.site.users[req.user.user_id], edit=edit))


@route("GET", r"/wp/v2/users/(?P<id>\d+)")
def get_user(env: Env, req: Request, m: re.Match[str]) -> Response:
    edit = _context(req, "Sorry, you are not allowed to edit this user.")
    u = env.site.users.get(int(m["id"]))
    if u is None or (req.user is None and u.id not in _authors(env.site)):
        raise ApiError(404, "rest_user_invalid_id", "Invalid user ID.")
    return Response(200, shapes.user(env.site, u, edit=edit))


# -- posts (distribution records are written here) ----------------------------------------------------

def _post_statuses(req: Request) -> set[str]:
    values = req.list("status") or ["publish"]
    for n, v in enumerate(values):
        if v not in STATUS_FILTERS:
            req.problems["status"] = ("rest_not_in_enum", f"status[{n}] is not one of {', '.join(STATUS_FILTERS)}.")
    req.check()
    if values != ["publish"] and req.user is None:
        raise ApiError(401, "rest_forbidden_status", "Status is forbidden.")
    if "any" in values:
        return {"publish", "future", "draft", "pending", "private"}
    return set(values)


def _filter_posts(req: Request, posts: list[Post], include: list[int] | None, authors: list[int] | None,
                  dates: tuple[int | None, int | None, int | None]) -> list[Post]:
    after, before, mod_after = dates
    slugs = req.list("slug")
    if slugs:
        posts = [p for p in posts if p.slug in slugs]
    if include:
        posts = [p for p in posts if p.id in include]
    if authors:
        posts = [p for p in posts if p.author in authors]
    posts = [p for p in posts if (after is None or p.date > after) and (before is None or p.date < before)
             and (mod_after is None or p.modified > mod_after)]
    if req.has("search"):
        s = str(req.args["search"]).lower()
        posts = [p for p in posts if s in p.title.lower() or s in p.content.lower()]
    return posts


_POST_KEYS = {"id": lambda p: p.id, "modified": lambda p: (p.modified, p.id), "slug": lambda p: p.slug,
              "title": lambda p: p.title.lower(), "author": lambda p: (p.author, p.id)}


@route("GET", r"/wp/v2/posts")
def get_posts(env: Env, req: Request, m: re.Match[str]) -> Response:
    site = env.site
    page, per_page = page_args(req)
    include, authors = req.ints("include"), req.ints("author")
    dates = (req.date("after", site, False), req.date("before", site, False), req.date("modified_after", site, False))
    orderby = req.enum("orderby", POST_ORDERBY, "date")
    order = req.enum("order", ("asc", "desc"), "desc")
    edit = _context(req, "Sorry, you are not allowed to edit posts in this post type.")
    statuses = _post_statuses(req)
    posts = [p for p in site.posts.values() if p.type == "post" and p.status in statuses]
    posts = _filter_posts(req, posts, include, authors, dates)
    posts.sort(key=_POST_KEYS.get(orderby, lambda p: (p.date, p.id)), reverse=order == "desc")
    total = len(posts)
    if page > math.ceil(total / per_page) and total > 0:
        raise ApiError(400, "rest_post_invalid_page_number",
                       "The page number requested is larger than the number of pages available.")
    return listing(site, req, posts, lambda p: shapes.post(site, p, edit=edit), page, per_page, style="wp")


def _post(site: Site, pid: int, req: Request) -> Post:
    p = site.posts.get(pid)
    if p is None or p.type != "post":
        raise ApiError(404, "rest_post_invalid_id", "Invalid post ID.")
    if p.status != "publish" and req.user is None:
        raise ApiError(401, "rest_forbidden", "Sorry, you are not allowed to do that.")
    return p


@route("GET", r"/wp/v2/posts/(?P<id>\d+)")
def get_post(env: Env, req: Request, m: re.Match[str]) -> Response:
    edit = _context(req, "Sorry, you are not allowed to edit this post.")
    p = _post(env.site, int(m["id"]), req)
    return Response(200, fields(req, shapes.post(env.site, p, edit=edit)))


def _text(value: Any) -> str:
    if isinstance(value, dict):
        value = value.get("raw", value.get("rendered", ""))
    return "" if value is None else str(value)


def sanitize_slug(text: str) -> str:
    """WordPress's `sanitize_title` for the slugs siren-sync writes."""
    text = re.sub(r"<[^>]*>", "", text).lower()
    text = re.sub(r"[^a-z0-9_\-\s]", "", text)
    return re.sub(r"[\s\-]+", "-", text).strip("-")


def _unique_slug(site: Site, slug: str, status: str, pid: int) -> str:
    if not slug or status in ("draft", "pending", "auto-draft"):
        return slug
    taken = {p.slug for p in site.posts.values() if p.id != pid and p.type == "post"}
    if slug not in taken:
        return slug
    n = 2
    while f"{slug}-{n}" in taken:
        n += 1
    return f"{slug}-{n}"


def _post_data(req: Request, p: Post | None) -> tuple[dict[str, Any], str, dict[str, Any]]:
    """The body of a post write, its status and its meta, validated."""
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
    return data, status, meta


def _new_post(site: Site, req: Request, data: dict[str, Any], status: str) -> Post:
    now = site.now
    author = int(data.get("author") or (req.user.user_id if req.user else 0))
    p = Post(site.new_post_id(), author, "", "", status, "", now, now)
    if data.get("date_gmt"):
        try:
            p.date = parse_date(str(data["date_gmt"]), site, True)
        except ValueError:
            pass
    return p


def _write_post(site: Site, req: Request, p: Post | None) -> Post:
    data, status, meta = _post_data(req, p)
    if p is None:
        p = _new_post(site, req, data, status)
    for name in ("title", "content", "excerpt"):
        if name in data:
            setattr(p, name, _text(data[name]))
    p.status = status
    slug = sanitize_slug(_text(data["slug"])) if data.get("slug") else p.slug
    if not slug and status not in ("draft", "pending"):
        slug = sanitize_slug(p.title) or str(p.id)
    p.slug = _unique_slug(site, slug, status, p.id)
    for key, value in meta.items():
        if key in site.registered_meta:  # unregistered keys are silently ignored, like WordPress
            p.meta[key] = value
    p.modified = site.now
    return p


@route("POST", r"/wp/v2/posts")
def create_post(env: Env, req: Request, m: re.Match[str]) -> Response:
    require(req, "rest_cannot_create", "Sorry, you are not allowed to create posts as this user.")
    site = env.site
    p = site.add_post(_write_post(site, req, None))
    with env.stats.lock:
        env.stats.posts_created.append({"id": p.id, "slug": p.slug, "title": p.title, "status": p.status,
                                        "meta": dict(p.meta), "date_gmt": shapes.gmt(p.date)})
    return Response(201, shapes.post(site, p, edit=True), {"Location": f"{site.url}/wp-json/wp/v2/posts/{p.id}"})


@route("POST", r"/wp/v2/posts/(?P<id>\d+)")
def update_post(env: Env, req: Request, m: re.Match[str]) -> Response:
    require(req, "rest_cannot_edit", "Sorry, you are not allowed to edit this post.")
    p = _post(env.site, int(m["id"]), req)
    _write_post(env.site, req, p)
    env.site.version += 1
    return Response(200, shapes.post(env.site, p, edit=True))


@route("DELETE", r"/wp/v2/posts/(?P<id>\d+)")
def delete_post(env: Env, req: Request, m: re.Match[str]) -> Response:
    require(req, "rest_cannot_delete", "Sorry, you are not allowed to delete this post.")
    site = env.site
    p = _post(site, int(m["id"]), req)
    previous = shapes.post(site, p, edit=True)
    if req.bool("force"):
        del site.posts[p.id]
        return Response(200, {"deleted": True, "previous": previous})
    p.status, p.slug, p.modified = "trash", f"{p.slug}__trashed", site.now
    return Response(200, shapes.post(site, p, edit=True))
