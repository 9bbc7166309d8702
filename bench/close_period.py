"""Benchmark 4: closing one period holding `--events` events of `--collaborators` collaborators.

The period (November 2026, monthly, performanceSharedPool, 10% of revenue) is filled with
`Ledger.record` in big batches (not timed): manual engagements spread over every collaborator plus
1% sales carrying revenue. The close then runs in a fresh child process (`closing.close_due`
as the worker calls it), so its peak RSS is the closing process's own: open the store, read the
period's aggregate, score, split, write the distribution, its obligations and the outbox entry.
The shares must add up to the pool to the cent (asserted).

    python bench/close_period.py [--collaborators 100000] [--events 1000000] [--store-url URL]

`--store-url postgresql://...` fills and closes a new namespace of that PostgreSQL database (deleted
after); the close then runs as a leader, its commit fenced, as the worker's does.

Targets: close < 2 s, peak RSS < 300 MB, sum of shares == pool.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

START = datetime(2026, 11, 1, tzinfo=UTC)
AS_OF = datetime(2026, 12, 1, 0, 5, tzinfo=UTC)
LIMIT_S = {"tinydb": 2, "postgres": 3}  # the close's target, in seconds, per store backend


def _collaborators(n: int) -> dict:
    from siren_sync.model import Collaborator

    return {f"c{i:06d}": Collaborator(id=f"c{i:06d}", name=f"C {i}", email=f"c{i}@example.test") for i in range(n)}


def _events(first: int, count: int, collaborators: int):
    from siren_sync.model import SALE, Event

    out = []
    for i in range(first, first + count):
        at = START + timedelta(seconds=(i * 7919) % (29 * 86400))
        if i % 100 == 0:
            cents = 1000 + (i * 37) % 50000
            out.append(Event(key=f"bench:sale:{i}", type=SALE, at=at, revenue=Decimal(cents).scaleb(-2)))
        else:
            # a skewed spread: every collaborator scores, some much more than others
            c = (i * 2654435761) % collaborators if i % 3 else (i % max(1, collaborators // 50))
            out.append(
                Event(key=f"bench:manual:{i}", type="manual", at=at, collaborator=f"c{c:06d}", quantity=1 + i % 5)
            )
    return out


def _close_child(config_path: str, collaborators: int, profile: str | None = None) -> dict:
    """In the child: open the app, close the due period, check the cents. Prints one JSON line."""
    from siren_sync import closing, history
    from siren_sync.app import open_app

    config = _common.load(Path(config_path))
    t_open = time.perf_counter()
    app = open_app(config, now=AS_OF)
    app.ledger.set_collaborators(_collaborators(collaborators))
    assert app.store.leader().acquire()  # as the worker closes: leading, every commit fenced (PostgreSQL)
    open_s = time.perf_counter() - t_open
    prof = None
    if profile:
        import cProfile

        prof = cProfile.Profile()
        prof.enable()
    w0, c0 = time.perf_counter(), time.process_time()
    made = closing.close_due(app.ledger, AS_OF)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    peak = _common.peak_rss_mb()  # the close's own peak, before the checks below build their own copies
    if prof:
        prof.disable()
        prof.dump_stats(profile)
    record = made[0]
    stored = history.load(app.store, record.id)
    assert stored is not None
    obligations = {o.id: o for o in stored.obligations}
    total = sum((o.amount for o in obligations.values()), Decimal(0))
    assert total == record.pool, f"shares {total} != pool {record.pool}"
    assert sum(o.amount for o in record.obligations) == record.pool
    app.close()
    return {
        "close_s": wall,
        "close_cpu_s": cpu,
        "open_s": open_s,
        "pool": str(record.pool),
        "revenue": str(record.revenue),
        "events": record.events,
        "obligations": len(obligations),
        "shares_sum": str(total),
        "peak_rss_mb": peak,
        "distributions": len(made),
    }


def main(collaborators: int = 100_000, events: int = 1_000_000, fill_batch: int = 100_000,
         profile: str | None = None, store_url: str | None = None) -> dict:
    from siren_sync.app import open_app

    with tempfile.TemporaryDirectory(prefix="bench-close-") as tmp:
        folder = Path(tmp)
        path = _common.write_config(folder, timezone="UTC", starts="2026-11-01", collaborators="  []\n",
                                    store_url=store_url)
        config = _common.load(path)
        app = open_app(config, now=START + timedelta(days=2))
        app.ledger.set_collaborators(_collaborators(collaborators))
        f0 = time.perf_counter()
        done = 0
        while done < events:
            n = min(fill_batch, events - done)
            app.ledger.record(_events(done, n, collaborators))
            done += n
        fill_s = time.perf_counter() - f0
        held = app.store.event_count()
        app.close()
        store_bytes = _common.store_bytes(config, folder / "store")
        code = (f"import sys, json; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); "
                "import close_period as c; "
                f"print(json.dumps(c._close_child({str(path)!r}, {collaborators}, {profile!r})))")
        out = subprocess.run([_common.PYTHON, "-c", code], capture_output=True, text=True, cwd=_common.ROOT)
        _common.drop_namespace(config)
        if out.returncode != 0:
            raise RuntimeError(f"the closing process failed:\n{out.stderr[-3000:]}")
        child = json.loads(out.stdout.strip().splitlines()[-1])
    ok_cents = child["shares_sum"] == child["pool"]
    limit = LIMIT_S[_common.backend(config)]
    return {"bench": "close_period", "store": _common.backend(config), "collaborators": collaborators, "events": held,
            "fill_s": round(fill_s, 1), "fill_events_per_s": round(held / fill_s, 0), "store_bytes": store_bytes,
            "close_s": round(child["close_s"], 3), "close_cpu_s": round(child["close_cpu_s"], 3),
            "open_s": round(child["open_s"], 3), "obligations": child["obligations"], "pool": child["pool"],
            "revenue": child["revenue"], "shares_sum": child["shares_sum"],
            "peak_rss_mb": round(child["peak_rss_mb"], 1),
            "targets": {f"close_s<{limit}": child["close_s"] < limit, "peak_rss_mb<300": child["peak_rss_mb"] < 300,
                        "shares_add_up": ok_cents}}


def cli(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--collaborators", type=int, default=100_000)
    p.add_argument("--events", "--size", type=int, default=1_000_000)
    p.add_argument("--fill-batch", type=int, default=100_000)
    p.add_argument("--profile", help="write a cProfile of the close (in the closing process) to this file")
    p.add_argument("--store-url", help="a PostgreSQL URL: fill and close a new namespace there, not a TinyDB file")
    a = p.parse_args(argv)
    r = main(a.collaborators, a.events, a.fill_batch, a.profile, a.store_url)
    t = r["targets"]
    limit = LIMIT_S[r["store"]]
    close_target = f"[target < {limit} s: {_common.verdict(t[f'close_s<{limit}'])}]"
    _common.report(f"closing a period ({r['store']} store)", [
        ("period", f"{r['events']:,} events, {r['collaborators']:,} collaborators, store "
                   f"{r['store_bytes'] / 2**20:.1f} MiB (filled in {r['fill_s']} s, "
                   f"{r['fill_events_per_s']:,.0f} events/s)"),
        ("close", f"{r['close_s']} s wall, {r['close_cpu_s']} s CPU (store open {r['open_s']} s) {close_target}"),
        ("peak RSS (closing process)",
         f"{r['peak_rss_mb']} MB [target < 300 MB: {_common.verdict(t['peak_rss_mb<300'])}]"),
        ("pool / sum of shares", f"{r['pool']} / {r['shares_sum']} over {r['obligations']:,} obligations "
                                 f"[{_common.verdict(t['shares_add_up'])}]"),
    ], r)
    return r


if __name__ == "__main__":
    cli()
