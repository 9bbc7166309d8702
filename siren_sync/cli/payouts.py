"""`payouts`: obligations, and Siren's payout CSV (`--csv FILE [--mark-paid]`)."""
from __future__ import annotations

import argparse
from pathlib import Path

from siren_sync import history, payouts
from siren_sync.app import utcnow
from siren_sync.cli.common import open_for
from siren_sync.errors import UsageError
from siren_sync.values import iso, nfc


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("payouts", help="obligations; --csv exports Siren's payout CSV")
    p.add_argument("--status", choices=("pending", "paid", "cancelled"))
    p.add_argument("--collaborator", type=nfc)
    p.add_argument("--csv", metavar="FILE")
    p.add_argument("--mark-paid", action="store_true", help="mark the exported obligations paid")
    p.set_defaults(func=cmd_payouts)


def cmd_payouts(args: argparse.Namespace) -> int:
    if args.mark_paid and not args.csv:
        raise UsageError("--mark-paid marks only what --csv FILE exported; give --csv")
    with open_for(args, readonly=not args.mark_paid) as app:
        rows = history.obligations(app.store, args.status, args.collaborator)
        if args.csv:
            payouts.write_atomically(Path(args.csv), payouts.csv_text(rows, app.ledger.collaborators))
            print(f"wrote {len(rows)} payouts to {args.csv}")
            if args.mark_paid:
                marked = payouts.mark_paid(app.store, rows, iso(utcnow()))
                print(f"marked {marked} paid")
            return 0
    for o in rows:
        print(f"{o.id:<44} {o.collaborator:<16} {str(o.amount):>12} {o.units:<6} {o.status}")
    if not rows:
        print("no obligations")
    return 0
