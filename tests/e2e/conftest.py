"""The end-to-end tests' fixtures: `make_site` (sandbox processes and config folders, every child
process killed at the end) and `reference` (the history of one undisturbed run, which every run
with kills, restarts, standbys or a lost store must end up equal to)."""
from __future__ import annotations

import pytest

from tests.support.e2e import (
    DAILY,
    DAYS,
    ORDERS_PER_DAY,
    SEED,
    TINYDB,
    TOTAL_STEPS,
    Choreography,
    SandboxProcess,
    Site,
)


@pytest.fixture
def make_site(tmp_path):
    """Starts sandbox processes and config folders; kills every child process at the end."""
    sandboxes: list[SandboxProcess] = []
    sites: list[Site] = []

    def make(name: str, seed: int = SEED, schedule: str = DAILY, days: int = DAYS,
             orders_per_day: float = ORDERS_PER_DAY, store: str = TINYDB, options: tuple[str, ...] = (),
             sources: str = "", extra: str = "") -> Site:
        folder = tmp_path / name
        folder.mkdir()
        sb = SandboxProcess(seed, days, orders_per_day, folder, options)
        sandboxes.append(sb)
        site = Site(sb, folder, schedule, store, sources, extra)
        sites.append(site)
        return site

    yield make
    for site in sites:
        site.stop_all()
    for sb in sandboxes:
        sb.stop()


@pytest.fixture(scope="session")
def reference(tmp_path_factory):
    """The history of an undisturbed run: same seed, same clock steps, no faults, no kills."""
    folder = tmp_path_factory.mktemp("reference")
    sb = SandboxProcess(SEED, DAYS, ORDERS_PER_DAY, folder)
    site = Site(sb, folder / "site", DAILY)
    try:
        w = site.worker("reference")
        w.wait_for_log("worker started", timeout=60)
        history = Choreography(site, TOTAL_STEPS).finish()
        assert w.sigterm() == 0
        posted = sb.posted_slugs()
        assert len(posted) == len(set(posted)) == len(history)
        return {"history": site.history(), "slugs": posted}
    finally:
        site.stop_all()
        sb.stop()
