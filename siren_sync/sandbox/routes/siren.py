"""`siren/v1` (Siren): engagements (paged by `number`/`offset`, silently capped at 50, counted in
`x-siren-estimated-count`) and collaborators; Siren's own error shape on bad parameters."""
from __future__ import annotations

import re
from typing import Any

from siren_sync.sandbox import shapes
from siren_sync.sandbox.rest import Env, Request, Response, Routes, SirenError, one, require

ROUTES = Routes()
route = ROUTES.route

FORBIDDEN = "Sorry, you are not allowed to do that."
ORDER_BY = {"id": "id", "dateCreated": "created", "dateModified": "modified", "score": "score",
            "collaboratorId": "collaborator_id"}
FILTERS = (("status", "status"), ("collaboratorId", "collaborator_id"), ("programId", "program_id"),
           ("opportunityId", "opportunity_id"))


def _count(req: Request, name: str, default: int, failed: dict[str, list[str]]) -> int:
    raw = req.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw))
    except ValueError:
        value = -1
    if value < 0:
        failed[name] = [f"{name} must be a non-negative integer"]
        return default
    return value


def _listing(req: Request) -> tuple[int, int, str, str]:
    """number, offset, orderBy and order, or Siren's 400 with every failed validation."""
    failed: dict[str, list[str]] = {}
    number = min(_count(req, "number", 10, failed), 50)  # Siren caps silently at 50
    offset = _count(req, "offset", 0, failed)
    order_by = str(req.args.get("orderBy", "id"))
    if order_by not in ORDER_BY:
        failed["orderBy"] = ["orderBy must be one of id, dateCreated, dateModified, score, collaboratorId"]
    order = str(req.args.get("order", "DESC")).upper()
    if order not in ("ASC", "DESC"):
        failed["order"] = ["order must be ASC or DESC"]
    if failed:
        raise SirenError(400, "invalid", "Validation failed.", failedValidations=failed)
    return number, offset, order_by, order


@route("GET", r"/siren/v1/engagements")
def siren_engagements(env: Env, req: Request, m: re.Match[str]) -> Response:
    require(req, "rest_forbidden", FORBIDDEN)
    number, offset, order_by, order = _listing(req)
    items = list(env.site.engagements.values())
    for name, attr in FILTERS:
        if req.has(name):
            wanted = set(str(req.args[name]).split(","))
            items = [e for e in items if str(getattr(e, attr)) in wanted]
    attr = ORDER_BY[order_by]
    items.sort(key=lambda e: (getattr(e, attr), e.id), reverse=order == "DESC")
    chunk = items[offset:offset + number]
    names = req.list("fields")
    body: list[dict[str, Any]] = [shapes.engagement(e) for e in chunk]
    if names:
        body = [{k: v for k, v in b.items() if k in names} for b in body]
    return Response(200, body, {"x-siren-estimated-count": str(len(items))})


@route("GET", r"/siren/v1/engagements/(?P<id>\d+)")
def siren_engagement(env: Env, req: Request, m: re.Match[str]) -> Response:
    require(req, "rest_forbidden", FORBIDDEN)
    return Response(200, shapes.engagement(one(env.site.engagements, m, SirenError(404, "not_found",
                                                                                 "Engagement not found."))))


@route("GET", r"/siren/v1/collaborators")
def siren_collaborators(env: Env, req: Request, m: re.Match[str]) -> Response:
    require(req, "rest_forbidden", FORBIDDEN)
    body = [{"id": c.id, "userId": c.user_id, "status": c.status, "trackingId": c.tracking_id}
            for c in sorted(env.site.siren_collaborators.values(), key=lambda c: c.id)]
    return Response(200, body, {"x-siren-estimated-count": str(len(body))})
