"""Benchmark 2: store growth. Does recording a batch of 1,000 events cost the same in an empty period
as in one already holding a million events?

The period is filled fast with `Ledger.record` in big batches (not timed), and at each level
(0, 10%, 50%, 100% of `--size`) `--repeat` batches of 1,000 new events are recorded and timed
(the fastest is the batch's cost, as `timeit` reads it: on a shared machine a slower run is
another process's time, not the store's; the median is shown beside it). Bytes per event = the
store's files (root + folder) / events.

    python bench/store_growth.py [--size 1000000] [--batch 1000] [--fill-batch 50000] [--store-url URL]

`--store-url postgresql://...` measures a new namespace of that PostgreSQL database (deleted after).

Target: the batch at the largest level costs <= 1.5x the batch at 0 (flat).
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

COLLABORATORS = 200
START = datetime(2026, 11, 1, tzinfo=UTC)


def _collaborators(n: int) -> str:
    return "".join(f"  - {{id: c{i:06d}, name: C{i}, email: c{i}@example.test, status: active}}\n"
                   for i in range(n))


class _Maker:
    """Manual events spread over November 2026 (one monthly period), unique keys."""

    def __init__(self):
        self.n = 0

    def batch(self, size: int):
        from siren_sync.model import Event

        out = []
        for _ in range(size):
            i = self.n
            self.n += 1
            at = START + timedelta(seconds=(i * 7919) % (29 * 86400))
            out.append(Event(key=f"bench:manual:{i}", type="manual", at=at,
                             collaborator=f"c{i % COLLABORATORS:06d}", quantity=1 + i % 3))
        return out


def main(size: int = 1_000_000, batch: int = 1000, fill_batch: int = 50_000, repeat: int = 7,
         levels: list[int] | None = None, store_url: str | None = None) -> dict:
    from siren_sync.app import open_app

    levels = sorted(set(levels or [0, size // 10, size // 2, size]))
    maker = _Maker()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        folder = Path(tmp)
        config = _common.load(_common.write_config(folder, timezone="UTC", starts="2026-11-01",
                                                   collaborators=_collaborators(COLLABORATORS), store_url=store_url))
        app = open_app(config, now=START + timedelta(days=1))
        ledger = app.ledger
        fill_s = 0.0
        for level in levels:
            t0 = time.perf_counter()
            while app.store.event_count() < level:
                ledger.record(maker.batch(min(fill_batch, level - app.store.event_count())))
            fill_s += time.perf_counter() - t0
            held = app.store.event_count()
            times, cpus = [], []
            for _ in range(repeat):
                events = maker.batch(batch)
                w0, c0 = time.perf_counter(), time.process_time()
                ledger.record(events)
                times.append(time.perf_counter() - w0)
                cpus.append(time.process_time() - c0)
            rows.append({"level": level, "held": held, "batch_ms": round(min(times) * 1000, 2),
                         "batch_cpu_ms": round(min(cpus) * 1000, 2),
                         "batch_median_ms": round(statistics.median(times) * 1000, 2),
                         "batch_ms_all": [round(t * 1000, 2) for t in times]})
        events = app.store.event_count()
        app.close()
        store_bytes = _common.store_bytes(config, folder / "store")
        files = {p.name: p.stat().st_size for p in (folder / "store").rglob("*") if p.is_file()}
        _common.drop_namespace(config)
    first, last = rows[0]["batch_ms"], rows[-1]["batch_ms"]
    ratio = last / first if first else float("inf")
    result = {"bench": "store_growth", "store": _common.backend(config),
              "size": size, "batch": batch, "levels": rows, "events": events,
              "last_over_first": round(ratio, 2), "store_bytes": store_bytes,
              "bytes_per_event": round(store_bytes / max(events, 1), 1),
              "fill_events_per_s": round((events - len(levels) * repeat * batch) / fill_s, 0) if fill_s else None,
              "largest_files": dict(sorted(files.items(), key=lambda kv: -kv[1])[:4]),
              "peak_rss_mb": round(_common.peak_rss_mb(), 1),
              "targets": {"last_over_first<=1.5": ratio <= 1.5}}
    return result


def cli(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--size", type=int, default=1_000_000, help="the largest level (events already in the period)")
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--fill-batch", type=int, default=50_000)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--store-url", help="a PostgreSQL URL: measure a new namespace there, not a TinyDB file")
    a = p.parse_args(argv)
    r = main(a.size, a.batch, a.fill_batch, a.repeat, store_url=a.store_url)
    rows = [(f"batch of {r['batch']} at {row['held']:>9,} events",
             f"{row['batch_ms']:8.2f} ms wall, {row['batch_cpu_ms']:8.2f} ms CPU (fastest; median "
             f"{row['batch_median_ms']} ms; runs {row['batch_ms_all']})")
            for row in r["levels"]]
    rows += [("last / first", f"{r['last_over_first']}x [target <= 1.5x: "
                              f"{_common.verdict(r['targets']['last_over_first<=1.5'])}]"),
             ("store", f"{r['store_bytes'] / 2**20:.1f} MiB for {r['events']:,} events = "
                       f"{r['bytes_per_event']} bytes/event"),
             ("largest files", r["largest_files"]),
             ("fill speed (big batches)", f"{r['fill_events_per_s']} events/s"),
             ("peak RSS", f"{r['peak_rss_mb']} MB")]
    _common.report(f"store growth ({r['store']} store)", rows, r)
    return r


if __name__ == "__main__":
    cli()
