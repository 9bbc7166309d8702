"""`fulfill`, `fulfillments` and `fulfillment complete|cancel|export`: paying what is payable."""
from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from siren_sync.app import App, utcnow
from siren_sync.cli.common import Parser, dump, open_for, say, time_arg
from siren_sync.cli.payouts import check_as_of, check_collaborators
from siren_sync.errors import UsageError
from siren_sync.model import Fulfillment, Payout
from siren_sync.output import STDOUT, check_target
from siren_sync.payouts import formats, fulfillments, overview, records
from siren_sync.values import iso, nfc

log = logging.getLogger("siren_sync.payouts")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("fulfill", help="gather what is payable into payouts and write the payout file")
    p.add_argument("--out", required=True, metavar="FILE", help="the payout file (- for standard output)")
    p.add_argument("--format", choices=formats.FORMATS, default="siren")
    p.add_argument("--as-of", type=time_arg, help="pay what is payable at this time (default now)")
    p.add_argument("--units", help="pay this unit only")
    p.add_argument("--collaborator", action="extend", nargs="+", type=nfc, default=[], metavar="ID",
                   help="pay these collaborators only (nobody else is touched)")
    p.add_argument("--dry-run", action="store_true", help="show what would be paid; write nothing")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_fulfill)

    p = sub.add_parser("fulfillments", help="every fulfillment: created, status, payouts, totals")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_fulfillments)

    p = sub.add_parser("fulfillment", help="complete, cancel or export one fulfillment")
    actions = p.add_subparsers(dest="action", required=True, metavar="ACTION", parser_class=Parser)
    a = actions.add_parser("complete", help="its payouts are paid (except those named)")
    a.add_argument("id")
    a.add_argument("--paid-at", type=time_arg, help="when they were paid (default now)")
    a.add_argument("--except", dest="excepted", action="extend", nargs="+", type=nfc, default=[],
                   metavar="COLLABORATOR",
                   help="transfers that failed: these go back to payable")
    a.set_defaults(func=cmd_complete)
    a = actions.add_parser("cancel", help="every payout back to payable")
    a.add_argument("id")
    a.set_defaults(func=cmd_cancel)
    a = actions.add_parser("export", help="write its payouts again")
    a.add_argument("id")
    a.add_argument("--format", choices=formats.FORMATS, required=True)
    a.add_argument("--out", required=True, metavar="FILE")
    a.set_defaults(func=cmd_export)


def fulfillment_json(f: Fulfillment) -> dict[str, Any]:
    """A fulfillment as `fulfillments --json` shows it."""
    return {"id": f.id, "created": iso(f.created_at), "as_of": iso(f.as_of), "status": f.status,
            "format": f.format, "files": list(f.files), "payouts": f.payouts, "obligations": f.obligations,
            "totals": {u: str(a) for u, a in f.totals.items()}, "collaborators": list(f.collaborators),
            "units": f.units, "paid_at": _iso(f.paid_at), "completed_at": _iso(f.completed_at),
            "cancelled_at": _iso(f.cancelled_at), "except": list(f.excepted)}


def _iso(value: Any) -> str | None:
    return None if value is None else iso(value)


def _totals(f: Fulfillment) -> str:
    return ", ".join(f"{amount} {units}" for units, amount in f.totals.items()) or "nothing"


def _check_fulfill(app: App, args: argparse.Namespace) -> None:
    if args.json and args.out == STDOUT:
        raise UsageError("--json and --out - both write to standard output: give --out a file name")
    check_as_of(args.as_of)
    check_collaborators(app, args.collaborator)
    paid_in = {d.units for d in app.ledger.distributors.values()} | {p.units for p in app.config.programs.values()}
    if args.units is not None and args.units not in paid_in \
            and args.units not in {o.units for o in overview.owed(app.store)}:
        raise UsageError(f"--units {args.units}: no distributor, program or obligation is in that unit")
    if not args.dry_run:
        check_target(args.out)


def cmd_fulfill(args: argparse.Namespace) -> int:
    now = utcnow()
    with open_for(args, readonly=args.dry_run, check=lambda view: _check_fulfill(view, args)) as app:
        selection = fulfillments.Selection(args.as_of or now, args.format, tuple(dict.fromkeys(args.collaborator)),
                                           args.units)
        made = fulfillments.fulfill(app.store, selection, args.out, app.ledger.collaborators,
                                    app.config.payouts.minimum, app.config.payouts.note, now, args.dry_run)
        for d in made.left_out:
            log.warning("%s has no email address PayPal can pay: left out of this fulfillment, their %s %s "
                        "stays payable", d.collaborator, d.amount, d.units)
        minimum = app.config.payouts.minimum
    if args.json:
        dump(_fulfill_json(made, args.dry_run))
    else:
        _print_fulfill(made, args, minimum)
    return 0


def _fulfill_json(made: fulfillments.Plan, dry_run: bool) -> dict[str, Any]:
    return {"fulfillment": fulfillment_json(made.fulfillment) if made.payouts else None, "dry_run": dry_run,
            "payouts": [_payout_json(p) for p in made.payouts],
            "waiting": [{"collaborator": d.collaborator, "units": d.units, "balance": str(d.amount)}
                        for d in made.waiting],
            "left_out": [{"collaborator": d.collaborator, "units": d.units, "balance": str(d.amount)}
                         for d in made.left_out]}


def _payout_json(p: Payout) -> dict[str, Any]:
    return {"id": p.id, "collaborator": p.collaborator, "units": p.units, "amount": str(p.amount),
            "obligations": len(p.obligations)}


def _print_fulfill(made: fulfillments.Plan, args: argparse.Namespace, minimum: Mapping[str, Decimal]) -> None:
    f = made.fulfillment
    if not made.payouts:
        say(args.out, "nothing is payable for this selection: no fulfillment was made, no file written")
    elif args.dry_run:
        say(args.out, f"would make fulfillment {f.id}: {f.payouts} payouts, {_totals(f)} (dry run: nothing written)")
    else:
        where = "standard output" if f.files == (STDOUT,) else ", ".join(f.files)
        say(args.out, f"fulfillment {f.id} (open): {f.payouts} payouts, {_totals(f)}; file {where}")
        say(args.out, f"once paid: siren-sync fulfillment complete {f.id} (or: fulfillment cancel {f.id})")
    for d in made.waiting:
        why = (f"below the minimum {minimum[d.units]} {d.units}" if d.amount > 0
               else "not a positive balance: netted against later obligations")
        say(args.out, f"  waits: {d.collaborator} {d.amount} {d.units} ({why})")


def cmd_fulfillments(args: argparse.Namespace) -> int:
    with open_for(args, readonly=True) as app:
        found = records.fulfillments(app.store)
    if args.json:
        dump({"fulfillments": [fulfillment_json(f) for f in found]})
        return 0
    for f in found:
        when = {"complete": f" paid {_iso(f.paid_at)}", "cancelled": f" cancelled {_iso(f.cancelled_at)}"}
        excepted = f" (except {', '.join(f.excepted)})" if f.excepted else ""
        print(f"{f.id:<14} {f.status:<9} created {iso(f.created_at)}  {f.payouts} payouts, {_totals(f)}"
              f"{when.get(f.status, '')}{excepted}")
    if not found:
        print("no fulfillments")
    return 0


def _check_id(app: App, ident: str) -> None:
    fulfillments.get(app.store, ident)


def cmd_complete(args: argparse.Namespace) -> int:
    now = utcnow()
    with open_for(args, check=lambda view: _check_id(view, args.id)) as app:
        done, changed = fulfillments.complete(app.store, args.id, args.paid_at or now, args.excepted, now)
    if not changed:
        print(f"fulfillment {done.id} was already complete (paid {_iso(done.paid_at)}): nothing changed")
        return 0
    paid = done.payouts - len(done.excepted)
    excepted = f"; back to payable: {', '.join(done.excepted)}" if done.excepted else ""
    print(f"fulfillment {done.id} complete: {paid} payouts paid at {iso(done.paid_at or now)}{excepted}")
    return 0


def cmd_cancel(args: argparse.Namespace) -> int:
    with open_for(args, check=lambda view: _check_id(view, args.id)) as app:
        done, changed = fulfillments.cancel(app.store, args.id, utcnow())
    state = "cancelled: every payout is payable again" if changed else "was already cancelled: nothing changed"
    print(f"fulfillment {done.id} {state}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    check_target(args.out)
    with open_for(args, readonly=True) as app:
        f, files = fulfillments.export(app.store, args.id, args.format, args.out, app.ledger.collaborators,
                                       app.config.payouts.note)
    say(args.out, f"wrote fulfillment {f.id} ({f.status}) as {args.format}: {', '.join(files)}")
    return 0
