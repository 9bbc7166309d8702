"""Helpers for the end-to-end tests: the sandbox and the worker as real processes over loopback.

`SandboxProcess` runs `python -m siren_sync.sandbox --json` and talks to its control routes
(`/wp-json/sandbox/v1/clock|faults|stats`); `WorkerProcess` runs `siren-sync run --clock <sandbox
clock>` and keeps its log lines (stderr) so a test can wait for one ("closed ...") and kill the
worker right there. `Choreography` moves the simulated clock in fixed steps, never past a trigger
time while a period is still due, so a run with kills and restarts closes every period at the very
same simulated time as a reference run without them, and the two histories can be compared whole.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import requests

from siren_sync.demo import SIREN_IDS, THREE_POOLS, sandbox_config_text, sandbox_env

BIN = Path(sys.executable).parent
SIREN_SYNC = str(BIN / "siren-sync")
SITE_TZ = ZoneInfo("America/New_York")  # the sandbox site's timezone (read by `timezone: auto`)
START = date(2026, 11, 1)  # the sandbox's first simulated day (DEFAULT_START is its midnight)

# A fast sync; siren_sync/demo.py gives the site, the collaborators and the three distributors.
SYNC = """\
sync:
  every: 1s
  overlap: 5m
  woocommerce: {{enabled: true}}
  lifterlms: {{enabled: true, every: 1h}}  # simulated time: once after each clock step, and before closing
  siren: {{enabled: true, every: 1s, collaborator_ids: {siren_ids}}}
"""
DISTRIBUTORS = {"salesBonus": ("topScoreWins", 5), "instructorRevenueShare": ("performanceSharedPool", 20),
                "referralPool": ("sharedEngagementPool", 2)}
SCHEDULE_DAYS = {"+1 week": 7, "+1 day": 1}

# The runs compared with the reference run (tests/e2e/conftest.py): its seed, site and clock steps.
SEED = 11
DAYS = 8  # activity in the sandbox after its start (the crash runs stop before it runs out)
ORDERS_PER_DAY = 30
DAILY = "+1 day"
TOTAL_STEPS = 22  # 6-hour clock steps: five and a half days, five daily triggers crossed


def wait_until(condition: Callable[[], object], timeout: float, interval: float = 0.2,
               message: str = "condition") -> object:
    """Poll `condition` until it returns something other than None or False (returned), or fail
    after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value is not None and value is not False:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {message}")
        time.sleep(interval)


# -- the sandbox ---------------------------------------------------------------------------------

class SandboxProcess:
    """`python -m siren_sync.sandbox --port 0 --seed N --json` as a child process (`options`: more of
    its flags, such as `--visitors`)."""

    def __init__(self, seed: int, days: int, orders_per_day: float, folder: Path, options: tuple[str, ...] = ()):
        self.seed, self.days, self.orders_per_day = seed, days, orders_per_day
        self.log = open(folder / f"sandbox-{seed}.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "siren_sync.sandbox", "--port", "0", "--seed", str(seed), "--json",
             "--days", str(days), "--orders-per-day", str(orders_per_day), *options],
            stdout=subprocess.PIPE, stderr=self.log, text=True)
        try:
            line = _readline(self.proc, 60)
            info = json.loads(line)
        except BaseException:
            self.stop()
            raise
        self.url: str = info["url"]
        self.credentials = {k: info[k] for k in ("wc_key", "wc_secret", "wp_user", "wp_app_password")}
        self.http = requests.Session()

    @property
    def control_root(self) -> str:
        return f"{self.url}/wp-json/sandbox/v1"

    @property
    def clock_url(self) -> str:
        return f"{self.control_root}/clock"

    def control(self, method: str, route: str, body: dict | None = None) -> dict:
        resp = self.http.request(method, f"{self.control_root}/{route}", json=body, timeout=30)
        resp.raise_for_status()
        return resp.json()

    def now(self) -> datetime:
        return datetime.fromisoformat(self.control("GET", "clock")["now"])

    def advance(self, seconds: int) -> datetime:
        return datetime.fromisoformat(self.control("POST", "clock", {"advance": seconds})["now"])

    def faults(self, **switches) -> dict:
        return self.control("POST", "faults", switches)

    def stats(self) -> dict:
        return self.control("GET", "stats")

    def posted_slugs(self) -> list[str]:
        return [p["slug"] for p in self.stats()["posts_created"]]

    def record_slugs(self) -> list[str]:
        """The slugs of the siren-sync records the site holds now (every record's content says "pool";
        deleted ones are gone), as the admin sees them."""
        c = self.credentials
        resp = self.http.get(f"{self.url}/wp-json/wp/v2/posts", auth=(c["wp_user"], c["wp_app_password"]),
                             params={"search": "pool", "status": "any", "context": "edit", "per_page": 100},
                             timeout=30)
        resp.raise_for_status()
        return sorted(p["slug"] for p in resp.json() if p["slug"].startswith("siren-sync-"))

    def env(self) -> dict[str, str]:
        c = self.credentials
        return sandbox_env(c)

    def stop(self) -> None:
        _end(self.proc)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.log.close()


def _readline(proc: subprocess.Popen, timeout: float) -> str:
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not box or not box[0]:
        raise AssertionError(f"the sandbox printed nothing in {timeout}s (exit {proc.poll()})")
    return box[0]


def _end(proc: subprocess.Popen) -> None:
    """Kill a child we started (by its own handle) and reap it."""
    if proc.poll() is None:
        proc.kill()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:  # pragma: no cover - a kill is not refused
        pass


# -- config and the command line ---------------------------------------------------------------

TINYDB = "store: {path: store/siren-sync.json}"


def postgres_store(url: str, namespace: str, leader_timeout: str = "3s") -> str:
    """The `store:` line of a config on a PostgreSQL namespace."""
    return f'store: {{url: "{url}", namespace: "{namespace}", leader_timeout: {leader_timeout}}}'


class Site:
    """A sandbox plus a config folder for it: what the commands need (`store`: the config's
    `store:` line, TinyDB in the folder by default; `sources`: more lines of `sync:`, indented;
    `extra`: more of the config, such as `programs:`)."""

    def __init__(self, sandbox: SandboxProcess, folder: Path, schedule: str, store: str = TINYDB,
                 sources: str = "", extra: str = ""):
        self.sandbox = sandbox
        self.folder = folder
        self.schedule = schedule
        folder.mkdir(parents=True, exist_ok=True)
        self.config = folder / "siren.yaml"
        pools = THREE_POOLS.format(schedule=schedule, start=START.isoformat())
        rest = SYNC.format(siren_ids=SIREN_IDS) + sources + pools + extra
        text = sandbox_config_text(sandbox.url, rest)
        assert TINYDB in text
        self.config.write_text(text.replace(TINYDB, store))
        self.env = {**os.environ, **sandbox.env(), "SIREN_SYNC_LOG_LEVEL": "INFO"}
        self.env.pop("SIREN_SYNC_CONFIG", None)
        self.workers: list[WorkerProcess] = []

    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([SIREN_SYNC, "--config", str(self.config), *args], env=self.env, cwd=self.folder,
                              capture_output=True, text=True, timeout=timeout)

    def history(self) -> list[dict]:
        """`siren-sync history --json` (read-only: works while a worker holds the lock)."""
        done = self.cli("history", "--json")
        assert done.returncode == 0, f"history failed ({done.returncode}): {done.stderr}"
        return json.loads(done.stdout)["distributions"]

    def worker(self, name: str, *options: str) -> WorkerProcess:
        """`siren-sync run` with `options` added (such as `--read-timeout 2`)."""
        w = WorkerProcess(self, name, options)
        self.workers.append(w)
        return w

    def stop_all(self) -> None:
        for w in self.workers:
            w.kill()

    # expected periods
    def period_ends(self, until: datetime) -> list[datetime]:
        """Every period end (trigger time) <= `until`, for the config's fixed-length schedule."""
        step = SCHEDULE_DAYS[self.schedule]
        ends, day = [], START
        while True:
            day = day + timedelta(days=step)
            end = datetime(day.year, day.month, day.day, tzinfo=SITE_TZ)
            if end > until:
                return ends
            ends.append(end)

    def expected_ids(self, until: datetime) -> set[str]:
        return {f"{key}-{end.astimezone(UTC):%Y%m%dT%H%M}".lower()
                for end in self.period_ends(until) for key in DISTRIBUTORS}

    def all_closed(self, until: datetime) -> list[dict] | None:
        """The history when every period due at `until` is closed, else None."""
        done = self.cli("history", "--json")
        if done.returncode == 2 and "timezone was never read" in done.stderr:
            return None  # no worker got as far as reading the site's timezone yet
        assert done.returncode == 0, f"history failed ({done.returncode}): {done.stderr}"
        history = json.loads(done.stdout)["distributions"]
        return history if {d["id"] for d in history} >= self.expected_ids(until) else None


class WorkerProcess:
    """`siren-sync run --clock <sandbox clock>`; its log lines are kept (and copied to a file)."""

    def __init__(self, site: Site, name: str, options: tuple[str, ...] = ()):
        self.site = site
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self.logfile = open(site.folder / f"worker-{name}.log", "w")
        self.proc = subprocess.Popen([SIREN_SYNC, "--config", str(site.config), "run", "--clock",
                                      site.sandbox.clock_url, *options],
                                     env=site.env, cwd=site.folder, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.PIPE, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.logfile.write(line)
            self.logfile.flush()
            with self._cond:
                self.lines.append(line.rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def mark(self) -> int:
        with self._cond:
            return len(self.lines)

    def wait_for_log(self, pattern: str, since: int = 0, timeout: float = 30) -> str:
        """The first log line from index `since` on that matches `pattern` (a regex)."""
        rx = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.lines[since:]:
                    if rx.search(line):
                        return line
                since = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no worker log line matching {pattern!r} in {timeout}s "
                                         f"(exit {self.proc.poll()}); last lines:\n" + "\n".join(self.lines[-15:]))
                self._cond.wait(min(left, 0.5))

    def alive(self) -> bool:
        return self.proc.poll() is None

    def sigkill(self) -> int:
        self.proc.send_signal(signal.SIGKILL)
        return self.wait(10)

    def sigterm(self, timeout: float = 60) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def wait(self, timeout: float) -> int:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(5)
        return code

    def kill(self) -> None:
        _end(self.proc)
        self._reader.join(5)
        if not self.logfile.closed:
            self.logfile.close()

    def text(self) -> str:
        with self._cond:
            return "\n".join(self.lines)


# -- the clock choreography ---------------------------------------------------------------------

STEP = 6 * 3600  # simulated seconds per clock step


class Choreography:
    """Moves the sandbox clock `STEP` at a time, `total` times in all; a step is taken only when no
    period is due (every period ending at or before the clock is closed), so each period closes at
    the same simulated time in every run of the same choreography, whatever happens to the worker."""

    def __init__(self, site: Site, total: int):
        self.site = site
        self.total = total
        self.taken = 0
        self.clock = site.sandbox.now()

    @property
    def done(self) -> bool:
        return self.taken >= self.total

    def crosses(self) -> bool:
        """Whether the next step passes a trigger time."""
        nxt = self.clock + timedelta(seconds=STEP)
        return len(self.site.period_ends(nxt)) > len(self.site.period_ends(self.clock))

    def step(self, timeout: float = 90) -> bool:
        """Wait until nothing is due, then advance one step; False when all steps were taken."""
        if self.done:
            return False
        wait_until(lambda: self.site.all_closed(self.clock), timeout, 0.3,
                   f"the periods due at {self.clock.isoformat()} to close")
        self.clock = self.site.sandbox.advance(STEP)
        self.taken += 1
        return True

    def finish(self, timeout: float = 120) -> list[dict]:
        """Take the remaining steps, then wait until every due period is closed and posted."""
        while self.step(timeout):
            pass
        history = wait_until(lambda: self.site.all_closed(self.clock), timeout, 0.3, "the last closings")
        want = {"siren-sync-" + i for i in self.site.expected_ids(self.clock)}
        wait_until(lambda: set(self.site.sandbox.posted_slugs()) >= want, timeout, 0.3, "every record posted")
        return history


# -- the truth, from the sandbox's own generated orders --------------------------------------------

def _half_up(value: Fraction) -> Decimal:
    """Cents (a Fraction) to a Decimal amount, halves away from zero."""
    q = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal(1), ROUND_HALF_UP)
    return q.scaleb(-2)


def true_revenue(seed: int, days: int, orders_per_day: float, now: datetime,
                 ends: list[datetime]) -> dict[datetime, Decimal]:
    """Net counted USD revenue per period (by end) of a distributor without filters, computed from an
    identical sandbox generated in this process: paid orders at payment, refunds pro rata at their
    creation, the rest of a paid order cancelled afterwards at its `date_modified`."""
    from siren_sync.sandbox import Sandbox
    from siren_sync.sandbox.site import PAID_STATUSES

    box = Sandbox(seed=seed, days=days, orders_per_day=orders_per_day)  # never started: no server
    box.set_now(now)
    starts = [datetime.combine(START, datetime.min.time(), SITE_TZ)] + ends[:-1]
    totals = {end: Decimal("0.00") for end in ends}

    def add(ts: int, amount: Decimal) -> None:
        at = datetime.fromtimestamp(ts, UTC)
        for start, end in zip(starts, ends, strict=True):
            if start <= at < end:
                totals[end] += amount

    with box.site.lock:
        for o in box.site.orders.values():
            paid_at = o.paid if o.paid is not None else (o.created if o.status in PAID_STATUSES else None)
            if o.currency == "USD" and paid_at is not None:
                for ts, amount in _order_moves(o, paid_at):
                    add(ts, amount)
    return totals


def _order_moves(o, paid_at: int) -> list[tuple[int, Decimal]]:
    """(time, signed counted revenue) of one paid order: its payment, refunds, and a later cancellation."""
    counted = Fraction(sum(li.subtotal for li in o.line_items) - o.discount_total)
    moves = [(paid_at, _half_up(counted))]
    total, refunded = o.total, o.refunded
    if total <= 0:
        return moves
    moves += [(r.created, -_half_up(counted * r.amount / total)) for r in o.refunds]
    cancelled = o.status in ("cancelled", "failed", "trash") or o.status == "refunded"
    if cancelled and refunded < total:
        moves.append((o.modified, -_half_up(counted * (total - refunded) / total)))
    return moves


# -- what every run must show -------------------------------------------------------------------

def check_once(site: Site, history: list[dict], clock) -> None:
    """One distribution per period per distributor, contiguous periods, and the site holding each
    record once.

    What the site holds is checked, not only what it was sent: a worker killed during a POST leaves
    a request the site may carry out after the next worker looked the slug up (on a loaded machine
    the sandbox carried one out four seconds late). The next worker waits PUBLISH_SETTLE for it;
    one later still makes its second POST come back as WordPress's `-2` copy, which it deletes, or
    becomes that copy itself, which a later turn finds and deletes (publish.py). So what was
    created may hold such deleted copies `<record slug>-N`; a copy still on the site, a record
    missing, or any other post fails.
    """
    ids = [d["id"] for d in history]
    assert len(ids) == len(set(ids)), f"a distribution recorded twice: {Counter(ids).most_common(3)}"
    assert set(ids) == site.expected_ids(clock)
    for key in DISTRIBUTORS:
        periods = sorted((d["period_start"], d["period_end"]) for d in history if d["distributor"] == key)
        assert len(periods) == len(site.period_ends(clock))
        for (_, end), (start, _) in pairwise(periods):
            assert end == start, f"{key}: a gap or overlap between periods at {end} / {start}"
    want = sorted("siren-sync-" + i for i in ids)
    held = site.sandbox.record_slugs()
    assert held == want, f"the site holds {held}"
    created = site.sandbox.stats()["posts_created"]
    slugs = [p["slug"] for p in created]
    dupes = [s for s, n in Counter(slugs).items() if n > 1]
    assert not dupes, f"records posted more than once under one slug: {dupes}"
    copy = re.compile("(" + "|".join(map(re.escape, want)) + r")-\d+")
    other = [{k: p[k] for k in ("id", "slug", "title", "date_gmt")} for p in created
             if p["slug"] not in want and not copy.fullmatch(p["slug"])]
    assert set(want) <= set(slugs) and not other, f"posts other than the records and their copies: {other}"


def check_amounts(history: list[dict]) -> None:
    for d in history:
        resolver, pct = DISTRIBUTORS[d["distributor"]]
        revenue, pool = Decimal(d["revenue"]), Decimal(d["pool"])
        want = (revenue * pct / 100).quantize(Decimal("0.01"), "ROUND_HALF_UP") if revenue > 0 else Decimal("0.00")
        assert pool == want, d
        amounts = [Decimal(o["amount"]) for o in d["obligations"]]
        if amounts:
            assert sum(amounts) == pool, f"{d['id']}: shares {amounts} do not add up to the pool {pool}"
        scores = {o["collaborator"]: Decimal(o["score"]) for o in d["obligations"]}
        if resolver == "topScoreWins" and amounts:
            assert len(amounts) == 1 and scores[d["obligations"][0]["collaborator"]] > 0
        elif resolver == "sharedEngagementPool" and amounts:
            assert max(amounts) - min(amounts) <= Decimal("0.01")
        elif resolver == "performanceSharedPool" and amounts:
            total = sum(scores.values())
            for o in d["obligations"]:
                exact = pool * Decimal(o["score"]) / total
                assert abs(Decimal(o["amount"]) - exact) < Decimal("0.01"), (d["id"], o, exact)


def diff(got: list[dict], want: list[dict]) -> str:
    w = {d["id"]: d for d in want}
    lines = []
    for d in got:
        if d != w.get(d["id"]):
            lines.append(f"{d['id']}: got revenue {d['revenue']} pool {d['pool']} {d['obligations']}, "
                         f"reference {w.get(d['id'])}")
    return "history differs from the reference run:\n" + "\n".join(lines[:10])
