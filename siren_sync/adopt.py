"""`siren-sync store adopt`: the site's records read back as the closed distributions a lost store had.

Each record (found by `lost_store.site_records`) becomes a `Distribution`:

- from `meta.siren_sync`, the distribution as JSON (DESIGN section 6's `--json` shape), when the
  site registered that meta for REST (the publisher says so in its log when it did not): exact;
- else from what the post itself shows: the distributor and the period end from the slug, the
  period start from the title (the site's wall time, to the minute; the previous record's end
  when they agree), revenue and pool from the first paragraph, and one obligation per row of
  the table, the collaborator found by the name shown (a name two collaborators share, or one the
  config does not know, stops the adoption: nothing is guessed).

What a record does not hold is not invented: an adopted distribution has no carry (a deficit or
an unspent pool carried by the lost store is not carried on), no event counts, and the scores of
those who were not paid are unknown. `closing.adopt` writes them all in one transaction.
"""
from __future__ import annotations

import dataclasses
import html
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from siren_sync.engine.closing import distribution_id
from siren_sync.errors import SirenSyncError
from siren_sync.lost_store import SiteRecord
from siren_sync.model import Collaborator, Distribution, Distributor, Obligation, Standing
from siren_sync.values import localize, parse_time

_TITLE = re.compile(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}) to (\d{4}-\d{2}-\d{2} \d{2}:\d{2})\s*$")
_AMOUNTS = re.compile(r"Revenue (-?\d+(?:\.\d+)?) .*?, pool (-?\d+(?:\.\d+)?) ")
_ROW = re.compile(r"<tr><td>(.*?)</td><td>(.*?)</td><td>(-?\d+(?:\.\d+)?) [^<]*</td>(?:<td>([^<]*)</td>)?</tr>")
_REJECTED = re.compile(r"^<p>Rejected: (.*?)\. Nothing of this distribution is paid\.</p>")
Row = tuple[str, Decimal, Decimal, str]  # collaborator, score, amount, payment as the record shows it


class AdoptError(SirenSyncError):
    """A site record that cannot be read back as a distribution (nothing is adopted)."""


@dataclass(frozen=True)
class Adopted:
    """A distribution read back from a site record, with where it came from."""

    distribution: Distribution
    record: SiteRecord
    source: str  # "meta" or "content"


def read_records(records: list[SiteRecord], distributors: Mapping[str, Distributor],
                 collaborators: Mapping[str, Collaborator], tz: tzinfo) -> list[Adopted]:
    """Every record as a distribution, oldest period first; AdoptError listing every record that
    cannot be read (none is adopted then)."""
    names = _names(collaborators)
    adopted: list[Adopted] = []
    problems: list[str] = []
    last_end: dict[str, datetime] = {}
    for record in records:
        try:
            made = _read(record, distributors[record.distributor], names, tz, last_end.get(record.distributor))
        except (AdoptError, ValueError, InvalidOperation, KeyError, TypeError) as exc:
            problems.append(f"{record.slug} (post {record.post_id}): {exc}")
            continue
        last_end[record.distributor] = made.distribution.period_end
        adopted.append(made)
    if problems:
        raise AdoptError("cannot adopt the site's records, nothing was written: " + "; ".join(problems))
    return adopted


def _names(collaborators: Mapping[str, Collaborator]) -> dict[str, set[str]]:
    """Collaborator ids by the name a record shows (the publisher shows the name, or the id)."""
    names: dict[str, set[str]] = {}
    for c in collaborators.values():
        names.setdefault(c.name or c.id, set()).add(c.id)
    return names


def _read(record: SiteRecord, d: Distributor, names: dict[str, set[str]], tz: tzinfo,
          previous_end: datetime | None) -> Adopted:
    end = datetime.strptime(record.end, "%Y%m%dt%H%M%S" if len(record.end) == 15 else "%Y%m%dt%H%M")
    end = end.replace(tzinfo=UTC).astimezone(tz)  # periods are written in the site's time, as closing does
    closed_at = parse_time(record.date_gmt, naive=UTC) if record.date_gmt else end
    if record.meta:
        return Adopted(_from_meta(record, d, end, closed_at, tz), record, "meta")
    return Adopted(_from_content(record, d, end, closed_at, names, tz, previous_end), record, "content")


def _from_meta(record: SiteRecord, d: Distributor, end: datetime, closed_at: datetime, tz: tzinfo) -> Distribution:
    data = json.loads(record.meta)
    if not isinstance(data, dict) or data.get("distributor") != d.key:
        raise AdoptError(f"meta.siren_sync is not a distribution of {d.key}")
    if parse_time(data["period_end"]) != end:
        raise AdoptError(f"meta.siren_sync ends at {data['period_end']}, the slug at {end.isoformat()}")
    rows = [(str(o["collaborator"]), Decimal(o["score"]), Decimal(o["amount"]),
             _payment(o.get("status"), o.get("paid_at"))) for o in data["obligations"]]
    made = _distribution(d, parse_time(data["period_start"]).astimezone(tz), end, Decimal(data["revenue"]),
                         Decimal(data["pool"]), rows, closed_at)
    return _reviewed(made, str(data.get("status") or "approved"), str(data.get("reason") or ""))


def _from_content(record: SiteRecord, d: Distributor, end: datetime, closed_at: datetime,
                  names: dict[str, set[str]], tz: tzinfo, previous_end: datetime | None) -> Distribution:
    title = _TITLE.search(html.unescape(record.title))
    amounts = _AMOUNTS.search(html.unescape(record.content))
    if title is None or amounts is None:
        raise AdoptError("neither meta.siren_sync nor a title and content as siren-sync posts them")
    start = localize(datetime.strptime(title.group(1), "%Y-%m-%d %H:%M"), tz)
    if previous_end is not None and abs((previous_end - start).total_seconds()) < 60:
        start = previous_end  # the title shows minutes; the periods of a distributor follow each other
    rows = [(_who(html.unescape(name), names), Decimal(html.unescape(score)), Decimal(amount),
             _payment(*html.unescape(paid).partition(" ")[::2]))
            for name, score, amount, paid in _ROW.findall(record.content)]
    made = _distribution(d, start, end, Decimal(amounts.group(1)), Decimal(amounts.group(2)), rows, closed_at)
    rejected = _REJECTED.match(record.content)
    return _reviewed(made, "rejected", html.unescape(rejected.group(1))) if rejected else made


def _payment(status: Any, paid_at: Any) -> str:
    """What the record says of one obligation's payment: `paid <time>`, `rejected`, `unpaid`, or ""
    (a record written before payments were shown)."""
    if status == "paid":
        return f"paid {paid_at}" if paid_at else "paid"
    return str(status) if status in ("rejected", "unpaid") else ""


def _reviewed(made: Distribution, review: str, reason: str) -> Distribution:
    """A rejected record stays rejected: nothing of it is ever paid."""
    if review != "rejected":
        return made
    return dataclasses.replace(made, review="rejected", reason=reason,
                               obligations=tuple(o._replace(status="rejected") for o in made.obligations))


def _who(name: str, names: dict[str, set[str]]) -> str:
    ids = names.get(name, set())
    if len(ids) != 1:
        raise AdoptError(f"the record names {name!r}, which is " + (
            f"the name of {len(ids)} collaborators ({', '.join(sorted(ids))})" if ids else
            "no collaborator of the config") + " (register meta.siren_sync, or give collaborators unique names)")
    return next(iter(ids))


def _distribution(d: Distributor, start: datetime, end: datetime, revenue: Decimal, pool: Decimal,
                  rows: list[Row], closed_at: datetime) -> Distribution:
    if not start < end:
        raise AdoptError(f"its period starts at {start.isoformat()}, not before its end {end.isoformat()}")
    paid = sum((amount for _, _, amount, _ in rows), Decimal(0))
    dist_id = distribution_id(d.key, end)
    obligations = tuple(_obligation(dist_id, d, end, row) for row in rows)
    return Distribution(
        id=dist_id, distributor=d.key, name=d.name, resolver=d.resolver, period_start=start, period_end=end,
        units=d.units, revenue=revenue, pool=pool, unspent=max(pool - paid, Decimal(0)), carried_in={},
        carry_out={}, events=0, late_events=0, late_buckets=(), other_currency={},
        scores=tuple(Standing(who, score) for who, score, _, _ in rows), obligations=obligations, closed_at=closed_at)


def _obligation(dist_id: str, d: Distributor, end: datetime, row: Row) -> Obligation:
    """One obligation as the record shows it: `paid` (with its time), `rejected`, or `pending`
    (unpaid, or not said: `store adopt` decides, see `closing.adopt`)."""
    who, score, amount, payment = row
    status, _, paid_at = payment.partition(" ")
    if status in ("paid", "rejected"):
        return Obligation(dist_id, who, amount, d.units, score, end, status=status, paid_at=paid_at or None)
    return Obligation(dist_id, who, amount, d.units, score, end)


def summary(adopted: list[Adopted]) -> dict[str, Any]:
    """Per distributor: how many were adopted, from meta or content, and the last period's end."""
    out: dict[str, Any] = {}
    for item in adopted:
        d = item.distribution
        row = out.setdefault(d.distributor, {"count": 0, "from_content": 0, "last_end": d.period_end})
        row["count"] += 1
        row["from_content"] += item.source == "content"
        row["last_end"] = max(row["last_end"], d.period_end)
    return out
