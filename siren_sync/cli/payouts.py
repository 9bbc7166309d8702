"""`payouts` (the overview, Siren's CSV, `--mark-paid`) and `approve` (the review of a distribution)."""
from __future__ import annotations

import argparse
import sys
from collections.abc import Collection
from datetime import datetime, tzinfo

from siren_sync import commissions
from siren_sync.app import App, utcnow
from siren_sync.cli.common import check_distribution, open_for, say, time_arg
from siren_sync.errors import UsageError
from siren_sync.model import OBLIGATION_STATUSES
from siren_sync.output import check_target, write_files
from siren_sync.payouts import formats, fulfillments, overview, review
from siren_sync.tables import DISTRIBUTIONS
from siren_sync.values import iso, nfc

# `--mark-paid` pays what is payable; `pending` is how the first wave spelled "not paid yet".
MARK_PAID_STATUSES = (None, "payable", "pending")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("payouts", help="obligations by status, balances, next payable; --csv, --mark-paid")
    p.add_argument("--as-of", type=time_arg, help="statuses at this time (default now)")
    p.add_argument("--collaborator", type=nfc)
    p.add_argument("--status", choices=OBLIGATION_STATUSES)
    p.add_argument("--json", action="store_true")
    p.add_argument("--csv", metavar="FILE", help="write the obligations in Siren's payout CSV columns (- for stdout)")
    p.add_argument("--mark-paid", action="store_true",
                   help="with --csv: fulfil what is payable in Siren's format and complete it at once")
    p.set_defaults(func=cmd_payouts)

    p = sub.add_parser("approve", help="approve a distribution or program reward waiting for review (or --reject it)")
    p.add_argument("distribution", type=nfc,
                   help="a distribution id, or a program reward's (<program>:<order>:<collaborator>)")
    p.add_argument("--reject", action="store_true")
    p.add_argument("--reason", help="why it is rejected (shown on the site's record)")
    p.set_defaults(func=cmd_approve)


def check_collaborators(app: App, ids: Collection[str]) -> None:
    """Every id names a configured collaborator, or one with obligations (a collaborator removed since)."""
    unknown = set(ids) - set(app.ledger.collaborators)
    if unknown:
        unknown -= {o.collaborator for o in overview.owed(app.store, unknown)}
    if unknown:
        raise UsageError(f"unknown collaborator {', '.join(sorted(map(repr, unknown)))}")


def check_as_of(as_of: datetime | None) -> None:
    """Paying as of a future time would pay obligations still inside their hold."""
    if as_of is not None and as_of > utcnow():
        raise UsageError("--as-of is in the future: obligations still inside their hold would be paid")


def _usage(args: argparse.Namespace) -> None:
    if args.mark_paid and not args.csv:
        raise UsageError("--mark-paid marks only what --csv FILE exported; give --csv")
    if args.json and args.csv:
        raise UsageError("--json prints the overview and --csv writes a file: give one of them")
    if args.mark_paid and args.status not in MARK_PAID_STATUSES:
        raise UsageError(f"--mark-paid pays what is payable; --status {args.status} cannot be paid")
    if args.mark_paid:
        check_as_of(args.as_of)
    if args.csv:
        check_target(args.csv)


def cmd_payouts(args: argparse.Namespace) -> int:
    _usage(args)
    chosen = [args.collaborator] if args.collaborator else []
    with open_for(args, readonly=not args.mark_paid, check=lambda view: check_collaborators(view, chosen)) as app:
        if args.mark_paid:
            return _mark_paid(app, args)
        view = overview.overview(app.store, app.ledger.distributors, app.config.payouts.minimum,
                                 args.as_of or utcnow(), args.collaborator, args.status)
        if args.csv:
            write_files({args.csv: formats.siren_obligations(view.obligations, app.ledger.collaborators)})
            say(args.csv, f"wrote {len(view.obligations)} obligations to {args.csv} (a listing: nothing is marked)")
            return 0
    if args.json:
        sys.stdout.writelines(overview.json_text(view))
    else:
        print("\n".join(overview.text_lines(view, bool(args.collaborator or args.status), app.tz)))
    return 0


def _mark_paid(app: App, args: argparse.Namespace) -> int:
    """`fulfill --format siren` then `fulfillment complete`, in one commit, with fulfill's selection."""
    now = utcnow()
    selection = fulfillments.Selection(args.as_of or now, "siren", (args.collaborator,) if args.collaborator else ())
    made = fulfillments.fulfill(app.store, selection, args.csv, app.ledger.collaborators, app.config.payouts.minimum,
                                app.config.payouts.note, now, paid_at=now)
    if not made.payouts:
        say(args.csv, "nothing is payable: no file was written and nothing was marked")
        return 0
    record = made.fulfillment
    say(args.csv, f"wrote {record.payouts} payouts to {args.csv} (fulfillment {record.id})")
    say(args.csv, f"marked {record.obligations} paid")
    return 0


def _check_reviewable(app: App, ident: str) -> None:
    """A distribution, or a program reward (`programs: <key>: review: true`)."""
    if commissions.find(app.store, ident) is None:
        check_distribution(app, ident)


def cmd_approve(args: argparse.Namespace) -> int:
    if args.reason and not args.reject:
        raise UsageError("--reason explains a rejection: give --reject with it")
    if args.reject and not (args.reason or "").strip():
        raise UsageError("--reject needs --reason TEXT (it is shown on the site's record)")
    now = utcnow()
    with open_for(args, check=lambda view: _check_reviewable(view, args.distribution)) as app:
        reward = app.store.get(DISTRIBUTIONS, args.distribution) is None
        decide = review.decide_reward if reward else review.decide
        decided = decide(app.store, args.distribution, args.reject, (args.reason or "").strip(), now)
    if not decided.made:
        print(f"{args.distribution} was already {decided.decision}: nothing changed")
    elif decided.decision == "rejected":
        print(f"rejected program reward {args.distribution}: never paid" if reward else
              f"rejected {args.distribution}: nothing of it will be paid; its record, saying so, is queued")
    elif reward:
        print(f"approved program reward {args.distribution}: {_payable(decided.payable_from, now, app.tz, 'its')}")
    else:
        when = _payable(decided.payable_from, now, app.tz, "their")
        print(f"approved {args.distribution}: its obligations are {when}; its record is queued for the site")
    return 0


def _payable(when: datetime, now: datetime, tz: tzinfo, whose: str) -> str:
    """When what was just approved can be paid, as it is: now (no hold, or it is over already), or
    after its hold (in the site's timezone)."""
    if when <= now:
        return "payable now"
    return f"pending until {iso(when, tz)}, when {whose} hold is over"
