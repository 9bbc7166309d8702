"""The worker loop: poll the site, close due periods, publish, until stopped.

The `schedule` library drives the cadence: polling every `sync.every` (each source on its own
cadence), and a check of every distributor's trigger time at least once a minute. `schedule` has no
monthly jobs and no memory, so trigger times come from `engine/schedules.py` and the store, never
from the process: a restart after downtime finds every missed period still open and closes them one
by one. Before closing, every source is synced up to the trigger time; if one cannot be read,
closing waits (up to `CLOSE_GRACE` past the trigger) rather than pushing what happened before the
trigger into the next period as late events; past the grace it closes anyway and says so. A job
that raises is logged and retried on its next turn (never in a hot loop). SIGTERM/SIGINT let the
current step finish (a source stops after its current page is committed), save, and exit 0.

One worker leads per store (DESIGN section 9, `Leadership` below): it alone syncs, closes and
publishes. On TinyDB a second `run` is refused; on PostgreSQL it waits as a standby, says so, and
takes over within `store.leader_timeout` when the leader dies or loses its connection. Every turn
first passes the lost-store guard (`lost_store.py`): a store with no distributions on a site that
already holds siren-sync records does nothing until `store adopt` runs.
"""
from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import schedule

from siren_sync import closing, lost_store
from siren_sync.app import App, collaborators_of, open_app, utcnow
from siren_sync.config import Config
from siren_sync.errors import LeadershipLost, SirenSyncError, StoreError, StoreLockedError
from siren_sync.model import Distribution
from siren_sync.publish import Publisher
from siren_sync.sources.base import Source
from siren_sync.sources.registry import build_sources, wp_upstream
from siren_sync.store.protocol import Leader
from siren_sync.sync import StopRequested, refresh_collaborators, sync_sources
from siren_sync.values import iso

log = logging.getLogger("siren_sync.worker")

CHECK_EVERY = 60.0  # seconds between trigger-time checks, at most
CLOSE_GRACE = timedelta(hours=1)  # how long closing waits for a source that cannot be synced
GUARD_SEARCH_EVERY = 600.0  # seconds between searches of the site while the lost-store guard stops the worker


def refresh_collaborators_of(app: App) -> dict[str, str]:
    """Read the collaborators from the site when configured, and give the ledger the new list;
    {"collaborators_from_site": why} if they could not be read (logged; the old list stays)."""
    try:
        if refresh_collaborators(app.config, app):
            app.ledger.set_collaborators(collaborators_of(app.config, app.store))
    except LeadershipLost:
        raise
    except (SirenSyncError, OSError) as exc:
        log.error("collaborators from the site could not be read, retried next turn: %s", exc)
        return {"collaborators_from_site": str(exc)}
    return {}


class Leadership:
    """The worker's side of `store.leader()`: lead, or wait as a standby and say so in the log.

    Asked at every turn of the loop, it asks the store only every third of `timeout` (a standby
    trying to take over, a leader checking that it still leads), so a standby takes over within
    `timeout` of the leader's lock being released.
    """

    def __init__(self, leader: Leader, timeout: float, where: str):
        self.leader = leader
        self.where = where
        self.interval = max(1.0, timeout / 3)
        self.leading = False
        self.took_over = False  # leading since the last `check`: the worker takes a full turn at once
        self._next = 0.0
        self._standby_holder: str | None = None

    def check(self) -> bool:
        """Whether this worker leads now (a TinyDB store led by another raises StoreLockedError)."""
        self.took_over = False
        now = time.monotonic()
        if now < self._next:
            return self.leading
        self._next = now + self.interval
        if self.leading and not self.leader.held():
            self.lost("its lock was lost with its database connection, or another worker took over")
        elif not self.leading:
            self._try()
        return self.leading

    def _try(self) -> None:
        try:
            self.leading = self.took_over = self.leader.acquire()
        except StoreError as exc:
            log.warning("cannot ask to lead store %s, asking again in %.0f s: %s", self.where, self.interval, exc)
            return
        if self.leading:
            log.info("leading store %s: this worker syncs, closes and publishes", self.where,
                     extra={"fields": {"event": "leader"}})
            self._standby_holder = None
        elif not self.leader.waits:
            raise StoreLockedError(f"store {self.where} is in use by another siren-sync process "
                                   f"({self.leader.holder()})")
        elif self.leader.holder() != self._standby_holder:
            self._standby_holder = self.leader.holder()
            log.info("standby: store %s is led by %s; this worker waits and takes over within %.0f s of it "
                     "stopping", self.where, self._standby_holder, self.interval * 3,
                     extra={"fields": {"event": "standby", "leader": self._standby_holder}})

    def lost(self, why: str) -> None:
        """Stop leading (the fence refused a commit, or the lock is gone) and stand by; ask again
        only after a third of the timeout, so a standby with a sound connection goes first."""
        if self.leading:
            log.error("no longer leading store %s: %s; standing by", self.where, why,
                      extra={"fields": {"event": "leadership_lost"}})
        self.leading = False
        self._next = time.monotonic() + self.interval
        self.leader.release()

    def release(self) -> None:
        self.leading = False
        self.leader.release()


class Worker:
    """One worker leads per store (`Leadership`); tests and the demo step it by hand."""

    def __init__(self, config: Config, clock: Callable[[], datetime] = utcnow,
                 fetch_timezone: Callable[[], str] | None = None, read_timeout: float | None = None):
        self.config = config
        self.clock = clock
        self.read_timeout = read_timeout  # of publishing's requests; None: the usual 30 s
        self.app = open_app(config, now=clock(), fetch_timezone=fetch_timezone)
        self.stopping = False
        self._last_poll: dict[str, float] = {}
        self._sources: list[Source] | None = None
        self.publisher = self._publisher()
        self._trusted = False  # the lost-store guard passed (the store closed something, or the site has nothing)
        self._stopped_by_guard = False  # the guard stopped this worker (said once in the log)
        self._search_again_at = 0.0  # while stopped, when the site is searched again (monotonic)

    # -- the steps ------------------------------------------------------------------------------

    def _now(self) -> datetime:
        now = self.clock()
        self.app.ledger.now = now
        return now

    def sources(self) -> list[Source]:
        if self._sources is None:
            self._sources = build_sources(self.config, self.app)
        return self._sources

    def poll(self, force: bool = False) -> list[str]:
        """Poll every source whose cadence has come (all of them with `force`); returns those that failed."""
        due = []
        for source in self.sources():
            now = self.clock().timestamp()  # the worker's clock, so a simulated one drives cadence too
            last = self._last_poll.get(source.name)
            if force or last is None or now - last >= self._every(source.name):
                self._last_poll[source.name] = now
                due.append(source)
        return list(sync_sources(self.app, due, self._now, should_stop=lambda: self.stopping))

    def _every(self, name: str) -> float:
        section = self.config.sync.sources.get(name)
        return (section.every if section is not None and section.every else None) or self.config.sync.every

    def close_due(self) -> list[Distribution]:
        """Close every period whose trigger time has passed, after syncing the sources up to it."""
        now = self._now()
        due = list(closing.due_periods(self.app.ledger, now))
        if not due:
            return []
        failed = self.poll(force=True)  # the sync reads everything up to now, past every due trigger
        if failed:  # closing now would push what happened before the trigger into the next period
            if now - min(end for _, _, end in due) < CLOSE_GRACE:
                log.warning("closing deferred to the next turn: %s could not be synced up to the trigger time",
                            ", ".join(failed), extra={"fields": {"event": "close_deferred", "sources": failed}})
                return []
            log.error("closing anyway, %s past the trigger: %s could not be synced; what it missed will count "
                      "late, in the next period", CLOSE_GRACE, ", ".join(failed))
        log.info("closing %d due period(s), the first ending %s", len(due), iso(min(end for _, _, end in due)),
                 extra={"fields": {"event": "closing", "due": len(due)}})
        made = closing.close_due(self.app.ledger, now)  # only what the sync above reached
        for record in made:
            log.info("closed %s: %s to %s, revenue %s, pool %s %s, %d obligations", record.id,
                     iso(record.period_start), iso(record.period_end), record.revenue, record.pool,
                     record.units, len(record.obligations),
                     extra={"fields": {"event": "distribution", "distribution": record.id,
                                       "pool": str(record.pool), "units": record.units,
                                       "obligations": len(record.obligations)}})
            if record.set_aside:
                log.warning("%s: %d records could not be computed, were left out and quarantined (see check)",
                            record.id, len(record.set_aside),
                            extra={"fields": {"event": "set_aside", "distribution": record.id,
                                              "records": [item["where"] for item in record.set_aside]}})
        return made

    def publish(self) -> None:
        if self.publisher is None:
            return
        report = self.publisher.publish(self.app.store)
        waiting = len(self.publisher.pending(self.app.store)) if report.failed else 0
        if waiting:  # a failure while looking for late copies leaves nothing queued
            log.warning("publish: %d records kept queued", waiting)

    def step(self) -> None:
        """One full turn: poll what is due, close what is due, publish. Tests and the demo use it."""
        if not self.turn_allowed():
            return
        self.refresh_collaborators()
        self.poll()
        self.close_due()
        self.publish()

    def turn_allowed(self) -> bool:
        """Start of a turn: read what other processes committed, then pass the lost-store guard."""
        self.app.store.refresh()
        if self._trusted:
            return True
        if self._stopped_by_guard and time.monotonic() < self._search_again_at \
                and not lost_store.has_distributions(self.app.store):
            return False  # still lost: `store adopt` is what ends it; the site is asked again later
        self._search_again_at = time.monotonic() + GUARD_SEARCH_EVERY
        try:
            stop = lost_store.guard(self.config, self.app.store)
        except SirenSyncError as exc:
            log.warning("cannot ask the site whether it already holds siren-sync records (%s); nothing is "
                        "synced or closed until it answers", exc)
            return False
        if stop is not None:
            if not self._stopped_by_guard:
                log.error("%s", stop, extra={"fields": {"event": "lost_store"}})
            self._stopped_by_guard = True
            return False
        if self._stopped_by_guard:
            log.info("the store now holds distributions (store adopt): going on after them")
            self.app.ledger.forget_periods()
        self._trusted, self._stopped_by_guard = True, False
        return True

    def refresh_collaborators(self) -> None:
        refresh_collaborators_of(self.app)

    # -- the loop -------------------------------------------------------------------------------

    def run(self, max_seconds: float | None = None) -> int:
        """Run until SIGTERM/SIGINT (or `max_seconds`); returns the exit status.

        Leads or stands by (`Leadership`); a TinyDB store led by another process raises
        StoreLockedError naming it.
        """
        previous = self._install_signals()
        lead = Leadership(self.app.store.leader(), self.config.store.leader_timeout, self.app.store.location)
        scheduler = self._scheduler(lead)
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        log.info("worker started: %d sources, %d distributors, store %s", len(self.sources()),
                 len(self.app.ledger.distributors), self.app.store.location)
        try:
            while not self.stopping and (deadline is None or time.monotonic() < deadline):
                idle = 1.0
                if lead.check():
                    if lead.took_over:
                        self._job(self.step, "first turn", lead)()
                    scheduler.run_pending()
                    idle = scheduler.idle_seconds if scheduler.idle_seconds is not None else 1.0
                time.sleep(max(0.05, min(1.0, idle)))
        except StopRequested:
            pass
        finally:
            lead.release()
            self.app.close()
            self._restore_signals(previous)
        log.info("worker stopped")
        return 0

    def _scheduler(self, lead: Leadership) -> schedule.Scheduler:
        scheduler = schedule.Scheduler()
        # schedule takes float seconds (its stubs say int)
        scheduler.every(self.config.sync.every).seconds.do(  # type: ignore[arg-type]
            self._job(self._poll_turn, "poll", lead))
        scheduler.every(min(CHECK_EVERY, self.config.sync.every)).seconds.do(  # type: ignore[arg-type]
            self._job(self._close_and_publish, "distribution check", lead))
        return scheduler

    def _job(self, job: Callable[[], object], name: str, lead: Leadership) -> Callable[[], None]:
        """A job that logs its failure and is rescheduled normally (schedule would re-run it hot); a
        commit refused by the leader's fence makes this worker stand by."""
        def run() -> None:
            try:
                job()
            except StopRequested:
                raise
            except LeadershipLost as exc:
                lead.lost(str(exc))
            except Exception as exc:  # noqa: BLE001 - the loop must never die from one failed job
                log.exception("%s failed, retried next turn: %s", name, exc)
        return run

    def _poll_turn(self) -> None:
        if self.turn_allowed():
            self.poll()

    def _close_and_publish(self) -> None:
        if not self.turn_allowed():
            return
        self.refresh_collaborators()
        self.close_due()
        self.publish()

    def _install_signals(self) -> dict[int, Any]:
        """Returns the handlers replaced, so an embedding process (tests, the demo) gets them back."""
        def handler(signum: int, _frame: object) -> None:
            log.info("signal %s: finishing the current step, then stopping", signal.Signals(signum).name)
            self.stopping = True
        return {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}

    @staticmethod
    def _restore_signals(previous: dict[int, Any]) -> None:
        for sig, old in previous.items():
            signal.signal(sig, old if old is not None else signal.SIG_DFL)

    def _publisher(self) -> Publisher | None:
        if not self.config.publish.enabled:
            return None
        upstream = wp_upstream(self.config, "publish", self.read_timeout)
        if upstream is None:
            log.warning("publish: no site.wordpress credentials; distributions stay queued")
            return None
        names = {c.id: c.name or c.id for c in self.app.ledger.collaborators.values()}
        return Publisher(upstream, self.config.publish.rest_route, self.config.publish.status, self.app.tz,
                         names, now=self.clock)
