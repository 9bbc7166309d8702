"""Shared helpers of the benchmarks: machine facts, peak memory, configs, a sandbox in its own process.

Every benchmark module has `main(**sizes) -> dict` (what the smoke tests call) and a `cli()` that
parses `--size`-style options, prints the figures as text and ends with one JSON line.
"""
from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

# The sandbox's seeded shop (siren_sync/sandbox/generate.py): its collaborators, coupons and products.
SANDBOX_COLLABORATORS = """\
  - {id: alice, name: Alice, email: alice@example.test, status: active, wp_user_id: 2,
     coupons: [alice10], tracking_ids: [alice], products: [10, 18]}
  - {id: bruno, name: Bruno, email: bruno@example.test, status: active, wp_user_id: 3,
     coupons: [bruno15], tracking_ids: [bruno], products: [11]}
  - {id: chloe, name: Chloe, email: chloe@example.test, status: active, wp_user_id: 4,
     coupons: [chloe10], tracking_ids: [chloe], products: [12]}
  - {id: david, name: David, email: david@example.test, status: active, wp_user_id: 5,
     coupons: [david20], tracking_ids: [david], products: [14, 16, 17]}
"""

MONTHLY = """\
  monthly:
    name: Monthly Sales Bonus
    distributionResolver: performanceSharedPool
    distributionPoolResolver: revenueSinceLastDistribution
    status: active
    units: USD
    schedule: ["first day of next month", "midnight"]
    startsAt: {starts}
    engagementTypes: {{boundCouponUsed: 5, collaboratorProductSold: 10, referredSiteVisit: 1, boundPostUsed: 1,
                      manual: 1}}
    revenuePercentage: 10
"""

WEEKLY = """\
  weekly:
    name: Weekly Top Seller
    distributionResolver: topScoreWins
    distributionPoolResolver: revenueSinceLastDistribution
    status: active
    units: USD
    schedule: ["next monday"]
    startsAt: {starts}
    engagementTypes: {{boundCouponUsed: 1, collaboratorProductSold: 1}}
    revenuePercentage: 5
"""


def write_config(folder: Path, *, url: str = "http://127.0.0.1:9", timezone: str = "America/New_York",
                 creds: dict | None = None, woocommerce: bool = False, access_log: str | None = None,
                 starts: str = "2025-10-01", weekly: bool = False, collaborators: str = SANDBOX_COLLABORATORS,
                 every: str = "5m", extra_sync: str = "", store_url: str | None = None) -> Path:
    """A config YAML in `folder` (store under `folder/store/`, or in a new namespace of the
    PostgreSQL database at `store_url`); returns its path."""
    folder.mkdir(parents=True, exist_ok=True)
    site = f'site:\n  url: "{url}"\n  timezone: {timezone}\n'
    if creds:
        site += (f'  woocommerce: {{consumer_key: "{creds["wc_key"]}", consumer_secret: "{creds["wc_secret"]}"}}\n')
    sync = f"sync:\n  every: {every}\n  woocommerce: {{enabled: {str(woocommerce).lower()}}}\n"
    if access_log:
        sync += f'  access_log: {{enabled: true, path: "{access_log}", ref_param: ref}}\n'
    sync += extra_sync
    distributors = MONTHLY.format(starts=starts) + (WEEKLY.format(starts=starts) if weekly else "")
    store = "store: {path: store/siren.json}\n"
    if store_url:
        store = f'store: {{url: "{store_url}", namespace: "bench-{uuid.uuid4().hex[:12]}"}}\n'
    text = (site + store + sync + "collaborators:\n" + collaborators
            + "distributors:\n" + distributors)
    path = folder / "siren.yaml"
    path.write_text(text)
    return path


def load(path: Path):
    from siren_sync.config import load_config

    return load_config(path)


def peak_rss_mb() -> float:
    """This process's own peak resident set size, in MB.

    Linux's `VmHWM` is the high-water mark of this process's memory since its exec. `ru_maxrss`
    is not: a child started by fork+exec inherits its parent's high-water mark, so a closing
    process started by a parent that had just filled a million events reported the parent's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def machine() -> dict[str, Any]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                ram = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {"nproc": os.cpu_count(), "cpu": cpu, "ram_gb": ram, "python": platform.python_version(),
            "platform": platform.platform()}


class SandboxProcess:
    """`python -m siren_sync.sandbox --json` in a child process (its CPU is not ours).

    `.url`, `.credentials`, `.now` (aware datetime), `.stats()`, `.reset_stats()` and `.advance()` (with
    `days`: the simulated clock) over HTTP.
    """

    def __init__(self, *, orders: int | None = None, refunds: int = 0, full_refunds: int = 0, seed: int = 1,
                 timeout: float = 600.0, visitors: bool = False, days: int | None = None,
                 orders_per_day: float = 40.0):
        argv = [PYTHON, "-m", "siren_sync.sandbox", "--port", "0", "--seed", str(seed), "--json"]
        if orders is not None:  # an exact number of orders, all visible at once
            argv += ["--orders", str(orders), "--refunds", str(refunds), "--full-refunds", str(full_refunds)]
        else:  # `days` of activity revealed as the clock moves (`advance`)
            argv += ["--days", str(days), "--orders-per-day", str(orders_per_day)]
        if visitors:  # orders carry their customer's address and agent, some order attribution
            argv.append("--visitors")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        line = self.proc.stdout.readline()  # blocks until the site is generated and serving
        if not line:
            err = self.proc.stderr.read()
            raise RuntimeError(f"the sandbox did not start: {err[-2000:]}")
        info = json.loads(line)
        self.startup_s = time.monotonic() - self.started
        from datetime import datetime

        self.url = info["url"]
        self.credentials = {k: info[k] for k in ("wc_key", "wc_secret", "wp_user", "wp_app_password")}
        self.now = datetime.fromisoformat(info["now"])

    def stats(self) -> dict:
        import requests

        return requests.get(self.url + "/wp-json/sandbox/v1/stats", timeout=30).json()

    def advance(self, seconds: int):
        """Move the sandbox's simulated clock; returns its new time."""
        from datetime import datetime

        import requests

        body = requests.post(self.url + "/wp-json/sandbox/v1/clock", json={"advance": seconds}, timeout=30).json()
        self.now = datetime.fromisoformat(body["now"])
        return self.now

    def reset_stats(self) -> None:
        import requests

        requests.post(self.url + "/wp-json/sandbox/v1/stats", json={}, timeout=30)

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self) -> SandboxProcess:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(title: str, rows: list[tuple[str, Any]], result: dict) -> None:
    """Print the figures as aligned text, then the result as one final JSON line."""
    print(f"== {title}")
    width = max((len(k) for k, _ in rows), default=0)
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    print(json.dumps(result, sort_keys=True, default=str), flush=True)


def dir_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


POSTGRES_TABLES = ("siren_sync_documents", "siren_sync_events", "siren_sync_keys", "siren_sync_buckets",
                   "siren_sync_tables")


def store_bytes(config: Any, folder: Path) -> int:
    """What the config's store holds, in bytes: its files (TinyDB, under `folder`), or the size of
    its namespace's rows (PostgreSQL: `pg_column_size` of each row, without indexes or page slack)."""
    if config.store.url is None:
        return dir_bytes(folder)
    import psycopg

    with psycopg.connect(config.store.url.value) as conn:
        return sum(conn.execute(f"SELECT coalesce(sum(pg_column_size(t.*)), 0) FROM {table} t WHERE namespace = %s",
                                (config.store.namespace,)).fetchone()[0] for table in POSTGRES_TABLES)


def drop_namespace(config: Any) -> None:
    """Delete a benchmark's PostgreSQL namespace (nothing for a TinyDB store: its folder goes)."""
    if config.store.url is None:
        return
    import psycopg

    with psycopg.connect(config.store.url.value, autocommit=True) as conn:
        for table in (*POSTGRES_TABLES, "siren_sync_namespaces"):
            conn.execute(f"DELETE FROM {table} WHERE namespace = %s", (config.store.namespace,))


def backend(config: Any) -> str:
    return "postgres" if config.store.url is not None else "tinydb"
