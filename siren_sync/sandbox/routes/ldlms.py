"""`ldlms/v2` (LearnDash, minimal): courses, a course's users, a user's course progress and steps."""
from __future__ import annotations

import re

from siren_sync.sandbox import shapes
from siren_sync.sandbox.rest import ApiError, Env, Request, Response, Routes, one, page_args, page_of, paged, require
from siren_sync.sandbox.site import Site

ROUTES = Routes()
route = ROUTES.route

FORBIDDEN = "Sorry, you are not allowed to do that."


@route("GET", r"/ldlms/v2/sfwd-courses")
def ld_courses(env: Env, req: Request, m: re.Match[str]) -> Response:
    items = sorted(env.site.courses.values(), key=lambda c: c.id)
    page, per_page = page_args(req)
    req.check()
    body = [shapes.ld_course(env.site, c) for c in page_of(items, page, per_page)]
    return paged(env.site, req, body, len(items), page, per_page, "wp")


@route("GET", r"/ldlms/v2/sfwd-courses/(?P<id>\d+)")
def ld_course(env: Env, req: Request, m: re.Match[str]) -> Response:
    c = one(env.site.courses, m, ApiError(404, "rest_post_invalid_id", "Invalid post ID."))
    return Response(200, shapes.ld_course(env.site, c))


@route("GET", r"/ldlms/v2/sfwd-courses/(?P<id>\d+)/users")
def ld_course_users(env: Env, req: Request, m: re.Match[str]) -> Response:
    require(req, "rest_forbidden", FORBIDDEN)
    site, cid = env.site, int(m["id"])
    ids = sorted({e.student for e in site.enrollments.values() if e.course == cid and e.status == "enrolled"})
    page, per_page = page_args(req)
    req.check()
    body = [shapes.user(site, site.users[i], edit=False) for i in page_of(ids, page, per_page)]
    return paged(site, req, body, len(ids), page, per_page, "wp")


def _enrolled(site: Site, uid: int) -> list[int]:
    return sorted(c for (s, c), e in site.enrollments.items() if s == uid and e.status == "enrolled")


@route("GET", r"/ldlms/v2/users/(?P<id>\d+)/course-progress")
def ld_progress(env: Env, req: Request, m: re.Match[str]) -> Response:
    require(req, "rest_forbidden", FORBIDDEN)
    site, uid = env.site, int(m["id"])
    if uid not in site.users:
        raise ApiError(404, "rest_user_invalid_id", "Invalid user ID.")
    courses = _enrolled(site, uid)
    page, per_page = page_args(req)
    req.check()
    body = [shapes.ld_course_progress(site, uid, c) for c in page_of(courses, page, per_page)]
    return paged(site, req, body, len(courses), page, per_page, "wp")


def _enrolled_course(site: Site, m: re.Match[str]) -> tuple[int, int]:
    uid, cid = int(m["id"]), int(m["course"])
    if cid not in _enrolled(site, uid):
        raise ApiError(404, "rest_post_invalid_id", "Invalid course ID.")
    return uid, cid


@route("GET", r"/ldlms/v2/users/(?P<id>\d+)/course-progress/(?P<course>\d+)")
def ld_progress_one(env: Env, req: Request, m: re.Match[str]) -> Response:
    require(req, "rest_forbidden", FORBIDDEN)
    uid, cid = _enrolled_course(env.site, m)
    return Response(200, shapes.ld_course_progress(env.site, uid, cid))


@route("GET", r"/ldlms/v2/users/(?P<id>\d+)/course-progress/(?P<course>\d+)/steps")
def ld_steps(env: Env, req: Request, m: re.Match[str]) -> Response:
    require(req, "rest_forbidden", FORBIDDEN)
    uid, cid = _enrolled_course(env.site, m)
    steps = shapes.ld_steps(env.site, uid, cid)
    return paged(env.site, req, steps, len(steps), 1, max(len(steps), 1), "wp")
