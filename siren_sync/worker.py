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
"""
from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import schedule

from siren_sync import closing
from siren_sync.app import App, collaborators_of, open_app, utcnow
from siren_sync.config import Config
from siren_sync.errors import SirenSyncError
from siren_sync.model import Distribution
from siren_sync.publish import Publisher
from siren_sync.sources.base import Source
from siren_sync.sources.registry import build_sources, wp_upstream
from siren_sync.sync import StopRequested, refresh_collaborators, sync_sources
from siren_sync.values import iso

log = logging.getLogger("siren_sync.worker")

CHECK_EVERY = 60.0  # seconds between trigger-time checks, at most
CLOSE_GRACE = timedelta(hours=1)  # how long closing waits for a source that cannot be synced


def refresh_collaborators_of(app: App) -> dict[str, str]:
    """Read the collaborators from the site when configured, and give the ledger the new list;
    {"collaborators_from_site": why} if they could not be read (logged; the old list stays)."""
    try:
        if refresh_collaborators(app.config, app):
            app.ledger.set_collaborators(collaborators_of(app.config, app.store))
    except (SirenSyncError, OSError) as exc:
        log.error("collaborators from the site could not be read, retried next turn: %s", exc)
        return {"collaborators_from_site": str(exc)}
    return {}


class Worker:
    """One worker per store (the store's lock keeps a second one out)."""

    def __init__(self, config: Config, clock: Callable[[], datetime] = utcnow,
                 fetch_timezone: Callable[[], str] | None = None):
        self.config = config
        self.clock = clock
        self.app = open_app(config, now=clock(), fetch_timezone=fetch_timezone)
        self.stopping = False
        self._last_poll: dict[str, float] = {}
        self._sources: list[Source] | None = None
        self.publisher = self._publisher()

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
        if report.failed:
            log.warning("publish: %d records kept queued", len(self.publisher.pending(self.app.store)))

    def step(self) -> None:
        """One full turn: poll what is due, close what is due, publish. Tests and the demo use it."""
        self.refresh_collaborators()
        self.poll()
        self.close_due()
        self.publish()

    def refresh_collaborators(self) -> None:
        refresh_collaborators_of(self.app)

    # -- the loop -------------------------------------------------------------------------------

    def _guarded(self, job: Callable[[], object], name: str) -> Callable[[], None]:
        """A job that logs its failure and is rescheduled normally (schedule would re-run it hot)."""
        def run() -> None:
            try:
                job()
            except StopRequested:
                raise
            except Exception as exc:  # noqa: BLE001 - the loop must never die from one failed job
                log.exception("%s failed, retried next turn: %s", name, exc)
        return run

    def run(self, max_seconds: float | None = None) -> int:
        """Run until SIGTERM/SIGINT (or `max_seconds`); returns the exit status."""
        previous = self._install_signals()
        scheduler = schedule.Scheduler()
        # schedule takes float seconds (its stubs say int)
        scheduler.every(self.config.sync.every).seconds.do(  # type: ignore[arg-type]
            self._guarded(self.poll, "poll"))
        scheduler.every(min(CHECK_EVERY, self.config.sync.every)).seconds.do(  # type: ignore[arg-type]
            self._guarded(self._close_and_publish, "distribution check"))
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        log.info("worker started: %d sources, %d distributors, store %s", len(self.sources()),
                 len(self.app.ledger.distributors), self.config.store_path)
        try:
            self._guarded(self.step, "first turn")()
            while not self.stopping and (deadline is None or time.monotonic() < deadline):
                scheduler.run_pending()
                idle = scheduler.idle_seconds
                time.sleep(max(0.05, min(1.0, idle if idle is not None else 1.0)))
        except StopRequested:
            pass
        finally:
            self.app.close()
            self._restore_signals(previous)
        log.info("worker stopped")
        return 0

    def _close_and_publish(self) -> None:
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
        upstream = wp_upstream(self.config, "publish")
        if upstream is None:
            log.warning("publish: no site.wordpress credentials; distributions stay queued")
            return None
        names = {c.id: c.name or c.id for c in self.app.ledger.collaborators.values()}
        return Publisher(upstream, self.config.publish.rest_route, self.config.publish.status, self.app.tz,
                         names, now=self.clock)
