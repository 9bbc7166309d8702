"""Benchmark 7: `fulfill` and `payouts --json` on a store of `--collaborators` collaborators and
`--obligations` obligations.

The store (not timed) holds the collaborators as the site gives them (`site_collaborators`, so the
config stays small: loading 10,000 collaborators from YAML is issue 15's benchmark), one weekly
distributor with a 7-day hold and a 5.00 USD minimum, and `obligations / collaborators` closed weeks
in which every collaborator scored: each close makes one obligation per collaborator. The last week
is still inside its hold, and some balances are below the minimum.

Then, each in a fresh child process (so its peak RSS is its own):
- `fulfill`: open the store, plan (every obligation settled, balances, the minimum), write the Siren
  file and commit the fulfillment and its payouts, as `siren-sync fulfill` does; the payouts must add
  up to the payable balances (asserted);
- `payouts --json`: the overview at the same time, encoded as the command prints it;
and, beside them, the two commands run whole (`siren-sync ...` in a process: Python start-up, config,
store open, work, output), for the wall time a user sees.

    python bench/payouts.py [--collaborators 10000] [--obligations 100000]

Targets: each under 2 s and under 300 MB.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

START = datetime(2026, 1, 5, tzinfo=UTC)  # a Monday
CONFIG = """\
site: {{url: "http://127.0.0.1:9", timezone: UTC}}
store: {{path: store/siren.json}}
payouts: {{hold: 7 days, minimum: {{USD: "5.00"}}, note: "Rewards from the benchmark shop"}}
collaborators: []
distributors:
  weekly:
    name: Weekly Pool
    distributionResolver: performanceSharedPool
    units: USD
    schedule: ["+1 week"]
    startsAt: 2026-01-05
    engagementTypes: {{manual: 1}}
    revenuePercentage: 10
"""


def _fill(path: Path, collaborators: int, weeks: int) -> dict:
    """The store: collaborators from the site, `weeks` closed weeks of one obligation per collaborator."""
    from siren_sync import closing
    from siren_sync.app import open_app
    from siren_sync.model import SALE, Event
    from siren_sync.tables import SITE_COLLABORATORS

    config = _common.load(path)
    app = open_app(config, now=START)
    with app.store.transaction() as tx:
        tx.put_many(SITE_COLLABORATORS, {f"c{i:05d}": {"id": f"c{i:05d}", "name": f"Collaborator {i}",
                                                       "email": f"c{i}@example.test"} for i in range(collaborators)})
    app.close()
    app = open_app(config, now=START)
    for week in range(weeks):
        at = START + timedelta(weeks=week, days=2)
        # every collaborator scores every week, but one in fifty only in the first (a balance under the minimum)
        events = [Event(key=f"bench:manual:{week}:{i}", type="manual", at=at, collaborator=f"c{i:05d}",
                        quantity=1 + (i * 7 + week) % 13) for i in range(collaborators) if i % 50 or not week]
        # revenue such that the pool gives about 0.10 to 20 a collaborator: some stay under 5.00
        events.append(Event(key=f"bench:sale:{week}", type=SALE, at=at,
                            revenue=Decimal(collaborators * 40 + week).scaleb(0)))
        app.ledger.now = at
        app.ledger.record(events)
    as_of = START + timedelta(weeks=weeks)
    app.ledger.now = as_of
    made = closing.close_due(app.ledger, as_of)
    app.close()
    return {"distributions": len(made), "obligations": sum(len(d.obligations) for d in made)}


def _fulfill_child(config_path: str, as_of: str, out: str) -> dict:
    """In the child: what `siren-sync fulfill --out OUT --as-of AS_OF` does, timed."""
    from siren_sync.app import open_app
    from siren_sync.payouts import fulfillments, overview
    from siren_sync.values import parse_time

    config = _common.load(Path(config_path))
    w0, c0 = time.perf_counter(), time.process_time()
    app = open_app(config)
    selection = fulfillments.Selection(parse_time(as_of))
    made = fulfillments.plan(app.store, selection, out, app.ledger.collaborators, config.payouts.minimum,
                             config.payouts.note, datetime.now(UTC))
    record = fulfillments.create(app.store, made)
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    peak = _common.peak_rss_mb()
    rows = overview.settled(app.store, parse_time(as_of))
    in_file = sum(o.amount for o in rows if o.status == "processing")
    app.close()
    paid = sum((p.amount for p in made.payouts), Decimal(0))
    assert paid == in_file == sum(record.totals.values()), (paid, in_file, record.totals)
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": peak, "payouts": record.payouts,
            "obligations": record.obligations, "waiting": len(made.waiting), "total": str(paid),
            "file_bytes": os.path.getsize(out)}


def _overview_child(config_path: str, as_of: str) -> dict:
    """In the child: what `siren-sync payouts --json --as-of AS_OF` does, timed (printed to a buffer)."""
    from siren_sync.app import open_app
    from siren_sync.payouts import overview
    from siren_sync.values import parse_time

    config = _common.load(Path(config_path))
    buffer = io.StringIO()
    w0, c0 = time.perf_counter(), time.process_time()
    with open_app(config, readonly=True) as app, redirect_stdout(buffer):
        view = overview.overview(app.store, app.ledger.distributors, config.payouts.minimum, parse_time(as_of))
        sys.stdout.writelines(overview.json_text(view))
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    peak = _common.peak_rss_mb()
    printed = json.loads(buffer.getvalue())
    return {"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": peak, "obligations": len(printed["obligations"]),
            "rows": len(printed["collaborators"]), "json_bytes": len(buffer.getvalue().encode())}


def _child(function: str, *args: str) -> dict:
    code = (f"import sys, json; sys.path.insert(0, {str(Path(__file__).resolve().parent)!r}); "
            f"import payouts as b; print(json.dumps(b.{function}(*{list(args)!r})))")
    out = subprocess.run([_common.PYTHON, "-c", code], capture_output=True, text=True, cwd=_common.ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"{function} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _command(config: Path, *argv: str) -> float:
    """Wall seconds of one whole `siren-sync` command (its output thrown away)."""
    binary = str(Path(_common.PYTHON).parent / "siren-sync")
    w0 = time.perf_counter()
    out = subprocess.run([binary, "--config", str(config), "--log-level", "WARNING", *argv],
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=_common.ROOT)
    wall = time.perf_counter() - w0
    if out.returncode != 0:
        raise RuntimeError(f"siren-sync {' '.join(argv)} failed: {out.stderr[-2000:]}")
    return wall


def main(collaborators: int = 10_000, obligations: int = 100_000) -> dict:
    weeks = max(1, -(-obligations * 50 // (collaborators * 49)))  # one in fifty scores in the first week only
    with tempfile.TemporaryDirectory(prefix="bench-payouts-") as tmp:
        folder = Path(tmp)
        path = folder / "siren.yaml"
        path.write_text(CONFIG.format())
        f0 = time.perf_counter()
        filled = _fill(path, collaborators, weeks)
        fill_s = time.perf_counter() - f0
        as_of = (START + timedelta(weeks=weeks, hours=1)).isoformat()
        view = _child("_overview_child", str(path), as_of)
        view_cli = _command(path, "payouts", "--json", "--as-of", as_of)
        fulfill = _child("_fulfill_child", str(path), as_of, str(folder / "payouts.csv"))
        later = (START + timedelta(weeks=weeks + 1, hours=1)).isoformat()  # the last week's hold is over
        fulfill_cli = _command(path, "fulfill", "--out", str(folder / "again.csv"), "--as-of", later)
        store_bytes = _common.dir_bytes(folder / "store")
    ok = {"fulfill_s<2": fulfill["wall_s"] < 2, "fulfill_rss_mb<300": fulfill["peak_rss_mb"] < 300,
          "payouts_json_s<2": view["wall_s"] < 2, "payouts_json_rss_mb<300": view["peak_rss_mb"] < 300}
    return {"bench": "payouts", "collaborators": collaborators, "obligations": filled["obligations"],
            "distributions": filled["distributions"], "fill_s": round(fill_s, 1), "store_bytes": store_bytes,
            "fulfill": _rounded(fulfill), "payouts_json": _rounded(view), "fulfill_command_s": round(fulfill_cli, 2),
            "payouts_json_command_s": round(view_cli, 2), "targets": ok}


def _rounded(figures: dict) -> dict:
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}


def cli(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--collaborators", type=int, default=10_000)
    p.add_argument("--obligations", "--size", type=int, default=100_000)
    a = p.parse_args(argv)
    r = main(a.collaborators, a.obligations)
    t, f, v = r["targets"], r["fulfill"], r["payouts_json"]
    _common.report("payouts: fulfill and the overview", [
        ("store", f"{r['obligations']:,} obligations of {r['collaborators']:,} collaborators in "
                  f"{r['distributions']} distributions, {r['store_bytes'] / 2**20:.1f} MiB "
                  f"(filled in {r['fill_s']} s)"),
        ("fulfill", f"{f['wall_s']} s wall, {f['cpu_s']} s CPU, peak RSS {f['peak_rss_mb']} MB: {f['payouts']:,} "
                    f"payouts of {f['obligations']:,} obligations ({f['waiting']:,} balances wait), {f['total']} USD, "
                    f"file {f['file_bytes']:,} bytes [< 2 s: {_common.verdict(t['fulfill_s<2'])}, < 300 MB: "
                    f"{_common.verdict(t['fulfill_rss_mb<300'])}]"),
        ("payouts --json", f"{v['wall_s']} s wall, {v['cpu_s']} s CPU, peak RSS {v['peak_rss_mb']} MB: "
                           f"{v['obligations']:,} obligations, {v['rows']:,} rows, {v['json_bytes'] / 2**20:.1f} MiB "
                           f"[< 2 s: {_common.verdict(t['payouts_json_s<2'])}, < 300 MB: "
                           f"{_common.verdict(t['payouts_json_rss_mb<300'])}]"),
        ("whole commands (wall)", f"siren-sync fulfill {r['fulfill_command_s']} s (a second run, the last week "
                                  f"payable), siren-sync payouts --json {r['payouts_json_command_s']} s"),
    ], r)
    return r


if __name__ == "__main__":
    cli()
