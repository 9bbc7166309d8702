"""Siren's own engagements: referred visits the Siren Affiliates plugin recorded (source "siren").

`SirenEngagementsSource` reads `GET /siren/v1/engagements` with the WordPress application password.
Engagements have a monotonic id and are read-only, and the route has no date filter, so the source
walks `orderBy=id&order=DESC` pages (`number=50`, Siren's silent cap) from offset 0 until it meets an
id at or below the last one committed: an engagement created during the walk only shifts older rows
down (read twice, recorded once), so none can be skipped, which an ASC walk with `offset` could not
promise. The new engagements are then committed oldest first, in chunks, each with the highest id
committed so far as the cursor.

An engagement still `pending` is kept in the cursor (at most `max_pending`, the newest) and looked at
again on later syncs until it becomes active or complete (then counted) or disappears: the walk goes
on down to the pending ones within `walk_back` ids of the last id (or to all of them when that takes
fewer requests), older ones are read by id (`/siren/v1/engagements/<id>`).

Siren's `collaboratorId` is Siren's own id: `collaborator_ids` maps it to ours; otherwise a known
collaborator whose id is `str(siren id)`. Unknown ones are quarantined. Times are `dateCreated`,
taken as UTC when they carry no offset. Keys are `siren:referredSiteVisit:<engagement id>`.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from siren_sync.errors import SyncError
from siren_sync.model import Event
from siren_sync.sources import wordpress as wp
from siren_sync.sources.base import Attribution, SyncContext, SyncReport
from siren_sync.sources.http import Upstream
from siren_sync.values import nfc, parse_time

REFERRED = "referredSiteVisit"
SIREN_COUNTED_STATUSES = ("active", "complete")

Engagement = Mapping[str, Any]


@dataclass
class _Plan:
    """Where this sync's walk stops and which pending engagements it will meet on the way."""

    last_id: int | None  # the highest id committed (None: a first sync or a backfill)
    pending: set[int]  # engagements pending at the last sync
    near: set[int]  # those of them the walk goes down to (the others are read by id)
    stop_below: int | None  # the walk ends at the first id at or below this one (None: walk everything)


@dataclass
class _Taken:
    """What the engagements looked at so far give: events not yet committed, those still pending."""

    events: list[Event] = field(default_factory=list)
    pending: set[int] = field(default_factory=set)


class SirenEngagementsSource:
    """`referredSiteVisit` events from Siren Affiliates' engagements (`/siren/v1/engagements`)."""

    route = "siren/v1/engagements"

    def __init__(self, upstream: Upstream, *, collaborator_ids: Mapping[Any, str] | None = None,
                 known_collaborators: Iterable[str] = (), page_size: int = 50, chunk: int = 1000,
                 max_pending: int = 1000, walk_back: int = 500, name: str = "siren"):
        self.name = name
        self.upstream = upstream
        self.collaborator_ids = {str(k): v for k, v in (collaborator_ids or {}).items()}
        self.known = set(known_collaborators)
        self.page_size = page_size
        self.chunk = chunk
        self.max_pending = max_pending
        self.walk_back = walk_back
        self._known_now: set[str] = set(self.known)  # this sync's collaborator ids

    # -- public -------------------------------------------------------------------------------
    def sync(self, ctx: SyncContext, since: datetime | None = None) -> SyncReport:
        """Walk down to the last committed id, look at the pending ones again, commit what counts."""
        report = SyncReport(self.name)
        self._known_now = self.known.union(*_collaborator_ids(ctx.attribution))
        plan = self._plan(ctx.cursor(self.name) or {}, since)
        new, again = self._walk(ctx, report, plan)
        taken = _Taken()
        self._recheck(ctx, plan, set(new), again, taken)
        top = self._commit_new(ctx, report, plan.last_id, new, taken)
        report.detail.update(new=len(new), pending=len(taken.pending), last_id=top)
        return report

    def check(self) -> list[tuple[str, bool, str]]:
        """The route answers, with Siren's estimate of how many engagements it holds."""
        try:
            _page, headers = wp.get_json(self.upstream, self.route, {"number": 1})
        except Exception as exc:  # noqa: BLE001 - check reports, never raises
            return [(f"{self.name}: {self.route}", False, str(exc))]
        count = wp.header(headers, "x-siren-estimated-count")
        if count is None:
            count = "?"
        return [(f"{self.name}: {self.route}", True, f"reachable, about {count} engagements")]

    # -- the walk -----------------------------------------------------------------------------
    def _plan(self, cursor: Mapping[str, Any], since: datetime | None) -> _Plan:
        """Pending engagements near the top are met again by the walk (it goes on down to the oldest
        of them, at most `walk_back` ids below the last one); older ones are looked up one by one,
        unless walking down to them costs fewer requests than reading them by id."""
        last = None if since is not None else cursor.get("last_id")
        pending = {int(x) for x in cursor.get("pending") or ()}
        if last is None:
            return _Plan(None, pending, set(), None)
        last_id = int(last)
        near = {eid for eid in pending if eid > last_id - self.walk_back}
        far = pending - near
        if far and (last_id - min(far)) / self.page_size <= len(far):
            near = pending
        return _Plan(last_id, pending, near, min([last_id] + sorted(near)[:1]))

    def _walk(self, ctx: SyncContext, report: SyncReport,
              plan: _Plan) -> tuple[dict[int, Engagement], dict[int, Engagement]]:
        """Newest first until the plan's stop: `(new engagements, pending ones met again)` by id."""
        new: dict[int, Engagement] = {}
        again: dict[int, Engagement] = {}
        offset = 0
        while True:
            page = self._page(ctx, report, offset)
            if not page or self._sort(page, plan, new, again):
                return new, again
            offset += len(page)  # what really came back, whatever the server's cap is

    def _page(self, ctx: SyncContext, report: SyncReport, offset: int) -> list[Engagement]:
        page, _headers = wp.get_json(self.upstream, self.route, {
            "orderBy": "id", "order": "DESC", "number": self.page_size, "offset": offset})
        if not isinstance(page, list):
            raise wp.bad_shape(self.upstream, self.route, "a JSON array")
        report.pages += 1
        report.records += len(page)
        ctx.progress(self.name, report.pages, None, report.records)
        return page

    @staticmethod
    def _sort(page: list[Engagement], plan: _Plan, new: dict[int, Engagement],
              again: dict[int, Engagement]) -> bool:
        """File a page's engagements as new or met again; True when the walk has reached its stop."""
        for item in page:
            eid = int(item["id"])
            if plan.last_id is None or eid > plan.last_id:
                new[eid] = item
            elif eid in plan.near:
                again[eid] = item
            if plan.stop_below is not None and eid <= plan.stop_below:
                return True
        return False

    def _recheck(self, ctx: SyncContext, plan: _Plan, new: set[int], again: Mapping[int, Engagement],
                 taken: _Taken) -> None:
        """The engagements pending last time: as the walk met them, else read by id (gone: dropped)."""
        for eid in sorted(plan.pending - new):
            item = again.get(eid)
            if item is None:
                try:
                    item, _ = wp.get_json(self.upstream, f"{self.route}/{eid}", None)
                except SyncError as exc:
                    if exc.status in (404, 410):  # a vanished engagement is dropped
                        continue
                    raise
            self._take(ctx, item, taken)

    def _commit_new(self, ctx: SyncContext, report: SyncReport, last_id: int | None,
                    new: Mapping[int, Engagement], taken: _Taken) -> int | None:
        """Commit the new engagements oldest first, `chunk` events at a time; returns the top id."""
        top = last_id
        ordered = sorted(new)
        for n, eid in enumerate(ordered, 1):
            self._take(ctx, new[eid], taken)
            top = eid if top is None else max(top, eid)
            if len(taken.events) >= self.chunk or n == len(ordered):
                report.events += ctx.commit(self.name, taken.events, self._cursor(top, taken.pending))
                taken.events = []
        if not ordered:
            report.events += ctx.commit(self.name, taken.events, self._cursor(top, taken.pending))
        return top

    def _cursor(self, top: int | None, pending: set[int]) -> dict[str, Any]:
        return {"last_id": top, "pending": sorted(pending)[-self.max_pending:]}

    # -- one engagement -----------------------------------------------------------------------
    def _take(self, ctx: SyncContext, item: Engagement, taken: _Taken) -> None:
        """Count an active or complete engagement, remember a pending one, ignore the rest."""
        status = item.get("status")
        if status in SIREN_COUNTED_STATUSES:
            taken.pending.discard(int(item["id"]))
            event = self._event(ctx, item)
            if event is not None:
                taken.events.append(event)
        elif status == "pending":
            taken.pending.add(int(item["id"]))

    def _event(self, ctx: SyncContext, item: Engagement) -> Event | None:
        where = f"{self.route}/{item.get('id')}"
        owner = self._owner(item.get("collaboratorId"))
        if owner is None:
            ctx.quarantine(where, f"Siren collaborator {item.get('collaboratorId')!r} is not mapped to a "
                                  "collaborator (sync.siren.collaborator_ids)", dict(item))
            return None
        try:
            at = parse_time(item["dateCreated"], naive=UTC)
        except (KeyError, TypeError, ValueError):
            ctx.quarantine(where, f"bad or missing dateCreated {item.get('dateCreated')!r}", dict(item))
            return None
        return Event(key=f"siren:{REFERRED}:{int(item['id'])}", type=REFERRED, at=at, collaborator=owner,
                     source=self.name)

    def _owner(self, siren_id: Any) -> str | None:
        key = nfc(str(siren_id))
        if key in self.collaborator_ids:
            return self.collaborator_ids[key]
        return key if key in self._known_now else None


def _collaborator_ids(a: Attribution) -> Iterable[Iterable[str]]:
    """Every collaborator id the attribution knows of (a Siren id may be one of ours)."""
    return (index.values() for index in (a.by_tracking_id, a.by_coupon, a.by_wp_user, a.by_product, a.by_post))
