"""Publishing: each closed distribution goes to the site as one record, exactly once.

The outbox (in the store) holds one entry per distribution. Before posting, the record's
deterministic slug is looked up on the site (`?slug=&status=any&context=edit`): a record the site
already has is never posted again, which covers a crash between the POST and the outbox update.
The attempt is written to the store before the POST (write-ahead, with its real time), so a restart
knows a POST may have happened and looks before it posts. The site may carry that POST out after
the look (its worker was killed while the request waited on a busy host, or the POST got no answer in
time): such a record is looked up again on each turn but not posted again before PUBLISH_SETTLE, and
a POST that still comes back as WordPress's `<slug>-2` copy (the earlier one landed meanwhile) has the
copy deleted. One that lands later still, after the record was posted, becomes a `<slug>-N` copy
nobody was answered with: for a while after a record had more than one POST, its slug and those
variants are looked up once a turn and a copy that is provably the same record is deleted. A site
that refuses (401/403, route missing) leaves the entry queued with the reason, shown by `check` and
the log.

When a fulfillment completes, each distribution it paid asks for a new revision of its record
(`closing.queue_revision`): the posted record is rewritten (`POST <route>/<id>`) with each
obligation's payment and paid date, through the same outbox and with the same retries. A revision
is the whole record as it stands, so a crash that sends it twice leaves the site as once.
"""
from __future__ import annotations

import dataclasses
import html
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from siren_sync.engine.balances import Settling, settle_all
from siren_sync.errors import SyncError
from siren_sync.history import load
from siren_sync.model import Distribution, Obligation, OutboxEntry, Record
from siren_sync.payouts.records import claims
from siren_sync.sources.http import MAX_PER_PAGE, Upstream
from siren_sync.store.protocol import Store
from siren_sync.tables import OUTBOX
from siren_sync.values import iso, parse_time

log = logging.getLogger("siren_sync.publish")

# Seconds a POST whose outcome is unknown (its worker was killed during it, or it got no answer) is
# given to land before the record is posted again: as long as the worker waits for an answer (the
# read timeout), counted from the last moment the POST was known in flight.
PUBLISH_SETTLE = 30.0
# How long after a record's last POST (in PUBLISH_SETTLEs: 10 minutes) a record that had more than
# one POST is looked for `<slug>-N` copies made by one of them carried out late. Web servers give up
# on a PHP request long before (nginx and Apache answer 504 after 60 s by default), though PHP may
# still carry out one that waited in its queue; a POST that lands later still leaves a copy.
COPY_WATCH = 20


@dataclass
class PublishReport:
    posted: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)  # already on the site
    waiting: list[str] = field(default_factory=list)  # an earlier POST of it may still land
    revised: list[str] = field(default_factory=list)  # posted records brought up to date
    failed: dict[str, str] = field(default_factory=dict)


def title_of(record: Distribution, tz: tzinfo) -> str:
    """`<distributor name>: <period start> to <period end>`, in the site's wall time."""
    def local(moment: datetime) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")
    return f"{record.name}: {local(record.period_start)} to {local(record.period_end)}"


def payment_of(record: Distribution, o: Obligation) -> str:
    """What the site shows of an obligation's payment: `paid`, `unpaid`, or `rejected` with its distribution.

    Only what changes when a fulfillment completes is shown (the record is updated then); pending,
    payable and processing are all `unpaid`, so the record never goes stale in between.
    """
    if record.review == "rejected":
        return "rejected"
    return "paid" if o.status == "paid" else "unpaid"


def content_of(record: Distribution, names: dict[str, str]) -> str:
    """An HTML table of collaborator, score, amount and payment (the paid date once paid)."""
    units = html.escape(record.units)
    rows = "".join(
        f"<tr><td>{html.escape(names.get(o.collaborator, o.collaborator))}</td>"
        f"<td>{html.escape(str(o.score))}</td><td>{html.escape(str(o.amount))} {units}</td>"
        f"<td>{_paid_cell(record, o)}</td></tr>"
        for o in record.obligations)
    if not rows:
        rows = '<tr><td colspan="4">Nobody qualified in this period.</td></tr>'
    rejected = (f"<p>Rejected: {html.escape(record.reason)}. Nothing of this distribution is paid.</p>"
                if record.review == "rejected" else "")
    return (f"{rejected}<p>Revenue {html.escape(str(record.revenue))} {units}, "
            f"pool {html.escape(str(record.pool))} {units}.</p>"
            f"<table><thead><tr><th>Collaborator</th><th>Score</th><th>Amount</th><th>Paid</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")


def _paid_cell(record: Distribution, o: Obligation) -> str:
    payment = payment_of(record, o)
    return html.escape(f"paid {o.paid_at}" if payment == "paid" and o.paid_at else payment)


def meta_of(record: Distribution) -> Record:
    """`meta.siren_sync`: the `--json` record of DESIGN section 6, with the review decision and each
    obligation's payment (`status` paid, unpaid or rejected, and `paid_at`)."""
    data = record.public_record()
    data["status"] = record.review
    if record.reason:
        data["reason"] = record.reason
    for row, o in zip(data["obligations"], record.obligations, strict=True):
        row["status"] = payment_of(record, o)
        row["paid_at"] = o.paid_at
    return data


def body_of(record: Distribution, slug: str, status: str, tz: tzinfo, names: dict[str, str]) -> Record:
    """The JSON posted to the route; `meta.siren_sync` is kept where the site registered it."""
    return {"title": title_of(record, tz), "slug": slug, "status": status,
            "content": content_of(record, names),
            "meta": {"siren_sync": json.dumps(meta_of(record), sort_keys=True)}}


def revision_of(record: Distribution, tz: tzinfo, names: dict[str, str]) -> Record:
    """The JSON that brings a posted record up to date (its slug and post status are left as they are)."""
    return {key: value for key, value in body_of(record, "", "", tz, names).items() if key not in ("slug", "status")}


class Publisher:
    """Pushes the outbox to the site through one `sources.http.Upstream` (application password)."""

    def __init__(self, upstream: Upstream, route: str, status: str, tz: tzinfo, names: dict[str, str],
                 now: Callable[[], datetime] | None = None, wall: Callable[[], float] = time.time):
        self.upstream = upstream
        self.route = route.strip("/")
        self.status = status
        self.tz = tz
        self.names = names
        self.now = now or (lambda: datetime.now().astimezone())
        self.wall = wall  # real time, for requests in flight (`now` may be a simulated clock)
        self._meta_checked = False

    def pending(self, store: Store) -> list[OutboxEntry]:
        """Records the site lacks, or lacks the latest revision of."""
        entries = (OutboxEntry.from_record(r) for r in store.table(OUTBOX).values())
        return sorted((e for e in entries if e.waiting), key=lambda e: e.distribution)

    def publish(self, store: Store) -> PublishReport:
        """Post every queued record and revision; stop at the first refusal (the next would fail alike).
        Then look for late copies of the records that had more than one POST lately."""
        report = PublishReport()
        waiting = self.pending(store)
        now = self.now()
        index = claims(store) if waiting else {}
        for entry in waiting:
            record = load(store, entry.distribution)
            if record is None:
                continue  # the outbox only names distributions closing wrote with it
            settled = settle_all(record.obligations, Settling(index, now))
            record = dataclasses.replace(record, obligations=tuple(settled))
            try:
                if entry.status == "posted" and entry.post_id is not None:
                    self._revise(store, entry, record, report)
                else:
                    self._publish_one(store, entry, record, report)
            except SyncError as exc:
                self._failed(store, entry, exc, report)
                break
        if not report.failed:
            self._watch_copies(store, report)
        return report

    def _failed(self, store: Store, entry: OutboxEntry, exc: SyncError, report: PublishReport) -> None:
        """Keep the reason with the entry; its status is what the failure left (`posting` while a POST
        of it may still be carried out by the site)."""
        reason = str(exc)
        report.failed[entry.distribution] = reason
        current = OutboxEntry.from_record(store.get(OUTBOX, entry.distribution) or entry.to_record())
        current = self._update(store, current, last_error=reason)
        if current.status == "posting":
            log.warning("publish %s failed: %s; a POST of it may still be carried out by the site, so it is "
                        "looked up on each turn and not posted again for %.0f s", entry.distribution, reason,
                        PUBLISH_SETTLE)
        else:
            log.warning("publish %s failed, kept queued: %s", entry.distribution, reason)

    def _publish_one(self, store: Store, entry: OutboxEntry, record: Distribution, report: PublishReport) -> None:
        existing = self._lookup(entry.slug)
        if existing is None:
            if self._may_still_land(entry):
                report.waiting.append(entry.distribution)
                return
            entry = self._update(store, entry, status="posting", attempts=entry.attempts + 1,  # write-ahead
                                 attempted_at=self._wall_iso())
            existing = self._post(store, entry, record, report)
            if existing is None:
                return
        entry = self._update(store, entry, status="posted", post_id=existing, last_error=None)
        report.found.append(entry.distribution)
        log.info("record %s already on the site (post %s)", entry.slug, existing)
        if entry.waiting:  # it may hold an older state: bring it up to date
            self._revise(store, entry, record, report)

    def _may_still_land(self, entry: OutboxEntry) -> bool:
        """Whether a POST of this record whose outcome is unknown (`posting`: its worker was killed
        during it, or it got no answer) was last known in flight less than PUBLISH_SETTLE ago: the
        site may carry it out still, so the record is only looked up until then, not posted again."""
        if entry.status != "posting" or entry.attempted_at is None:
            return False
        age = self._age(entry.attempted_at)
        if age >= PUBLISH_SETTLE:
            return False
        log.info("%s: a POST of it, in flight %.0f s ago, may still be carried out by the site; posting it "
                 "again only if it is not there %.0f s after that", entry.slug, age, PUBLISH_SETTLE)
        return True

    def _age(self, moment: str) -> float:
        """Real seconds since `moment` (an outbox time)."""
        return self.wall() - parse_time(moment).timestamp()

    def _wall_iso(self) -> str:
        return iso(datetime.fromtimestamp(self.wall(), UTC))

    def _post(self, store: Store, entry: OutboxEntry, record: Distribution, report: PublishReport) -> Any:
        """POST the record; None when it is the site's record now, or the id of the record the site
        already had when the site answered with a copy (deleted).

        A POST that failed without a refusal (no answer in time, the connection cut after sending, a
        5xx, a garbled answer) may have made the post, now or later: the record stays `posting`, as a
        killed worker leaves it, with `attempted_at` moved to the failure (the last moment the POST
        was known in flight). A refused one (4xx) or one never sent (connect timeout) made nothing."""
        try:
            data, _ = self.upstream.request("POST", self.route,
                                            json_body=body_of(record, entry.slug, self.status, self.tz, self.names))
        except SyncError as exc:
            if exc.code == "connect-timeout" or (exc.status is not None and 400 <= exc.status < 500):
                self._update(store, entry, status="queued")
            else:
                self._update(store, entry, attempted_at=self._wall_iso())
            raise
        post_id = data.get("id") if isinstance(data, dict) else None
        given = data.get("slug") if isinstance(data, dict) else None
        if isinstance(given, str) and given != entry.slug:
            earlier = self._earlier_than_copy(entry, post_id, given)
            if earlier is not None:
                return earlier
        self._update(store, entry, status="posted", post_id=post_id, last_error=None, posted_at=iso(self.now()),
                     revised=entry.revision)
        self._check_meta(data, post_id)
        report.posted.append(entry.distribution)
        log.info("published %s as post %s", entry.slug, post_id,
                 extra={"fields": {"event": "publish", "distribution": entry.distribution, "post": post_id}})
        return None

    def _earlier_than_copy(self, entry: OutboxEntry, post_id: Any, given: str) -> Any:
        """The site answered our POST under another slug. WordPress does that (`-2`, `-3`...) when a
        post already holds the slug: an earlier POST of this record (a worker killed during it, or
        one that timed out) was carried out after the lookup. Delete the copy just made and return
        the earlier record's id. None when nothing holds our slug (a site filter rewrote it): the
        post is no copy and stays the record."""
        earlier = self._lookup(entry.slug)
        if earlier is None or earlier == post_id:
            log.warning("the site saved record %s under the slug %s (post %s)", entry.slug, given, post_id)
            return None
        self._delete_copy(entry, earlier, post_id, given)
        return earlier

    def _delete_copy(self, entry: OutboxEntry, record: Any, post_id: Any, slug: str) -> None:
        """Delete a copy of our record (for good, not to the trash), saying which; a refusal names it
        for the site owner."""
        copy = f"{slug} (post {post_id})"
        try:
            self.upstream.request("DELETE", f"{self.route}/{post_id}", params={"force": "true"})
        except SyncError as exc:
            if exc.status != 404:  # 404: gone already (a retried DELETE whose first try was carried out)
                raise SyncError(f"the site holds {entry.slug} (post {record}) and a copy {copy}, "
                                f"which could not be deleted: delete it on the site ({exc})") from None
        log.warning("record %s is on the site (post %s); a POST of it carried out late made the copy %s, "
                    "which was deleted", entry.slug, record, copy,
                    extra={"fields": {"event": "publish_copy_deleted", "distribution": entry.distribution,
                                      "post": record, "copy": post_id}})

    def _watch_copies(self, store: Store, report: PublishReport) -> None:
        """Delete the late copies of the records watched (`_watched`): one GET each, a DELETE per copy.
        A failure stops the watch for this turn (the next turn looks again)."""
        for entry in self._watched(store):
            try:
                self._delete_copies(entry)
            except SyncError as exc:
                report.failed[entry.distribution] = str(exc)
                log.warning("looking for copies of %s failed: %s", entry.slug, exc)
                return

    def _watched(self, store: Store) -> list[OutboxEntry]:
        """Posted records that had more than one POST (so a copy may be made by one carried out
        late), the last less than COPY_WATCH settles ago. A record whose every POST was answered
        has one attempt and costs no request."""
        entries = (OutboxEntry.from_record(r) for r in store.table(OUTBOX).values())
        return sorted((e for e in entries if e.status == "posted" and e.post_id is not None and e.attempts > 1
                       and e.attempted_at is not None and self._age(e.attempted_at) < PUBLISH_SETTLE * COPY_WATCH),
                      key=lambda e: e.distribution)

    def _delete_copies(self, entry: OutboxEntry) -> None:
        """Look the record's slug and its `-2`...`-<attempts>` variants up at once (each POST of it
        can make one copy; WordPress gives a copy the lowest free suffix) and delete every variant
        that is provably a copy of the record (`_same_record`); any other is left alone, with a
        warning."""
        variants = [f"{entry.slug}-{n}" for n in range(2, min(entry.attempts, MAX_PER_PAGE - 1) + 1)]
        found = self.upstream.get_json(self.route, {"slug": ",".join([entry.slug, *variants]), "status": "any",
                                                    "context": "edit", "per_page": MAX_PER_PAGE})
        items = [i for i in found if isinstance(i, dict)] if isinstance(found, list) else []
        held = next((i for i in items if i.get("slug") == entry.slug and i.get("id") == entry.post_id), None)
        if held is None:
            return  # the record is not where it was posted (deleted by hand?): nothing to compare with
        for item in items:
            if item.get("slug") not in variants or item.get("id") == entry.post_id:
                continue
            if self._same_record(entry, item, held):
                self._delete_copy(entry, entry.post_id, item.get("id"), str(item["slug"]))
            else:
                log.warning("post %s (%s) is not provably a copy of record %s (post %s): left alone",
                            item.get("id"), item.get("slug"), entry.slug, entry.post_id)

    def _same_record(self, entry: OutboxEntry, item: Record, held: Record) -> bool:
        """Whether a `<slug>-N` post is a copy of our record `held`: posted with our status by the same
        user, with the same title, and `meta.siren_sync` naming the same distribution (or, on a site
        that does not keep the meta, the same content). A post someone edited or made is not."""
        if item.get("status") != self.status or item.get("author") != held.get("author"):
            return False
        title = _raw(item, "title")
        if title is None or title != _raw(held, "title"):
            return False
        meta = item.get("meta")
        text = meta.get("siren_sync") if isinstance(meta, dict) else None
        if isinstance(text, str) and text:
            try:
                named = json.loads(text)
            except ValueError:
                return False
            return isinstance(named, dict) and named.get("id") == entry.distribution
        content = _raw(item, "content")
        return content is not None and content == _raw(held, "content")

    def _revise(self, store: Store, entry: OutboxEntry, record: Distribution, report: PublishReport) -> None:
        """Rewrite a posted record as it stands now (payments made since); sending it twice changes
        nothing more than sending it once."""
        wanted = entry.revision
        try:
            self.upstream.request("POST", f"{self.route}/{entry.post_id}",
                                  json_body=revision_of(record, self.tz, self.names))
        except SyncError as exc:
            if exc.status == 404:  # deleted on the site: looked up by slug (or posted again) next time
                self._update(store, entry, status="queued", post_id=None)
            raise
        self._update(store, entry, revised=wanted, last_error=None)
        report.revised.append(entry.distribution)
        log.info("updated %s (post %s): revision %s", entry.slug, entry.post_id, wanted,
                 extra={"fields": {"event": "publish_revision", "distribution": entry.distribution,
                                   "post": entry.post_id}})

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


def _raw(item: Record, name: str) -> str | None:
    """A rendered field's raw text (`context=edit`), None when the site gives none."""
    value = item.get(name)
    raw = value.get("raw") if isinstance(value, dict) else None
    return raw if isinstance(raw, str) else None
