"""Commands about periods and distributions: `standings`, `distribute`, `history`, `explain`."""
from __future__ import annotations

import argparse
import logging
from datetime import datetime

from siren_sync import closing, commissions, history, logs
from siren_sync.app import App, utcnow
from siren_sync.cli.common import (
    check_distributor,
    dump,
    leading,
    open_for,
    refuse_a_lost_store,
    time_arg,
)
from siren_sync.cli.payouts import check_collaborators
from siren_sync.errors import SyncError, UsageError
from siren_sync.model import Distribution, Obligation
from siren_sync.values import iso, nfc


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("standings", help="the open period: revenue, pool so far, scores, projected split")
    p.add_argument("--distributor")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_standings)

    p = sub.add_parser("distribute", help="close every period whose trigger time is <= --as-of",
                       description="Close every period whose trigger time is <= --as-of (default now). Like "
                       "the worker, it first syncs every enabled source up to now, and refuses to close (exit 1, "
                       "nothing written) when one cannot be read or a trigger is still ahead of now.")
    p.add_argument("--distributor")
    p.add_argument("--as-of", type=time_arg)
    p.add_argument("--dry-run", action="store_true", help="show what would close; sources are still synced")
    p.add_argument("--no-sync", action="store_true",
                   help="close with what the store holds (offline); what was not synced counts late, next period")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_distribute)

    p = sub.add_parser("history", help="closed distributions")
    p.add_argument("--distributor")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_history)

    p = sub.add_parser("explain", help="the events and points behind a score and an amount, or a program reward")
    p.add_argument("collaborator", type=nfc)
    p.add_argument("--distribution")
    p.add_argument("--reward", type=nfc, help="a program reward's id (<program>:<order>:<collaborator>): its "
                   "engagements, which won and why, the amount's arithmetic, refunds")
    p.set_defaults(func=cmd_explain)


def cmd_standings(args: argparse.Namespace) -> int:
    with open_for(args, readonly=True) as app:
        check_distributor(app, args.distributor)
        rows = history.standings(app.ledger, args.distributor)
        months = [] if args.distributor else commissions.month_earnings(app.store, app.config.programs, app.tz,
                                                                        utcnow())
    _warn_set_aside(rows, "quarantined when the period closes")
    if args.json:
        dump({"standings": [_standing_json(r) for r in rows],
              **({"programs": [_month_json(m) for m in months]} if months else {})})
        return 0
    _print_standings(rows)
    for m in months:
        print(f"program {m.program}: {iso(m.start)} to {iso(m.end)}: {m.rewards} rewards, {m.total} {m.units}")
        for who, amount in m.earned.items():
            print(f"  {who:<20} {str(amount):>12} {m.units}")
    return 0


def _month_json(m: commissions.MonthEarnings) -> dict[str, object]:
    return {"program": m.program, "month_start": iso(m.start), "month_end": iso(m.end), "units": m.units,
            "rewards": m.rewards, "earned": str(m.total),
            "collaborators": [{"collaborator": who, "amount": str(amount)} for who, amount in m.earned.items()]}


def _print_standings(rows: list[Distribution]) -> None:
    for r in rows:
        print(f"{r.name} ({r.distributor}, {r.resolver}): {iso(r.period_start)} to {iso(r.period_end)}")
        print(f"  revenue {r.revenue} {r.units}, pool so far {r.pool} {r.units}")
        for s in r.scores:
            print(f"  {s.collaborator:<20} score {str(s.score):>10}  projected {_projected(r, s.collaborator)}")
        if not r.scores:
            print("  no scores yet")


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
        print(f"{r.id}{tag}: {r.name} {iso(r.period_start)} to {iso(r.period_end)}{_review(r)}")
        unspent = f", unspent {r.unspent}" if r.unspent else ""
        print(f"  revenue {r.revenue} {r.units}, pool {r.pool} {r.units}{unspent}")
        for o in r.obligations:
            note = f"  ({o.note})" if o.note else ""
            print(f"  {o.collaborator:<20} score {str(o.score):>10}  {str(o.amount):>12} {r.units}{note}")
        if not r.obligations:
            print("  nobody qualified")


def _review(r: Distribution) -> str:
    """A distribution that is not approved says so (nothing of it is payable yet, or ever)."""
    if r.review == "draft":
        return f" [draft: waits for `siren-sync approve {r.id}`]"
    return f" [rejected: {r.reason}]" if r.review == "rejected" else ""


def _warn_set_aside(records: list[Distribution], what: str) -> None:
    """Records a period could not compute, one line each on stderr (the output stays as asked)."""
    for r in records:
        for item in r.set_aside:
            logs.say(logging.WARNING, f"warning: {r.id}: {item['where']}: {item['reason']} ({what})",
                     event="set_aside", distribution=r.id, where=item["where"])


def cmd_distribute(args: argparse.Namespace) -> int:
    with open_for(args, check=lambda view: check_distributor(view, args.distributor)) as app:
        as_of = args.as_of or utcnow()
        if args.dry_run:
            _sync_unless_a_worker_leads(app, as_of, args)
            made = closing.close_due(app.ledger, as_of, args.distributor, dry_run=True)
        else:
            with leading(app.store, "it closes due periods itself; stop it to close them by hand"):
                refuse_a_lost_store(app)
                _sync_before_closing(app, as_of, args)
                made = closing.close_due(app.ledger, as_of, args.distributor)
    _print_distributions(made, args.json, args.dry_run)
    _warn_set_aside(made, "not counted" if args.dry_run else "quarantined, see check")
    return 0


def _sync_unless_a_worker_leads(app: App, as_of: datetime, args: argparse.Namespace) -> None:
    """A dry run syncs first like a close, so what it shows is what a close would make; while a
    worker leads, the worker keeps the store synced and the dry run shows what the store holds."""
    leader = app.store.leader()
    if not leader.acquire():
        return
    try:
        _sync_before_closing(app, as_of, args)
    finally:
        leader.release()


def _sync_before_closing(app: App, as_of: datetime, args: argparse.Namespace) -> None:
    """What the worker does before a close: sync up to the last trigger time to close, unless
    `--no-sync` (which warns: what the sources have not given yet counts late)."""
    due = list(closing.due_periods(app.ledger, as_of, args.distributor))
    if due and args.no_sync:
        logs.say(logging.WARNING, "warning: --no-sync: closing with what the store holds; what the sources "
                 "have not synced before a trigger time will count late, in the next period", event="no_sync")
    elif due:
        _sync_up_to(app, max(end for _, _, end in due))


def _sync_up_to(app: App, trigger: datetime) -> None:
    """Sync every enabled source up to now, as the worker does before closing (DESIGN section 1), or
    refuse naming the sources that are behind `trigger` (the last trigger time to close). The
    collaborators read from the site are refreshed first, as the worker does."""
    from siren_sync.sources.registry import build_sources
    from siren_sync.sync import sync_sources
    from siren_sync.worker import refresh_collaborators_of

    sources = build_sources(app.config, app)
    now = utcnow()
    if sources and trigger > now:
        behind = {s.name: f"can only be synced up to now, {iso(now)}" for s in sources}
    else:
        behind = refresh_collaborators_of(app) | sync_sources(app, sources, utcnow)
    if behind:
        reasons = "; ".join(f"{name}: {why}" for name, why in behind.items())
        raise SyncError(f"distribute: nothing was closed: {', '.join(behind)} could not be synced up to the "
                        f"trigger time {iso(trigger)} ({reasons}); try again when it can, or add --no-sync to "
                        "close with what the store holds")


def cmd_history(args: argparse.Namespace) -> int:
    with open_for(args, readonly=True) as app:
        check_distributor(app, args.distributor)
        records = history.history(app.store, args.distributor)
        rewards = [] if args.distributor else _settled(app, commissions.obligations(app.store))
    if args.json:
        dump({"distributions": history.public_json(records),
              **({"rewards": [_reward_json(o) for o in rewards]} if rewards else {})})
        return 0
    _print_distributions(records, False, None)
    if rewards:
        print("program rewards:")
    for o in rewards:
        state = f" [{o.status}]"
        earned = iso(o.earned_at, app.tz)  # stored in UTC; shown in the site's timezone, as distributions are
        print(f"  {o.id:<40} {o.collaborator:<16} {str(o.amount):>12} {o.units:<4} earned {earned}{state}")
    return 0


def _settled(app: App, rewards: list[Obligation]) -> list[Obligation]:
    """The rewards with their status now, as `payouts` shows them (paid, processing, payable ...)."""
    from siren_sync.engine.balances import Settling, settle_all
    from siren_sync.payouts.records import claims
    return settle_all(rewards, Settling(claims(app.store), utcnow()))


def _reward_json(o: Obligation) -> dict[str, object]:
    """A program reward or clawback in `history --json` (`rewards`, beside the distributions)."""
    return {"id": o.id, "program": o.origin, "collaborator": o.collaborator, "amount": str(o.amount),
            "units": o.units, "earned_at": iso(o.earned_at), "status": o.status}


def cmd_explain(args: argparse.Namespace) -> int:
    from siren_sync import explain
    if args.reward and args.distribution:
        raise UsageError("--reward and --distribution explain different things: give one of them")
    with open_for(args, readonly=True) as app:
        check_collaborators(app, [args.collaborator])  # a collaborator removed since, with obligations, too
        if args.reward:
            print(explain.reward(app, args.collaborator, args.reward))
        else:
            print(explain.render(app, args.collaborator, args.distribution))
    return 0
