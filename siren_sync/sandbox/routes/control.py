"""`sandbox/v1`: the sandbox's own controls (no auth, never faulted): the simulated clock, the fault
switches, the request statistics, and changing an order now (its status, a refund, a touch)."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from siren_sync.sandbox import shapes
from siren_sync.sandbox.rest import ApiError, Env, Request, Response, Routes
from siren_sync.sandbox.site import Site, from_ts

ROUTES = Routes()
route = ROUTES.route


def _clock_body(site: Site) -> dict[str, Any]:
    return {"now": from_ts(site.now).isoformat(), "timestamp": site.now, "played": site.played,
            "pending": len(site.timeline) - site.played, "orders": len(site.orders)}


@route("GET", r"/sandbox/v1/clock")
def get_clock(env: Env, req: Request, m: re.Match[str]) -> Response:
    return Response(200, _clock_body(env.site))


@route("POST", r"/sandbox/v1/clock")
def set_clock(env: Env, req: Request, m: re.Match[str]) -> Response:
    data = req.json() or {}
    try:
        if "advance" in data:
            env.site.advance(int(float(data["advance"])))
        elif "now" in data:
            env.site.set_now(datetime.fromisoformat(str(data["now"]).replace("Z", "+00:00")))
        else:
            raise ValueError("give {\"advance\": seconds} or {\"now\": iso}")
    except (TypeError, ValueError) as exc:
        raise ApiError(400, "sandbox_invalid_clock", str(exc)) from None
    return Response(200, _clock_body(env.site))


@route("GET", r"/sandbox/v1/faults")
def get_faults(env: Env, req: Request, m: re.Match[str]) -> Response:
    return Response(200, env.faults.as_dict())


@route("POST", r"/sandbox/v1/faults")
def set_faults(env: Env, req: Request, m: re.Match[str]) -> Response:
    data = req.json() or {}
    try:
        if data.get("reset"):
            env.faults.reset()
            data = {k: v for k, v in data.items() if k != "reset"}
        env.faults.update(data)
    except (TypeError, ValueError) as exc:
        raise ApiError(400, "sandbox_invalid_faults", str(exc)) from None
    return Response(200, env.faults.as_dict())


@route("GET", r"/sandbox/v1/stats")
def get_stats(env: Env, req: Request, m: re.Match[str]) -> Response:
    return Response(200, env.stats.as_dict())


@route("POST", r"/sandbox/v1/stats")
def reset_stats(env: Env, req: Request, m: re.Match[str]) -> Response:
    with env.stats.lock:
        env.stats.reset()
    return Response(200, env.stats.as_dict())


@route("POST", r"/sandbox/v1/orders/(?P<id>\d+)")
def change_order(env: Env, req: Request, m: re.Match[str]) -> Response:
    site, data, oid = env.site, req.json() or {}, int(m["id"])
    if oid not in site.orders:
        raise ApiError(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
    try:
        if "status" in data:
            site.set_order_status(oid, str(data["status"]))
        if "refund" in data:
            amount = data["refund"]
            cents = None if amount in (None, "full") else int(round(float(amount) * 100))
            site.refund_order(oid, cents, str(data.get("reason", "")))
        if data.get("touch"):
            site.touch_order(oid)
    except ValueError as exc:
        raise ApiError(400, "sandbox_invalid_change", str(exc)) from None
    return Response(200, shapes.order(site, site.orders[oid]))
