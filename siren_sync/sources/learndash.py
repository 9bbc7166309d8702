"""LearnDash (`ldlms/v2`): course and lesson completions, found by a per-user progress scan.

LearnDash keeps progress per user only, so the source walks the users (`wp/v2/users?orderby=id&
order=asc`, new users land on the last page) on its own slow cadence and, per user, reads
`ldlms/v2/users/<id>/course-progress` (one request per 100 courses). A course is looked at again only
when its `progress_status`, `last_step` or `steps_completed` differ from the stored state, and its
`.../course-progress/<course>/steps` are read only when `steps_completed` changed. The cursor keeps
`{"users": {user: {course: [progress_status, last_step, steps_completed]}}}`, committed with the
events of each page of users.

Events: `learndash:courseCompleted:<user>:<course>` when a course turns `completed` (time:
`date_completed`), `learndash:lessonCompleted:<user>:<lesson>` for each completed `sfwd-lessons` step
(topics and quizzes are not lessons). Both go to the course's author (`ldlms/v2/sfwd-courses/<id>`
`author`, through `ctx.attribution.by_wp_user`). Completion times are read in UTC: LearnDash 4.x sends
`date_completed_gmt` (UTC) beside a site-local `date_completed`, and earlier versions sent only
`date_completed`, formatted from the UTC timestamp (`gmdate`), so `date_completed_gmt or
date_completed` is UTC on both. A step is done when its `step_status` is `completed` (steps carry
`step_status`, courses `progress_status`). A completion in a deleted course (404) or a course whose
author is not a collaborator is quarantined with the reason, once, and the scan goes on.

The route bases are LearnDash settings (LearnDash -> Settings -> REST API); `routes` overrides them.
`sync(ctx, since=...)` ignores the stored state and rescans everything (known keys change nothing).
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from siren_sync.errors import SyncError
from siren_sync.model import Event
from siren_sync.sources import lms
from siren_sync.sources import wordpress as wp
from siren_sync.sources.base import SyncContext, SyncReport
from siren_sync.sources.http import Upstream

log = logging.getLogger(__name__)

NS = "ldlms/v2"
DEFAULT_ROUTES = {"users": "users", "course-progress": "course-progress", "courses": "sfwd-courses",
                  "lesson-type": "sfwd-lessons"}
Owner = tuple[str | None, str | None]  # (collaborator id, or why there is none)


class LearnDashSource:
    """Course and lesson completions from LearnDash's REST API v2 (WordPress application password)."""

    def __init__(self, upstream: Upstream, *, name: str = "learndash", per_page: int = 100,
                 routes: Mapping[str, str] | None = None):
        self.name = name
        self.upstream = upstream
        self.per_page = per_page
        self.routes = {**DEFAULT_ROUTES, **(routes or {})}
        self._courses: dict[int, Owner] = {}  # course owners, learned once a sync
        self._steps = 0  # steps requests made this sync

    # -- public -------------------------------------------------------------------------------------
    def sync(self, ctx: SyncContext, since: datetime | None = None) -> SyncReport:
        """Scan every user's course progress for what changed since the stored state."""
        report = SyncReport(self.name)
        self._courses, self._steps = {}, 0
        scanned = lms.scan_people(ctx, report, self.upstream, name=self.name, path="wp/v2/users",
                                  params={"orderby": "id", "order": "asc", "_fields": "id"},
                                  per_page=self.per_page, key="users", since=since,
                                  scan=lambda uid, state: self._scan_user(ctx, report, uid, state))
        report.detail.update(users=scanned, steps_requests=self._steps)
        return report

    def check(self) -> list[tuple[str, bool, str]]:
        """The courses and users routes answer, with their counts."""
        return lms.check_counts(self.upstream, self.name, (
            ("courses", f"{NS}/{self.routes['courses']}", {"per_page": 1}),
            ("users", "wp/v2/users", {"per_page": 1, "context": "edit", "_fields": "id"})))

    # -- the scan -----------------------------------------------------------------------------------
    def _scan_user(self, ctx: SyncContext, report: SyncReport, uid: int,
                   state: Mapping[str, Any]) -> tuple[dict[str, Any], list[Event]]:
        """One user's new state and completions, from their course progress pages."""
        base = f"{NS}/{self.routes['users']}/{uid}/{self.routes['course-progress']}"
        courses: dict[str, list[Any]] = {k: list(v) for k, v in state.items()}
        events: list[Event] = []
        for items, _, _ in wp.pages(self.upstream, base, None, self.per_page):
            report.records += len(items)
            for item in items:
                self._scan_course(ctx, uid, base, item, courses, events)
        return courses, events

    def _scan_course(self, ctx: SyncContext, uid: int, base: str, item: Mapping[str, Any],
                     courses: dict[str, list[Any]], events: list[Event]) -> None:
        """One course-progress item: its steps read when `steps_completed` moved, the course counted
        when it turned `completed`. Updates `courses`, adds completions to `events`."""
        course_id = int(item["course"])
        cid = str(course_id)
        now = [item.get("progress_status"), item.get("last_step"), item.get("steps_completed")]
        old = courses.get(cid)
        if old == now:
            return
        if now[2] and (old is None or old[2] != now[2]):
            self._steps += 1
            self._scan_steps(ctx, uid, f"{base}/{course_id}/steps", course_id, events)
        if now[0] == "completed" and not (old and old[0] == "completed"):
            self._completion(ctx, events, "courseCompleted", uid, course_id, course_id, item)
        courses[cid] = now

    def _scan_steps(self, ctx: SyncContext, uid: int, path: str, course_id: int, events: list[Event]) -> None:
        """The completed lessons among a course's steps (topics and quizzes are not lessons)."""
        for steps, _, _ in wp.pages(self.upstream, path, None, self.per_page):
            for step in steps:
                if step.get("post_type") == self.routes["lesson-type"] and step.get("step_status") == "completed":
                    self._completion(ctx, events, "lessonCompleted", uid, int(step["step"]), course_id, step)

    def _completion(self, ctx: SyncContext, events: list[Event], kind: str, uid: int, post_id: int,
                    course_id: int, item: Mapping[str, Any]) -> None:
        """The completion event of `post_id` into `events`, or the item quarantined with why not."""
        key = f"learndash:{kind}:{uid}:{post_id}"  # stable whatever the source is named
        when = item.get("date_completed_gmt") or item.get("date_completed")  # UTC (module docstring)
        at = lms.site_time(when, UTC)
        if at is None:
            ctx.quarantine(key, f"completion without a readable date_completed_gmt or date_completed "
                                f"({when!r})", dict(item))
            return
        owner, problem = self._owner(ctx, course_id)
        if owner is None:
            ctx.quarantine(key, problem or "no owner", dict(item))
            return
        events.append(Event(key=key, type=kind, at=at, collaborator=owner, source=self.name))

    def _owner(self, ctx: SyncContext, course_id: int) -> Owner:
        """The course's author as a collaborator (or why not), read once a sync."""
        if course_id not in self._courses:
            self._courses[course_id] = self._read_owner(ctx, course_id)
        return self._courses[course_id]

    def _read_owner(self, ctx: SyncContext, course_id: int) -> Owner:
        try:
            data, _ = wp.get_json(self.upstream, f"{NS}/{self.routes['courses']}/{course_id}", None)
        except SyncError as exc:
            if exc.status in (404, 410):
                return None, f"course {course_id} not found (deleted?)"
            raise
        author = data.get("author")
        owner = ctx.attribution.by_wp_user.get(int(author)) if author not in (None, "") else None
        return owner, None if owner else f"course {course_id} has no known author (WordPress user {author})"
