"""sync.py: the ledger as sources see it (LedgerContext), one source's poll (run_source), all of them
(sync_all) and the `sync` command's summary, on a real store."""
from __future__ import annotations

import gc
import logging
from datetime import UTC, datetime

import pytest
import responses

from siren_sync.app import open_app
from siren_sync.cli import main
from siren_sync.config import load_config
from siren_sync.demo import THREE_POOLS, sandbox_config_text, sandbox_env
from siren_sync.errors import LeadershipLost, SirenSyncError, StoreError
from siren_sync.model import Collaborator, Event
from siren_sync.sources.base import SyncContext, SyncReport, visitor_digest
from siren_sync.sync import LedgerContext, StopRequested, run_source, sync_all, sync_sources
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


def test_the_context_knows_the_keys_stored_and_those_committed_in_this_poll(app):
    app.ledger.record([visit(1)])
    ctx = LedgerContext(app, NOW)
    ctx.commit("test", [visit(2)], {"page": 1})  # buffered, not stored yet
    asked = (f"test:referredSiteVisit:{n}" for n in (1, 2, 3))
    assert ctx.known(asked) == {"test:referredSiteVisit:1", "test:referredSiteVisit:2"}
    assert ctx.known([]) == set()


def test_a_stop_request_is_honoured_right_after_a_commit_is_stored(app):
    ctx = LedgerContext(app, NOW, should_stop=lambda: True)
    with pytest.raises(StopRequested):
        ctx.commit("test", [visit(1)], {"page": 1})
    assert app.store.get("cursors", "test") == {"page": 1} and app.store.known([visit(1).key])


class Paged:
    """A source of two pages, noting how many objects the garbage collector had set aside at each."""

    name = "paged"

    def __init__(self):
        self.set_aside: list[int] = []

    def sync(self, ctx: SyncContext, since: datetime | None = None) -> SyncReport:
        report = SyncReport(self.name)
        for page in (1, 2):
            self.set_aside.append(gc.get_freeze_count())
            report.events += ctx.commit(self.name, [visit(page)], {"page": page})
        return report

    def check(self) -> list[tuple[str, bool, str]]:
        return []


def test_a_sync_sets_what_each_batch_left_aside_from_the_collector_and_releases_it_at_its_end(
        app, monkeypatch):
    monkeypatch.setattr(LedgerContext, "GROUP_EVENTS", 1)  # each page is recorded apart
    monkeypatch.setattr("siren_sync.sync.build_sources", lambda config, app, only: [source])
    source = Paged()
    gc.unfreeze()
    sync_all(app.config, app, NOW, stream=None)
    assert source.set_aside[0] == 0 and source.set_aside[1] > 0  # after the first batch: set aside
    assert gc.get_freeze_count() == 0 and app.store.event_count() == 2  # released at the end


class LosingLeadership(Paged):
    """Two pages, then the worker's leadership is lost: the sync ends by an exception."""

    def sync(self, ctx: SyncContext, since: datetime | None = None) -> SyncReport:
        super().sync(ctx, since)
        ctx.flush()
        raise LeadershipLost("another worker leads now")


def test_what_a_sync_set_aside_is_released_whatever_ends_it_and_nothing_is_outside_one(app, monkeypatch):
    monkeypatch.setattr(LedgerContext, "GROUP_EVENTS", 1)
    gc.unfreeze()
    source = LosingLeadership()
    with pytest.raises(LeadershipLost):
        sync_sources(app, [source], lambda: NOW)
    assert source.set_aside[1] > 0 and gc.get_freeze_count() == 0
    ctx = LedgerContext(app, NOW)  # a context used outside a sync (as a test or a bench may)
    ctx.commit("test", [visit(9)], {"page": 9})
    ctx.flush()
    assert gc.get_freeze_count() == 0  # nothing would release it: nothing is set aside


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


# -- visitors: one keyed digest, the key made once and kept; no raw address or agent anywhere ---------------

def test_the_visitor_key_is_made_once_kept_in_the_store_and_used_by_every_context(app):
    first = LedgerContext(app, NOW).visitor("203.0.113.5", "Mozilla/5.0")
    kept = app.store.get("meta", "secrets")["visitor_key"]
    assert len(bytes.fromhex(kept)) == 32
    assert LedgerContext(app, NOW).visitor("::ffff:203.0.113.5", "Mozilla/5.0") == first
    assert app.store.get("meta", "secrets")["visitor_key"] == kept
    assert first == visitor_digest(bytes.fromhex(kept), "203.0.113.5", "Mozilla/5.0")


def test_another_store_has_another_key_and_so_other_digests(tmp_path):
    digests = []
    for name in ("one", "two"):
        with open_test_app(tmp_path / name, [ALICE]) as opened:
            digests.append(LedgerContext(opened, NOW).visitor("203.0.113.5", "Mozilla/5.0"))
    assert digests[0] != digests[1]


def test_a_damaged_visitor_key_stops_the_sync_with_one_line(app):
    with app.store.transaction() as tx:
        tx.put("meta", "secrets", {"visitor_key": "not hex"})
    with pytest.raises(StoreError, match="meta: secrets: visitor_key is not a key"):
        LedgerContext(app, NOW).visitor("203.0.113.5", "Mozilla/5.0")


def _sandbox_app(sb, folder, log):
    folder.mkdir()
    path = folder / "siren.yaml"
    sync = (f"sync:\n  woocommerce: {{enabled: true}}\n"
            f"  access_log: {{enabled: true, path: {log}, ref_param: ref}}\n")
    path.write_text(sandbox_config_text(sb.url, sync + THREE_POOLS.format(schedule="+1 week", start="2026-11-01")))
    config = load_config(path, env=sandbox_env(sb.credentials))
    return config, open_app(config, now=sb.now, fetch_timezone=lambda: sb.site.timezone_name)


def test_orders_and_visits_of_one_visitor_share_a_digest_and_nothing_raw_is_stored_or_logged(
        make_sandbox, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    log = tmp_path / "access.log"
    sb = make_sandbox(seed=5, days=6, orders_per_day=30, lms=False, access_log=log)
    sb.advance(6 * 86400)
    config, opened = _sandbox_app(sb, tmp_path / "worker", log)
    with opened:
        reports = sync_all(config, opened, sb.now, stream=None)
        assert {r.source: r.quarantined for r in reports} == {"woocommerce": 0, "access_log": 0}
        events = [e for bucket in opened.store.buckets() for e in opened.store.events(bucket)]
    sales = {e["order_id"]: e["touch"] for e in events if e["key"].startswith("woocommerce:sale:")}
    visits = {e["touch"]["visitor"] for e in events if e["type"] == "referredSiteVisit"}
    orders = {o.id: o for o in sb.site.orders.values()}
    checkout = {oid: t for oid, t in sales.items() if orders[oid].created_via == "checkout"}
    assert sales and all(t["created_at"] for t in sales.values())
    assert checkout and all(t["visitor"] for t in checkout.values())
    phone = [t for oid, t in sales.items() if orders[oid].created_via == "admin"]  # the manager's computer
    assert phone and all("visitor" not in t for t in phone) and len(phone) + len(checkout) == len(sales)
    matched = [oid for oid, t in checkout.items() if t["visitor"] in visits]
    assert len(matched) > len(sales) // 10  # a third of the orders follow a visit (some of it before the log)
    by_device = {}
    for oid, touch in checkout.items():  # one device, one digest: whatever spelling the order recorded
        o = orders[oid]
        by_device.setdefault((o.customer_ip.removeprefix("::ffff:"), o.customer_agent), set()).add(touch["visitor"])
    assert all(len(digests) == 1 for digests in by_device.values())
    assert any(o.customer_ip.startswith("::ffff:") for o in orders.values())
    assert any(t.get("ref") for t in sales.values())
    raw = {o.customer_ip for o in orders.values()} | {o.customer_agent for o in orders.values()}
    raw |= {o.customer_ip.removeprefix("::ffff:") for o in orders.values()}
    stored = b"".join(p.read_bytes() for p in (tmp_path / "worker").rglob("*") if p.is_file())
    leaks = [value for value in raw if value.encode() in stored or value in caplog.text]
    assert leaks == []


def test_a_refused_commit_stops_the_poll_rather_than_failing_each_source(monkeypatch):
    """A leader whose commit the fence refused goes on to no other source (each would be refused
    too, logged as a failed poll): the worker stands by at once."""
    from types import SimpleNamespace

    from siren_sync import sync
    from siren_sync.errors import LeadershipLost

    ran = []

    def run_source(app, source, now, should_stop=None):
        ran.append(source.name)
        raise LeadershipLost("another worker took over")

    monkeypatch.setattr(sync, "run_source", run_source)
    monkeypatch.setattr(sync, "begin_programs", lambda app: None)
    sources = [SimpleNamespace(name="woocommerce"), SimpleNamespace(name="access_log")]
    with pytest.raises(LeadershipLost):
        sync.sync_sources(SimpleNamespace(), sources, lambda: None)
    assert ran == ["woocommerce"]
