"""What the store's tests share: event records, a seeded state, a store's observable state, child
processes, and the files of a store folder."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
AGG = "aggregates/monthlySalesBonus/2026-11-01T00:00:00+00:00"
CURSOR = {"modified_after": "2026-11-01T00:00:00+00:00"}


def events(start: int, count: int, prefix: str = "woo:sale") -> list[dict]:
    """`count` event records numbered from `start`, keyed `<prefix>:<n>`."""
    return [{"key": f"{prefix}:{i}", "type": "sale", "at": "2026-11-05T10:00:00+00:00",
             "revenue": "12.00"} for i in range(start, start + count)]


def seed(store: Any) -> None:
    """One root document, one partition document and two committed events."""
    with store.transaction() as tx:
        tx.put("cursors", "woocommerce", CURSOR)
        tx.put(AGG, "aggregate", {"revenue": "24.00", "events": 2})
        tx.append_events("2026-11", events(0, 2))


def change_everything(tx: Any) -> None:
    """Changes of every kind on top of `seed`: a root document, a partition, a new partition,
    events in a bucket that has some and in a new one."""
    tx.put("cursors", "woocommerce", {"changed": True})
    tx.put(AGG, "aggregate", {"revenue": "999.00"})
    tx.put("periods/new/partition", "p", {})
    tx.append_events("2026-11", events(2, 50))
    tx.append_events("2027-01", events(100, 5))


KEYS = [f"woo:sale:{i}" for i in range(200)]


def state(store: Any) -> dict[str, Any]:
    """Everything a caller can read of a store seeded by `seed` and changed by `change_everything`."""
    return {"cursor": store.get("cursors", "woocommerce"), "aggregate": store.table(AGG),
            "new partition": store.table("periods/new/partition"), "tables": store.tables(),
            "buckets": store.buckets(), "events": {b: list(store.events(b)) for b in store.buckets()},
            "count": store.event_count(), "known": sorted(store.known(KEYS))}


def files_under(folder: Path) -> dict[str, bytes]:
    """Every file below `folder` (but the lock file) with its bytes."""
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.endswith(".lock")}


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run `code` in a child Python that imports this worktree's siren_sync and tests."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


def start_python(code: str, cwd: Path) -> subprocess.Popen:
    """`run_python` without waiting for it (stdout a pipe of lines, stderr kept for failures)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
