"""sources/siren.py: Siren's engagements, walked newest first by id (a fake `siren/v1` over responses)."""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from siren_sync.errors import SyncError
from siren_sync.model import Collaborator
from siren_sync.sources.siren import SirenEngagementsSource
from tests.support.apps import run_once
from tests.support.payloads import SITE_ROOT, FakeContext, serving, site_upstream

ALICE = Collaborator(id="alice", tracking_ids=("alice",), posts=(12,))
BOB = Collaborator(id="bob", tracking_ids=("bobby",), wp_user_id=5)


def context():
    return FakeContext.of([ALICE, BOB])


def engagement(eid, collaborator=7, status="active"):
    return {"id": eid, "opportunityId": 1000 + eid, "programId": 1, "collaboratorId": collaborator,
            "score": 1, "status": status, "dateCreated": f"2026-11-20 {eid // 60 % 24:02d}:{eid % 60:02d}:00",
            "dateModified": "2026-11-20 10:00:00"}


class FakeSiren:
    """`GET /siren/v1/engagements`: bare arrays, `number` silently capped at 50, keyset-able by id."""

    def __init__(self, items):
        self.items = {e["id"]: e for e in items}
        self.calls: list[dict] = []
        self.on_call = None

    def __call__(self, request):
        parts = urlsplit(request.url)
        path = parts.path[len("/wp-json/"):]
        q = {k: v[0] for k, v in parse_qs(parts.query).items()}
        self.calls.append({"path": path, **q})
        if self.on_call:
            self.on_call(len(self.calls))
        m = re.fullmatch(r"siren/v1/engagements/(\d+)", path)
        if m:
            item = self.items.get(int(m.group(1)))
            if item is None:
                return 404, {"Content-Type": "application/json"}, json.dumps({"message": "Not found"})
            return 200, {"Content-Type": "application/json"}, json.dumps(item)
        number = min(50, int(q.get("number", 10)))
        offset = int(q.get("offset", 0))
        ordered = sorted(self.items.values(), key=lambda e: e["id"], reverse=q.get("order") == "DESC")
        page = ordered[offset: offset + number]
        return 200, {"Content-Type": "application/json", "x-siren-estimated-count": str(len(ordered))}, json.dumps(page)


@pytest.fixture
def siren():
    with serving(FakeSiren([engagement(i) for i in range(1, 121)]),
                 r"https://shop\.example/wp-json/siren/v1/.*") as fake:
        yield fake


def siren_source(**kw):
    return SirenEngagementsSource(site_upstream(), collaborator_ids={7: "alice"}, **kw)


def test_siren_keyset_across_two_syncs(siren):
    ctx = context()
    src = siren_source()
    report = src.sync(ctx)
    assert report.events == 120 and len(siren.calls) == 4  # 50 + 50 + 20 + an empty page
    assert all(c["orderBy"] == "id" and c["order"] == "DESC" and c["number"] == "50" for c in siren.calls)
    recorded = list(ctx.events)  # in the order first recorded
    assert recorded[0] == "siren:referredSiteVisit:1" and recorded[-1] == "siren:referredSiteVisit:120"
    first = ctx.events["siren:referredSiteVisit:1"]
    assert first.collaborator == "alice" and first.at == datetime(2026, 11, 20, 0, 1, tzinfo=UTC)
    assert ctx.cursor("siren")["last_id"] == 120
    for i in range(121, 131):
        siren.items[i] = engagement(i)
    siren.calls.clear()
    report = src.sync(ctx)
    assert report.events == 10 and len(siren.calls) == 1  # the first page reaches id 120
    assert list(ctx.events)[-10:] == [f"siren:referredSiteVisit:{i}" for i in range(121, 131)]
    siren.calls.clear()
    assert src.sync(ctx).events == 0 and len(siren.calls) == 1


def test_siren_inserts_during_the_walk_skip_nothing(siren):
    ctx = context()
    src = siren_source(page_size=100)  # asks for 100, the server silently gives 50

    def insert(call):
        if call == 1:
            for i in range(121, 126):
                siren.items[i] = engagement(i)

    siren.on_call = insert
    src.sync(ctx)
    assert sorted(int(k.rsplit(":", 1)[1]) for k in ctx.events) == list(range(1, 126))


def test_siren_statuses_mapping_and_quarantine(siren):
    siren.items = {1: engagement(1, 7), 2: engagement(2, 8), 3: engagement(3, 9),
                   4: engagement(4, 7, "pending"), 5: {**engagement(5, 7), "dateCreated": "2026-11-20T10:00:00+02:00"}}
    ctx = context()
    src = siren_source(known_collaborators=("8",))
    src.sync(ctx)
    assert sorted(ctx.events) == ["siren:referredSiteVisit:1", "siren:referredSiteVisit:2",
                                  "siren:referredSiteVisit:5"]
    assert ctx.events["siren:referredSiteVisit:2"].collaborator == "8"
    assert ctx.events["siren:referredSiteVisit:5"].at == datetime(2026, 11, 20, 8, tzinfo=UTC)
    assert ctx.quarantined[0][0] == "siren/v1/engagements/3" and "not mapped" in ctx.quarantined[0][1]
    assert ctx.cursor("siren")["pending"] == [4]
    siren.items[4] = engagement(4, 7, "complete")  # approved later
    siren.calls.clear()
    assert src.sync(ctx).events == 1
    assert [c["path"] for c in siren.calls] == ["siren/v1/engagements"]  # the walk went down to id 4
    assert ctx.cursor("siren")["pending"] == []


def test_siren_old_pending_engagements_are_read_by_id(siren):
    siren.items = {i: engagement(i, 7, "pending" if i == 3 else "active") for i in range(1, 201)}
    ctx = context()
    src = siren_source(walk_back=2)
    src.sync(ctx)
    assert ctx.cursor("siren") == {"last_id": 200, "pending": [3]}
    siren.calls.clear()
    assert src.sync(ctx).events == 0
    assert [c["path"] for c in siren.calls] == ["siren/v1/engagements", "siren/v1/engagements/3"]
    siren.items[3]["status"] = "active"
    del siren.items[199]  # engagements are never deleted, but a vanished one must not break the walk
    assert src.sync(ctx).events == 1 and ctx.cursor("siren")["pending"] == []


def test_siren_error_shape_surfaces(siren):
    siren.on_call = None
    with responses.RequestsMock() as rsps:
        rsps.get(f"{SITE_ROOT}/siren/v1/engagements", status=400,
                 json={"message": "Invalid request", "context": {"failedValidations": {"number": ["too big"]}}})
        with pytest.raises(SyncError, match="siren/v1/engagements: HTTP 400"):
            siren_source().sync(context())


def test_siren_check(siren):
    rows = siren_source().check()
    assert rows[0][1] and "120" in rows[0][2]


def test_an_unmapped_collaborator_is_quarantined_and_counted_once(siren, tmp_path):
    """Through the ledger: the report says 1 quarantined and the store keeps the engagement aside."""
    siren.items = {1: engagement(1, 7), 2: engagement(2, 9)}
    report, kept = run_once(tmp_path, [ALICE, BOB], siren_source())
    assert (report.events, report.quarantined) == (1, 1)
    assert list(kept) == ["siren/v1/engagements/2"]
    assert kept["siren/v1/engagements/2"]["reason"] == ("Siren collaborator 9 is not mapped to a collaborator "
                                                         "(sync.siren.collaborator_ids)")


def test_a_bad_date_is_quarantined_with_its_reason(siren):
    siren.items = {1: {**engagement(1), "dateCreated": "yesterday"}, 2: {**engagement(2), "dateCreated": None}}
    ctx = context()
    siren_source().sync(ctx)
    assert ctx.events == {}
    assert [(where, reason) for where, reason, _ in ctx.quarantined] == [
        ("siren/v1/engagements/1", "bad or missing dateCreated 'yesterday'"),
        ("siren/v1/engagements/2", "bad or missing dateCreated None")]


def test_a_backfill_walks_everything_again_and_records_nothing_twice(siren):
    ctx = context()
    src = siren_source()
    src.sync(ctx)
    siren.calls.clear()
    report = src.sync(ctx, since=datetime(2026, 1, 1, tzinfo=UTC))
    assert report.events == 0 and report.detail["new"] == 120 and len(siren.calls) == 4
