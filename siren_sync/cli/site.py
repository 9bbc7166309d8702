"""Commands that talk to the site: `run` (the worker), `sync`, `publish`, `check`, `demo`."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import datetime

from siren_sync.app import utcnow
from siren_sync.cli.common import config_of, fetch_timezone, leading, open_for, refuse_a_lost_store, time_arg
from siren_sync.errors import UsageError
from siren_sync.first_hour import FirstHour
from siren_sync.values import parse_time


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="the worker: poll, close due periods, publish; until stopped")
    p.add_argument("--clock", help=argparse.SUPPRESS)  # a sandbox clock URL, for the demo and e2e tests
    # seconds publishing waits for an answer (30 by default), for e2e tests of a POST that times out
    p.add_argument("--read-timeout", type=float, help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sync", help="one poll of all (or one) sources")
    p.add_argument("--source")
    p.add_argument("--since", type=time_arg, help="backfill from this time instead of the saved cursor")
    p.set_defaults(func=cmd_sync)

    p = sub.add_parser("publish", help="post queued distribution records to the site now")
    p.set_defaults(func=cmd_publish)

    p = sub.add_parser("check", help="config, schedule preview, store, quarantined records")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("demo", help="a sandbox site and the worker through full periods in fast time")
    p.add_argument("--weeks", type=int, default=2, help="simulated weeks to run (default 2)")
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=cmd_demo)


def cmd_run(args: argparse.Namespace) -> int:
    from siren_sync.worker import Worker
    config = config_of(args)
    clock = _sandbox_clock(args.clock) if args.clock else utcnow
    return Worker(config, clock=clock, fetch_timezone=fetch_timezone(config), read_timeout=args.read_timeout).run()


def _sandbox_clock(url: str) -> Callable[[], datetime]:
    """The simulated time of a sandbox site (its `sandbox/v1/clock` route)."""
    import requests
    session = requests.Session()

    def now() -> datetime:
        return parse_time(session.get(url, timeout=10).json()["now"])
    return now


def cmd_sync(args: argparse.Namespace) -> int:
    from siren_sync import sync
    from siren_sync.sources.registry import check_source
    with open_for(args, check=lambda view: check_source(view.config, args.source) if args.source else None) as app, \
            leading(app.store, "it syncs the site itself; stop it to sync by hand"):
        refuse_a_lost_store(app)
        sync.refresh_collaborators(app.config, app)
        progress = None if args.log_format == "json" else sys.stderr  # a terminal line is not JSON
        reports = sync.sync_all(app.config, app, utcnow(), args.source, args.since, stream=progress)
        for r in reports:
            print(f"{r.source}: {r.records} records, {r.events} new events, {r.quarantined} quarantined, "
                  f"{r.duration:.1f}s")
        if not reports:
            print("no source is enabled (see sync: in the config)")
        first_hour = FirstHour(app.ledger)
        for key in app.ledger.distributors:
            for line in first_hour.lines(key):
                print(f"distributor {key}: {line}")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    from siren_sync.worker import Worker
    config = config_of(args)
    worker = Worker(config, fetch_timezone=fetch_timezone(config))
    try:
        if worker.publisher is None:
            raise UsageError("publishing needs site.wordpress.user and application_password (and publish.enabled)")
        with leading(worker.app.store, "it publishes the records itself; stop it to publish by hand"):
            report = worker.publisher.publish(worker.app.store)
    finally:
        worker.app.close()
    print(f"posted {len(report.posted)}, already on the site {len(report.found)}, failed {len(report.failed)}")
    for distribution, reason in report.failed.items():
        print(f"  {distribution}: {reason}")
    for distribution in report.waiting:
        print(f"  {distribution}: not posted again yet, a POST of it may still be carried out by the site")
    return 1 if report.failed else 0


def cmd_check(args: argparse.Namespace) -> int:
    from siren_sync import checks
    config = config_of(args)
    return checks.run(config, fetch_timezone=fetch_timezone(config))


def cmd_demo(args: argparse.Namespace) -> int:
    from siren_sync import demo
    return demo.run(weeks=args.weeks, seed=args.seed)
