"""Run every benchmark at full size (or `--small` for a quick look), one after the other.

    python bench/run_all.py [--small] [--only NAME ...] [--json FILE] [--store-url URL]

With `--store-url`, the store benchmarks (ingest, store growth, close) run a second time on that
PostgreSQL database, each in a namespace of its own.

Each benchmark runs in its own process (so peak memory is its own) and prints its figures; a summary
table of the targets follows, then one JSON line with the machine and every result. A benchmark that
crashes is reported as such and the others still run.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

BENCH = Path(__file__).resolve().parent
FULL = {name: [] for name in ("ingest_orders", "store_growth", "access_log", "close_period", "idle",
                              "requests_backfill", "payouts", "config_load", "programs")}
SMALL = {
    "ingest_orders": ["--orders", "5000"],
    "store_growth": ["--size", "20000", "--fill-batch", "10000"],
    "access_log": ["--lines", "100000"],
    "close_period": ["--collaborators", "10000", "--events", "100000"],
    "idle": ["--seconds", "10", "--warmup", "3"],
    "requests_backfill": ["--orders", "2000", "--refunds", "130", "--full", "100"],
    "payouts": ["--collaborators", "1000", "--obligations", "10000"],
    "config_load": ["--collaborators", "5000", "--repeat", "1"],
    "programs": ["--orders", "3000", "--refunds", "90", "--repeat", "1", "--days", "1", "--orders-per-day", "500",
                 "--polls", "24"],
}


STORE_BENCHES = ("ingest_orders", "store_growth", "close_period")  # these take --store-url


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--small", action="store_true", help="small sizes (a quick look, not the figures)")
    p.add_argument("--only", nargs="*", choices=sorted(FULL), help="run only these")
    p.add_argument("--json", help="also write the results to this file")
    p.add_argument("--store-url", help="also run the store benchmarks on this PostgreSQL database")
    a = p.parse_args(argv)
    results, failed = {}, []
    for name, args in FULL.items():
        if a.only and name not in a.only:
            continue
        runs = {name: []}
        if a.store_url and name in STORE_BENCHES:
            runs[f"{name}[postgres]"] = ["--store-url", a.store_url]
        for label, extra in runs.items():
            results[label] = _run(name, [*(SMALL[name] if a.small else args), *extra])
            if "error" in results[label]:
                failed.append(label)
    print("== summary")
    for name, r in results.items():
        targets = r.get("targets") or {}
        text = ", ".join(f"{k} {_common.verdict(v)}" for k, v in targets.items()) or r.get("error", "")
        print(f"  {name:<28} {text}")
    out = {"machine": _common.machine(), "small": a.small, "results": results}
    if a.json:
        Path(a.json).write_text(json.dumps(out, indent=2, sort_keys=True, default=str))
    print(json.dumps(out, sort_keys=True, default=str), flush=True)
    return 1 if failed else 0


def _run(name: str, args: list[str]) -> dict:
    """One benchmark in its own process: its result, or what went wrong (the others still run)."""
    t0 = time.monotonic()
    proc = subprocess.run([_common.PYTHON, str(BENCH / f"{name}.py"), *args], stdout=subprocess.PIPE, text=True,
                          cwd=_common.ROOT)
    print(proc.stdout, end="", flush=True)
    try:
        if proc.returncode != 0:
            raise ValueError(f"exit status {proc.returncode}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as exc:  # a crash: report it and go on with the others
        result = {"error": f"{name} failed: {exc}"}
    result["elapsed_s"] = round(time.monotonic() - t0, 1)
    print(flush=True)
    return result


if __name__ == "__main__":
    sys.exit(main())
