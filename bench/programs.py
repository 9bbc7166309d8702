"""Benchmark 9 (issue 13): what two active programs add to the ingest, per order.

The sandbox (its own process, `--visitors`: each order carries its customer's address and agent, so
each sale computes a visitor digest, and some order attribution naming a ref) serves the same orders
to two ingests, each into a new store: one with no programs, one with two active programs (an
affiliate commission on coupons and referral visits, newest engagement wins, and 50% royalties to
product owners; both renewals). Each run is what a worker's sync does: `begin_programs`, the
WooCommerce source into the ledger, then `commissions.reward` (the programs' own part, timed apart).
The two configurations alternate `--repeat` times and each keeps its fastest run (another process's
time on a shared machine only ever adds).

    python bench/programs.py [--orders 20000] [--refunds 600] [--repeat 3] [--profile FILE]
                             [--days 7] [--orders-per-day 1000] [--polls 168]

Then the steady state: the worker itself (`Worker.step`) polling a sandbox whose simulated clock
moves `days / polls` a step (an hour by default: about 40 orders a poll), without and with the
programs, each on a new sandbox of the same seed, alternated `--repeat` times (the fastest of each).

Target (issue 13): CPU per order with the two programs <= 1.3x without, in both. `--profile`
writes a cProfile of one backfill with programs.

    python bench/programs.py --instructions [--orders 20000] [--refunds 600] [--days 7] [--polls 168]

counts instead the machine instructions of one backfill with and one without the programs, each in
its own process under `valgrind --tool=cachegrind --cache-sim=no` (user space only: the kernel's
file work is not in it), less those of a process that does all but the ingest; then the same of
the steady state's polls (less a process that makes the worker and polls nothing). Nothing after
the timed part is counted. Unlike CPU time on a shared machine, the count moves by well under a
percent from run to run: it compares versions.
"""
from __future__ import annotations

import argparse
import cProfile
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

from siren_sync.demo import DEMO_PROGRAM, ROYALTIES  # noqa: E402

PROGRAMS = DEMO_PROGRAM + ROYALTIES  # the demo's affiliate commission, and royalties


def _ingest(sb: _common.SandboxProcess, folder: Path, programs: bool, profile: str | None,
            count: bool = True) -> dict:
    """One ingest of every order into a new store; CPU seconds of the whole and of the rewards
    (and, unless not `count`, how many rewards it wrote: all of them read back, after the timing)."""
    from siren_sync import commissions
    from siren_sync.app import open_app
    from siren_sync.gcpause import holding_survivors
    from siren_sync.sources.woocommerce import WooCommerceSource
    from siren_sync.sync import begin_programs, reward_programs, run_source

    path = _common.write_config(folder, url=sb.url, creds=sb.credentials, woocommerce=True)
    if programs:
        path.write_text(path.read_text() + PROGRAMS)
    config = _common.load(path)
    app = open_app(config, now=sb.now)
    source = WooCommerceSource.from_config(config)
    prof = cProfile.Profile() if profile else None
    c0 = time.process_time()
    if prof:
        prof.enable()
    begin_programs(app)
    with holding_survivors():  # as `sync_all` runs a sync
        report = run_source(app, source, sb.now, since=None)
        c1 = time.process_time()
        done = reward_programs(app)
    c2 = time.process_time()
    if prof:
        prof.disable()
        prof.dump_stats(profile)
    rewards = len(commissions.obligations(app.store)) if count else 0
    app.close()
    source.close()
    return {"orders": report.records, "cpu_s": c2 - c0, "rewards_cpu_s": c2 - c1, "rewards": rewards,
            "adjusted": done.adjusted}


def _polls(programs: bool, days: int, per_day: float, polls: int, folder: Path, count: bool = True) -> dict:
    """The worker (`Worker.step`, in this process) polling a sandbox whose clock moves `days / polls`
    a step: the steady state, a few orders a poll; CPU of every step and of the rewards (and, unless
    not `count`, how many orders it recorded: every event read back, after the timing)."""
    import siren_sync.sync as sync
    from siren_sync.worker import Worker

    with _common.SandboxProcess(days=days, orders_per_day=per_day, visitors=True) as sb:
        path = _common.write_config(folder, url=sb.url, creds=sb.credentials, woocommerce=True, every="1m")
        if programs:
            path.write_text(path.read_text() + PROGRAMS)
        worker = Worker(_common.load(path), clock=lambda: sb.now)
        rewards_cpu: list[float] = []  # each poll's
        real = sync.reward_programs

        def timed(app):  # the worker's poll calls `sync.reward_programs`: its CPU is counted apart
            t = time.process_time()
            try:
                return real(app)
            finally:
                rewards_cpu.append(time.process_time() - t)

        sync.reward_programs = timed
        try:
            c0 = time.process_time()
            for _ in range(polls):
                sb.advance(days * 86_400 // polls)
                worker.step()
            cpu = time.process_time() - c0
        finally:
            sync.reward_programs = real
        store = worker.app.store
        orders = sum(1 for b in store.buckets() for r in store.events(b)
                     if r["key"].startswith("woocommerce:sale:")) if count else 0
        worker.app.close()
    day = max(1, len(rewards_cpu) // days)  # a day's polls: the first day's and the last day's cost
    return {"orders": orders, "cpu_s": cpu, "rewards_cpu_s": sum(rewards_cpu),
            "rewards_ms_per_poll": [round(sum(rewards_cpu[:day]) / day * 1000, 2),
                                    round(sum(rewards_cpu[-day:]) / day * 1000, 2)]}


def steady(days: int = 7, orders_per_day: float = 1000, polls: int = 168, repeat: int = 1) -> dict:
    """The steady state: a worker's polls with and without the two programs, alternated `repeat`
    times, the fastest of each (one run alone moves by a tenth on this machine)."""
    best: dict[bool, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-programs-") as tmp:
        for i in range(repeat):
            for programs in (False, True):
                run = _polls(programs, days, orders_per_day, polls, Path(tmp) / f"{i}-{programs}")
                if programs not in best or run["cpu_s"] < best[programs]["cpu_s"]:
                    best[programs] = run
    plain, with_programs = best[False], best[True]
    n = plain["orders"]
    return {"polls": polls, "orders": n, "repeat": repeat,
            "cpu_ms_per_order": {"no programs": round(plain["cpu_s"] / n * 1000, 4),
                                 "two programs": round(with_programs["cpu_s"] / n * 1000, 4)},
            "rewards_ms_per_order": round(with_programs["rewards_cpu_s"] / n * 1000, 4),
            "rewards_ms_per_poll_first_and_last_day": with_programs["rewards_ms_per_poll"],
            "ratio": round(with_programs["cpu_s"] / plain["cpu_s"], 3)}


def main(orders: int = 20_000, refunds: int = 600, repeat: int = 3, profile: str | None = None,
         days: int = 7, orders_per_day: float = 1000, polls: int = 168) -> dict:
    best: dict[bool, dict] = {}
    with _common.SandboxProcess(orders=orders, refunds=refunds, full_refunds=refunds // 3, visitors=True) as sb, \
            tempfile.TemporaryDirectory(prefix="bench-programs-") as tmp:
        for i in range(repeat):
            for programs in (False, True):
                run = _ingest(sb, Path(tmp) / f"{i}-{programs}", programs, profile if programs and i == 0 else None)
                if programs not in best or run["cpu_s"] < best[programs]["cpu_s"]:
                    best[programs] = run
    plain, with_programs = best[False], best[True]
    n = plain["orders"]
    ratio = with_programs["cpu_s"] / plain["cpu_s"]
    result = {
        "bench": "programs", "orders": orders, "refunds": refunds, "orders_read": n, "repeat": repeat,
        "rewards": with_programs["rewards"], "adjusted": with_programs["adjusted"],
        "cpu_ms_per_order": {"no programs": round(plain["cpu_s"] / n * 1000, 4),
                             "two programs": round(with_programs["cpu_s"] / n * 1000, 4)},
        "rewards_ms_per_order": round(with_programs["rewards_cpu_s"] / n * 1000, 4),
        "ratio": round(ratio, 3),
        "steady": steady(days, orders_per_day, polls, repeat) if polls else None,
    }
    result["targets"] = {"ratio<=1.3": ratio <= 1.3}
    if result["steady"]:
        result["targets"]["steady_ratio<=1.3"] = result["steady"]["ratio"] <= 1.3
    return result


def _one(mode: str, a: argparse.Namespace) -> None:
    """In a process of its own (`--one`): one backfill `with` or `without` the programs, or for
    `none` everything but the ingest (the imports, the sandbox, the config, the store); the same of
    the steady state for `steady-...` (`none`: the worker made, no poll)."""
    import siren_sync.sources.woocommerce  # noqa: F401 (what `_ingest` imports: `none` counts them too)
    import siren_sync.sync  # noqa: F401
    from siren_sync.app import open_app
    if mode.startswith("steady-"):
        with tempfile.TemporaryDirectory(prefix="bench-programs-") as tmp:
            kind = mode.removeprefix("steady-")
            _polls(kind == "with", a.days, a.orders_per_day, 0 if kind == "none" else a.polls, Path(tmp), count=False)
        return
    orders, refunds = a.orders, a.refunds
    with _common.SandboxProcess(orders=orders, refunds=refunds, full_refunds=refunds // 3, visitors=True) as sb, \
            tempfile.TemporaryDirectory(prefix="bench-programs-") as tmp:
        if mode == "none":
            open_app(_common.load(_common.write_config(Path(tmp), url=sb.url, creds=sb.credentials,
                                                       woocommerce=True)), now=sb.now).close()
        else:
            _ingest(sb, Path(tmp), mode == "with", None, count=False)  # nothing counted after the ingest


def instructions(argv: list[str], steady: bool = False) -> dict:
    """The user-space instructions of the backfill (or of the `steady` state) with and without the
    programs (`_one` under cachegrind, the three processes one after the other, given the sizes
    `argv`), and their ratio."""
    counts = {}
    for mode in ("none", "without", "with"):
        run = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null",
                              _common.PYTHON, __file__, "--one", f"steady-{mode}" if steady else mode, *argv],
                             capture_output=True, text=True, check=True)
        found = re.search(r"I\s+refs:\s+([\d,]+)", run.stderr)
        assert found, run.stderr[-2000:]
        counts[mode] = int(found.group(1).replace(",", ""))
    plain, programs = counts["without"] - counts["none"], counts["with"] - counts["none"]
    return {"instructions": {"no programs": plain, "two programs": programs, "process": counts["none"]},
            "ratio": round(programs / plain, 3)}


def _report_instructions(a: argparse.Namespace) -> dict:
    """`--instructions`: the backfill's count, then the steady state's (unless `--polls 0`)."""
    sizes = ["--orders", str(a.orders), "--refunds", str(a.refunds), "--days", str(a.days),
             "--orders-per-day", str(a.orders_per_day), "--polls", str(a.polls)]
    r = {"backfill": instructions(sizes), "steady": instructions(sizes, steady=True) if a.polls else None}
    rows = []
    for name, found in r.items():
        if found is not None:
            n, ratio = found["instructions"], found["ratio"]
            rows += [(name, f"{n['no programs'] / 1e9:.2f} G instructions without programs, "
                            f"{n['two programs'] / 1e9:.2f} G with two"),
                     ("  ratio", f"{ratio}x [target <= 1.3x: {_common.verdict(ratio <= 1.3)}]")]
    _common.report("two active programs vs none, instructions (user space, valgrind)", rows, r)
    return r


def cli(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--orders", "--size", type=int, default=20_000)
    p.add_argument("--refunds", type=int, default=600)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--profile", help="write a cProfile of the first run with programs to this file")
    p.add_argument("--days", type=int, default=7, help="the steady state: simulated days of orders")
    p.add_argument("--orders-per-day", type=float, default=1000)
    p.add_argument("--polls", type=int, default=168, help="the worker's polls over those days (0: no steady state)")
    p.add_argument("--instructions", action="store_true",
                   help="count the backfill's instructions under valgrind instead of timing it")
    p.add_argument("--one", choices=[f"{s}{m}" for s in ("", "steady-") for m in ("none", "without", "with")],
                   help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.one:
        _one(a.one, a)
        return {}
    if a.instructions:
        return _report_instructions(a)
    r = main(a.orders, a.refunds, a.repeat, a.profile, a.days, a.orders_per_day, a.polls)
    ms, t = r["cpu_ms_per_order"], r["targets"]
    rows = [
        ("backfill", f"{r['orders_read']} orders read in one sync ({r['refunds']} refunded), fastest of "
                     f"{r['repeat']} runs each"),
        ("  no programs", f"{ms['no programs']} ms/order"),
        ("  two programs", f"{ms['two programs']} ms/order, of which the rewards {r['rewards_ms_per_order']} "
                           f"ms/order ({r['rewards']} rewards, {r['adjusted']} reduced by refunds)"),
        ("  ratio", f"{r['ratio']}x [target <= 1.3x: {_common.verdict(t['ratio<=1.3'])}]"),
    ]
    if r["steady"]:
        st = r["steady"]
        rows += [
            ("steady state", f"{st['orders']} orders over {st['polls']} polls of the worker, fastest of "
                             f"{st['repeat']} runs each"),
            ("  no programs", f"{st['cpu_ms_per_order']['no programs']} ms/order"),
            ("  two programs", f"{st['cpu_ms_per_order']['two programs']} ms/order, of which the rewards "
                               f"{st['rewards_ms_per_order']} ms/order"),
            ("  rewards a poll", "{} ms the first day, {} ms the last".format(
                *st["rewards_ms_per_poll_first_and_last_day"])),
            ("  ratio", f"{st['ratio']}x [target <= 1.3x: {_common.verdict(t['steady_ratio<=1.3'])}]"),
        ]
    _common.report("two active programs vs none, order ingest (TinyDB store, --visitors)", rows, r)
    return r


if __name__ == "__main__":
    cli()
