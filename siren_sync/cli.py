"""The command line (DESIGN section 6): parse, open what the command needs, print, exit 0/1/2.

Each command is a small function taking the parsed arguments; errors of the `SirenSyncError` family
become one line on stderr and their exit code (2 for config or usage, 1 for failures).
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import uuid
from datetime import datetime
from pathlib import Path

from siren_sync import distributions, importer, logs, payouts
from siren_sync.app import open_app, utcnow
from siren_sync.config import load_config
from siren_sync.errors import SirenSyncError, UsageError
from siren_sync.values import iso, parse_time

log = logging.getLogger("siren_sync")


def _time_arg(text: str) -> datetime:
    try:
        return parse_time(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time with offset "
                                          f"(like 2026-12-01T00:00:00+00:00)") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="siren-sync", description=__doc__.splitlines()[0])
    parser.add_argument("--config", help="config file (default: $SIREN_SYNC_CONFIG, else config/siren.yaml)")
    parser.add_argument("--log-level", default=os.environ.get("SIREN_SYNC_LOG_LEVEL"),
                        help="DEBUG, INFO (default; WARNING for demo), WARNING, ERROR")
    parser.add_argument("--log-format", choices=("text", "json"), default=os.environ.get("SIREN_SYNC_LOG_FORMAT", "text"))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("run", help="the worker: poll, close due periods, publish; until stopped")
    p.add_argument("--clock", help=argparse.SUPPRESS)  # a sandbox clock URL, for the demo and e2e tests
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sync", help="one poll of all (or one) sources")
    p.add_argument("--source")
    p.add_argument("--since", type=_time_arg, help="backfill from this time instead of the saved cursor")
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("publish", help="post queued distribution records to the site now")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("demo", help="a sandbox site and the worker through full periods in fast time")
    p.add_argument("--weeks", type=int, default=2, help="simulated weeks to run (default 2)")
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("standings", help="the open period: revenue, pool so far, scores, projected split")
    p.add_argument("--distributor")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_standings)

    p = sub.add_parser("distribute", help="close every period whose trigger time is <= --as-of")
    p.add_argument("--distributor")
    p.add_argument("--as-of", type=_time_arg)
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_distribute)

    p = sub.add_parser("import", help="record events from a JSON Lines file ('-' for stdin)")
    p.add_argument("file")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("credit", help="record a manual engagement for a collaborator")
    p.add_argument("collaborator")
    p.add_argument("type", nargs="?", default="manual")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--at", type=_time_arg)
    p.set_defaults(func=cmd_credit)

    p = sub.add_parser("history", help="closed distributions")
    p.add_argument("--distributor")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("explain", help="the events and points behind a score and an amount")
    p.add_argument("collaborator")
    p.add_argument("--distribution")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("payouts", help="obligations; --csv exports Siren's payout CSV")
    p.add_argument("--status", choices=("pending", "paid", "cancelled"))
    p.add_argument("--collaborator")
    p.add_argument("--csv", metavar="FILE")
    p.add_argument("--mark-paid", action="store_true", help="mark the exported obligations paid")
    p.set_defaults(func=cmd_payouts)

    p = sub.add_parser("check", help="config, schedule preview, store, quarantined records")
    p.set_defaults(func=cmd_check)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logs.setup(args.log_level or ("WARNING" if args.command == "demo" else "INFO"), args.log_format)
    try:
        if args.command == "payouts" and args.mark_paid and not args.csv:
            raise UsageError("--mark-paid marks only what --csv FILE exported; give --csv")
        return args.func(args) or 0
    except SirenSyncError as exc:
        print(f"siren-sync: {logs.redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


def _config(args):
    return load_config(args.config)


def _open(args, readonly: bool = False):
    """The app for a command; with `timezone: auto` the site is asked once if the store never was."""
    config = _config(args)
    return open_app(config, readonly=readonly, fetch_timezone=_fetch_timezone(config))


def _dump(payload) -> None:
    print(json.dumps(payload, indent=2))


def _check_distributor(app, key: str | None) -> None:
    if key and key not in app.ledger.distributors:
        raise UsageError(f"unknown distributor {key!r} (known: {', '.join(app.ledger.distributors)})")


# -- commands ----------------------------------------------------------------------------------------

def cmd_standings(args) -> int:
    with _open(args, readonly=True) as app:
        _check_distributor(app, args.distributor)
        rows = distributions.standings(app.ledger, args.distributor)
    if args.json:
        _dump({"standings": [{
            "distributor": r["distributor"], "period_start": r["period_start"], "period_end": r["period_end"],
            "units": r["units"], "revenue": r["revenue"], "pool": r["pool"],
            "scores": [{"collaborator": s["collaborator"], "score": s["score"],
                        "projected": _projected(r, s["collaborator"])} for s in r["scores"]]} for r in rows]})
        return 0
    for r in rows:
        print(f"{r['name']} ({r['distributor']}, {r['resolver']}): {r['period_start']} to {r['period_end']}")
        print(f"  revenue {r['revenue']} {r['units']}, pool so far {r['pool']} {r['units']}")
        for s in r["scores"]:
            print(f"  {s['collaborator']:<20} score {s['score']:>10}  projected {_projected(r, s['collaborator'])}")
        if not r["scores"]:
            print("  no scores yet")
    return 0


def _projected(record: dict, collaborator: str) -> str:
    amounts = {o["collaborator"]: o["amount"] for o in record["obligations"]}
    return amounts.get(collaborator, "0")


def _print_distributions(records: list[dict], as_json: bool, dry_run: bool = False) -> None:
    if as_json:
        _dump({"distributions": distributions.public_json(records)})
        return
    if not records:
        print("nothing to distribute" if dry_run is not None else "no distributions")
    for r in records:
        tag = " (dry run)" if dry_run else ""
        print(f"{r['id']}{tag}: {r['name']} {r['period_start']} to {r['period_end']}")
        print(f"  revenue {r['revenue']} {r['units']}, pool {r['pool']} {r['units']}"
              + (f", unspent {r['unspent']}" if r["unspent"] not in ("0", "0.00") else ""))
        for o in r["obligations"]:
            note = f"  ({o['note']})" if o["note"] else ""
            print(f"  {o['collaborator']:<20} score {o['score']:>10}  {o['amount']:>12} {r['units']}{note}")
        if not r["obligations"]:
            print("  nobody qualified")


def cmd_distribute(args) -> int:
    with _open(args) as app:
        _check_distributor(app, args.distributor)
        made = distributions.close_due(app.ledger, args.as_of or utcnow(), args.distributor, args.dry_run)
    _print_distributions(made, args.json, args.dry_run)
    return 0


def cmd_history(args) -> int:
    with _open(args, readonly=True) as app:
        _check_distributor(app, args.distributor)
        records = distributions.history(app.store, args.distributor)
    _print_distributions(records, args.json, None)
    return 0


def cmd_import(args) -> int:
    path = args.file
    with _open(args) as app:
        stream = sys.stdin if path == "-" else _open_text(path)
        with stream:
            events, errors = importer.read_lines(stream, app.ledger.collaborators)
        result = app.ledger.record(events)
    for number, reason in errors:
        print(f"{path}:{number}: {reason} (skipped)", file=sys.stderr)
    print(f"imported {result.new} new events ({result.duplicate} already recorded, {result.late} late, "
          f"{len(errors)} bad lines skipped)")
    return 1 if errors else 0


def _open_text(path: str):
    try:
        return open(path, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}") from None


def cmd_credit(args) -> int:
    if args.count == 0:
        raise UsageError("--count must not be zero")
    with _open(args) as app:
        if args.collaborator not in app.ledger.collaborators:
            raise UsageError(f"unknown collaborator {args.collaborator!r}")
        try:
            event = importer.manual_credit(args.collaborator, args.type, args.count, args.at or utcnow(),
                                           uuid.uuid4().hex[:12])
        except importer.BadLine as exc:
            raise UsageError(str(exc)) from None
        result = app.ledger.record([event])
    print(f"credited {args.collaborator} with {args.count} x {args.type} at {iso(event.at)}"
          + (" (late: counts in the open period)" if result.late else ""))
    return 0


def cmd_explain(args) -> int:
    from siren_sync import explain
    with _open(args, readonly=True) as app:
        if args.collaborator not in app.ledger.collaborators:
            raise UsageError(f"unknown collaborator {args.collaborator!r}")
        print(explain.render(app, args.collaborator, args.distribution))
    return 0


def cmd_payouts(args) -> int:
    with _open(args, readonly=not args.mark_paid) as app:
        rows = payouts.select(app.store, args.status, args.collaborator)
        if args.csv:
            payouts.write_atomically(Path(args.csv), payouts.csv_text(rows, app.ledger.collaborators))
            print(f"wrote {len(rows)} payouts to {args.csv}")
            if args.mark_paid:
                marked = payouts.mark_paid(app.store, rows, iso(utcnow()))
                print(f"marked {marked} paid")
            return 0
    for o in rows:
        print(f"{o['id']:<44} {o['collaborator']:<16} {o['amount']:>12} {o['units']:<6} {o['status']}")
    if not rows:
        print("no obligations")
    return 0


def cmd_check(args) -> int:
    from siren_sync import checks
    config = _config(args)
    return checks.run(config, fetch_timezone=_fetch_timezone(config))


def _fetch_timezone(config):
    """Reads the site's timezone from its REST index (for `timezone: auto`)."""
    def fetch() -> str:
        from siren_sync.sources import wordpress
        from siren_sync.sources.http import Upstream
        with Upstream("wordpress", f"{config.site.url}/wp-json", verify=config.site.verify_tls) as upstream:
            return wordpress.site_timezone(upstream)
    return fetch


def cmd_sync(args) -> int:
    from siren_sync import sync
    with _open(args) as app:
        sync.refresh_collaborators(app.config, app)
        reports = sync.sync_all(app.config, app, utcnow(), args.source, args.since)
    for r in reports:
        print(f"{r.source}: {r.records} records, {r.events} new events, {r.quarantined} quarantined, {r.duration:.1f}s")
    if not reports:
        print("no source is enabled (see sync: in the config)")
    return 0


def cmd_publish(args) -> int:
    from siren_sync.worker import Worker
    config = _config(args)
    worker = Worker(config, fetch_timezone=_fetch_timezone(config))
    try:
        if worker.publisher is None:
            raise UsageError("publishing needs site.wordpress.user and application_password (and publish.enabled)")
        report = worker.publisher.publish(worker.app.store)
    finally:
        worker.app.close()
    print(f"posted {len(report.posted)}, already on the site {len(report.found)}, failed {len(report.failed)}")
    for distribution, reason in report.failed.items():
        print(f"  {distribution}: {reason}")
    return 1 if report.failed else 0


def cmd_run(args) -> int:
    from siren_sync.worker import Worker
    config = _config(args)
    clock = _sandbox_clock(args.clock) if args.clock else utcnow
    return Worker(config, clock=clock, fetch_timezone=_fetch_timezone(config)).run()


def _sandbox_clock(url: str):
    """The simulated time of a sandbox site (its `sandbox/v1/clock` route)."""
    import requests
    session = requests.Session()

    def now() -> datetime:
        return parse_time(session.get(url, timeout=10).json()["now"])
    return now


def cmd_demo(args) -> int:
    from siren_sync import demo
    return demo.run(weeks=args.weeks, seed=args.seed)


if __name__ == "__main__":
    raise SystemExit(main())
