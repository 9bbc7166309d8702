"""Checker for benchmark 9: the program rewards a change stores, byte for byte against a base commit.

A speed change to the programs (`commissions.py`, `engine/commissions.py`) must store exactly what
the code before it stored. This runs the bench's ingests twice, once with the package of `--base`
(exported with `git archive` into a temporary folder and put first on the import path of a child
process) and once with the working tree's, and compares every `programs/*` table's documents (JSON,
sorted keys) and the `cursors` entry of the programs (less its `at` time):

- a backfill of `--orders` sandbox orders with refunds (`bench/programs.py`'s `_ingest`: the events
  handed to the programs in memory), and the same backfill with the events read back from the store;
- `--polls` steady polls of the worker over `--days` of a small shop (`_polls`);
- the backfill and the polls again with four more programs (`WIDE`) that take the general paths.

The visitor key, random per store, is fixed in both (a digest is the same only under the same key).

Documents are compared in their full form: each reward as every reader takes it (`commissions.full`
of this tree: a lean reward's `program`, `order`, `collaborator`, `why` and `reward` filled in),
each order's index entry with its `renewals` (none when it stores none) and the UTC day of each
reward it names (what finds its table: the time is the reward's own). A change that stores the
same rewards in fewer bytes passes; one that changes what a reader sees does not. `--as-stored`
compares the bytes as stored instead.

    python bench/programs_check.py [--base b1c518f] [--orders 4000] [--refunds 300] [--days 3]
                                   [--orders-per-day 300] [--polls 36] [--as-stored]

Exit 0 when both sides stored the same, 1 (with the first differences) when not.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402
import programs as bench  # noqa: E402

KEY = "5e" * 32  # the visitor key of both sides
# Beside the bench's two programs, programs that take the general paths: a structure among several
# engaged, an owner also engaged (one reward of both) beside an owner who is not a member, a review,
# a hold, custom units, members, a group of two, renewals limited, `clawback: false`.
WIDE = bench.PROGRAMS + """\
  mixed:
    units: USD
    reward: {percentage: 10}
    engagements: [boundCouponUsed, referredSiteVisit, collaboratorProductSold]
    structure: sharedEngagementPool
    members: [alice, bruno, chloe]
    review: true
    renewals: 2
  points:
    units: points
    reward: {flat: 3}
    engagements: [collaboratorProductSold]
    members: [alice, bruno]
  firstTouch:
    units: USD
    reward: {percentage: 5}
    engagements: [referredSiteVisit]
    structure: oldestEngagementWins
    group: picks
    clawback: false
  couponBounty:
    units: USD
    reward: {flat: "2.00"}
    engagements: [boundCouponUsed]
    structure: topScoreWins
    group: picks
programGroups:
  picks: {structure: oldestEngagementWins}
payouts:
  hold: 7 days
"""


def _programs_state(store: Any) -> dict[str, Any]:
    """What the programs stored: every `programs/*` table, and their cursor less its time."""
    state: dict[str, Any] = {table: store.table(table) for table in sorted(store.tables("programs/"))}
    cursor = dict(store.get("cursors", "programs") or {})
    cursor.pop("at", None)
    state["cursors/programs"] = cursor
    return state


def _backfill(sb: _common.SandboxProcess, folder: Path, in_memory: bool, programs: str) -> dict[str, Any]:
    """One backfill with `programs`, the events in memory or read back."""
    from siren_sync import commissions
    from siren_sync.app import open_app
    from siren_sync.sources.woocommerce import WooCommerceSource
    from siren_sync.sync import begin_programs, run_source

    path = _common.write_config(folder, url=sb.url, creds=sb.credentials, woocommerce=True)
    path.write_text(path.read_text() + programs)
    config = _common.load(path)
    app = open_app(config, now=sb.now)
    source = WooCommerceSource.from_config(config)
    begin_programs(app)
    run_source(app, source, sb.now, since=None)
    recent = app.ledger.take_recent()
    commissions.reward(app.store, config.programs, app.ledger.collaborators, app.ledger.now,
                       recent if in_memory else None)
    state = _programs_state(app.store)
    app.close()
    source.close()
    return state


def _steady(folder: Path, days: int, per_day: float, polls: int, programs: str) -> dict[str, Any]:
    """The worker's polls with `programs`; the state after each day's polls."""
    from siren_sync.worker import Worker

    states: dict[str, Any] = {}
    with _common.SandboxProcess(days=days, orders_per_day=per_day, visitors=True) as sb:
        path = _common.write_config(folder, url=sb.url, creds=sb.credentials, woocommerce=True, every="1m")
        path.write_text(path.read_text() + programs)
        worker = Worker(_common.load(path), clock=lambda: sb.now)
        for i in range(polls):
            sb.advance(days * 86_400 // polls)
            worker.step()
            if (i + 1) % max(1, polls // days) == 0 or i + 1 == polls:
                states[f"after poll {i + 1}"] = _programs_state(worker.app.store)
        worker.app.close()
    return states


def dump(args: argparse.Namespace, out: Path) -> None:
    """This process's package: every state, as one JSON file. The visitor key is the same on both
    sides (`secrets.token_hex` answers `KEY` meanwhile: the store makes its key with it)."""
    import siren_sync

    print(f"programs check: the package of {Path(siren_sync.__file__).parent}", file=sys.stderr)
    result: dict[str, Any] = {}
    real, secrets.token_hex = secrets.token_hex, lambda _n=None: KEY  # type: ignore[assignment]
    try:
        with _common.SandboxProcess(orders=args.orders, refunds=args.refunds, full_refunds=args.refunds // 3,
                                    visitors=True) as sb, tempfile.TemporaryDirectory(prefix="programs-check-") as tmp:
            result["backfill, in memory"] = _backfill(sb, Path(tmp) / "memory", True, bench.PROGRAMS)
            result["backfill, read back"] = _backfill(sb, Path(tmp) / "read", False, bench.PROGRAMS)
            result["backfill, more programs"] = _backfill(sb, Path(tmp) / "wide", True, WIDE)
            for name, programs in (("steady", bench.PROGRAMS), ("steady, more programs", WIDE)):
                result[name] = _steady(Path(tmp) / name, args.days, args.orders_per_day, args.polls, programs)
    finally:
        secrets.token_hex = real  # type: ignore[assignment]
    out.write_text(json.dumps(result, sort_keys=True, indent=0))


def _run_side(args: argparse.Namespace, pythonpath: str | None, out: Path) -> None:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    argv = [sys.executable, __file__, "--dump", str(out), "--orders", str(args.orders), "--refunds",
            str(args.refunds), "--days", str(args.days), "--orders-per-day", str(args.orders_per_day),
            "--polls", str(args.polls)]
    subprocess.run(argv, env=env, check=True, cwd=_common.ROOT)


def _differences(base: Any, mine: Any, where: str = "") -> list[str]:
    if isinstance(base, dict) and isinstance(mine, dict):
        found = [f"{where}/{k}: only in base" for k in base.keys() - mine.keys()]
        found += [f"{where}/{k}: only in this tree" for k in mine.keys() - base.keys()]
        for k in sorted(base.keys() & mine.keys()):
            found += _differences(base[k], mine[k], f"{where}/{k}")
        return found
    if json.dumps(base, sort_keys=True) != json.dumps(mine, sort_keys=True):
        return [f"{where}: base {json.dumps(base, sort_keys=True)[:300]} != {json.dumps(mine, sort_keys=True)[:300]}"]
    return []


def _expanded(state: Any) -> Any:
    """A dump's states with every reward and index entry in its full form (see the docstring)."""
    from siren_sync.commissions import full

    if not isinstance(state, dict):
        return state
    found: dict[str, Any] = {}
    for name, value in state.items():
        if name.startswith("programs/obligations/"):
            found[name] = {ident: full(ident, doc) for ident, doc in value.items()}
        elif name.startswith("programs/orders/"):
            found[name] = {order: {"renewals": {}, **entry, "rewards": {ident: earned[:10] for ident, earned
                                                                     in entry["rewards"].items()}}
                           for order, entry in value.items()}
        else:
            found[name] = _expanded(value)
    return found


def compare(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="programs-check-base-") as tmp:
        code = Path(tmp) / "code"
        code.mkdir()
        archive = subprocess.run(["git", "archive", args.base, "siren_sync"], cwd=_common.ROOT, check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(code)], input=archive, check=True)
        _run_side(args, str(code), Path(tmp) / "base.json")
        _run_side(args, None, Path(tmp) / "mine.json")
        base, mine = (json.loads((Path(tmp) / f"{side}.json").read_text()) for side in ("base", "mine"))
    found = _differences(base, mine) if args.as_stored else _differences(_expanded(base), _expanded(mine))
    states = [state for name, state in base.items() if name.startswith("backfill")]
    states += [state for name, state in base.items() if name.startswith("steady") for state in state.values()]
    docs = sum(len(t) for state in states for t in state.values())
    print(f"programs check against {args.base}: {docs} documents compared "
          f"{'as stored' if args.as_stored else 'in their full form'}, "
          + ("the same" if not found else f"{len(found)} differences"))
    for line in found[:20]:
        print("  " + line)
    return 1 if found else 0


def cli(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", default="b1c518f", help="the commit whose stored rewards are the reference")
    p.add_argument("--orders", type=int, default=4000)
    p.add_argument("--refunds", type=int, default=300)
    p.add_argument("--days", type=int, default=3)
    p.add_argument("--orders-per-day", type=float, default=300)
    p.add_argument("--polls", type=int, default=36)
    p.add_argument("--as-stored", action="store_true",
                   help="compare the documents as stored, not in their full form (commissions.full)")
    p.add_argument("--dump", help=argparse.SUPPRESS)  # one side, in its own process
    a = p.parse_args(argv)
    if a.dump:
        dump(a, Path(a.dump))
        return 0
    return compare(a)


if __name__ == "__main__":
    sys.exit(cli())
