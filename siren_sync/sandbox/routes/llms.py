"""`llms/v1` (LifterLMS): courses, lessons, sections, students, enrollments and progress.

As LifterLMS answers: `students` lists every user unless `roles` is given; a student or course
without enrollments is `404 llms_rest_not_found` ("Specs require 404 when no course enrollments are
found"); progress on a post the student is not enrolled in is `400 rest_invalid_param`; collections
carry `first` and `last` links too.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, TypeVar

from siren_sync.sandbox import shapes
from siren_sync.sandbox.rest import (
    ApiError,
    Env,
    Request,
    Response,
    Routes,
    listing,
    one,
    page_args,
    page_of,
    paged,
    require,
)
from siren_sync.sandbox.site import Enrollment, Site, User

ROUTES = Routes()
route = ROUTES.route

T = TypeVar("T")
UNAUTHORIZED = "The API credentials were invalid."


def _llms_list(site: Site, req: Request, items: list[T], render: Callable[[T], dict[str, Any]]) -> Response:
    page, per_page = page_args(req)
    req.check()
    if req.args.get("order") == "desc":
        items = list(reversed(items))
    return listing(site, req, items, render, page, per_page, style="llms")


def _not_found(what: str) -> ApiError:
    return ApiError(404, "llms_rest_not_found", f"{what} not found.")


@route("GET", r"/llms/v1/courses")
def llms_courses(env: Env, req: Request, m: re.Match[str]) -> Response:
    include = req.ints("include")
    items = sorted(env.site.courses.values(), key=lambda c: c.id)
    if include:
        items = [c for c in items if c.id in include]
    return _llms_list(env.site, req, items, lambda c: shapes.course(env.site, c))


@route("GET", r"/llms/v1/courses/(?P<id>\d+)")
def llms_course(env: Env, req: Request, m: re.Match[str]) -> Response:
    return Response(200, shapes.course(env.site, one(env.site.courses, m, _not_found("Course"))))


@route("GET", r"/llms/v1/courses/(?P<id>\d+)/enrollments")
def llms_course_enrollments(env: Env, req: Request, m: re.Match[str]) -> Response:
    require(req, "llms_rest_unauthorized_request", UNAUTHORIZED)
    cid = int(m["id"])
    if cid not in env.site.courses:
        raise _not_found("Course")
    return _enrollments(env.site, req, [e for e in env.site.enrollments.values() if e.course == cid])


def _enrollments(site: Site, req: Request, items: list[Enrollment]) -> Response:
    status = req.args.get("status")
    if status:
        items = [e for e in items if e.status == status]
    post = req.ints("post")
    if post:
        items = [e for e in items if e.course in post]
    orderby = req.enum("orderby", ("date_created", "date_updated", "id"), "date_created")
    if orderby == "date_updated":
        items = sorted(items, key=lambda e: (e.updated, e.student, e.course))
    else:
        items = sorted(items, key=lambda e: (e.created, e.student, e.course))
    if req.args.get("order", "asc") == "desc":
        items.reverse()
    page, per_page = page_args(req)
    req.check()
    chunk = page_of(items, page, per_page)
    if not chunk:  # LifterLMS: "Specs require 404 when no course enrollments are found."
        raise ApiError(404, "llms_rest_not_found", "The requested resource could not be found.")
    return paged(site, req, [shapes.enrollment(site, e) for e in chunk], len(items), page, per_page, style="llms")


@route("GET", r"/llms/v1/lessons")
def llms_lessons(env: Env, req: Request, m: re.Match[str]) -> Response:
    items = sorted(env.site.lessons.values(), key=lambda lsn: lsn.id)
    parent = req.int("parent")
    if parent is not None:
        items = [lsn for lsn in items if lsn.section_id == parent or lsn.course_id == parent]
    return _llms_list(env.site, req, items, lambda lsn: shapes.lesson(env.site, lsn))


@route("GET", r"/llms/v1/lessons/(?P<id>\d+)")
def llms_lesson(env: Env, req: Request, m: re.Match[str]) -> Response:
    return Response(200, shapes.lesson(env.site, one(env.site.lessons, m, _not_found("Lesson"))))


@route("GET", r"/llms/v1/sections/(?P<id>\d+)")
def llms_section(env: Env, req: Request, m: re.Match[str]) -> Response:
    return Response(200, shapes.section(env.site, one(env.site.sections, m, _not_found("Section"))))


@route("GET", r"/llms/v1/students")
def llms_students(env: Env, req: Request, m: re.Match[str]) -> Response:
    """Every user unless `roles` is given: LifterLMS filters the list by role only then
    (LLMS_REST_Users_Controller::get_objects_query), so enrolled customers and admins are in it."""
    require(req, "llms_rest_unauthorized_request", UNAUTHORIZED)
    site = env.site
    roles = set(req.list("roles") or ())
    items = sorted((u for u in site.users.values() if not roles or roles & set(u.roles)), key=lambda u: u.id)
    enrolled_in = req.ints("enrolled_in")
    if enrolled_in:
        items = [u for u in items if any((u.id, c) in site.enrollments for c in enrolled_in)]
    include = req.ints("include")
    if include:
        items = [u for u in items if u.id in include]
    return _llms_list(site, req, items, lambda u: shapes.student(site, u))


def _student(site: Site, sid: int) -> User:
    """Any user: `llms_get_student()` does not look at roles."""
    u = site.users.get(sid)
    if u is None:
        raise _not_found("Student")
    return u


@route("GET", r"/llms/v1/students/(?P<id>\d+)")
def llms_student(env: Env, req: Request, m: re.Match[str]) -> Response:
    require(req, "llms_rest_unauthorized_request", UNAUTHORIZED)
    return Response(200, shapes.student(env.site, _student(env.site, int(m["id"]))))


@route("GET", r"/llms/v1/students/(?P<id>\d+)/enrollments")
def llms_student_enrollments(env: Env, req: Request, m: re.Match[str]) -> Response:
    require(req, "llms_rest_unauthorized_request", UNAUTHORIZED)
    sid = _student(env.site, int(m["id"])).id
    return _enrollments(env.site, req, [e for e in env.site.enrollments.values() if e.student == sid])


@route("GET", r"/llms/v1/students/(?P<id>\d+)/enrollments/(?P<post>\d+)")
def llms_student_enrollment(env: Env, req: Request, m: re.Match[str]) -> Response:
    require(req, "llms_rest_unauthorized_request", UNAUTHORIZED)
    e = env.site.enrollments.get((int(m["id"]), int(m["post"])))
    if e is None:
        raise _not_found("Enrollment")
    return Response(200, shapes.enrollment(env.site, e))


@route("GET", r"/llms/v1/students/(?P<id>\d+)/progress/(?P<post>\d+)")
def llms_progress(env: Env, req: Request, m: re.Match[str]) -> Response:
    require(req, "llms_rest_unauthorized_request", UNAUTHORIZED)
    sid = _student(env.site, int(m["id"])).id
    body = shapes.progress(env.site, sid, int(m["post"]))
    if body is None:
        raise ApiError(400, "rest_invalid_param", "Invalid parameter(s): post_id",
                       params={"post_id": "Invalid parameter."}, details=[])
    return Response(200, body)
