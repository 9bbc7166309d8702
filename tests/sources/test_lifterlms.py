"""sources/lifterlms.py: the per-student progress scan, shaped on reference/samples/llms-v1-*.json."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from siren_sync.model import Collaborator
from siren_sync.sources.lifterlms import LifterLMSSource
from tests.support.apps import run_once
from tests.support.payloads import FakeContext, serving, site_upstream, wp_collection

PARIS = ZoneInfo("Europe/Paris")
ALICE = Collaborator(id="alice-martin", name="Alice Martin", wp_user_id=2)
BOB = Collaborator(id="bob", name="Bob", wp_user_id=3)


def context():
    return FakeContext.of([ALICE, BOB])


def links(kind, href):
    return {"self": [{"href": f"https://shop.example/wp-json/llms/v1/{href}"}],
            "post": [{"type": kind, "href": "https://shop.example/wp-json/llms/v1/courses/1"}]}


def student(sid, name):
    return {"id": sid, "name": name, "url": "", "description": "", "meta": [],
            "avatar_urls": {"24": "http://2.gravatar.com/avatar/e0?s=24&d=mm&r=g"},
            "_links": {"self": [{"href": f"https://shop.example/wp-json/llms/v1/students/{sid}"}]}}


def enrollment(sid, course, updated, status="enrolled", kind="course"):
    return {"post_id": course, "student_id": sid, "date_created": "2026-10-14 05:56:04",
            "date_updated": updated, "status": status, "trigger": "peer_seed",
            "_links": {"self": [{"href": f"https://shop.example/wp-json/llms/v1/students/{sid}/enrollments/{course}"}],
                       "post": [{"type": kind, "href": f"https://shop.example/wp-json/llms/v1/courses/{course}"}]}}


def progress(sid, post, status, percent, updated, kind="course"):
    return {"student_id": sid, "post_id": post, "progress": percent, "status": status,
            "date_updated": updated, "date_created": "2026-10-15T18:07:02",
            "_links": {"post": [{"type": kind, "href": f"https://shop.example/wp-json/llms/v1/{kind}s/{post}"}]}}


def course(cid, instructors):
    return {"id": cid, "date_created": "2026-11-23 04:00:46", "date_created_gmt": "2026-11-23 04:00:46",
            "date_updated": "2026-11-23 04:00:46", "date_updated_gmt": "2026-11-23 04:00:46",
            "title": {"rendered": f"Course {cid}"}, "slug": f"course-{cid}", "post_type": "course",
            "permalink": f"https://shop.example/course/course-{cid}/", "status": "publish",
            "instructors": instructors, "prerequisite": 0, "meta": []}


def lesson(lid, cid):
    return {"id": lid, "title": {"rendered": f"Lesson {lid}"}, "post_type": "lesson", "status": "publish",
            "parent_id": cid + 1000, "course_id": cid, "order": 1, "points": 1, "meta": []}


JSON_CT = "application/json; charset=UTF-8"
NOT_ENROLLED = {"code": "rest_invalid_param", "message": "Invalid parameter(s): post_id",
                "data": {"status": 400, "params": {"post_id": "Invalid parameter."}, "details": []}}
NOT_FOUND = {"code": "llms_rest_not_found", "message": "The requested resource could not be found.",
             "data": {"status": 404}}


class FakeLifter:
    """A LifterLMS REST API answering from dicts the test changes between syncs."""

    def __init__(self):
        self.students = [student(6, "emma.bernard"), student(7, "lucas.petit")]
        self.enrollments = {6: [], 7: []}
        self.progress: dict[tuple[int, int], dict] = {}
        self.courses = {139: course(139, [2]), 160: course(160, [2]), 107: course(107, [99])}
        self.lessons = [lesson(142, 139), lesson(143, 139), lesson(161, 160), lesson(162, 160),
                        lesson(110, 107)]
        self.paths: list[str] = []

    def __call__(self, request):
        path = urlsplit(request.url).path[len("/wp-json/"):]
        self.paths.append(path)
        json_ct = {"Content-Type": JSON_CT}
        if path == "llms/v1/students":
            return wp_collection(self.students, request, JSON_CT)
        if path == "llms/v1/courses":
            return wp_collection(list(self.courses.values()), request, JSON_CT)
        if path == "llms/v1/lessons":
            return wp_collection(self.lessons, request, JSON_CT)
        m = re.fullmatch(r"llms/v1/students/(\d+)/enrollments", path)
        if m:
            items = sorted(self.enrollments[int(m.group(1))], key=lambda e: e["date_updated"], reverse=True)
            if not items:  # as LifterLMS answers a student without enrollments
                return 404, json_ct, json.dumps({"code": "llms_rest_not_found", "data": {"status": 404},
                                                 "message": "The requested resource could not be found."})
            return wp_collection(items, request, JSON_CT)
        m = re.fullmatch(r"llms/v1/students/(\d+)/progress/(\d+)", path)
        if m:
            found = self.progress.get((int(m.group(1)), int(m.group(2))))
            if found is None:
                return 400, json_ct, json.dumps(NOT_ENROLLED)
            return 200, json_ct, json.dumps(found)
        m = re.fullmatch(r"llms/v1/courses/(\d+)", path)
        if m:
            found = self.courses.get(int(m.group(1)))
            return (200, json_ct, json.dumps(found)) if found else (404, json_ct, json.dumps(NOT_FOUND))
        return 404, json_ct, json.dumps({"code": "rest_no_route", "message": "No route", "data": {"status": 404}})

    def count(self, pattern):
        return sum(1 for p in self.paths if re.fullmatch(pattern, p))


@pytest.fixture
def site():
    with serving(FakeLifter()) as fake:
        yield fake


def source(**kw):
    return LifterLMSSource(site_upstream(), PARIS, **kw)


def seed(site):
    # Emma: course 139 complete (lesson 142 done, 143 not), course 160 half done, 107 cancelled.
    site.enrollments[6] = [enrollment(6, 139, "2026-10-14 05:56:04"),
                           enrollment(6, 160, "2026-10-20 09:00:00"),
                           enrollment(6, 107, "2026-10-21 10:00:00", status="cancelled")]
    site.progress[(6, 139)] = progress(6, 139, "complete", 100, "2026-10-29T22:58:02")
    site.progress[(6, 142)] = progress(6, 142, "complete", 100, "2026-10-15T18:07:02", "lesson")
    site.progress[(6, 143)] = progress(6, 143, "incomplete", 0, "2026-10-15T18:07:02", "lesson")
    site.progress[(6, 160)] = progress(6, 160, "incomplete", 50, "2026-10-22T08:00:00")
    site.progress[(6, 161)] = progress(6, 161, "complete", 100, "2026-10-22T08:00:00", "lesson")
    site.progress[(6, 162)] = progress(6, 162, "incomplete", 0, "2026-10-22T08:00:00", "lesson")


def test_completions_are_found_attributed_and_dated_in_site_time(site):
    seed(site)
    ctx = context()
    report = source().sync(ctx)
    assert sorted(ctx.events) == [
        "lifterlms:courseCompleted:6:139",
        "lifterlms:lessonCompleted:6:142",
        "lifterlms:lessonCompleted:6:161",
    ]
    done = ctx.events["lifterlms:courseCompleted:6:139"]
    assert done.type == "courseCompleted" and done.collaborator == "alice-martin"
    # "2026-10-29T22:58:02" is Paris time (UTC+1 after the October change): 21:58:02 UTC.
    assert done.at == datetime(2026, 10, 29, 21, 58, 2, tzinfo=UTC)
    assert ctx.events["lifterlms:lessonCompleted:6:142"].at == datetime(2026, 10, 15, 16, 7, 2, tzinfo=UTC)
    assert report.events == 3 and not ctx.quarantined
    # The cancelled enrollment answered 400 rest_invalid_param: nothing counted, nothing raised.
    assert site.count(r"llms/v1/students/6/progress/107") == 1


def test_second_sync_records_nothing_again_and_rechecks_only_open_courses(site):
    seed(site)
    ctx = context()
    src = source()
    src.sync(ctx)
    site.paths.clear()
    report = src.sync(ctx)
    assert report.events == 0 and len(ctx.events) == 3
    # students, two enrollment lists, and the one open course (160); its progress did not move, so
    # no lesson is asked again; the complete course 139 and the cancelled 107 are not asked at all.
    assert site.paths == ["llms/v1/students", "llms/v1/students/6/enrollments",
                          "llms/v1/students/6/progress/160", "llms/v1/students/7/enrollments"]


def test_progress_move_checks_only_unfinished_lessons_of_that_course(site):
    seed(site)
    ctx = context()
    src = source()
    src.sync(ctx)
    site.progress[(6, 160)] = progress(6, 160, "complete", 100, "2026-11-02T10:00:00")
    site.progress[(6, 162)] = progress(6, 162, "complete", 100, "2026-11-02T09:59:00", "lesson")
    site.paths.clear()
    report = src.sync(ctx)
    assert report.events == 2
    assert {"lifterlms:lessonCompleted:6:162", "lifterlms:courseCompleted:6:160"} <= set(ctx.events)
    assert site.count(r"llms/v1/students/6/progress/161") == 0  # already known complete
    assert site.count(r"llms/v1/students/6/progress/162") == 1
    assert site.count(r"llms/v1/students/6/progress/139") == 0
    src.sync(ctx)
    assert len(ctx.events) == 5  # recorded once per student and step


def test_enrollment_update_reopens_a_completed_course(site):
    seed(site)
    ctx = context()
    src = source()
    src.sync(ctx)
    site.enrollments[6][0] = enrollment(6, 139, "2026-11-05 10:00:00")
    site.progress[(6, 143)] = progress(6, 143, "complete", 100, "2026-11-05T10:00:00", "lesson")
    site.progress[(6, 139)] = progress(6, 139, "complete", 100, "2026-11-05T10:00:00")
    site.paths.clear()
    src.sync(ctx)
    assert site.count(r"llms/v1/students/6/progress/139") == 1
    assert "lifterlms:lessonCompleted:6:143" in ctx.events
    assert len([k for k in ctx.events if k.startswith("lifterlms:courseCompleted:6:139")]) == 1


def test_deleted_course_and_unknown_author_are_quarantined_once(site):
    seed(site)
    site.enrollments[7] = [enrollment(7, 150, "2026-10-01 10:00:00"), enrollment(7, 107, "2026-10-02 10:00:00")]
    site.progress[(7, 150)] = progress(7, 150, "complete", 100, "2026-10-05T10:00:00")
    site.progress[(7, 107)] = progress(7, 107, "complete", 100, "2026-10-06T10:00:00")
    site.progress[(7, 110)] = progress(7, 110, "complete", 100, "2026-10-06T09:00:00", "lesson")
    ctx = context()
    src = source()
    src.sync(ctx)
    reasons = {where: reason for where, reason, _ in ctx.quarantined}
    assert "deleted" in reasons["lifterlms:courseCompleted:7:150"]
    assert "no known author" in reasons["lifterlms:courseCompleted:7:107"]
    assert "lifterlms:courseCompleted:6:139" in ctx.events  # the scan went on
    src.sync(ctx)
    assert len(ctx.quarantined) == 3  # 150, 107 course, and lesson 110 of 107: not again
    assert "lifterlms:lessonCompleted:7:110" in reasons


def test_a_completion_in_a_deleted_course_is_quarantined_and_counted_once(site, tmp_path):
    """Through the ledger: the report says 1 quarantined and the store keeps the completion aside."""
    seed(site)
    site.enrollments[7] = [enrollment(7, 150, "2026-10-01 10:00:00")]
    site.progress[(7, 150)] = progress(7, 150, "complete", 100, "2026-10-05T10:00:00")
    report, kept = run_once(tmp_path, [ALICE, BOB], source())
    assert (report.events, report.quarantined) == (3, 1)
    assert list(kept) == ["lifterlms:courseCompleted:7:150"]
    assert kept["lifterlms:courseCompleted:7:150"]["reason"] == "course 150 not found (deleted?)"


def test_an_unreadable_completion_date_is_quarantined(site):
    seed(site)
    site.progress[(6, 139)]["date_updated"] = "someday"
    ctx = context()
    source().sync(ctx)
    assert [(where, reason) for where, reason, _ in ctx.quarantined] == [
        ("lifterlms:courseCompleted:6:139", "completion without a readable date_updated ('someday')")]


def test_commits_per_page_of_students_with_compact_state(site):
    seed(site)
    site.students = [student(i, f"s{i}") for i in (6, 7, 8)]
    site.enrollments[8] = []
    ctx = context()
    src = source(per_page=2)
    src.sync(ctx)
    assert len(ctx.commits) == 2
    state = ctx.cursor("lifterlms")["students"]
    assert state["6"]["c"]["139"][2] == 1 and state["6"]["c"]["107"][2] == 2
    assert state["6"]["c"]["160"][3] == [161]


def test_backfill_rescans_without_recording_twice(site):
    seed(site)
    ctx = context()
    src = source()
    src.sync(ctx)
    report = src.sync(ctx, since=datetime(2026, 1, 1, tzinfo=UTC))
    assert report.events == 0 and site.count(r"llms/v1/students/6/progress/139") == 2


def test_check_reports_reachability(site):
    rows = source().check()
    assert all(ok for _, ok, _ in rows) and "2 students" in rows[0][2]
