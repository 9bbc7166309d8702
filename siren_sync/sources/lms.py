"""What the LMS sources (LearnDash, LifterLMS) share: the per-person scan loop, dates, `check`.

Neither LMS has a "completions since T" feed, so both sources walk a paged list of people (WordPress
users, LifterLMS students) and re-check each one against a state stored per person in the cursor.
The walk itself is the same in both and is where the crash safety lives: the events of one page of
people are committed together with the cursor that already holds those people's new state, so a
crash between two pages loses nothing and counts nothing twice. Keeping that loop in one place keeps
the two sources from drifting apart on it; what is LMS-specific (how one person is scanned, what
the state holds) stays in each source.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime, tzinfo
from typing import Any

from siren_sync.model import Event
from siren_sync.sources import wordpress as wp
from siren_sync.sources.base import SyncContext, SyncReport
from siren_sync.sources.http import Upstream

ScanPerson = Callable[[int, Mapping[str, Any]], "tuple[dict[str, Any], list[Event]]"]


def scan_people(ctx: SyncContext, report: SyncReport, upstream: Upstream, *, name: str, path: str,
                params: Mapping[str, Any], per_page: int, key: str, since: datetime | None,
                scan: ScanPerson) -> int:
    """Walk the people at `path` page by page, `scan(person_id, stored_state)` each, and commit the
    page's events with the cursor `{"v": 1, key: {person_id: state}}`; returns how many were scanned.

    `since` (a backfill) starts from an empty state, so everything is rescanned; events already
    recorded are known by key and change nothing. An empty state returned by `scan` is not stored.
    """
    cursor = ctx.cursor(name) or {}
    states: dict[str, Any] = {} if since is not None else dict(cursor.get(key) or {})
    scanned = 0
    for items, page, total in wp.pages(upstream, path, params, per_page):
        events: list[Event] = []
        for person in items:
            pid = int(person["id"])
            state, found = scan(pid, states.get(str(pid)) or {})
            if state:
                states[str(pid)] = state
            events.extend(found)
            scanned += 1
        report.pages += 1
        report.events += ctx.commit(name, events, {"v": 1, key: states})
        ctx.progress(name, page, total, scanned)
    return scanned


def site_time(text: Any, site_tz: tzinfo) -> datetime | None:
    """An LMS date read by WordPress's rule (`wordpress.parse_site_time`: naive is site-local, a bare
    number a Unix timestamp), or None when it is empty or unreadable: the caller quarantines the
    completion with its own reason, so both LMS sources read dates and fail on them alike."""
    if not text:
        return None
    try:
        return wp.parse_site_time(text, site_tz)
    except ValueError:
        return None


def check_counts(upstream: Upstream, name: str,
                 probes: Iterable[tuple[str, str, Mapping[str, Any]]]) -> list[tuple[str, bool, str]]:
    """One `check` row per `(what, path, params)` probe: reachable with its X-WP-Total count, or the
    error; never raises (a check reports)."""
    rows = []
    for what, path, params in probes:
        try:
            data, headers = wp.get_json(upstream, path, params)
            total = wp.header(headers, "X-WP-Total") or str(len(data))
            rows.append((f"{name}: {path}", True, f"reachable, {total} {what}"))
        except Exception as exc:  # noqa: BLE001 - check reports, never raises
            rows.append((f"{name}: {path}", False, str(exc)))
    return rows
