"""Commands that record events by hand: `import` (JSON Lines) and `credit`."""
from __future__ import annotations

import argparse
import sys
import uuid
from typing import TextIO

from siren_sync import importer
from siren_sync.app import utcnow
from siren_sync.cli.common import check_collaborator, open_for, time_arg
from siren_sync.errors import UsageError
from siren_sync.values import iso


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="record events from a JSON Lines file ('-' for stdin)")
    p.add_argument("file")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("credit", help="record a manual engagement for a collaborator")
    p.add_argument("collaborator")
    p.add_argument("type", nargs="?", default="manual")
    p.add_argument("--count", type=int, default=1)
    p.add_argument("--at", type=time_arg)
    p.set_defaults(func=cmd_credit)


def cmd_import(args: argparse.Namespace) -> int:
    path = args.file
    stream = sys.stdin if path == "-" else _open_text(path)
    with stream, open_for(args) as app:
        events, errors = importer.read_lines(stream, app.ledger.collaborators)
        result = app.ledger.record(events)
    for number, reason in errors:
        print(f"{path}:{number}: {reason} (skipped)", file=sys.stderr)
    print(f"imported {result.new} new events ({result.duplicate} already recorded, {result.late} late, "
          f"{len(errors)} bad lines skipped)")
    return 1 if errors else 0


def _open_text(path: str) -> TextIO:
    try:
        return open(path, encoding="utf-8")
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}") from None


def cmd_credit(args: argparse.Namespace) -> int:
    if args.count == 0:
        raise UsageError("--count must not be zero")
    try:
        event = importer.manual_credit(args.collaborator, args.type, args.count, args.at or utcnow(),
                                       uuid.uuid4().hex[:12])
    except importer.BadLine as exc:
        raise UsageError(str(exc)) from None
    with open_for(args, check=lambda view: check_collaborator(view, args.collaborator)) as app:
        result = app.ledger.record([event])
    print(f"credited {args.collaborator} with {args.count} x {args.type} at {iso(event.at)}"
          + (" (late: counts in the open period)" if result.late else ""))
    return 0
