"""Publishing: each closed distribution goes to the site as one record, exactly once.

The outbox (in the store) holds one entry per distribution. Before posting, the record's
deterministic slug is looked up on the site (`?slug=&status=any&context=edit`): a record the site
already has is never posted again, which covers a crash between the POST and the outbox update.
The attempt is written to the store before the POST (write-ahead), so a restart knows a POST may
have happened and looks before it posts. A site that refuses (401/403, route missing) leaves the
entry queued with the reason, shown by `check` and the log.
"""
from __future__ import annotations

import dataclasses
import html
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from siren_sync.errors import SyncError
from siren_sync.history import load
from siren_sync.model import Distribution, OutboxEntry, Record
from siren_sync.sources.http import Upstream
from siren_sync.store.protocol import Store
from siren_sync.tables import OUTBOX
from siren_sync.values import iso

log = logging.getLogger("siren_sync.publish")


@dataclass
class PublishReport:
    posted: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)  # already on the site
    failed: dict[str, str] = field(default_factory=dict)


def title_of(record: Distribution, tz: tzinfo) -> str:
    """`<distributor name>: <period start> to <period end>`, in the site's wall time."""
    def local(moment: datetime) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    return f"{record.name}: {local(record.period_start)} to {local(record.period_end)}"


def content_of(record: Distribution, names: dict[str, str]) -> str:
    """An HTML table of collaborator, score and amount."""
    units = html.escape(record.units)
    rows = "".join(
        f"<tr><td>{html.escape(names.get(o.collaborator, o.collaborator))}</td>"
        f"<td>{html.escape(str(o.score))}</td><td>{html.escape(str(o.amount))} {units}</td></tr>"
        for o in record.obligations)
    if not rows:
        rows = '<tr><td colspan="3">Nobody qualified in this period.</td></tr>'
    return (f"<p>Revenue {html.escape(str(record.revenue))} {units}, "
            f"pool {html.escape(str(record.pool))} {units}.</p>"
            f"<table><thead><tr><th>Collaborator</th><th>Score</th><th>Amount</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def body_of(record: Distribution, slug: str, status: str, tz: tzinfo, names: dict[str, str]) -> Record:
    """The JSON posted to the route; `meta.siren_sync` is kept where the site registered it."""
    return {"title": title_of(record, tz), "slug": slug, "status": status,
            "content": content_of(record, names),
            "meta": {"siren_sync": json.dumps(record.public_record(), sort_keys=True)}}


class Publisher:
    """Pushes the outbox to the site through one `sources.http.Upstream` (application password)."""

    def __init__(self, upstream: Upstream, route: str, status: str, tz: tzinfo, names: dict[str, str],
                 now: Callable[[], datetime] | None = None):
        self.upstream = upstream
        self.route = route.strip("/")
        self.status = status
        self.tz = tz
        self.names = names
        self.now = now or (lambda: datetime.now().astimezone())
        self._meta_checked = False

    def pending(self, store: Store) -> list[OutboxEntry]:
        entries = (OutboxEntry.from_record(r) for r in store.table(OUTBOX).values())
        return sorted((e for e in entries if e.status != "posted"), key=lambda e: e.distribution)

    def publish(self, store: Store) -> PublishReport:
        """Post every queued record; stop at the first refusal (the next ones would fail alike)."""
        report = PublishReport()
        for entry in self.pending(store):
            record = load(store, entry.distribution)
            if record is None:
                continue  # the outbox only names distributions closing wrote with it
            try:
                self._publish_one(store, entry, record, report)
            except SyncError as exc:
                reason = str(exc)
                report.failed[entry.distribution] = reason
                self._update(store, entry, status="queued", last_error=reason)
                log.warning("publish %s failed, kept queued: %s", entry.distribution, reason)
                break
        return report

    def _publish_one(self, store: Store, entry: OutboxEntry, record: Distribution, report: PublishReport) -> None:
        existing = self._lookup(entry.slug)
        if existing is not None:
            self._update(store, entry, status="posted", post_id=existing, last_error=None)
            report.found.append(entry.distribution)
            log.info("record %s already on the site (post %s)", entry.slug, existing)
            return
        entry = self._update(store, entry, status="posting", attempts=entry.attempts + 1)
        data, _ = self.upstream.request("POST", self.route,
                                        json_body=body_of(record, entry.slug, self.status, self.tz, self.names))
        post_id = data.get("id") if isinstance(data, dict) else None
        self._update(store, entry, status="posted", post_id=post_id, last_error=None, posted_at=iso(self.now()))
        self._check_meta(data, post_id)
        report.posted.append(entry.distribution)
        log.info("published %s as post %s", entry.slug, post_id,
                 extra={"fields": {"event": "publish", "distribution": entry.distribution, "post": post_id}})

    def _check_meta(self, data: Any, post_id: Any) -> None:
        """WordPress drops, without an error, a meta key the site has not registered for REST: say so
        once per run (the post's content still holds the table)."""
        if self._meta_checked or not isinstance(data, dict):
            return
        self._meta_checked = True
        meta = data.get("meta")
        if not isinstance(meta, dict) or "siren_sync" not in meta:
            log.warning("the site did not keep meta.siren_sync on post %s (the machine-readable record): "
                        "register it on the site with register_post_meta(%s, 'siren_sync', "
                        "['show_in_rest' => true, 'single' => true, 'type' => 'string'])",
                        post_id, "'post'" if self.route == "wp/v2/posts" else f"<the post type of {self.route}>")

    def _lookup(self, slug: str) -> Any:
        """The id of the site's record with this slug (any status but trash), or None."""
        found = self.upstream.get_json(self.route, {"slug": slug, "status": "any", "context": "edit"})
        if isinstance(found, list):
            for item in found:
                if isinstance(item, dict) and item.get("slug") == slug:
                    return item.get("id")
        return None

    @staticmethod
    def _update(store: Store, entry: OutboxEntry, **changes: Any) -> OutboxEntry:
        updated = dataclasses.replace(entry, **changes)
        with store.transaction() as tx:
            tx.put(OUTBOX, entry.distribution, updated.to_record())
        return updated
