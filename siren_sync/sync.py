"""One poll of the site: build the enabled sources from the config and run them against the ledger.

`LedgerContext` is the `SyncContext` sources see: each page a source commits goes to the ledger in
one store transaction with the source's cursor (and any quarantined records), so a poll interrupted
anywhere resumes at the last committed page. It is also the one place a quarantined record is
counted: `run_source` takes the report's `quarantined` from it, whatever the source. A long backfill
shows its progress on a terminal, and a log line per page otherwise.
"""
from __future__ import annotations

import logging
import secrets
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from siren_sync import commissions
from siren_sync.errors import ConfigError, LeadershipLost, SirenSyncError, StoreError, UsageError
from siren_sync.gcpause import holding_survivors, set_aside_survivors
from siren_sync.ledger import unique_by_key
from siren_sync.model import Event
from siren_sync.sources.base import Attribution, Source, SyncReport, visitor_digest
from siren_sync.sources.registry import build_sources, wp_upstream
from siren_sync.store.protocol import Store
from siren_sync.tables import META

if TYPE_CHECKING:
    from siren_sync.app import App
    from siren_sync.config import Config

log = logging.getLogger("siren_sync.sync")


class StopRequested(Exception):
    """Raised right after a commit when the worker was asked to stop: a safe point to exit."""


class LedgerContext:
    """The ledger as sources see it during one poll started at `now`.

    Pages are grouped before they reach the store: a commit is buffered (with its cursor) until
    `GROUP_EVENTS` events or `GROUP_SECONDS` have gathered, then recorded in one transaction. Each
    store commit costs several fsyncs, so a backfill of a thousand pages would otherwise spend more
    time syncing the disk than reading the site; a crash loses only the buffered pages' progress,
    which are read again from the last stored cursor.
    """

    GROUP_EVENTS = 5000
    GROUP_SECONDS = 2.0

    def __init__(self, app: App, now: datetime, progress_stream: TextIO | None = None,
                 should_stop: Callable[[], bool] | None = None):
        self.app = app
        self.now = now
        self.attribution = Attribution.of(app.ledger.collaborators.values())
        self.quarantined = 0  # records quarantined during this poll: the report's count
        self._should_stop = should_stop
        self._stream = progress_stream
        self._started = time.monotonic()
        self._events: dict[str, Event] = {}  # buffered, by key (first wins, as the ledger does)
        self._cursors: dict[str, Mapping[str, Any]] = {}
        self._set_aside: list[dict[str, Any]] = []  # quarantined records not yet stored
        self._since_flush = time.monotonic()
        self._visitor_key: bytes | None = None

    def cursor(self, name: str) -> Mapping[str, Any] | None:
        """The cursor committed last under `name`, buffered or stored."""
        if name in self._cursors:
            return self._cursors[name]
        return self.app.store.get("cursors", name)

    def known(self, keys: Iterable[str]) -> set[str]:
        """Those of `keys` whose events are recorded: buffered in this poll, or stored."""
        keys = set(keys)
        buffered = {key for key in keys if key in self._events}
        return buffered | self.app.store.known(keys - buffered)

    def commit(self, name: str, events: list[Event], cursor: Mapping[str, Any]) -> int:
        """Buffer a page and its cursor; returns how many of its events are new."""
        fresh = [e for key, e in unique_by_key(events).items() if key not in self._events]
        known = self.app.store.known(e.key for e in fresh)
        new = [e for e in fresh if e.key not in known]
        self._events.update((e.key, e) for e in new)
        self._cursors[name] = cursor
        if len(self._events) >= self.GROUP_EVENTS or time.monotonic() - self._since_flush >= self.GROUP_SECONDS:
            self.flush()
        if self._should_stop is not None and self._should_stop():
            self.flush()
            raise StopRequested()
        return len(new)

    def flush(self) -> None:
        """Record the buffered events, cursors and quarantined records in one store transaction."""
        if not (self._events or self._cursors or self._set_aside):
            return
        events, self._events = list(self._events.values()), {}
        cursors, self._cursors = self._cursors, {}
        set_aside, self._set_aside = self._set_aside, []
        self.app.ledger.record(events, cursors=cursors, quarantine=set_aside)
        set_aside_survivors()  # what the batch left is kept until the sync's end (`holding_survivors`)
        self._since_flush = time.monotonic()

    def same_period(self, a: datetime, b: datetime) -> bool:
        """True when `a` and `b` fall in the same period of every distributor."""
        ledger = self.app.ledger
        return all(ledger.calendar(k).period_containing(a) == ledger.calendar(k).period_containing(b)
                   for k in ledger.distributors)

    def quarantine(self, where: str, reason: str, payload: Any = None) -> None:
        """Keep a bad record aside (stored with the next flush, keyed by `where`) and count it: the
        one count of quarantined records, so no source counts them by hand."""
        log.warning("quarantined %s: %s", where, reason)
        self._set_aside.append({"where": where, "reason": reason, "payload": _jsonable(payload)})
        self.quarantined += 1

    def visitor(self, address: str, agent: str) -> str:
        """The visitor digest of a client address and user agent, keyed with the store's key."""
        if self._visitor_key is None:
            self._visitor_key = visitor_key(self.app.store)
        return visitor_digest(self._visitor_key, address, agent)

    def progress(self, source: str, page: int, total_pages: int | None, records: int) -> None:
        """One page read: a progress line on a terminal, else a log line."""
        elapsed = max(time.monotonic() - self._started, 1e-3)
        rate = records / elapsed
        left = ""
        if total_pages and page:
            remaining = elapsed / page * (total_pages - page)
            left = f", about {int(remaining // 60)}m{int(remaining % 60):02d}s left"
        text = f"{source}: page {page}/{total_pages or '?'}, {records} records, {rate:.0f} records/s{left}"
        if self._stream is not None and self._stream.isatty():
            self._stream.write("\r" + text + " " * 8)
            self._stream.flush()
        else:
            log.info(text, extra={"fields": {"event": "page", "source": source, "page": page,
                                              "total_pages": total_pages, "records": records}})


def visitor_key(store: Store) -> bytes:
    """The store's key for visitor digests: made once (32 random bytes) and kept in the `meta` table.

    Made at the first visitor a sync meets and committed at once, on its own, so every digest in the
    store was made with the key the store holds. A store copied elsewhere keeps its key, and so its
    visits and orders still match. Keyed, a digest cannot be reversed by hashing every IPv4 address
    with the common user agents.
    """
    kept = store.get(META, "secrets")
    if not (kept and kept.get("visitor_key")):
        with store.transaction() as tx:
            kept = tx.get(META, "secrets") or {}
            if not kept.get("visitor_key"):
                kept["visitor_key"] = secrets.token_hex(32)
                tx.put(META, "secrets", kept)
    try:
        key = bytes.fromhex(kept["visitor_key"])
    except (TypeError, ValueError):
        key = b""
    if not 16 <= len(key) <= 64:
        raise StoreError(f"store {store.location}: meta: secrets: visitor_key is not a key of 16 to 64 bytes in hex")
    return key


def _jsonable(payload: Any) -> Any:
    """Quarantined payloads are stored as JSON; anything else is kept as its text."""
    if payload is None or isinstance(payload, (dict, list, str, int, float, bool)):
        return payload
    return str(payload)


def refresh_collaborators(config: Config, app: App) -> int:
    """Read collaborators from the site (users of a role) into the store; returns how many."""
    from siren_sync.sources import wordpress

    section = config.sync.sources.get("collaborators_from_site")
    if section is None or not section.enabled:
        return 0
    upstream = wp_upstream(config, "wordpress")
    if upstream is None:
        raise SirenSyncError(f"{config.path}: sync.collaborators_from_site: needs site.wordpress credentials")
    options = section.options
    found = wordpress.fetch_collaborators(upstream, options.get("role", "siren_collaborator"),
                                          options.get("coupon_meta_key", "siren_collaborator"),
                                          options.get("product_meta_key", "siren_collaborator"))
    with app.store.transaction() as tx:
        for c in found:
            tx.put("site_collaborators", c.id, {
                "id": c.id, "name": c.name, "email": c.email, "status": c.status, "wp_user_id": c.wp_user_id,
                "coupons": list(c.coupons), "tracking_ids": list(c.tracking_ids), "products": list(c.products),
                "posts": list(c.posts)})
    return len(found)


def run_source(app: App, source: Source, now: datetime, since: datetime | None = None,
               stream: TextIO | None = None, should_stop: Callable[[], bool] | None = None) -> SyncReport:
    """One source's poll, logged as one line (source, records, events, quarantined, duration).

    The report's `quarantined` is what the context quarantined: the one place that counts it.
    """
    ctx = LedgerContext(app, now, stream, should_stop)
    try:
        report = source.sync(ctx, since=since)
    finally:
        ctx.flush()
        if stream is not None and stream.isatty():
            stream.write("\n")
    report.quarantined = ctx.quarantined
    log.info("poll %s: %d records, %d new events, %d quarantined, %.2fs", report.source, report.records,
             report.events, report.quarantined, report.duration,
             extra={"fields": {"event": "poll", "source": report.source, "records": report.records,
                               "events": report.events, "quarantined": report.quarantined,
                               "duration": round(report.duration, 3)}})
    return report


def sync_sources(app: App, sources: Iterable[Source], clock: Callable[[], datetime],
                 should_stop: Callable[[], bool] | None = None) -> dict[str, str]:
    """Each source once, up to the `clock`'s time as it starts; {source name: why} of those that
    could not be read (the others are synced). The worker's poll, and `distribute`, which syncs
    before it closes (DESIGN section 1)."""
    failed: dict[str, str] = {}
    begin_programs(app)
    with holding_survivors():
        for source in sources:
            if should_stop is not None and should_stop():
                raise StopRequested()
            try:
                run_source(app, source, clock(), should_stop=should_stop)
            except LeadershipLost:
                raise  # every other source's commit would be refused too: the worker stands by
            except (SirenSyncError, OSError) as exc:
                failed[source.name] = str(exc)
                log.error("poll %s failed, retried next turn: %s", source.name, exc,
                          extra={"fields": {"event": "poll_failed", "source": source.name}})
        reward_programs(app)
    return failed


def reward_programs(app: App) -> commissions.Rewarded:
    """The programs' rewards for what was recorded since they last ran (`commissions.reward`): after
    every sync, once all of its sources are read, so an order meets the visits of the same poll."""
    return commissions.reward(app.store, app.config.programs, app.ledger.collaborators, app.ledger.now,
                              app.ledger.take_recent())


def begin_programs(app: App) -> None:
    """Before a sync or an import: start programs on a store that never ran them (`commissions.begin`).
    What is recorded from then on is kept in memory for them (`open_app` has the ledger keep it)."""
    if app.config.programs:
        commissions.begin(app.store, app.config.programs)


def sync_all(config: Config, app: App, now: datetime, only: str | None = None, since: datetime | None = None,
             stream: TextIO | None = sys.stderr) -> list[SyncReport]:
    """Every enabled source (or one) once; a failing source is reported and the others still run."""
    reports: list[SyncReport] = []
    failures: list[str] = []
    begin_programs(app)
    with holding_survivors():
        for source in build_sources(config, app, only):
            try:
                reports.append(run_source(app, source, now, since, stream))
            except (ConfigError, UsageError):
                raise  # the config is wrong for every source: exit 2 with its own one line
            except SirenSyncError as exc:
                log.error("poll %s failed: %s", source.name, exc)
                failures.append(f"{source.name}: {exc}")
        reward_programs(app)
    if failures:
        raise SirenSyncError("; ".join(failures))
    return reports
