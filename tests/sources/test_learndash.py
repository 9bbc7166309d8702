"""sources/learndash.py: the per-user course-progress scan (ldlms/v2), steps read only when they changed."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest

from siren_sync.model import Collaborator
from siren_sync.sources.learndash import LearnDashSource
from tests.support.apps import run_once
from tests.support.payloads import FakeContext, serving, site_upstream, wp_collection

ALICE = Collaborator(id="alice-martin", name="Alice Martin", wp_user_id=2)


def context():
    return FakeContext.of([ALICE])


def wp_user(uid, slug):
    return {"id": uid, "name": slug, "url": "", "description": "", "link": f"https://shop.example/author/{slug}/",
            "slug": slug, "avatar_urls": {}, "meta": [], "_links": {}}


def cp(course, status, last_step, done, total, started="2026-10-01T09:00:00", completed="", local=None):
    """A course-progress item as LearnDash 4.x sends it: `completed` is `date_completed_gmt`, and the
    site-local `date_completed` is `local` (the same text when the site runs on UTC)."""
    return {"course": course, "progress_status": status, "last_step": last_step, "steps_completed": done,
            "steps_total": total, "date_started_gmt": started, "date_started": started,
            "date_completed_gmt": completed, "date_completed": completed if local is None else local,
            "_links": {"self": [{"href": f"https://shop.example/wp-json/ldlms/v2/sfwd-courses/{course}"}]}}


def step(sid, post_type, status, completed=""):
    return {"step": sid, "post_type": post_type, "step_status": status,
            "date_started_gmt": "2026-10-01T09:00:00", "date_started": "2026-10-01T09:00:00",
            "date_completed_gmt": completed, "date_completed": completed}


def ld_course(cid, author):
    return {"id": cid, "date": "2026-09-01T10:00:00", "date_gmt": "2026-09-01T08:00:00",
            "modified": "2026-09-01T10:00:00", "modified_gmt": "2026-09-01T08:00:00", "slug": f"course-{cid}",
            "status": "publish", "type": "sfwd-courses", "link": f"https://shop.example/courses/course-{cid}/",
            "title": {"rendered": f"Course {cid}"}, "author": author}


class FakeLearnDash:
    def __init__(self):
        self.users = [wp_user(2, "alice-martin"), wp_user(11, "student-a"), wp_user(12, "student-b")]
        self.progress: dict[int, list] = {2: [], 11: [], 12: []}
        self.steps: dict[tuple[int, int], list] = {}
        self.courses = {300: ld_course(300, 2), 400: ld_course(400, 77)}
        self.paths: list[str] = []

    def __call__(self, request):
        path = urlsplit(request.url).path[len("/wp-json/"):]
        self.paths.append(path)
        if path == "wp/v2/users":
            return wp_collection(self.users, request)
        m = re.fullmatch(r"ldlms/v2/users/(\d+)/course-progress", path)
        if m:
            return wp_collection(self.progress[int(m.group(1))], request)
        m = re.fullmatch(r"ldlms/v2/users/(\d+)/course-progress/(\d+)/steps", path)
        if m:
            return wp_collection(self.steps.get((int(m.group(1)), int(m.group(2))), []), request)
        if path == "ldlms/v2/sfwd-courses":
            return wp_collection(list(self.courses.values()), request)
        m = re.fullmatch(r"ldlms/v2/sfwd-courses/(\d+)", path)
        if m and int(m.group(1)) in self.courses:
            return 200, {"Content-Type": "application/json"}, json.dumps(self.courses[int(m.group(1))])
        return 404, {"Content-Type": "application/json"}, json.dumps(
            {"code": "rest_post_invalid_id", "message": "Invalid post ID.", "data": {"status": 404}})

    def count(self, pattern):
        return sum(1 for p in self.paths if re.fullmatch(pattern, p))


@pytest.fixture
def site():
    with serving(FakeLearnDash()) as fake:
        yield fake


def source():
    return LearnDashSource(site_upstream())


def seed(site):
    site.progress[11] = [cp(300, "completed", 303, 3, 3, completed="2026-10-10T12:00:00")]
    site.steps[(11, 300)] = [step(301, "sfwd-lessons", "completed", "2026-10-08T12:00:00"),
                             step(302, "sfwd-topic", "completed", "2026-10-09T12:00:00"),
                             step(303, "sfwd-lessons", "completed", "2026-10-10T11:00:00")]
    site.progress[12] = [cp(300, "in-progress", 301, 1, 3)]
    site.steps[(12, 300)] = [step(301, "sfwd-lessons", "completed", "2026-10-11T12:00:00"),
                             step(302, "sfwd-topic", "not-completed"), step(303, "sfwd-lessons", "not-completed")]


def test_course_and_lesson_completions(site):
    seed(site)
    # A New York site: LearnDash sends the UTC time in date_completed_gmt, the local one beside it.
    site.progress[11][0].update(date_completed_gmt="2026-10-10T16:00:00", date_completed="2026-10-10T12:00:00")
    ctx = context()
    source().sync(ctx)
    assert sorted(ctx.events) == ["learndash:courseCompleted:11:300", "learndash:lessonCompleted:11:301",
                                  "learndash:lessonCompleted:11:303", "learndash:lessonCompleted:12:301"]
    done = ctx.events["learndash:courseCompleted:11:300"]
    assert done.collaborator == "alice-martin" and done.type == "courseCompleted"
    assert done.at == datetime(2026, 10, 10, 16, 0, tzinfo=UTC)
    assert ctx.events["learndash:lessonCompleted:11:301"].at == datetime(2026, 10, 8, 12, tzinfo=UTC)
    assert not ctx.quarantined


def test_learndash_3_sends_only_date_completed_and_it_is_utc(site):
    """LearnDash 3.x formatted date_completed from the UTC timestamp (gmdate) and had no _gmt field."""
    site.progress[11] = [cp(300, "completed", 303, 3, 3)]
    site.progress[11][0].pop("date_completed_gmt")
    site.progress[11][0]["date_completed"] = "2026-10-10T16:00:00"
    ctx = context()
    source().sync(ctx)
    assert ctx.events["learndash:courseCompleted:11:300"].at == datetime(2026, 10, 10, 16, tzinfo=UTC)


def test_a_step_counts_when_its_step_status_is_completed(site):
    """Steps carry `step_status` (courses carry `progress_status`); a step not completed counts nothing."""
    site.progress[11] = [cp(300, "in-progress", 301, 1, 3)]
    site.steps[(11, 300)] = [step(301, "sfwd-lessons", "completed", "2026-10-08T12:00:00"),
                             step(303, "sfwd-lessons", "in-progress")]
    ctx = context()
    source().sync(ctx)
    assert sorted(ctx.events) == ["learndash:lessonCompleted:11:301"]


def test_unchanged_courses_are_not_rechecked(site):
    seed(site)
    ctx = context()
    src = source()
    src.sync(ctx)
    site.paths.clear()
    report = src.sync(ctx)
    assert report.events == 0 and len(ctx.events) == 4
    assert site.paths == ["wp/v2/users", "ldlms/v2/users/2/course-progress",
                          "ldlms/v2/users/11/course-progress", "ldlms/v2/users/12/course-progress"]


def test_only_changed_steps_are_fetched_and_recorded_once(site):
    seed(site)
    ctx = context()
    src = source()
    src.sync(ctx)
    # Student 12 finishes the course; student 11's last_step moves without new steps.
    site.progress[12] = [cp(300, "completed", 303, 3, 3, completed="2026-11-01T10:00:00")]
    site.steps[(12, 300)] = [step(301, "sfwd-lessons", "completed", "2026-10-11T12:00:00"),
                             step(302, "sfwd-topic", "completed", "2026-10-31T12:00:00"),
                             step(303, "sfwd-lessons", "completed", "2026-11-01T09:00:00")]
    site.progress[11] = [cp(300, "completed", 301, 3, 3, completed="2026-10-10T12:00:00")]
    site.paths.clear()
    report = src.sync(ctx)
    assert report.events == 2
    assert {"learndash:courseCompleted:12:300", "learndash:lessonCompleted:12:303"} <= set(ctx.events)
    assert site.count(r"ldlms/v2/users/12/course-progress/300/steps") == 1
    assert site.count(r"ldlms/v2/users/11/course-progress/300/steps") == 0
    assert src.sync(ctx).events == 0


def test_deleted_course_and_unknown_author_are_quarantined(site):
    seed(site)
    site.progress[2] = [cp(500, "completed", 501, 1, 1, completed="2026-10-12T10:00:00"),
                        cp(400, "completed", 401, 1, 1, completed="2026-10-12T11:00:00")]
    ctx = context()
    src = source()
    src.sync(ctx)
    reasons = {where: reason for where, reason, _ in ctx.quarantined}
    assert "deleted" in reasons["learndash:courseCompleted:2:500"]
    assert "no known author" in reasons["learndash:courseCompleted:2:400"]
    assert "learndash:courseCompleted:11:300" in ctx.events
    before = len(ctx.quarantined)
    src.sync(ctx)
    assert len(ctx.quarantined) == before


def test_a_completion_in_a_deleted_course_is_quarantined_and_counted_once(site, tmp_path):
    """Through the ledger: the report says 1 quarantined and the store keeps the completion aside."""
    seed(site)
    site.progress[2] = [cp(500, "completed", 501, 1, 1, completed="2026-10-12T10:00:00")]
    report, kept = run_once(tmp_path, [ALICE], source())
    assert (report.events, report.quarantined) == (4, 1)
    assert list(kept) == ["learndash:courseCompleted:2:500"]
    assert kept["learndash:courseCompleted:2:500"]["reason"] == "course 500 not found (deleted?)"


def test_an_unreadable_completion_date_is_quarantined(site):
    site.progress[11] = [cp(300, "completed", 303, 3, 3, completed="not a date")]
    ctx = context()
    source().sync(ctx)
    assert [(where, reason) for where, reason, _ in ctx.quarantined] == [
        ("learndash:courseCompleted:11:300",
         "completion without a readable date_completed_gmt or date_completed ('not a date')")]


def test_state_is_committed_per_page_of_users(site):
    seed(site)
    ctx = context()
    src = source()
    src.per_page = 2
    src.sync(ctx)
    assert len(ctx.commits) == 2
    assert ctx.cursor("learndash")["users"]["12"]["300"] == ["in-progress", 301, 1]


def test_check_rows(site):
    rows = source().check()
    assert [ok for _, ok, _ in rows] == [True, True]
    assert "2 courses" in rows[0][2] and "3 users" in rows[1][2]
