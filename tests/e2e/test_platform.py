"""End to end, as on a hosting platform: real `siren-sync run` processes against the sandbox site.

1. two workers on one PostgreSQL namespace: one leads, the other says it stands by; each period is
   closed once and each record reaches the site once (the history is the reference run's);
2. the leader killed (SIGKILL) in the middle of a close: the standby takes over within
   `leader_timeout` and the period is closed once;
3. the leader's database sessions terminated: it stops leading (its commits are fenced) and the
   standby takes over;
4. the TinyDB file lost and the worker restarted: it closes nothing (and says why, `check` too),
   `store adopt` runs beside it, and it goes on to the reference history without posting twice
   (but for events that were late when the store was lost: they count nowhere, never twice);
5. PostgreSQL restarted under a running worker: it retries with backoff and loses nothing.
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from tests.support.e2e import (
    TOTAL_STEPS,
    Choreography,
    WorkerProcess,
    check_amounts,
    check_once,
    diff,
    postgres_store,
    wait_until,
)
from tests.support.postgres import database_url, namespace_for
from tests.support.prereq import require

pytestmark = pytest.mark.e2e

LEADER_TIMEOUT = 3.0  # seconds: `store.leader_timeout` of these tests (the least the config takes)
ROOT = Path(__file__).resolve().parents[2]


def _roles(*workers: WorkerProcess) -> tuple[WorkerProcess, list[WorkerProcess]]:
    """(the leader, the standbys), once each has said which it is."""
    def said() -> tuple[WorkerProcess, list[WorkerProcess]] | None:
        leaders = [w for w in workers if "leading store" in w.text()]
        standbys = [w for w in workers if "standby: store" in w.text()]
        if len(leaders) == 1 and len(standbys) == len(workers) - 1:
            return leaders[0], standbys
        return None
    return wait_until(said, 60, 0.2, "one leader and the standbys")  # type: ignore[return-value]


def _finish(site, steps: Choreography, reference: dict) -> list[dict]:
    history = steps.finish()
    time.sleep(2)  # a few more turns: nothing is closed or posted again
    history = site.history()
    check_once(site, history, steps.clock)
    check_amounts(history)
    assert history == reference["history"], diff(history, reference["history"])
    return history


def _closed_lines(worker: WorkerProcess, after: int = 0) -> list[str]:
    return [line for line in worker.lines[after:] if " closed " in line]


@pytest.fixture
def pg_site(make_site, tmp_path):
    """`make_site` on a namespace of its own of the test PostgreSQL server."""
    url = database_url()

    def make(name: str, **options):
        namespace = f"{namespace_for(tmp_path)}-{name}"
        return make_site(name, store=postgres_store(url, namespace, f"{LEADER_TIMEOUT:.0f}s"), **options)
    return make


# -- 1. two workers, one leads ---------------------------------------------------------------------

def test_two_workers_on_one_namespace_one_leads_and_each_period_is_closed_once(pg_site, reference):
    site = pg_site("pair")
    leader, [standby] = _roles(site.worker("a"), site.worker("b"))
    assert "takes over within 3 s of it stopping" in standby.text()
    _finish(site, Choreography(site, TOTAL_STEPS), reference)
    assert _closed_lines(leader) and not _closed_lines(standby)
    assert leader.sigterm() == 0 and standby.sigterm() == 0


# -- 2. the leader killed in the middle of a close --------------------------------------------------

def test_the_leader_killed_mid_close_is_replaced_within_the_timeout(pg_site, reference):
    site = pg_site("kill")
    site.sandbox.faults(latency_ms=[5, 20], seed=5)
    leader, [standby] = _roles(site.worker("a"), site.worker("b"))
    steps = Choreography(site, TOTAL_STEPS)
    while not steps.crosses():
        steps.step()
    mark = leader.mark()
    steps.clock = site.sandbox.advance(6 * 3600)  # across a trigger: the leader syncs up, then closes
    steps.taken += 1
    leader.wait_for_log(r"closing \d+ due period", since=mark, timeout=60)
    leader.sigkill()
    killed = time.monotonic()
    standby.wait_for_log("leading store", timeout=LEADER_TIMEOUT + 10)
    assert time.monotonic() - killed <= LEADER_TIMEOUT + 0.5  # the poll of a third of the timeout, and a turn
    site.sandbox.faults(reset=True)
    _finish(site, steps, reference)


# -- 3. the leader's connection cut ------------------------------------------------------------------

def _terminate_sessions(pid: int) -> int:
    """Terminate every database session of the siren-sync process `pid` (as a failover would)."""
    with psycopg.connect(database_url(), autocommit=True) as admin:
        rows = admin.execute("SELECT pg_terminate_backend(pid, 10000) FROM pg_stat_activity WHERE application_name "
                             "LIKE %s", (f"siren-sync % pid {pid}@%",)).fetchall()
    return len(rows)


def test_a_leader_whose_connection_is_cut_stops_committing_and_the_standby_takes_over(pg_site, reference):
    site = pg_site("cut")
    leader, [standby] = _roles(site.worker("a"), site.worker("b"))
    steps = Choreography(site, TOTAL_STEPS)
    for _ in range(5):
        steps.step()
    cut = leader.mark()
    assert _terminate_sessions(leader.proc.pid) >= 2  # its leader session and its working one
    leader.wait_for_log("no longer leading store", since=cut, timeout=LEADER_TIMEOUT + 10)
    standby.wait_for_log("leading store", timeout=LEADER_TIMEOUT + 10)  # it asks first: the old one waits a turn
    _finish(site, steps, reference)
    assert not _closed_lines(leader, after=cut), "the old leader closed something after its lock was cut"
    assert leader.alive(), "a worker that lost the lead stands by; it does not exit"


# -- 4. the TinyDB file lost --------------------------------------------------------------------------

def test_a_lost_tinydb_file_closes_nothing_twice_and_store_adopt_goes_on(make_site, reference):
    site = make_site("lost")
    first = site.worker("first")
    steps = Choreography(site, TOTAL_STEPS)
    for _ in range(10):  # two daily triggers crossed: six distributions closed and posted
        steps.step()
    wait_until(lambda: site.all_closed(steps.clock), 60, 0.3, "the periods due so far")
    wait_until(lambda: len(site.sandbox.posted_slugs()) == 6, 60, 0.3, "their records posted")
    assert first.sigterm() == 0
    shutil.rmtree(site.folder / "store")  # a restart on an ephemeral disk

    again = site.worker("again")
    again.wait_for_log("holds no distributions, but the site already holds 6 siren-sync record", timeout=60)
    check = site.cli("check")
    assert check.returncode == 1 and "[FAIL] lost-store guard: store" in check.stdout, check.stdout
    time.sleep(2)
    assert site.history() == [] and len(site.sandbox.posted_slugs()) == 6  # nothing closed, nothing posted

    adopt = site.cli("store", "adopt")  # beside the running worker: it waits its turn at the write lock
    assert adopt.returncode == 0 and "adopted 2 distributions of salesBonus" in adopt.stdout, adopt.stderr
    again.wait_for_log("going on after them", timeout=60)
    history = steps.finish()
    check_once(site, history, steps.clock)
    check_amounts(history)
    assert site.sandbox.record_slugs() == sorted(reference["slugs"])  # each record on the site once
    # Every period is the reference's, but for the first after the adopted ones: an event that
    # reached the site after the lost store closed its period (late) cannot be told apart from one
    # it counted, so it counts in neither: never more than the reference, never twice.
    horizon = max(d["period_end"] for d in history[:6])
    for got, want in zip(history, reference["history"], strict=True):
        if got["period_start"] != horizon:
            assert got == want, diff([got], [want])
            continue
        assert Decimal(got["revenue"]) <= Decimal(want["revenue"]) and Decimal(got["pool"]) <= Decimal(want["pool"])
        scores = {o["collaborator"]: Decimal(o["score"]) for o in want["obligations"]}
        assert all(Decimal(o["score"]) <= scores.get(o["collaborator"], Decimal(0)) for o in got["obligations"])
    assert site.cli("check").returncode == 0
    assert again.sigterm() == 0


# -- 5. PostgreSQL restarted ----------------------------------------------------------------------------

@pytest.fixture
def own_cluster() -> Iterator[tuple[str, Path]]:
    """A PostgreSQL cluster of this test's own (it restarts it), stopped at the end."""
    require(shutil.which("initdb") is not None or any(Path("/usr/lib/postgresql").glob("*/bin/initdb")),
            "PostgreSQL's server programs (initdb, pg_ctl)", "apt-get install -y postgresql")
    folder = Path(tempfile.mkdtemp(prefix="siren-pg-"))
    try:
        url = subprocess.run([str(ROOT / "tools" / "pg-cluster"), "start", str(folder)], check=True,
                             capture_output=True, text=True, timeout=120).stdout.strip()
        yield url, folder
    finally:
        subprocess.run([str(ROOT / "tools" / "pg-cluster"), "stop", str(folder)], capture_output=True, timeout=120)
        shutil.rmtree(folder, ignore_errors=True)


def test_postgresql_restarted_under_a_running_worker_loses_nothing(make_site, reference, own_cluster):
    url, folder = own_cluster
    site = make_site("restart", store=postgres_store(url, "restart", f"{LEADER_TIMEOUT:.0f}s"))
    worker = site.worker("w")
    worker.wait_for_log("leading store", timeout=60)
    steps = Choreography(site, TOTAL_STEPS)
    for _ in range(4):
        steps.step()
    mark = worker.mark()
    subprocess.run([str(ROOT / "tools" / "pg-cluster"), "restart", str(folder), "4"], check=True,
                   capture_output=True, timeout=120)
    worker.wait_for_log("leading store", since=mark, timeout=60)  # it lost the lead with the server, then took it back
    assert any("failed" in line or "cannot" in line for line in worker.lines[mark:]), "the outage went unnoticed"
    _finish(site, steps, reference)
    assert worker.sigterm() == 0
