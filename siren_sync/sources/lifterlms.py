"""LifterLMS (`llms/v1`): course and lesson completions, found by a per-student progress scan.

LifterLMS has no "completions since T" feed: progress exists only per (student, post)
(`students/<id>/progress/<post>`), so the source scans students on its own slow cadence and re-checks
only what can have changed since the stored state:

1. students, `llms/v1/students?orderby=id&order=asc` (new students land on the last page: none is
   skipped when one registers during the scan);
2. per student, `students/<id>/enrollments?orderby=date_updated&order=desc`, read until the enrollments
   are older than the newest one seen last time (the rest are unchanged);
3. per enrolled course whose enrollment `date_updated` moved, or that was not complete yet:
   `students/<id>/progress/<course>`; a 400 `rest_invalid_param` means "not enrolled" (expired or
   cancelled): nothing to count, looked at again only when the enrollment changes;
4. when the course's progress percentage (or the enrollment) moved: `students/<id>/progress/<lesson>` for each lesson of
   the course (lesson -> course from `llms/v1/lessons`' `course_id`) not already known complete.

The cursor keeps, per student, `{"m": newest enrollment date_updated, "c": {course: [enrollment
date_updated, progress %, state, [completed lesson ids]]}}` (state 0 open, 1 complete, 2 not
enrolled). It is committed with the events of each page of students.

Completions are attributed to the course's author: the course's `author` when the route gives one,
else its `instructors` (the first that is a collaborator, through `ctx.attribution.by_wp_user`);
lessons to their course's. Keys `lifterlms:courseCompleted:<student>:<course>` and
`lifterlms:lessonCompleted:<student>:<lesson>`; the time is the progress `date_updated`, which
LifterLMS gives in site-local time without an offset: it is read in the site timezone given to the
constructor. A completion in a course that no longer exists (404) or whose author is not a
collaborator is quarantined with the reason, once, and the scan goes on.

`sync(ctx, since=...)` (a backfill) ignores the stored state and rescans everything; events already
recorded are known by key and change nothing.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, tzinfo
from typing import Any

from siren_sync.errors import SyncError
from siren_sync.model import Event
from siren_sync.sources import lms
from siren_sync.sources import wordpress as wp
from siren_sync.sources.base import SyncContext, SyncReport
from siren_sync.sources.http import Upstream

log = logging.getLogger(__name__)

NS = "llms/v1"
OPEN, COMPLETE, NOT_ENROLLED = 0, 1, 2
CourseState = list[Any]  # [enrollment date_updated, progress %, OPEN/COMPLETE/NOT_ENROLLED, [lesson ids done]]


class _Course:
    """What one sync learned about a course: its owner, or why it has none."""

    def __init__(self, owner: str | None = None, problem: str | None = None):
        self.owner = owner
        self.problem = problem


class LifterLMSSource:
    """Course and lesson completions from LifterLMS's REST API (WordPress application password)."""

    def __init__(self, upstream: Upstream, site_tz: tzinfo, *, name: str = "lifterlms", per_page: int = 100):
        self.name = name
        self.upstream = upstream
        self.site_tz = site_tz
        self.per_page = per_page
        # What one sync learns once: courses' owners, lessons by course, progress requests made.
        self._courses: dict[int, _Course] = {}
        self._lessons: dict[int, list[int]] | None = None
        self._requests = 0

    # -- public -------------------------------------------------------------------------------------
    def sync(self, ctx: SyncContext, since: datetime | None = None) -> SyncReport:
        """Scan every student's enrollments and what changed in them since the stored state."""
        report = SyncReport(self.name)
        self._courses, self._lessons, self._requests = {}, None, 0
        scanned = lms.scan_people(ctx, report, self.upstream, name=self.name, path=f"{NS}/students",
                                  params={"orderby": "id", "order": "asc"}, per_page=self.per_page,
                                  key="students", since=since,
                                  scan=lambda sid, state: self._scan_student(ctx, report, sid, state))
        report.detail.update(students=scanned, progress_requests=self._requests)
        return report

    def check(self) -> list[tuple[str, bool, str]]:
        """The students and courses routes answer, with their counts."""
        return lms.check_counts(self.upstream, self.name, (("students", f"{NS}/students", {"per_page": 1}),
                                                           ("courses", f"{NS}/courses", {"per_page": 1})))

    # -- what the site says -------------------------------------------------------------------------
    def _progress(self, sid: int, post_id: int) -> Mapping[str, Any] | None:
        """A student's progress in a post, or None when LifterLMS says they are not enrolled (400
        `rest_invalid_param`) or the post does not exist (404)."""
        try:
            data, _ = wp.get_json(self.upstream, f"{NS}/students/{sid}/progress/{post_id}", None)
        except SyncError as exc:  # only "not enrolled" is expected here
            if exc.status in (400, 404):  # not enrolled; or the post itself is gone
                return None
            raise
        self._requests += 1
        return data if isinstance(data, Mapping) else None

    def _course(self, ctx: SyncContext, course_id: int) -> _Course:
        """The course's owner (its author, else its first instructor who is a collaborator), once a sync."""
        known = self._courses.get(course_id)
        if known is None:
            known = self._courses[course_id] = self._read_course(ctx, course_id)
        return known

    def _read_course(self, ctx: SyncContext, course_id: int) -> _Course:
        try:
            data, _ = wp.get_json(self.upstream, f"{NS}/courses/{course_id}", None)
        except SyncError as exc:
            if exc.status in (404, 410):
                return _Course(problem=f"course {course_id} not found (deleted?)")
            raise
        candidates: list[int] = []
        if data.get("author") not in (None, "", 0):
            candidates.append(int(data["author"]))
        candidates += [int(i) for i in data.get("instructors") or () if i not in (None, "")]
        owner = next((ctx.attribution.by_wp_user[c] for c in candidates if c in ctx.attribution.by_wp_user),
                     None)
        if owner is None:
            who = ", ".join(map(str, candidates)) or "none"
            return _Course(problem=f"course {course_id} has no known author (WordPress users: {who})")
        return _Course(owner=owner)

    def _lessons_of(self, course_id: int) -> list[int]:
        """The course's lessons (all lessons are read once a sync, by `course_id`)."""
        if self._lessons is None:
            index: dict[int, list[int]] = {}
            for items, _, _ in wp.pages(self.upstream, f"{NS}/lessons", {"orderby": "id", "order": "asc"},
                                        self.per_page):
                for lesson in items:
                    if lesson.get("course_id"):
                        index.setdefault(int(lesson["course_id"]), []).append(int(lesson["id"]))
            self._lessons = index
        return self._lessons.get(course_id, [])

    def _enrollments(self, sid: int, newest_seen: str | None) -> list[Mapping[str, Any]]:
        """The student's enrollments, newest first, down to the newest the last scan saw.

        LifterLMS answers 404 `llms_rest_not_found` for a student without any enrollment (its
        enrollments controller: "Specs require 404 when no course enrollments are found").
        """
        result: list[Mapping[str, Any]] = []
        try:
            for items, _, _ in wp.pages(self.upstream, f"{NS}/students/{sid}/enrollments",
                                        {"orderby": "date_updated", "order": "desc"}, self.per_page):
                result.extend(items)
                if newest_seen and items and str(items[-1].get("date_updated") or "") < newest_seen:
                    break  # everything after this is older than what the last scan saw
        except SyncError as exc:  # only "no enrollments" is expected here
            if result or exc.status != 404:
                raise
        return result

    def _enrolled_courses(self, sid: int, newest_seen: str | None) -> dict[str, str]:
        """Course id -> enrollment `date_updated`, for the enrollments the early stop reached
        (memberships have no progress: left out)."""
        seen: dict[str, str] = {}
        for e in self._enrollments(sid, newest_seen):
            post_type = (((e.get("_links") or {}).get("post") or [{}])[0] or {}).get("type", "course")
            if post_type in ("course", None):
                seen[str(int(e["post_id"]))] = str(e.get("date_updated") or "")
        return seen

    # -- the scan -----------------------------------------------------------------------------------
    def _scan_student(self, ctx: SyncContext, report: SyncReport, sid: int,
                      state: Mapping[str, Any]) -> tuple[dict[str, Any], list[Event]]:
        """One student's new state and completions: each course whose enrollment moved, or that was
        still open, is looked at again."""
        courses: dict[str, CourseState] = {k: list(v) for k, v in (state.get("c") or {}).items()}
        newest = state.get("m")
        seen = self._enrolled_courses(sid, newest)
        report.records += len(seen)
        events: list[Event] = []
        for cid, updated in _to_check(courses, seen).items():
            self._scan_course(ctx, sid, cid, updated, courses, events)
        newest_now = max([newest or ""] + list(seen.values())) or None
        return {"m": newest_now, "c": courses}, events

    def _scan_course(self, ctx: SyncContext, sid: int, cid: str, updated: str, courses: dict[str, CourseState],
                     events: list[Event]) -> None:
        """Read the student's progress in one course; its lessons only when that progress (or the
        enrollment) moved. Updates `courses[cid]`, adds completions to `events`."""
        course_id = int(cid)
        old = courses.get(cid) or [updated, -1, OPEN, []]
        done = set(old[3])
        progress = self._progress(sid, course_id)
        if progress is None:
            courses[cid] = [updated, 0, NOT_ENROLLED, sorted(done)]
            return
        percent = progress.get("progress")
        complete = progress.get("status") == "complete"
        moved = cid in courses and courses[cid][0] != updated  # the enrollment itself changed
        if (percent != old[1] or moved) and (percent or complete):
            self._scan_lessons(ctx, sid, course_id, done, events)
        if complete and old[2] != COMPLETE:
            self._completion(ctx, events, "courseCompleted", sid, course_id, course_id, progress)
        courses[cid] = [updated, percent, COMPLETE if complete else OPEN, sorted(done)]

    def _scan_lessons(self, ctx: SyncContext, sid: int, course_id: int, done: set[int],
                      events: list[Event]) -> None:
        """The course's lessons not known complete yet: those now complete join `done` and `events`."""
        for lesson_id in self._lessons_of(course_id):
            if lesson_id in done:
                continue
            lp = self._progress(sid, lesson_id)
            if lp is None or lp.get("status") != "complete":
                continue
            done.add(lesson_id)
            self._completion(ctx, events, "lessonCompleted", sid, lesson_id, course_id, lp)

    def _completion(self, ctx: SyncContext, events: list[Event], kind: str, sid: int, post_id: int,
                    course_id: int, progress: Mapping[str, Any]) -> None:
        """The completion event of `post_id` into `events`, or the completion quarantined with why not."""
        key = f"lifterlms:{kind}:{sid}:{post_id}"  # stable whatever the source is named
        when = progress.get("date_updated")
        at = lms.site_time(when, self.site_tz)
        if at is None:
            ctx.quarantine(key, f"completion without a readable date_updated ({when!r})", dict(progress))
            return
        course = self._course(ctx, course_id)
        if course.owner is None:
            ctx.quarantine(key, course.problem or "no owner", dict(progress))
            return
        events.append(Event(key=key, type=kind, at=at, collaborator=course.owner, source=self.name))


def _to_check(courses: Mapping[str, CourseState], seen: Mapping[str, str]) -> dict[str, str]:
    """Course id -> enrollment `date_updated` of the courses to look at again: new, moved or still
    open among the enrollments read, and the open ones the early stop did not reach."""
    todo: dict[str, str] = {}
    for cid, updated in seen.items():
        old = courses.get(cid)
        if old is None or old[0] != updated or old[2] == OPEN:
            todo[cid] = updated
    for cid, old in courses.items():
        if cid not in seen and old[2] == OPEN:
            todo[cid] = old[0]
    return todo
