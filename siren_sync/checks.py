"""`siren-sync check`: what an admin needs to see before trusting the worker with money.

The config summary, the next three trigger times of every distributor, the store's state, the
records quarantined by syncs, the publish queue, the lost-store guard (a store with no
distributions on a site that already holds siren-sync records), and (when sources are enabled)
whether each upstream is reachable and accepts our credentials. Exit 1 when something needs
attention.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from siren_sync import commissions, lost_store
from siren_sync.app import App, open_app, utcnow
from siren_sync.config import Config
from siren_sync.engine.commissions import reward_text
from siren_sync.errors import SirenSyncError
from siren_sync.first_hour import FirstHour
from siren_sync.history import summaries
from siren_sync.ledger import TOTALS, aggregate_problem
from siren_sync.model import Distributor, OutboxEntry, Program
from siren_sync.sources.registry import build_sources, wp_upstream
from siren_sync.tables import OUTBOX, QUARANTINE, aggregate_table
from siren_sync.values import iso

Row = tuple[str, bool, str]  # (what, ok, detail)


def _print_rows(title: str, rows: Iterable[Row]) -> bool:
    """Print (what, ok, detail) rows; True when all are ok."""
    print(title)
    healthy = True
    for what, ok, detail in rows:
        healthy &= ok
        print(f"  [{'ok' if ok else 'FAIL'}] {what}: {detail}")
    return healthy


def source_rows(config: Config, app: App) -> list[Row]:
    """Probe every enabled source: reachable, authenticated, and what it found."""
    rows: list[Row] = []
    try:
        sources = build_sources(config, app)
    except SirenSyncError as exc:
        return [("sources", False, str(exc))]
    for source in sources:
        try:
            rows.extend((what if what.startswith(source.name) else f"{source.name}: {what}", ok, detail)
                        for what, ok, detail in source.check())
        except SirenSyncError as exc:
            rows.append((source.name, False, str(exc)))
    return rows


def _other_currency(app: App, key: str) -> dict[str, int]:
    """Sales in another currency than the distributor's units, open period and history together."""
    counts: dict[str, int] = {}
    records = [r.get("other_currency", {}) for r in summaries(app.store, key)]
    open_totals = app.store.get(aggregate_table(key, app.ledger.open_period(key)[0]), TOTALS) or {}
    for found in records + [open_totals.get("other_currency", {})]:
        for currency, n in found.items():
            counts[currency] = counts.get(currency, 0) + n
    return counts


def _print_distributor(app: App, key: str, d: Distributor, first_hour: FirstHour) -> None:
    start, end = app.ledger.open_period(key)
    triggers = app.ledger.calendar(key).next_triggers(max(utcnow(), start), 3)
    status = "" if d.active else " [inactive: tracked, never triggered]"
    print(f"distributor {key}: {d.name} ({d.resolver}, {d.revenue_percentage}% of revenue in {d.units}){status}")
    print(f"  open period {iso(start)} to {iso(end)}; schedule {list(d.schedule)}")
    print("  next triggers: " + ", ".join(iso(t) for t in triggers))
    _print_skipped(d.units, _other_currency(app, key))
    for line in first_hour.lines(key) + _uncomputable(app, key, start, end):
        print(f"  note: {line}")


def _print_program(p: Program, skipped: dict[str, int]) -> None:
    reward = reward_text(p)
    members = "all" if p.members is None else f"{len(p.members)} members"
    status = "" if p.active else " [inactive: earns nothing]"
    if p.conversion == "lead":
        print(f"program {p.key}: {p.name} ({reward} per lead, {members}){status}")
        return
    renewals = {None: "every renewal", 0: "no renewals"}.get(p.renewals, f"{p.renewals} renewals")
    group = f", group {p.group} ({p.group_structure})" if p.group else ""
    print(f"program {p.key}: {p.name} ({reward} in {p.units}, {p.structure}, {', '.join(p.engagements)}, "
          f"window {_span(p.window)}, {members}, {renewals}, clawback {'on' if p.clawback else 'off'}{group}){status}")
    _print_skipped(p.units, skipped)


def _print_skipped(units: str, skipped: dict[str, int]) -> None:
    """The sales a distributor or a program counted nothing for: their currency is not its units."""
    if skipped:
        print(f"  counted nothing (not {units}): " + ", ".join(f"{n} sales in {c}" for c, n in skipped.items()))


def _span(span: timedelta) -> str:
    """A window as the config spells it: `30 days`, or hours and less as `1:30:00`."""
    if span.seconds or span.microseconds or not span.days:
        return str(span)
    return f"{span.days} day{'' if span.days == 1 else 's'}"


def _print_rewards(app: App) -> None:
    """What programs owe that needs a look: rewards waiting for review, and what refunds after
    payment left with collaborators because their program says `clawback: false`."""
    docs = commissions.documents(app.store)  # every month's table, read once for both
    drafts = sorted(ident for ident, doc in docs.items() if doc.get("status") == "draft")
    if drafts:
        print(f"program rewards waiting for review: {len(drafts)} (siren-sync approve ID): {', '.join(drafts[:20])}")
    for units, amount in sorted(commissions.left_alone(docs).items()):
        print(f"refunded after payment and left with collaborators (clawback: false): {amount} {units}")


def _uncomputable(app: App, key: str, start: datetime, end: datetime) -> list[str]:
    """Records of the open period a close cannot compute (they are quarantined when it closes)."""
    aggregate, _ = app.ledger.period_aggregate(key, start, end)
    if aggregate_problem(aggregate) is None:
        return []
    projected = app.ledger.project(key, start, end, app.ledger.period_state(key).get("carry", {}))
    return [f"{item['where']}: {item['reason']} (quarantined when the period closes)" for item in projected.set_aside]


def _print_store(app: App) -> bool:
    """Quarantined records and the publish queue; False when a record is refused by the site."""
    quarantined = app.store.table(QUARANTINE)
    print(f"quarantined records: {len(quarantined)}")
    for key, item in sorted(quarantined.items())[:50]:
        print(f"  {item.get('where', key)}: {item.get('reason')}")
    outbox = app.store.table(OUTBOX)
    waiting = [o for o in outbox.values() if OutboxEntry.from_record(o).waiting]  # a record, or its update
    print(f"publish queue: {len(waiting)} waiting of {len(outbox)}")
    refused = [item for item in waiting if item.get("last_error")]
    for item in refused:
        print(f"  {item['distribution']}: {item['last_error']}")
    drafts = [r["id"] for r in summaries(app.store) if r.get("review") == "draft"]
    if drafts:
        print(f"waiting for review: {len(drafts)} distributions (siren-sync approve ID): {', '.join(drafts)}")
    return not refused


def guard_rows(config: Config, app: App) -> list[Row]:
    """The lost-store guard as the worker will see it (it asks the site while nothing is closed)."""
    try:
        stop = lost_store.guard(config, app.store)
    except SirenSyncError as exc:
        return [("lost-store guard", False, f"cannot ask the site whether it holds siren-sync records: {exc}")]
    if stop is not None:
        return [("lost-store guard", False, stop)]
    if lost_store.has_distributions(app.store):
        detail = "the store holds the distributions it closed"
    elif wp_upstream(config, "publish") is None:
        detail = "nothing to check: without site.wordpress credentials nothing is published"
    else:
        detail = "the site holds no siren-sync records yet"
    return [("lost-store guard", True, detail)]


def run(config: Config, probe_sources: bool = True, fetch_timezone: Callable[[], str] | None = None) -> int:
    """Print the report; exit status 1 when something needs attention."""
    programs = f", {len(config.programs)} programs" if config.programs else ""
    print(f"config {config.path}: {len(config.collaborators)} collaborators, "
          f"{len(config.distributors)} distributors{programs}, store {config.store.describe()}")
    for warning in config.warnings:
        print(f"  warning: {warning}")
    with open_app(config, readonly=True, fetch_timezone=fetch_timezone) as app:
        print(f"site {config.site.url} (timezone {getattr(app.tz, 'key', app.tz)})")
        first_hour = FirstHour(app.ledger)
        for key, d in app.ledger.distributors.items():
            _print_distributor(app, key, d, first_hour)
        skipped = commissions.other_currency_counts(app.store) if config.programs else {}
        for key, program in config.programs.items():
            _print_program(program, skipped.get(key, {}))
        _print_rewards(app)
        healthy = _print_store(app)
        guard = guard_rows(config, app) if probe_sources else []
        rows = source_rows(config, app) if probe_sources else []
    if guard:
        healthy &= _print_rows("store:", guard)
    if rows:
        healthy &= _print_rows("sources:", rows)
    return 0 if healthy else 1
