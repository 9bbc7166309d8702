"""sync.py: the ledger as sources see it (LedgerContext), one source's poll (run_source), all of them
(sync_all) and the `sync` command's summary, on a real store."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest
import responses

from siren_sync.cli import main
from siren_sync.errors import SirenSyncError
from siren_sync.model import Collaborator, Event
from siren_sync.sources.base import SyncContext, SyncReport
from siren_sync.sync import LedgerContext, StopRequested, run_source, sync_all
from tests.support.apps import NOW, open_test_app, write_config
from tests.support.payloads import SITE_ROOT

ALICE = Collaborator(id="alice", tracking_ids=("alice",))
AT = datetime(2026, 11, 10, 12, tzinfo=UTC)
GOOD_LINE = '203.0.113.5 - - [10/Nov/2026:12:00:00 +0000] "GET /?ref=alice HTTP/1.1" 200 512 "-" "Mozilla/5.0"\n'
BAD_LINE = "garbage ?ref=alice\n"


def visit(n: int, who: str = "alice") -> Event:
    return Event(key=f"test:referredSiteVisit:{n}", type="referredSiteVisit", at=AT, collaborator=who, source="test")


class Scripted:
    """A source that quarantines `bad` records, commits `events`, and counts by hand as it is told."""

    name = "scripted"

    def __init__(self, events: list[Event], bad: int = 0, hand_count: int = 0):
        self.events, self.bad, self.hand_count = events, bad, hand_count

    def sync(self, ctx: SyncContext, since: datetime | None = None) -> SyncReport:
        report = SyncReport(self.name, quarantined=self.hand_count)
        for n in range(self.bad):
            ctx.quarantine(f"scripted:{n}", "bad record", {"n": n})
        report.events += ctx.commit(self.name, self.events, {"done": True})
        return report

    def check(self) -> list[tuple[str, bool, str]]:
        return []


@pytest.fixture
def app(tmp_path):
    with open_test_app(tmp_path, [ALICE]) as opened:
        yield opened


def test_the_context_counts_what_it_quarantines_and_stores_it_with_the_next_flush(app):
    ctx = LedgerContext(app, NOW)
    ctx.quarantine("site:1", "missing total", {"id": 1})
    ctx.quarantine("site:2", "bad date", object())  # not JSON: kept as its text
    assert ctx.quarantined == 2 and app.store.table("quarantine") == {}
    ctx.flush()
    kept = app.store.table("quarantine")
    assert sorted(kept) == ["site:1", "site:2"]
    assert kept["site:1"]["reason"] == "missing total" and kept["site:1"]["payload"] == {"id": 1}
    assert kept["site:2"]["payload"].startswith("<object object at")


@pytest.mark.parametrize("hand_count", [0, 7])
def test_run_source_reports_the_contexts_count_whatever_the_source_counted(app, hand_count):
    report = run_source(app, Scripted([visit(1)], bad=1, hand_count=hand_count), NOW)
    assert (report.events, report.quarantined) == (1, 1)
    assert list(app.store.table("quarantine")) == ["scripted:0"]
    assert app.store.get("cursors", "scripted") == {"done": True}


def test_commit_keeps_the_first_event_of_a_key_in_a_page_in_the_buffer_and_in_the_store(app):
    ctx = LedgerContext(app, NOW)
    assert ctx.commit("test", [visit(1), visit(1, "bob"), visit(2)], {"page": 1}) == 2
    assert ctx.commit("test", [visit(2), visit(3)], {"page": 2}) == 1  # 2 is buffered
    assert ctx.cursor("test") == {"page": 2} and app.store.get("cursors", "test") is None
    ctx.flush()
    assert app.store.get("cursors", "test") == {"page": 2} and app.store.event_count() == 3
    again = LedgerContext(app, NOW)
    assert again.commit("test", [visit(1), visit(3), visit(4)], {"page": 3}) == 1  # 1 and 3 are stored
    again.flush()
    recorded = [e for bucket in app.store.buckets() for e in app.store.events(bucket)]
    assert [(e["key"], e["collaborator"]) for e in recorded] == [
        (f"test:referredSiteVisit:{n}", "alice") for n in (1, 2, 3, 4)]


def test_a_stop_request_is_honoured_right_after_a_commit_is_stored(app):
    ctx = LedgerContext(app, NOW, should_stop=lambda: True)
    with pytest.raises(StopRequested):
        ctx.commit("test", [visit(1)], {"page": 1})
    assert app.store.get("cursors", "test") == {"page": 1} and app.store.known([visit(1).key])


@responses.activate
def test_a_failing_source_is_reported_and_the_others_still_run(tmp_path):
    responses.get(f"{SITE_ROOT}/siren/v1/engagements", status=403,
                  json={"code": "rest_forbidden", "message": "Sorry.", "data": {"status": 403}})
    log_path = tmp_path / "access.log"
    log_path.write_text(GOOD_LINE + BAD_LINE)
    sync = {"siren": {"enabled": True}, "access_log": {"enabled": True, "path": str(log_path)}}
    with open_test_app(tmp_path / "app", [ALICE], sync) as app:
        with pytest.raises(SirenSyncError) as info:
            sync_all(app.config, app, NOW, stream=None)
        assert app.store.event_count() == 1 and len(app.store.table("quarantine")) == 1
    assert str(info.value) == "siren: siren/v1/engagements: 403 rest_forbidden: Sorry."


def test_the_sync_command_prints_the_quarantined_count(tmp_path, capsys):
    log_path = tmp_path / "access.log"
    log_path.write_text(GOOD_LINE + BAD_LINE)
    config = write_config(tmp_path, [ALICE], {"access_log": {"enabled": True, "path": str(log_path)}},
                          wordpress=False)
    assert main(["--config", str(config), "sync"]) == 0
    assert capsys.readouterr().out.startswith("access_log: 2 records, 1 new events, 1 quarantined, ")
