"""`wc/v3`: orders (listing, one, OPTIONS), refunds (per order; `refunds` from WooCommerce 9), coupons,
products, system status, and WooCommerce Subscriptions' subscriptions (on a site that has the
plugin: elsewhere `404 rest_no_route`), as WooCommerce answers them.

The orders listing filters and sorts like WooCommerce (`modified_after` and the other date filters
exclusive, at one-second granularity; naive dates UTC with `dates_are_gmt`, else site-local; `any`
leaves out `trash`; statuses the site does not have refused with 400), and past the last page
answers `200 []`. The site decides what the listing describes (its statuses) and whether
`wc/v3/refunds` exists (its WooCommerce version); the faults may edit an order after a page is
served (`modify_during_sync`) or mix equal modification times per page (`mixed_ties`).
"""
from __future__ import annotations

import re
from typing import Any

from siren_sync.sandbox import shapes
from siren_sync.sandbox.order_query import OrderQuery, query_orders
from siren_sync.sandbox.rest import (
    ApiError,
    Env,
    Request,
    Response,
    Routes,
    fields,
    listing,
    one,
    page_args,
    paged,
    require,
)
from siren_sync.sandbox.site import ORDER_STATUSES, Order, Site

ROUTES = Routes()
route = ROUTES.route

ORDER_ARGS = ("context", "page", "per_page", "search", "after", "before", "modified_after",
              "modified_before", "dates_are_gmt", "exclude", "include", "offset", "order", "orderby",
              "parent", "parent_exclude", "status", "customer", "product", "dp", "include_meta", "exclude_meta",
              "_fields")
ORDERBY = ("date", "id", "include", "title", "slug", "modified")
CANNOT_LIST = "Sorry, you cannot list resources."
CANNOT_VIEW = "Sorry, you cannot view this resource."


@route("GET", r"/wc/v3")
def get_wc_namespace(env: Env, req: Request, m: re.Match[str]) -> Response:
    routes = {r.label: {"methods": [r.method]} for r in env.routes
              if r.label.startswith("/wc/v3") and r.serves(env.site)}
    return Response(200, {"namespace": "wc/v3", "routes": routes})


# -- orders -------------------------------------------------------------------------------------------

@route("OPTIONS", r"/wc/v3/orders")
def options_orders(env: Env, req: Request, m: re.Match[str]) -> Response:
    """The listing's arguments (GET) and an order's fields (POST: its `status` is one string)."""
    statuses = env.site.order_statuses
    args: dict[str, dict[str, Any]] = {a: {"required": False, "description": a} for a in ORDER_ARGS}
    args["per_page"].update({"type": "integer", "default": 10, "minimum": 1, "maximum": 100})
    items: dict[str, Any] = {"type": "string"}
    if statuses is not None:  # a site whose description names no status has no enum here
        items["enum"] = ["any", *statuses]
    args["status"].update({"type": "array", "default": "any", "items": items})
    args["orderby"].update({"type": "string", "default": "date", "enum": list(ORDERBY)})
    args["dates_are_gmt"].update({"type": "boolean", "default": False})
    create = {"status": {"type": "string", "default": "pending", "enum": list(statuses or ORDER_STATUSES)},
              "currency": {"type": "string"}}
    return Response(200, {"namespace": "wc/v3", "methods": ["GET", "POST"],
                          "endpoints": [{"methods": ["GET"], "args": args},
                                        {"methods": ["POST"], "args": create}],
                          "schema": {"title": "shop_order", "type": "object"}})


def _order_statuses(site: Site, req: Request) -> frozenset[str] | None:
    """The `status` filter: the site's statuses only (400 otherwise); `any` short-circuits the list."""
    values = req.list("status")
    if not values:
        return site.any_order_statuses()
    known = site.order_statuses
    for n, v in enumerate(values):
        if known is not None and v != "any" and v not in known:
            req.problems["status"] = ("rest_not_in_enum", f"status[{n}] is not one of any, {', '.join(known)}.")
            return None
    if "any" in values:
        return site.any_order_statuses()  # trash excluded
    return frozenset(values)


def _order_query(env: Env, req: Request) -> tuple[OrderQuery, int, int]:
    """The listing's query as WooCommerce reads its arguments, with the page asked for."""
    site = env.site
    page, per_page = page_args(req)
    gmt = req.bool("dates_are_gmt")
    after, before, mod_after, mod_before = (req.date(k, site, gmt)
                                            for k in ("after", "before", "modified_after", "modified_before"))
    orderby = req.enum("orderby", ORDERBY, "date")
    order = req.enum("order", ("asc", "desc"), "desc")
    statuses = _order_statuses(site, req)
    include, exclude = req.ints("include"), req.ints("exclude") or ()
    customer, product = req.int("customer"), req.int("product")
    parent = req.ints("parent")
    offset = req.int("offset", None, minimum=0)
    req.check()
    require(req, "woocommerce_rest_cannot_view", CANNOT_LIST)
    query = OrderQuery(statuses=statuses, orderby=orderby, desc=order == "desc", created_after=after,
                       created_before=before, modified_after=mod_after, modified_before=mod_before,
                       include=include, exclude=exclude, customer=customer, product=product, parent=parent,
                       offset=offset if offset is not None else (page - 1) * per_page, limit=per_page,
                       mixed_ties=env.faults.mixed_ties)
    return query, page, per_page


@route("GET", r"/wc/v3/orders")
def get_orders(env: Env, req: Request, m: re.Match[str]) -> Response:
    site = env.site
    query, page, per_page = _order_query(env, req)
    total, orders = query_orders(site, query)
    if req.has("_fields") or req.has("include_meta"):
        body = shapes.dumps([fields(req, _meta_kept(req, shapes.order(site, o))) for o in orders])
    else:
        body = b"[" + b",".join(shapes.order_bytes(site, o) for o in orders) + b"]"
    resp = paged(site, req, body, total, page, per_page)
    if env.faults.modify_during_sync and orders:
        victim = env.faults.pick(orders)
        site.touch_order(victim.id, note="edited during a sync (sandbox fault)")
        with env.stats.lock:
            env.stats.orders_modified.append(victim.id)
    return resp


def _meta_kept(req: Request, body: dict[str, Any]) -> dict[str, Any]:
    """An order's `meta_data` cut to the keys `include_meta` names (WooCommerce since late 2022)."""
    keep = req.list("include_meta")
    if keep and isinstance(body.get("meta_data"), list):
        body["meta_data"] = [m for m in body["meta_data"] if m.get("key") in keep]
    return body


def _order(site: Site, oid: int) -> Order:
    o = site.orders.get(oid)
    if o is None:
        raise ApiError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
    return o


@route("GET", r"/wc/v3/orders/(?P<id>\d+)")
def get_order(env: Env, req: Request, m: re.Match[str]) -> Response:
    require(req, "woocommerce_rest_cannot_view", CANNOT_VIEW)
    o = _order(env.site, int(m["id"]))
    if req.has("_fields"):
        return Response(200, fields(req, shapes.order(env.site, o)))
    return Response(200, shapes.order_bytes(env.site, o))


# -- refunds ------------------------------------------------------------------------------------------

@route("GET", r"/wc/v3/orders/(?P<id>\d+)/refunds")
def get_order_refunds(env: Env, req: Request, m: re.Match[str]) -> Response:
    page, per_page = page_args(req)
    req.check()
    require(req, "woocommerce_rest_cannot_view", CANNOT_LIST)
    o = _order(env.site, int(m["id"]))
    refunds = sorted(o.refunds, key=lambda r: (r.created, r.id), reverse=req.args.get("order") != "asc")
    return listing(env.site, req, refunds, lambda r: shapes.refund(env.site, r), page, per_page)


@route("GET", r"/wc/v3/orders/(?P<id>\d+)/refunds/(?P<rid>\d+)")
def get_order_refund(env: Env, req: Request, m: re.Match[str]) -> Response:
    require(req, "woocommerce_rest_cannot_view", CANNOT_VIEW)
    o = _order(env.site, int(m["id"]))
    for r in o.refunds:
        if r.id == int(m["rid"]):
            return Response(200, shapes.refund(env.site, r))
    raise ApiError(404, "woocommerce_rest_shop_order_refund_invalid_id", "Invalid ID.")


@route("GET", r"/wc/v3/refunds", available=lambda site: site.has_bulk_refunds)
def get_refunds(env: Env, req: Request, m: re.Match[str]) -> Response:
    """Every refund (WooCommerce 9.0+), filtered by parent, ids and creation dates."""
    site = env.site
    page, per_page = page_args(req)
    gmt = req.bool("dates_are_gmt")
    dates = {k: req.date(k, site, gmt) for k in ("after", "before", "modified_after", "modified_before")}
    orderby = req.enum("orderby", ORDERBY, "date")
    order = req.enum("order", ("asc", "desc"), "desc")
    parents = req.ints("parent") or req.ints("parent_id")
    include = req.ints("include")
    req.check()
    require(req, "woocommerce_rest_cannot_view", CANNOT_LIST)
    items = [r for r in site.refunds.values()
             if (not parents or r.order_id in parents) and (not include or r.id in include)]
    lo = max((v for v in (dates["after"], dates["modified_after"]) if v is not None), default=None)
    hi = min((v for v in (dates["before"], dates["modified_before"]) if v is not None), default=None)
    items = [r for r in items if (lo is None or r.created > lo) and (hi is None or r.created < hi)]
    items.sort(key=(lambda r: r.id) if orderby == "id" else (lambda r: (r.created, r.id)), reverse=order == "desc")
    return listing(site, req, items, lambda r: shapes.refund(site, r, with_parent=True), page, per_page)


# -- subscriptions (WooCommerce Subscriptions 3.1+) ---------------------------------------------------

def _has_subscriptions(site: Site) -> bool:
    return site.has_subscriptions


@route("GET", r"/wc/v3/subscriptions", available=_has_subscriptions)
def get_subscriptions(env: Env, req: Request, m: re.Match[str]) -> Response:
    """The subscriptions listing (newest first by default), filtered by `include`, `parent` and `status`."""
    site = env.site
    page, per_page = page_args(req)
    include, parents, statuses = req.ints("include"), req.ints("parent"), req.list("status")
    order = req.enum("order", ("asc", "desc"), "desc")
    req.check()
    require(req, "woocommerce_rest_cannot_view", CANNOT_LIST)
    items = [s for s in site.subscriptions.values() if (not include or s.id in include)
             and (not parents or s.parent.id in parents)]
    rendered = {s.id: shapes.subscription(site, s) for s in items}
    if statuses and "any" not in statuses:
        items = [s for s in items if rendered[s.id]["status"] in statuses]
    items.sort(key=lambda s: (s.record.created, s.id), reverse=order == "desc")
    return listing(site, req, items, lambda s: rendered[s.id], page, per_page)


@route("GET", r"/wc/v3/subscriptions/(?P<id>\d+)", available=_has_subscriptions)
def get_subscription(env: Env, req: Request, m: re.Match[str]) -> Response:
    require(req, "woocommerce_rest_cannot_view", CANNOT_VIEW)
    s = one(env.site.subscriptions, m, ApiError(404, "woocommerce_rest_shop_subscription_invalid_id", "Invalid ID."))
    return Response(200, fields(req, shapes.subscription(env.site, s)))


# -- coupons, products, system status -----------------------------------------------------------------

@route("GET", r"/wc/v3/coupons")
def get_coupons(env: Env, req: Request, m: re.Match[str]) -> Response:
    site = env.site
    page, per_page = page_args(req)
    mod_after = req.date("modified_after", site, req.bool("dates_are_gmt"))
    req.check()
    require(req, "woocommerce_rest_cannot_view", CANNOT_LIST)
    items = sorted(site.coupons.values(), key=lambda c: (c.created, c.id),
                   reverse=req.args.get("order", "desc") != "asc")
    code = req.args.get("code")
    if code:
        items = [c for c in items if c.code == str(code).strip().lower()]
    search = req.args.get("search")
    if search:
        items = [c for c in items if str(search).lower() in c.code]
    if mod_after is not None:
        items = [c for c in items if c.modified > mod_after]
    return listing(site, req, items, lambda c: shapes.coupon(site, c), page, per_page)


@route("GET", r"/wc/v3/coupons/(?P<id>\d+)")
def get_coupon(env: Env, req: Request, m: re.Match[str]) -> Response:
    require(req, "woocommerce_rest_cannot_view", CANNOT_VIEW)
    c = one(env.site.coupons, m, ApiError(404, "woocommerce_rest_shop_coupon_invalid_id", "Invalid ID."))
    return Response(200, shapes.coupon(env.site, c))


@route("GET", r"/wc/v3/products")
def get_products(env: Env, req: Request, m: re.Match[str]) -> Response:
    site = env.site
    page, per_page = page_args(req)
    include = req.ints("include")
    req.check()
    require(req, "woocommerce_rest_cannot_view", CANNOT_LIST)
    items = sorted(site.products.values(), key=lambda p: (p.created, p.id),
                   reverse=req.args.get("order", "desc") != "asc")
    if include:
        items = [p for p in items if p.id in include]
    for name in ("sku", "slug"):
        if req.has(name):
            items = [p for p in items if getattr(p, name) == req.args[name]]
    if req.has("category"):
        items = [p for p in items if str(p.category[0]) == str(req.args["category"])]
    return listing(site, req, items, lambda p: shapes.product(site, p), page, per_page)


@route("GET", r"/wc/v3/products/(?P<id>\d+)")
def get_product(env: Env, req: Request, m: re.Match[str]) -> Response:
    require(req, "woocommerce_rest_cannot_view", CANNOT_VIEW)
    p = one(env.site.products, m, ApiError(404, "woocommerce_rest_product_invalid_id", "Invalid ID."))
    return Response(200, shapes.product(env.site, p))


@route("GET", r"/wc/v3/system_status")
def get_system_status(env: Env, req: Request, m: re.Match[str]) -> Response:
    require(req, "woocommerce_rest_cannot_view", CANNOT_LIST)
    return Response(200, shapes.system_status(env.site))
