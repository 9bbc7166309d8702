"""Commands about the store itself: `store adopt` (after a lost store) and `store copy`."""
from __future__ import annotations

import argparse
from pathlib import Path

from siren_sync import adopt, closing, lost_store
from siren_sync.app import App, store_of, utcnow
from siren_sync.cli.common import config_of, leading, open_for
from siren_sync.errors import UsageError
from siren_sync.sources.registry import wp_upstream
from siren_sync.store import make_store
from siren_sync.store.copy import copy_store
from siren_sync.store.postgres.url import is_database_url, problem
from siren_sync.store.protocol import Store
from siren_sync.values import iso


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("store", help="the store itself: adopt the site's records, copy to another backend")
    commands = p.add_subparsers(dest="store_command", required=True, metavar="COMMAND", parser_class=type(p))

    a = commands.add_parser("adopt", help="take the site's siren-sync records as closed distributions "
                                          "(after the store was lost)")
    a.add_argument("--unpaid", action="store_true", help="their obligations are still to pay (default: paid)")
    a.set_defaults(func=cmd_adopt)

    c = commands.add_parser("copy", help="copy the whole store into an empty one (TinyDB <-> PostgreSQL)")
    c.add_argument("--to", required=True, metavar="URL",
                   help="a postgres:// or postgresql:// URL, or the path of a TinyDB file")
    c.add_argument("--namespace", help="the namespace in a PostgreSQL target (default: store.namespace, "
                                       "else the site's host)")
    c.set_defaults(func=cmd_copy)


def cmd_adopt(args: argparse.Namespace) -> int:
    config = config_of(args)
    if not config.distributors:  # programs alone: the site holds no record of theirs to read
        with open_for(args) as app:
            return _adopt_programs(app, "no distributor: ")
    upstream = wp_upstream(config, "publish")
    if upstream is None:
        raise UsageError("store adopt reads the site's records: it needs site.wordpress.user and "
                         "application_password")
    with upstream, open_for(args) as app:
        records = lost_store.site_records(upstream, config.publish.rest_route, config.distributors,
                                          complete=True)
        if not records:
            return _adopt_programs(app, f"the site holds no siren-sync records of {', '.join(config.distributors)}: ")
        adopted = adopt.read_records(records, app.ledger.distributors, app.ledger.collaborators, app.tz)
        closing.adopt(app.ledger, [(a.distribution, a.record.post_id) for a in adopted],
                      paid=not args.unpaid, now=utcnow())
    status = "pending (to pay)" if args.unpaid else "paid"
    for key, row in adopt.summary(adopted).items():
        read = f", {row['from_content']} read from the post's table (no meta.siren_sync)" if row["from_content"] else ""
        print(f"adopted {row['count']} distributions of {key}{read}; obligations {status}; "
              f"its next period starts {iso(row['last_end'].astimezone(app.tz))}")
    return 0


def _adopt_programs(app: App, said: str) -> int:
    """Nothing on the site to adopt: the programs, if any, take over from the lost store's (they
    leave no record on the site, so the admin's word is all there is)."""
    if not app.config.programs:
        print(f"{said}nothing to adopt")
        return 0
    now = utcnow()
    closing.adopt_programs(app.store, now)
    print(f"{said}no distribution to adopt; programs reward only the sales paid from {iso(now)} "
          "(the lost store rewarded those before)")
    return 0


def cmd_copy(args: argparse.Namespace) -> int:
    config = config_of(args)
    source = store_of(config, readonly=False).open()
    target = _target(args.to, args.namespace or config.store.namespace).open()
    try:
        with leading(source, "stop it before copying the store"), \
                leading(target, "stop it before copying into its store"):
            copied = copy_store(source, target)
    finally:
        target.close()
        source.close()
    print(f"copied {copied.tables} tables ({copied.documents} documents) and {copied.buckets} event buckets "
          f"({copied.events} events) from {source.location} to {target.location}")
    return 0


def _target(to: str, namespace: str) -> Store:
    """The store `--to` names: PostgreSQL for a database URL, else a TinyDB file."""
    if is_database_url(to):
        return make_store(Path("."), to, namespace)
    if "://" in to:
        raise UsageError(f"--to: {problem(to)} (or the path of a TinyDB file)")
    return make_store(Path(to).expanduser().resolve())
