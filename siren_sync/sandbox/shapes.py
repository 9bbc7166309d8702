"""REST representations of the sandbox site's records, field for field like the real plugins.

Shapes follow the captured responses in `tests/fixtures/samples/`: WooCommerce money as strings with two
decimals, `date_*` in site-local time and `date_*_gmt` in UTC, both `YYYY-MM-DDTHH:MM:SS` without
an offset; coupon codes lower case; `refunds[]` inside an order without dates and with a negative
`total`; LifterLMS dates `YYYY-MM-DD HH:MM:SS` (posts, enrolments) or `YYYY-MM-DDTHH:MM:SS`
(progress), site-local. An order's JSON is serialized once and cached on the order (`order_bytes`).
"""
from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from siren_sync.sandbox.programs import device_type
from siren_sync.sandbox.site import (
    WC_VERSION,
    Coupon,
    Course,
    Engagement,
    Enrollment,
    Lesson,
    Order,
    Post,
    Product,
    Refund,
    Section,
    Site,
    Subscription,
    User,
)

WP_VERSION = "6.6.2"
SYMBOLS = {"USD": "$", "EUR": "\u20ac", "GBP": "\u00a3", "JPY": "\u00a5"}


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def number(cents: int, quantity: int = 1) -> int | float:
    """A PHP-like JSON number for a unit price (24 stays 24, 15.92 stays 15.92)."""
    value = round(cents / quantity / 100, 6)
    return int(value) if value == int(value) else value


_EPOCH = datetime(1970, 1, 1)
_DAYS: dict[int, str] = {}


def gmt(ts: int | None, sep: str = "T") -> str | None:
    """`YYYY-MM-DDTHH:MM:SS` in UTC, without an offset (WordPress's `*_gmt` fields)."""
    if ts is None:
        return None
    day, secs = divmod(ts, 86_400)
    prefix = _DAYS.get(day)
    if prefix is None:
        prefix = _DAYS[day] = (_EPOCH + timedelta(days=day)).strftime("%Y-%m-%d")
    h, rest = divmod(secs, 3600)
    m, s = divmod(rest, 60)
    return f"{prefix}{sep}{h:02d}:{m:02d}:{s:02d}"


def local(site: Site, ts: int | None, sep: str = "T") -> str | None:
    """Site-local wall time of `ts`, without an offset (WordPress's plain date fields)."""
    if ts is None:
        return None
    return gmt(ts + site.utc_offset(ts), sep)


def links(site: Site, **rels: str | tuple[str, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for rel, target in rels.items():
        if isinstance(target, tuple):
            path, extra = target
            out[rel] = [{**extra, "href": f"{site.url}/wp-json/{path}"}]
        else:
            out[rel] = [{"href": f"{site.url}/wp-json/{target}"}]
    return out


def avatar_urls(email: str) -> dict[str, Any]:
    h = hashlib.md5(email.strip().lower().encode()).hexdigest()
    return {str(s): f"http://0.gravatar.com/avatar/{h}?s={s}&d=mm&r=g" for s in (24, 48, 96)}


# -- WooCommerce -----------------------------------------------------------------------------------

def _meta(entry: dict[str, Any]) -> dict[str, Any]:
    return {"id": entry["id"], "key": entry["key"], "value": entry["value"],
            "display_key": entry["key"], "display_value": entry["value"]}


_BLANK_ADDRESS = {"first_name": "", "last_name": "", "company": "", "address_1": "", "address_2": "", "city": "",
                  "state": "", "postcode": "", "country": "", "phone": ""}


def _order_lines(o: Order) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """An order's line items, coupon lines and shipping lines."""
    line_items: list[dict[str, Any]] = [{
        "id": li.id, "name": li.name, "product_id": li.product_id, "variation_id": 0,
        "quantity": li.quantity, "tax_class": "", "subtotal": money(li.subtotal), "subtotal_tax": "0.00",
        "total": money(li.total), "total_tax": "0.00", "taxes": [], "meta_data": [], "sku": li.sku,
        "price": number(li.total, li.quantity), "image": {"id": "", "src": ""}, "parent_name": None,
    } for li in o.line_items]
    coupon_lines = [{
        "id": cl.id, "code": cl.code, "discount": money(cl.discount), "discount_tax": "0",
        "meta_data": [_meta({"id": cl.id * 10 + 7, "key": "coupon_info",
                             "value": json.dumps([cl.coupon_id, cl.code, cl.discount_type,
                                                  cl.nominal if cl.discount_type == "percent"
                                                  else number(cl.nominal)], separators=(",", ":"))})],
    } for cl in o.coupon_lines]
    shipping_lines = [{
        "id": sl.id, "method_title": sl.title, "method_id": sl.method_id, "instance_id": "1",
        "total": money(sl.total), "total_tax": "0.00", "taxes": [], "meta_data": [],
    } for sl in o.shipping_lines]
    return line_items, coupon_lines, shipping_lines


def order(site: Site, o: Order) -> dict[str, Any]:
    """An order as `GET wc/v3/orders/<id>` sends it (one given as its REST body: as it is)."""
    if o.payload is not None:
        return dict(o.payload)
    shipping = _BLANK_ADDRESS
    if o.shipping_lines:
        b = o.billing
        shipping = {k: b.get(k, "") for k in _BLANK_ADDRESS}
    line_items, coupon_lines, shipping_lines = _order_lines(o)
    return {
        "id": o.id, "parent_id": 0, "status": o.status, "currency": o.currency, "version": WC_VERSION,
        "prices_include_tax": False,
        "date_created": local(site, o.created), "date_modified": local(site, o.modified),
        "discount_total": money(o.discount_total), "discount_tax": "0.00",
        "shipping_total": money(o.shipping_total), "shipping_tax": "0.00", "cart_tax": "0.00",
        "total": money(o.total), "total_tax": "0.00", "customer_id": o.customer_id,
        "order_key": o.order_key, "billing": o.billing, "shipping": shipping,
        "payment_method": o.payment_method, "payment_method_title": o.payment_method_title,
        "transaction_id": o.transaction_id, "customer_ip_address": o.customer_ip,
        "customer_user_agent": o.customer_agent, "created_via": o.created_via, "customer_note": o.customer_note,
        "date_completed": local(site, o.completed), "date_paid": local(site, o.paid), "cart_hash": "",
        "number": str(o.id), "meta_data": _order_meta(site, o), "line_items": line_items,
        "tax_lines": [], "shipping_lines": shipping_lines, "fee_lines": [], "coupon_lines": coupon_lines,
        "refunds": [{"id": r.id, "reason": r.reason, "total": money(-r.amount)} for r in o.refunds],
        "payment_url": f"{site.url}/checkout/order-pay/{o.id}/?pay_for_order=true&key={o.order_key}",
        "is_editable": o.status in ("pending", "on-hold", "auto-draft"),
        "needs_payment": o.status in ("pending", "failed") and o.total > 0,
        "needs_processing": True,
        "date_created_gmt": gmt(o.created), "date_modified_gmt": gmt(o.modified),
        "date_completed_gmt": gmt(o.completed), "date_paid_gmt": gmt(o.paid),
        "currency_symbol": SYMBOLS.get(o.currency, o.currency),
        "_links": links(site, self=f"wc/v3/orders/{o.id}", collection="wc/v3/orders",
                        **({"customer": f"wc/v3/customers/{o.customer_id}"} if o.customer_id else {})),
    }


def _order_meta(site: Site, o: Order) -> list[dict[str, Any]]:
    """An order's meta as wc/v3 shows it: `_`-prefixed keys included (only WooCommerce's internal keys
    are left out): WooCommerce Subscriptions' `_subscription_renewal`, order attribution (8.5+)."""
    meta = [dict(m) for m in o.meta_data]
    if o.renews is None and o.attribution is None:
        return meta
    made: list[tuple[str, str]] = []
    if o.renews is not None:
        made.append(("_subscription_renewal", str(o.renews.id)))
    a = o.attribution
    if a is not None:
        prefix = "_wc_order_attribution_"
        made += [(prefix + "source_type", a.source_type), (prefix + "referrer", a.referrer),
                 (prefix + "utm_source", a.utm_source), (prefix + "session_entry", site.url + a.entry),
                 (prefix + "session_start_time", gmt(a.session_start, " ") or ""),
                 (prefix + "session_pages", str(a.pages)), (prefix + "session_count", str(a.count)),
                 (prefix + "user_agent", o.customer_agent), (prefix + "device_type", device_type(o.customer_agent))]
        made = [(k, v) for k, v in made if v != ""]  # order attribution stores no empty field
    return [{"id": o.id * 100 + n, "key": k, "value": v} for n, (k, v) in enumerate(made, 1)] + meta


def subscription(site: Site, s: Subscription) -> dict[str, Any]:
    """A subscription as `GET wc/v3/subscriptions/<id>` sends it (WooCommerce Subscriptions 3.1+: the
    order shape, less refunds, transaction id and cart hash, with its parent and schedule). One given
    as its REST body (tests) is served as it is."""
    if s.record.payload is not None:
        return dict(s.record.payload)
    body = order(site, s.record)
    for gone in ("refunds", "transaction_id", "cart_hash", "payment_url", "is_editable", "needs_payment",
                 "needs_processing"):
        body.pop(gone, None)
    now = site.now
    cancelled = s.cancelled is not None and s.cancelled <= now
    made = [r.created for r in s.renewals if r.created <= now]
    next_payment = s.start + s.interval * 7 * 86_400 * (len(made) + 1) if not cancelled else None
    last = max(made, default=s.parent.created)
    modified = max(last, s.cancelled) if cancelled and s.cancelled is not None else last
    body.update({
        "parent_id": s.parent.id, "status": "cancelled" if cancelled else s.record.status,
        "date_modified": local(site, modified), "date_modified_gmt": gmt(modified),
        "billing_period": s.period, "billing_interval": s.interval,
        "start_date_gmt": gmt(s.start), "trial_end_date_gmt": "", "next_payment_date_gmt": gmt(next_payment) or "",
        "last_order_date_created_gmt": gmt(last), "cancelled_date_gmt": gmt(s.cancelled) if cancelled else "",
        "end_date_gmt": gmt(s.cancelled) if cancelled else "", "resubscribed_from": "",
        "resubscribed_subscription": "", "removed_line_items": [],
        "_links": links(site, self=f"wc/v3/subscriptions/{s.id}", collection="wc/v3/subscriptions",
                        customer=f"wc/v3/customers/{s.record.customer_id}", up=f"wc/v3/orders/{s.parent.id}"),
    })
    return body


def order_bytes(site: Site, o: Order) -> bytes:
    data = o.json
    if data is None:
        data = o.json = dumps(order(site, o))
    return data


def refund(site: Site, r: Refund, *, with_parent: bool = False) -> dict[str, Any]:
    if r.payload is not None:  # given as its REST body: served as it is, with its order's id in bulk
        return {**r.payload, "parent_id": r.order_id} if with_parent else dict(r.payload)
    o = site.orders.get(r.order_id)
    lines = []
    for rl in r.lines:
        lines.append({
            "id": rl.id, "name": rl.name, "product_id": rl.product_id, "variation_id": 0,
            "quantity": -rl.quantity, "tax_class": "", "subtotal": money(-rl.amount), "subtotal_tax": "0.00",
            "total": money(-rl.amount), "total_tax": "0.00", "taxes": [],
            "meta_data": [_meta({"id": rl.id * 10 + 3, "key": "_refunded_item_id", "value": str(rl.item_id)})],
            "sku": rl.sku, "price": number(rl.amount, rl.quantity), "image": {"id": "", "src": ""},
            "parent_name": None,
        })
    body: dict[str, Any] = {"id": r.id}
    if with_parent:
        body["parent_id"] = r.order_id
    body.update({
        "date_created": local(site, r.created), "date_created_gmt": gmt(r.created),
        "amount": money(r.amount), "reason": r.reason, "refunded_by": r.refunded_by,
        "refunded_payment": False, "meta_data": [], "line_items": lines, "shipping_lines": [],
        "tax_lines": [], "fee_lines": [],
        "_links": links(site, self=f"wc/v3/orders/{r.order_id}/refunds/{r.id}",
                        collection=f"wc/v3/orders/{r.order_id}/refunds", up=f"wc/v3/orders/{r.order_id}"),
    })
    if o is not None and with_parent:
        body["_links"]["up"] = [{"href": f"{site.url}/wp-json/wc/v3/orders/{r.order_id}"}]
    return body


def coupon(site: Site, c: Coupon) -> dict[str, Any]:
    meta = []
    if c.owner:
        meta = [{"id": c.id * 10 + 1, "key": "collaborator_user_id", "value": str(c.owner)},
                {"id": c.id * 10 + 2, "key": "collaborator_login", "value": c.owner_login}]
    amount = money(c.amount * 100) if c.discount_type == "percent" else money(c.amount)
    return {
        "id": c.id, "code": c.code, "amount": amount, "status": "publish",
        "date_created": local(site, c.created), "date_created_gmt": gmt(c.created),
        "date_modified": local(site, c.modified), "date_modified_gmt": gmt(c.modified),
        "discount_type": c.discount_type, "description": c.description, "date_expires": None,
        "date_expires_gmt": None, "usage_count": c.usage_count, "individual_use": False, "product_ids": [],
        "excluded_product_ids": [], "usage_limit": None, "usage_limit_per_user": None,
        "limit_usage_to_x_items": None, "free_shipping": False, "product_categories": [],
        "excluded_product_categories": [], "exclude_sale_items": False, "minimum_amount": "0.00",
        "maximum_amount": "0.00", "email_restrictions": [], "used_by": list(c.used_by), "meta_data": meta,
        "_links": links(site, self=f"wc/v3/coupons/{c.id}", collection="wc/v3/coupons"),
    }


def product(site: Site, p: Product) -> dict[str, Any]:
    price = money(p.price)
    meta = [{"id": p.id * 10 + 1, "key": "collaborator_user_id", "value": str(p.owner)}] if p.owner else []
    if p.course_id:
        meta.append({"id": p.id * 10 + 2, "key": "_llms_course_id", "value": str(p.course_id)})
    sym = SYMBOLS.get(site.currency, site.currency)
    return {
        "id": p.id, "name": p.name, "slug": p.slug, "permalink": f"{site.url}/product/{p.slug}/",
        "date_created": local(site, p.created), "date_created_gmt": gmt(p.created),
        "date_modified": local(site, p.created), "date_modified_gmt": gmt(p.created),
        "type": "simple", "status": "publish", "featured": False, "catalog_visibility": "visible",
        "description": f"<p>{p.name}</p>\n", "short_description": "", "sku": p.sku, "price": price,
        "regular_price": price, "sale_price": "", "date_on_sale_from": None, "date_on_sale_from_gmt": None,
        "date_on_sale_to": None, "date_on_sale_to_gmt": None, "on_sale": False, "purchasable": True,
        "total_sales": p.total_sales, "virtual": p.virtual, "downloadable": False, "downloads": [],
        "download_limit": -1, "download_expiry": -1, "external_url": "", "button_text": "",
        "tax_status": "taxable", "tax_class": "", "manage_stock": False, "stock_quantity": None,
        "backorders": "no", "backorders_allowed": False, "backordered": False, "low_stock_amount": None,
        "sold_individually": False, "weight": "" if p.virtual else "0.4",
        "dimensions": {"length": "", "width": "", "height": ""}, "shipping_required": not p.virtual,
        "shipping_taxable": not p.virtual, "shipping_class": "", "shipping_class_id": 0,
        "reviews_allowed": True, "average_rating": "0.00", "rating_count": 0, "upsell_ids": [],
        "cross_sell_ids": [], "parent_id": 0, "purchase_note": "",
        "categories": [{"id": p.category[0], "name": p.category[1], "slug": p.category[2]}], "tags": [],
        "images": [], "attributes": [], "default_attributes": [], "variations": [], "grouped_products": [],
        "menu_order": 0,
        "price_html": ('<span class="woocommerce-Price-amount amount"><bdi><span class="woocommerce-Price-'
                       f'currencySymbol">{sym}</span>{price}</bdi></span>'),
        "related_ids": [], "meta_data": meta, "stock_status": "instock", "has_options": False,
        "post_password": "",
        "_links": links(site, self=f"wc/v3/products/{p.id}", collection="wc/v3/products"),
    }


def system_status(site: Site) -> dict[str, Any]:
    return {
        "environment": {"home_url": site.url, "site_url": site.url, "version": site.wc_version,
                        "wp_version": WP_VERSION, "wp_multisite": False, "wp_debug_mode": False,
                        "language": "en_US", "external_object_cache": None, "server_info": "sandbox",
                        "php_version": "8.2.0", "default_timezone": "UTC", "environment_type": "local"},
        "database": {"wc_database_version": site.wc_version, "database_prefix": "wp_"},
        "active_plugins": [{"plugin": "woocommerce/woocommerce.php", "name": "WooCommerce",
                            "version": site.wc_version},
                           {"plugin": "lifterlms/lifterlms.php", "name": "LifterLMS", "version": "7.7.0"},
                           {"plugin": "siren-affiliates/siren.php", "name": "Siren Affiliates",
                            "version": "2.0.0"}],
        "settings": {"api_enabled": True, "force_ssl": False, "currency": site.currency,
                     "currency_symbol": SYMBOLS.get(site.currency, site.currency),
                     "currency_position": "left", "thousand_separator": ",", "decimal_separator": ".",
                     "number_of_decimals": 2},
        "security": {"secure_connection": False, "hide_errors": True},
    }


# -- WordPress ---------------------------------------------------------------------------------------

def _capabilities(u: User) -> tuple[dict[str, bool], dict[str, bool]]:
    if "administrator" in u.roles:
        caps = {c: True for c in ("switch_themes", "edit_themes", "activate_plugins", "edit_plugins",
                                  "edit_users", "manage_options", "edit_posts", "edit_others_posts",
                                  "publish_posts", "read", "list_users", "manage_woocommerce",
                                  "view_woocommerce_reports", "manage_lifterlms", "view_students")}
    elif "author" in u.roles:
        caps = {c: True for c in ("upload_files", "edit_posts", "edit_published_posts", "publish_posts",
                                  "read", "level_2", "level_1", "level_0", "delete_posts",
                                  "delete_published_posts", "lifterlms_instructor")}
    else:
        caps = {"read": True}
    extra = {r: True for r in u.roles}
    caps.update(extra)
    return caps, extra


def user(site: Site, u: User, *, edit: bool) -> dict[str, Any]:
    link = f"{site.url}/author/{u.slug}/"
    if not edit:
        return {"id": u.id, "name": u.name, "url": "", "description": u.description, "link": link,
                "slug": u.slug, "avatar_urls": avatar_urls(u.email), "meta": [],
                "_links": links(site, self=f"wp/v2/users/{u.id}", collection="wp/v2/users")}
    caps, extra = _capabilities(u)
    return {
        "id": u.id, "username": u.username, "name": u.name, "first_name": u.first_name,
        "last_name": u.last_name, "email": u.email, "url": "", "description": u.description, "link": link,
        "locale": "en_US", "nickname": u.username, "slug": u.slug, "roles": list(u.roles),
        "registered_date": datetime.fromtimestamp(u.registered, UTC).isoformat(),
        "capabilities": caps, "extra_capabilities": extra, "avatar_urls": avatar_urls(u.email),
        "meta": {"persisted_preferences": []}, "is_super_admin": "administrator" in u.roles,
        "woocommerce_meta": {"variable_product_tour_shown": "", "activity_panel_inbox_last_read": "",
                             "activity_panel_reviews_last_read": "", "homepage_layout": "",
                             "homepage_stats": "", "task_list_tracked_started_tasks": "",
                             "help_panel_highlight_shown": "", "android_app_banner_dismissed": ""},
        "_links": links(site, self=f"wp/v2/users/{u.id}", collection="wp/v2/users"),
    }


def post(site: Site, p: Post, *, edit: bool, rest_base: str = "posts") -> dict[str, Any]:
    link = f"{site.url}/{p.slug}/" if p.status == "publish" else f"{site.url}/?p={p.id}"
    body: dict[str, Any] = {
        "id": p.id, "date": local(site, p.date), "date_gmt": gmt(p.date),
        "guid": {"rendered": f"{site.url}/?p={p.id}"},
        "modified": local(site, p.modified), "modified_gmt": gmt(p.modified),
        "slug": p.slug, "status": p.status, "type": p.type, "link": link,
        "title": {"rendered": p.title}, "content": {"rendered": p.content, "protected": False},
        "excerpt": {"rendered": p.excerpt, "protected": False}, "author": p.author, "featured_media": 0,
        "comment_status": "open", "ping_status": "open", "sticky": False, "template": "", "format": "standard",
        "meta": {k: p.meta.get(k, "") for k in sorted(site.registered_meta)},
        "categories": [1], "tags": [],
        "_links": links(site, self=f"wp/v2/{rest_base}/{p.id}", collection=f"wp/v2/{rest_base}",
                        author=f"wp/v2/users/{p.author}"),
    }
    if edit:
        body["guid"]["raw"] = body["guid"]["rendered"]
        body["title"]["raw"] = p.title
        body["content"]["raw"] = p.content
        body["content"]["block_version"] = 0
        body["excerpt"]["raw"] = ""
        body["password"] = ""
        body["permalink_template"] = f"{site.url}/%postname%/"
        body["generated_slug"] = p.slug
    return body


def index(site: Site, routes: list[str]) -> dict[str, Any]:
    namespaces = ["oembed/1.0", "wc/v3", "llms/v1", "ldlms/v2", "siren/v1", "wc/store/v1", "wp/v2",
                  "sandbox/v1"]
    return {
        "name": site.name, "description": "A loopback demo shop for siren-sync", "url": site.url,
        "home": site.url, "gmt_offset": site.gmt_offset(), "timezone_string": site.timezone_name,
        "namespaces": namespaces,
        "authentication": {"application-passwords": {"endpoints": {
            "authorization": f"{site.url}/wp-admin/authorize-application.php"}}},
        "routes": {r: {"namespace": r.strip("/").split("/")[0] + "/" + r.strip("/").split("/")[1]
                       if r.count("/") >= 2 else "", "methods": ["GET"],
                       "_links": {"self": [{"href": f"{site.url}/wp-json{r}"}]}} for r in routes},
        "site_logo": 0, "site_icon": 0, "site_icon_url": "",
        "_links": {"help": [{"href": "https://developer.wordpress.org/rest-api/"}]},
    }


# -- LifterLMS ---------------------------------------------------------------------------------------

def _llms_post_base(site: Site, pid: int, title: str, slug: str, kind: str, created: int,
                    content: str) -> dict[str, Any]:
    return {
        "id": pid, "date_created": local(site, created, " "), "date_created_gmt": gmt(created, " "),
        "date_updated": local(site, created, " "), "date_updated_gmt": gmt(created, " "), "menu_order": 0,
        "title": {"rendered": title}, "slug": slug, "post_type": kind,
        "permalink": f"{site.url}/{kind}/{slug}/", "status": "publish", "featured_media": 0,
        "comment_status": "closed" if kind == "course" else "open", "ping_status": "closed",
        "content": {"rendered": content, "protected": False},
        "excerpt": {"rendered": f"<p>{title}</p>\n", "protected": False},
    }


def course(site: Site, c: Course) -> dict[str, Any]:
    body = _llms_post_base(site, c.id, c.title, c.slug, "course", c.created, f"<p>{c.title}.</p>\n")
    empty = {"rendered": ""}
    body.update({
        "catalog_visibility": "catalog_search", "categories": [], "tags": [], "difficulties": [],
        "tracks": [], "instructors": [c.author], "audio_embed": "", "video_embed": "", "video_tile": False,
        "capacity_enabled": False, "capacity_limit": 0, "capacity_message": dict(empty), "prerequisite": 0,
        "prerequisite_track": 0, "length": dict(empty), "restricted_message": dict(empty),
        "access_opens_date": "", "access_closes_date": "", "access_opens_message": dict(empty),
        "access_closes_message": dict(empty), "enrollment_opens_date": "", "enrollment_closes_date": "",
        "enrollment_opens_message": dict(empty), "enrollment_closes_message": dict(empty),
        "sales_page_type": "none", "meta": [],
        "_links": links(site, self=f"llms/v1/courses/{c.id}", collection="llms/v1/courses",
                        content=f"llms/v1/courses/{c.id}/content",
                        access_plans=f"llms/v1/access-plans?post_id={c.id}",
                        enrollments=f"llms/v1/courses/{c.id}/enrollments",
                        instructors=f"llms/v1/instructors?post={c.id}",
                        students=f"llms/v1/students?enrolled_in={c.id}"),
    })
    return body


def lesson(site: Site, lesson_: Lesson) -> dict[str, Any]:
    body = _llms_post_base(site, lesson_.id, lesson_.title, lesson_.slug, "lesson", lesson_.created,
                           f"<p>{lesson_.title}.</p>\n")
    course_ = site.courses[lesson_.course_id]
    pos = course_.lessons.index(lesson_.id)
    rels: dict[str, Any] = {"self": f"llms/v1/lessons/{lesson_.id}", "collection": "llms/v1/lessons",
                  "course": f"llms/v1/courses/{lesson_.course_id}",
                  "parent": (f"llms/v1/sections/{lesson_.section_id}", {"type": "section"}),
                  "siblings": f"llms/v1/lessons?parent={lesson_.section_id}"}
    if pos > 0:
        rels["previous"] = f"llms/v1/lessons/{course_.lessons[pos - 1]}"
    if pos + 1 < len(course_.lessons):
        rels["next"] = f"llms/v1/lessons/{course_.lessons[pos + 1]}"
    body.update({
        "audio_embed": "", "video_embed": "", "parent_id": lesson_.section_id, "course_id": lesson_.course_id,
        "order": lesson_.order, "public": False, "points": 1,
        "quiz": {"enabled": False, "id": 0, "progression": "completed"}, "drip_method": "none",
        "drip_days": 0, "drip_date": "", "prerequisite": 0, "meta": [], "_links": links(site, **rels),
    })
    return body


def student(site: Site, u: User) -> dict[str, Any]:
    return {"id": u.id, "name": u.username, "url": "", "description": "", "meta": [],
            "avatar_urls": avatar_urls(u.email),
            "_links": links(site, self=f"llms/v1/students/{u.id}", collection="llms/v1/students",
                            enrollments=f"llms/v1/students/{u.id}/enrollments",
                            progress=f"llms/v1/students/{u.id}/progress")}


def enrollment(site: Site, e: Enrollment) -> dict[str, Any]:
    return {"post_id": e.course, "student_id": e.student, "date_created": local(site, e.created, " "),
            "date_updated": local(site, e.updated, " "), "status": e.status, "trigger": e.trigger,
            "_links": links(site, self=f"llms/v1/students/{e.student}/enrollments/{e.course}",
                            collection=f"llms/v1/students/{e.student}/enrollments",
                            student=f"llms/v1/students/{e.student}",
                            post=(f"llms/v1/courses/{e.course}", {"type": "course"}))}


def progress_of(site: Site, student_id: int, post_id: int) -> tuple[int, str, int, int] | None:
    """(percent, status, created, updated) of a student on a course, section or lesson; None if not
    enrolled in its course."""
    if post_id in site.courses:
        course_id, lessons = post_id, site.courses[post_id].lessons
    elif post_id in site.sections:
        course_id, lessons = site.sections[post_id].course_id, site.sections[post_id].lessons
    elif post_id in site.lessons:
        course_id, lessons = site.lessons[post_id].course_id, [post_id]
    else:
        return None
    e = site.enrollments.get((student_id, course_id))
    if e is None:
        return None
    done = [site.lesson_done[(student_id, lid)] for lid in lessons if (student_id, lid) in site.lesson_done]
    percent = round(100 * len(done) / len(lessons)) if lessons else 0
    if not done:
        return 0, "incomplete", e.created, e.created
    status = "complete" if len(done) == len(lessons) else "incomplete"
    return percent, status, min(done), max(done)


def progress(site: Site, student_id: int, post_id: int) -> dict[str, Any] | None:
    p = progress_of(site, student_id, post_id)
    if p is None:
        return None
    percent, status, created, updated = p
    kind = "course" if post_id in site.courses else ("section" if post_id in site.sections else "lesson")
    return {"student_id": student_id, "post_id": post_id, "progress": percent, "status": status,
            "date_updated": local(site, updated), "date_created": local(site, created),
            "_links": links(site, self=f"llms/v1/students/{student_id}/progress/{post_id}",
                            post=(f"llms/v1/{kind}s/{post_id}", {"type": kind}),
                            student=f"llms/v1/students/{student_id}")}


# -- LearnDash (minimal) -----------------------------------------------------------------------------

def ld_course_progress(site: Site, student_id: int, course_id: int) -> dict[str, Any]:
    c = site.courses[course_id]
    done = [(site.lesson_done[(student_id, lid)], lid) for lid in c.lessons
            if (student_id, lid) in site.lesson_done]
    e = site.enrollments[(student_id, course_id)]
    status = "not-started" if not done else ("completed" if len(done) == len(c.lessons) else "in-progress")
    return {"course": course_id, "progress_status": status, "last_step": max(done)[1] if done else 0,
            "steps_completed": len(done), "steps_total": len(c.lessons),
            "date_started_gmt": gmt(min(done)[0] if done else e.created),
            "date_started": local(site, min(done)[0] if done else e.created),
            "date_completed_gmt": gmt(max(done)[0]) if status == "completed" else "",
            "date_completed": local(site, max(done)[0]) if status == "completed" else "",
            "_links": links(site, steps=f"ldlms/v2/users/{student_id}/course-progress/{course_id}/steps",
                            course=f"ldlms/v2/sfwd-courses/{course_id}")}


def ld_steps(site: Site, student_id: int, course_id: int) -> list[dict[str, Any]]:
    out = []
    for lid in site.courses[course_id].lessons:
        at = site.lesson_done.get((student_id, lid))
        out.append({"step": lid, "post_type": "sfwd-lessons",
                    "step_status": "completed" if at else "not-started",
                    "date_started_gmt": gmt(at) if at else "", "date_started": local(site, at) if at else "",
                    "date_completed_gmt": gmt(at) if at else "",
                    "date_completed": local(site, at) if at else ""})
    return out


def ld_course(site: Site, c: Course) -> dict[str, Any]:
    return {"id": c.id, "date": local(site, c.created), "date_gmt": gmt(c.created),
            "modified": local(site, c.created), "modified_gmt": gmt(c.created), "slug": c.slug,
            "status": "publish", "type": "sfwd-courses", "link": f"{site.url}/courses/{c.slug}/",
            "title": {"rendered": c.title}, "content": {"rendered": f"<p>{c.title}.</p>\n", "protected": False},
            "author": c.author, "menu_order": 0, "steps": list(c.lessons),
            "_links": links(site, self=f"ldlms/v2/sfwd-courses/{c.id}", collection="ldlms/v2/sfwd-courses",
                            author=f"wp/v2/users/{c.author}")}


# -- Siren -------------------------------------------------------------------------------------------

def engagement(e: Engagement) -> dict[str, Any]:
    return {"id": e.id, "opportunityId": e.opportunity_id, "programId": e.program_id,
            "collaboratorId": e.collaborator_id, "score": e.score, "status": e.status,
            "dateCreated": gmt(e.created, " "), "dateModified": gmt(e.modified, " ")}


def section(site: Site, s: Section) -> dict[str, Any]:
    return {"id": s.id, "title": {"rendered": s.title}, "parent_id": s.course_id, "order": s.order,
            "post_type": "section", "_links": links(site, self=f"llms/v1/sections/{s.id}")}
