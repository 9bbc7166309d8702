"""Commands about periods and distributions: `standings`, `distribute`, `history`, `explain`."""
from __future__ import annotations

import argparse

from siren_sync import closing, history
from siren_sync.app import App, utcnow
from siren_sync.cli.common import check_collaborator, check_distributor, dump, leading, open_for, time_arg
from siren_sync.errors import StoreError
from siren_sync.model import Distribution
from siren_sync.values import iso


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("standings", help="the open period: revenue, pool so far, scores, projected split")
    p.add_argument("--distributor")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_standings)

    p = sub.add_parser("distribute", help="close every period whose trigger time is <= --as-of")
    p.add_argument("--distributor")
    p.add_argument("--as-of", type=time_arg)
    p.add_argument("--dry-run", action="store_true")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_distribute)

    p = sub.add_parser("history", help="closed distributions")
    p.add_argument("--distributor")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("explain", help="the events and points behind a score and an amount")
    p.add_argument("collaborator")
    p.add_argument("--distribution")
    p.set_defaults(func=cmd_explain)


def cmd_standings(args: argparse.Namespace) -> int:
    with open_for(args, readonly=True) as app:
        check_distributor(app, args.distributor)
        rows = history.standings(app.ledger, args.distributor)
    if args.json:
        dump({"standings": [_standing_json(r) for r in rows]})
        return 0
    for r in rows:
        print(f"{r.name} ({r.distributor}, {r.resolver}): {iso(r.period_start)} to {iso(r.period_end)}")
        print(f"  revenue {r.revenue} {r.units}, pool so far {r.pool} {r.units}")
        for s in r.scores:
            print(f"  {s.collaborator:<20} score {str(s.score):>10}  projected {_projected(r, s.collaborator)}")
        if not r.scores:
            print("  no scores yet")
    return 0


def _standing_json(r: Distribution) -> dict[str, object]:
    return {"distributor": r.distributor, "period_start": iso(r.period_start), "period_end": iso(r.period_end),
            "units": r.units, "revenue": str(r.revenue), "pool": str(r.pool),
            "scores": [{"collaborator": s.collaborator, "score": str(s.score),
                        "projected": _projected(r, s.collaborator)} for s in r.scores]}


def _projected(record: Distribution, collaborator: str) -> str:
    amounts = {o.collaborator: str(o.amount) for o in record.obligations}
    return amounts.get(collaborator, "0")


def _print_distributions(records: list[Distribution], as_json: bool, dry_run: bool | None = False) -> None:
    if as_json:
        dump({"distributions": history.public_json(records)})
        return
    if not records:
        print("nothing to distribute" if dry_run is not None else "no distributions")
    for r in records:
        tag = " (dry run)" if dry_run else ""
        print(f"{r.id}{tag}: {r.name} {iso(r.period_start)} to {iso(r.period_end)}")
        unspent = f", unspent {r.unspent}" if r.unspent else ""
        print(f"  revenue {r.revenue} {r.units}, pool {r.pool} {r.units}{unspent}")
        for o in r.obligations:
            note = f"  ({o.note})" if o.note else ""
            print(f"  {o.collaborator:<20} score {str(o.score):>10}  {str(o.amount):>12} {r.units}{note}")
        if not r.obligations:
            print("  nobody qualified")


def cmd_distribute(args: argparse.Namespace) -> int:
    with open_for(args, readonly=args.dry_run, check=lambda view: check_distributor(view, args.distributor)) as app:
        if args.dry_run:
            made = closing.close_due(app.ledger, args.as_of or utcnow(), args.distributor, dry_run=True)
        else:
            with leading(app.store, "it closes due periods itself; stop it to close them by hand"):
                refuse_a_lost_store(app)
                made = closing.close_due(app.ledger, args.as_of or utcnow(), args.distributor)
    _print_distributions(made, args.json, args.dry_run)
    return 0


def refuse_a_lost_store(app: App) -> None:
    """The lost-store guard, for a command about to close: StoreError with its one line."""
    from siren_sync import lost_store
    stop = lost_store.guard(app.config, app.store)
    if stop is not None:
        raise StoreError(stop)


def cmd_history(args: argparse.Namespace) -> int:
    with open_for(args, readonly=True) as app:
        check_distributor(app, args.distributor)
        records = history.history(app.store, args.distributor)
    _print_distributions(records, args.json, None)
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from siren_sync import explain
    with open_for(args, readonly=True) as app:
        check_collaborator(app, args.collaborator)
        print(explain.render(app, args.collaborator, args.distribution))
    return 0
