"""`siren-sync explain`: the events and points behind one collaborator's score and amount.

Reads the ledger segments of the months the period covers (plus those holding its late events) and
keeps the events placed in that period for that collaborator, so an admin can answer "why did I get
this much?" with the same numbers the distribution used. For a closed distribution it then shows
where the collaborator's obligation stands: earned, reviewed, payable from, each fulfillment that
held it and what became of it. Those lines and a program reward's are in the site's timezone; a
period's event lines keep each event's time as the ledger does (UTC), as the first wave printed them
(`tests/fixtures/first_wave` pins that output).
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, tzinfo
from decimal import Decimal

from siren_sync import commissions, history
from siren_sync.app import App, utcnow
from siren_sync.engine.balances import Claim, settle
from siren_sync.errors import UsageError
from siren_sync.ledger import period_records
from siren_sync.model import LEAD, Distribution, Fulfillment, Obligation, Record
from siren_sync.payouts.records import holders
from siren_sync.store.protocol import Store
from siren_sync.tables import DISTRIBUTIONS
from siren_sync.values import iso, iso_in, parse_time


def period_events(store: Store, record: Distribution, collaborator: str) -> Iterator[Record]:
    """The ledger records of `collaborator` that counted in the period of `record`."""
    period = (record.period_start, record.period_end)
    for _, event in period_records(store, record.distributor, period, record.late_buckets):
        if event.get("collaborator") == collaborator:
            yield event


def _records_for(app: App, collaborator: str, distribution_id: str | None) -> list[Distribution]:
    if distribution_id:
        record = history.load(app.store, distribution_id)
        if record is None:
            raise UsageError(f"unknown distribution {distribution_id!r} (see `siren-sync history`)")
        return [record]
    latest = history.latest_with(app.store, collaborator)
    return [latest] if latest is not None else history.standings(app.ledger)


def render(app: App, collaborator: str, distribution_id: str | None) -> str:
    """Text explanation for one collaborator in one distribution (default: their latest)."""
    lines: list[str] = []
    for record in _records_for(app, collaborator, distribution_id):
        lines.extend(_explained(app, record, collaborator))
    return "\n".join(lines)


def _explained(app: App, record: Distribution, collaborator: str) -> list[str]:
    d = app.ledger.distributors.get(record.distributor)
    points = d.points if d else {}
    state = "closed" if app.store.get(DISTRIBUTIONS, record.id) else "open (projected)"
    lines = [f"{record.id} [{state}] {record.name}: {iso(record.period_start)} to {iso(record.period_end)}",
             f"  pool {record.pool} {record.units} from revenue {record.revenue} ({record.resolver})"]
    total = Decimal(0)
    for event in period_events(app.store, record, collaborator):
        qty = int(event.get("quantity", 1))
        value = Decimal(points.get(event["type"], 0)) * qty
        total += value
        late = " late" if record.distributor in event.get("late", ()) else ""
        lines.append(f"  {event['at']}  {event['type']:<24} x{qty:<4} {value:>8} pts  {event['key']}{late}")
    score = next((str(s.score) for s in record.scores if s.collaborator == collaborator), "0")
    mine = next((o for o in record.obligations if o.collaborator == collaborator), None)
    amount = str(mine.amount) if mine else "0"
    note = f" - {mine.note}" if mine and mine.note else ""
    lines.append(f"  score {score} (events above add up to {total}); amount {amount} {record.units}{note}")
    if mine is not None and state == "closed":
        lines.extend(status_history(app.store, record, mine, utcnow(), app.tz))
    return lines


def status_history(store: Store, record: Distribution, obligation: Obligation, now: datetime,
                   tz: tzinfo) -> list[str]:
    """Where the obligation stands and how it got there: earned, the review, payable from, each
    fulfillment that held it (and what became of it); times in the site's timezone `tz`."""
    held = holders(store, obligation.id)
    current = settle(obligation, next((c for _, c in held if c.state != "returned"), None), now)
    lines = [f"  status {current.status}", f"    earned {iso(obligation.earned_at, tz)}"]
    if record.review == "draft":
        lines.append(f"    draft: waits for `siren-sync approve {record.id}`")
    elif record.reviewed_at is not None:
        reason = f": {record.reason}" if record.reason else ""
        lines.append(f"    {record.review} {iso(record.reviewed_at, tz)}{reason}")
    if record.review != "rejected":
        lines.append(f"    payable from {iso(obligation.payable_from, tz)}")
    if obligation.status == "paid":
        paid = iso_in(obligation.paid_at, tz) if obligation.paid_at else ""
        lines.append(f"    paid {paid} (marked by `payouts --mark-paid` before fulfillments)")
    for f, claim in held:
        lines.append(f"    in fulfillment {f.id} as of {iso(f.as_of, tz)}: {_outcome(f, claim, tz)}")
    return lines


def _outcome(f: Fulfillment, claim: Claim, tz: tzinfo) -> str:
    if claim.state == "paid":
        return f"paid {iso(claim.paid_at, tz)}" if claim.paid_at else "paid"
    if claim.state == "processing":
        return "open (processing)"
    if f.status == "cancelled":
        return f"cancelled {iso(f.cancelled_at, tz)}" if f.cancelled_at else "cancelled"
    return f"excepted when it completed {iso(f.completed_at, tz)}: payable again" if f.completed_at else "excepted"


def reward(app: App, collaborator: str, reward_id: str) -> str:
    """A program reward: the order's engagements, which won and why, the amount's arithmetic, what
    refunds took back, and where it stands now (DESIGN section 8). A clawback's id (`history` lists
    it among the rewards) explains the reward it takes back, after a line naming it. Times are
    shown in the site's timezone, as a distribution's are (the store keeps a reward's in UTC)."""
    found = commissions.find(app.store, reward_id)
    if found is None or found.doc["collaborator"] != collaborator:
        raise UsageError(f"{collaborator} has no program reward {reward_id!r} (see `siren-sync history`)")
    ident, doc, tz = found.ident, found.doc, app.tz
    if "of" in doc:
        earned = iso_in(doc["earned_at"], tz)
        return (f"clawback {ident} of reward {doc['of']}: {doc['amount']} {doc['units']}, earned {earned}\n"
                + reward(app, collaborator, doc["of"]))
    return "\n".join(_how(app, ident, doc) + _where(app, ident, doc))


def _how(app: App, ident: str, doc: Record) -> list[str]:
    """How a reward was made: its conversion's engagements, which won and why, the amount."""
    tz = app.tz
    program = app.config.programs.get(doc["program"])
    name = f": {program.name}" if program is not None else " (no longer configured)"
    lead = any(kind == LEAD for kind, _, _ in doc.get("engagements", []))
    kind = "lead" if lead else "order"
    lines = [f"reward {ident} (program {doc['program']}{name}), {kind} {doc['order']}"
             + (f", a renewal of order {doc['renewal_of']}" if doc.get("renewal_of") else ""),
             f"  engagements of the {kind}:"]
    lines += [f"    {at}  {what:<24} {who}" for at, what, who in engagements(doc, tz)]
    if not doc.get("engagements"):
        lines.append("    none of its own (a renewal pays the first order's collaborators)")
    lines.append(f"  won: {prose(doc.get('why', ''), tz)}")
    if lead:  # a lead has no value to count: its program pays a flat bounty for each
        lines.append(f"  amount: {doc.get('arithmetic', '')} (the bounty of each lead)")
    else:
        lines.append(f"  counted value {doc['value']}; amount: {doc.get('arithmetic', '')}")
    lines.append(f"  reward {doc['reward']} {doc['units']}, earned {iso_in(doc['earned_at'], tz)} "
                 f"({'the lead' if lead else 'the payment'})")
    if "share" in doc:  # a share of the order and a royalty merged: its renewals pay both again
        products = ", ".join(map(str, doc["royalty_on"]))
        lines.append(f"    in two parts: a share of the order {doc['share']} + a royalty on the lines of products "
                     f"{products} {Decimal(doc['reward']) - Decimal(doc['share'])}")
    return lines + [f"  {prose(note, tz)}" for note in doc.get("notes", [])]


def _where(app: App, ident: str, doc: Record) -> list[str]:
    """Where a reward stands now: its amount and status, its review, the fulfillments that held it,
    its clawbacks."""
    tz = app.tz
    owed = commissions.obligation_of(ident, doc)
    held = holders(app.store, ident)
    current = settle(owed, next((c for _, c in held if c.state != "returned"), None), utcnow())
    payable = "" if current.status == "rejected" else f", payable from {iso(current.payable_from, tz)}"  # never, else
    lines = [f"  now {current.amount} {current.units}, status {current.status}{payable}"]
    if doc.get("status") == "draft":
        lines.append(f"    draft: waits for `siren-sync approve {ident}`")
    elif doc.get("reviewed_at"):  # `approve` keeps a reason only with a rejection (it requires one)
        reason = f": {doc['reason']}" if "reason" in doc else ""
        lines.append(f"    {'rejected' if reason else 'approved'} {iso_in(doc['reviewed_at'], tz)}{reason}")
    lines += [f"    in fulfillment {f.id} as of {iso(f.as_of, tz)}: {_outcome(f, claim, tz)}" for f, claim in held]
    claws = commissions.clawbacks_of(app.store, ident, doc)
    return lines + [f"  clawback {i}: {d['amount']} {d['units']}, earned {iso_in(d['earned_at'], tz)}"
                    for i, d in sorted(claws.items())]


_AT_A_TIME = re.compile(r"(?<= at )\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d")


def prose(text: str, tz: tzinfo) -> str:
    """A reward's stored words (`why`, a refund's note) with the times they name ("... at <time>",
    written in UTC when the reward was made) in the site's timezone, as every other time shown."""
    return _AT_A_TIME.sub(lambda m: iso_in(m[0], tz), text)


def engagements(doc: Record, tz: tzinfo) -> list[tuple[str, str, str]]:
    """A reward's engagements as shown: (time in the site's timezone, kind, collaborator), oldest first."""
    timed = sorted((parse_time(at), kind, who) for kind, who, at in doc.get("engagements", []))
    return [(iso(at, tz), kind, who) for at, kind, who in timed]
