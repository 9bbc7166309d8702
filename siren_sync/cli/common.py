"""What every command shares: the parser that reports usage errors in one line, time arguments,
opening the config and the store, and JSON output."""
from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, NoReturn

from siren_sync import logs
from siren_sync.app import App, open_app
from siren_sync.config import Config, load_config
from siren_sync.errors import StoreError, StoreLockedError, UsageError
from siren_sync.output import STDOUT
from siren_sync.store.protocol import Store
from siren_sync.tables import DISTRIBUTIONS
from siren_sync.values import parse_time

Handler = Callable[[argparse.Namespace], int]


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (DESIGN section 6) and exits 2, like every other."""

    def error(self, message: str) -> NoReturn:
        logs.say(logging.ERROR, f"{self.prog}: {message} (see {self.prog} --help)", event="error", exit=2)
        raise SystemExit(2)


def time_arg(text: str) -> datetime:
    """An ISO 8601 time with an offset, for `--since`, `--as-of`, `--at`."""
    try:
        return parse_time(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO 8601 time with offset "
                                          f"(like 2026-12-01T00:00:00+00:00)") from None


def config_of(args: argparse.Namespace) -> Config:
    return load_config(args.config)


def fetch_timezone(config: Config) -> Callable[[], str]:
    """Reads the site's timezone from its REST index (for `timezone: auto`)."""
    def fetch() -> str:
        from siren_sync.sources import wordpress
        from siren_sync.sources.http import Upstream
        with Upstream("wordpress", f"{config.site.url}/wp-json", verify=config.site.verify_tls) as upstream:
            return wordpress.site_timezone(upstream)
    return fetch


def open_for(args: argparse.Namespace, readonly: bool = False,
             check: Callable[[App], None] | None = None) -> App:
    """The app for a command; with `timezone: auto` the site is asked once if the store never was.

    A writer runs `check` (the command's usage checks) on a read-only view first, so a usage error
    is one line and leaves no trace: not even a new, empty store.
    """
    config = config_of(args)
    if check is not None:
        with open_app(config, readonly=True, fetch_timezone=fetch_timezone(config)) as view:
            check(view)
    return open_app(config, readonly=readonly, fetch_timezone=fetch_timezone(config))


@contextmanager
def leading(store: Store, why: str) -> Iterator[None]:
    """For a command that does the worker's own job (syncing, closing, publishing) or needs the
    store to itself (copying): lead `store` while it runs, or refuse while a worker leads it,
    saying `why` (what to do about it).

    Commands that only record or mark (`credit`, `import`, `payouts --mark-paid`, ...) never
    lead: they wait their turn at the write lock, whatever runs beside them.
    """
    leader = store.leader()
    if not leader.acquire():
        raise StoreLockedError(f"a siren-sync worker leads store {store.location} ({leader.holder()}): {why}")
    try:
        yield
    finally:
        leader.release()


def dump(payload: Any) -> None:
    print(json.dumps(payload, indent=2))


def check_distributor(app: App, key: str | None) -> None:
    if key and key not in app.ledger.distributors:
        raise UsageError(f"unknown distributor {key!r} (known: {', '.join(app.ledger.distributors)})")


def check_distribution(app: App, ident: str) -> None:
    if app.store.get(DISTRIBUTIONS, ident) is None:
        raise UsageError(f"unknown distribution {ident!r} (see `siren-sync history`)")


def say(out: str, line: str) -> None:
    """A line for the user, on stderr when the file the command writes (`out`) goes to stdout."""
    print(line, file=sys.stderr if out == STDOUT else sys.stdout)


def check_collaborator(app: App, who: str) -> None:
    if who not in app.ledger.collaborators:
        raise UsageError(f"unknown collaborator {who!r}")


def refuse_a_lost_store(app: App) -> None:
    """The lost-store guard, for a command about to close or sync (what it would record or reward
    on a lost store would be paid again): StoreError with its one line. `import` does not ask: it
    must work while the site is down, and what it records is the admin's own data."""
    from siren_sync import lost_store
    stop = lost_store.guard(app.config, app.store)
    if stop is not None:
        raise StoreError(stop)
