"""Commands that record events by hand: `import` (JSON Lines) and `credit`."""
from __future__ import annotations

import argparse
import logging
import sys
import uuid
from typing import BinaryIO

from siren_sync import importer, logs
from siren_sync.app import utcnow
from siren_sync.cli.common import check_collaborator, open_for, time_arg
from siren_sync.errors import UsageError
from siren_sync.sync import begin_programs, reward_programs
from siren_sync.values import MAX_COUNT, iso, nfc, parse_count


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("import", help="record events from a JSON Lines file ('-' for stdin)",
                       description="Record events from a JSON Lines file ('-' for stdin). Every line is "
                       "counted once: new, already recorded (the same event is stored or on an earlier line), "
                       "conflicting (its key is stored with other values: skipped, never overwritten) or bad "
                       "(skipped, with its line number). A negative quantity needs \"correction\": true.")
    p.add_argument("file")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("credit", help="record a manual engagement for a collaborator",
                       description="Record a manual engagement. Each credit is a new event; a mistaken "
                       "credit is taken back by a correction: a negative --count with --correction.")
    p.add_argument("collaborator", type=nfc)
    p.add_argument("type", nargs="?", default="manual")
    p.add_argument("--count", default="1", help=f"how many (a whole number up to {MAX_COUNT:,}; "
                   "negative only with --correction)")
    p.add_argument("--correction", action="store_true",
                   help="take back earlier credits: --count is negative")
    p.add_argument("--at", type=time_arg)
    p.set_defaults(func=cmd_credit)


def cmd_import(args: argparse.Namespace) -> int:
    path = args.file
    stream = sys.stdin.buffer if path == "-" else _open_binary(path)
    with stream, open_for(args) as app:
        begin_programs(app)
        report = importer.import_lines(app.ledger, stream)
        reward_programs(app)
    for number, reason in report.skipped:
        logs.say(logging.WARNING, f"{path}:{number}: {reason} (skipped)", event="import_line_skipped",
                 file=path, line=number)
    for number, why in report.ignored:
        logs.say(logging.WARNING, f"{path}:{number}: {why}: recorded, but it counts nothing",
                 event="import_line_ignored", file=path, line=number)
    blank = f", {report.blank} blank" if report.blank else ""
    nothing = f", {len(report.ignored)} counting nothing" if report.ignored else ""
    print(f"imported {report.new} new events from {report.lines} lines ({report.same} already recorded, "
          f"{len(report.conflicts)} conflicting, {len(report.bad)} bad{blank}; {report.late} of the new late{nothing})")
    return 1 if report.skipped else 0


def _open_binary(path: str) -> BinaryIO:
    try:
        return open(path, "rb")
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror}") from None


def cmd_credit(args: argparse.Namespace) -> int:
    count = _count(args.count, args.correction)
    try:
        event = importer.manual_credit(args.collaborator, args.type, count, args.at or utcnow(),
                                       uuid.uuid4().hex[:12])
    except importer.BadLine as exc:
        raise UsageError(str(exc)) from None
    with open_for(args, check=lambda view: check_collaborator(view, args.collaborator)) as app:
        result = app.ledger.record([event])
    what = "took back" if count < 0 else "credited"
    print(f"{what} {abs(count)} x {args.type} {'from' if count < 0 else 'to'} {args.collaborator} at {iso(event.at)}"
          + (" (late: counts in the open period)" if result.late else "")
          + "".join(f" (recorded, but it counts nothing: {why})" for _, why in result.ignored))
    return 0


def _count(text: str, correction: bool) -> int:
    """--count: positive, or negative with --correction (never silently: a correction says so)."""
    try:
        count = parse_count(text, "--count", negative=correction)
    except ValueError as exc:
        hint = " (to take credits back, add --correction)" if text.strip().startswith("-") else ""
        raise UsageError(f"{exc}{hint}") from None
    if correction and count > 0:
        raise UsageError(f"--correction takes credits back: give a negative --count, not {count}")
    return count
