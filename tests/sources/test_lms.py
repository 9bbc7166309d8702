"""sources/lms.py: the per-person scan both LMS sources share, their date rule and their check rows."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from siren_sync.model import Event
from siren_sync.sources import lms
from siren_sync.sources.base import SyncReport
from tests.support.payloads import FakeContext, serving, site_upstream, wp_collection

PARIS = ZoneInfo("Europe/Paris")
AT = datetime(2026, 11, 2, 10, tzinfo=UTC)


@pytest.fixture
def people():
    """`GET people`: five people, paged the WordPress way; anything else is a 404."""
    items = [{"id": i} for i in range(1, 6)]

    def answer(request):
        if request.url.split("?")[0].endswith("/people"):
            return wp_collection(items, request)
        return 404, {"Content-Type": "application/json"}, json.dumps(
            {"code": "rest_no_route", "message": "No route was found matching the URL and request method.",
             "data": {"status": 404}})

    with serving(answer) as fake:
        yield fake


def scan_even_ones(pid, state):
    """A person's state counts their scans; even ids complete something once."""
    seen = state.get("scans", 0) + 1
    found = [Event(key=f"t:done:{pid}", type="manual", at=AT, collaborator="alice")] if pid % 2 == 0 else []
    return ({"scans": seen} if pid != 5 else {}), found


def scan(ctx, report, since=None):
    return lms.scan_people(ctx, report, site_upstream(), name="lms", path="people", params={}, per_page=2,
                           key="people", since=since, scan=scan_even_ones)


def test_each_page_commits_its_events_with_the_state_of_everyone_scanned_so_far(people):
    ctx, report = FakeContext(), SyncReport("lms")
    assert scan(ctx, report) == 5
    assert [(keys, sorted(cursor["people"])) for _, keys, cursor in ctx.commits] == [
        (["t:done:2"], ["1", "2"]), (["t:done:4"], ["1", "2", "3", "4"]), ([], ["1", "2", "3", "4"])]
    assert ctx.cursors["lms"] == {"v": 1, "people": {str(i): {"scans": 1} for i in range(1, 5)}}  # 5: empty
    assert (report.pages, report.events) == (3, 2)
    assert [call[1:] for call in ctx.progress_calls] == [(1, 3, 2), (2, 3, 4), (3, 3, 5)]


def test_the_next_scan_starts_from_the_stored_state_and_a_backfill_from_nothing(people):
    ctx = FakeContext()
    scan(ctx, SyncReport("lms"))
    report = SyncReport("lms")
    scan(ctx, report)
    assert ctx.cursors["lms"]["people"]["1"] == {"scans": 2} and report.events == 0
    scan(ctx, SyncReport("lms"), since=AT)
    assert ctx.cursors["lms"]["people"]["1"] == {"scans": 1}


@pytest.mark.parametrize("text, expected", [
    ("2026-10-29T22:58:02", datetime(2026, 10, 29, 21, 58, 2, tzinfo=UTC)),  # site-local (Paris, UTC+1)
    ("2026-10-14 05:56:04", datetime(2026, 10, 14, 3, 56, 4, tzinfo=UTC)),  # MySQL style, summer time
    ("2026-10-29T22:58:02Z", datetime(2026, 10, 29, 22, 58, 2, tzinfo=UTC)),
    ("2026-10-29T22:58:02+02:00", datetime(2026, 10, 29, 20, 58, 2, tzinfo=UTC)),
    (1793318400, datetime(2026, 10, 30, 0, 0, tzinfo=UTC)),  # a Unix timestamp
    ("1793318400", datetime(2026, 10, 30, 0, 0, tzinfo=UTC)),
])
def test_site_time_reads_wordpress_dates(text, expected):
    assert lms.site_time(text, PARIS) == expected


@pytest.mark.parametrize("text", [None, "", "0", "soon", "2026-13-01 00:00:00", 12.5])
def test_site_time_is_none_when_there_is_no_readable_date(text):
    assert lms.site_time(text, PARIS) is None


def test_check_counts_rows(people):
    rows = lms.check_counts(site_upstream(), "lms", [("people", "people", {"per_page": 1}),
                                                     ("courses", "courses", {"per_page": 1})])
    assert rows[0] == ("lms: people", True, "reachable, 5 people")
    assert rows[1][:2] == ("lms: courses", False) and "courses: 404 rest_no_route" in rows[1][2]
