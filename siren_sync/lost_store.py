"""The lost-store guard and `store adopt`: a store lost with its disk never makes anyone paid twice.

On a hosting platform whose disk is ephemeral, a restart or a deploy loses a TinyDB file. A worker
started on the empty store would sync everything again and close the very periods it closed
before: every collaborator paid twice. The site still holds what was closed: one record per
distribution (DESIGN section 3), with a deterministic slug `siren-sync-<distributor>-<period end>`.

- `site_records` finds them: the records of the configured distributors on the publish route
  (private ones too, so it needs the WordPress application password). The REST API cannot list
  slugs by prefix, so it searches for "pool" (every record's content says "pool") and keeps the
  slugs of the configured distributors.
- `problem` is the guard: a store with no distributions on a site that holds such records is a
  lost (or wrong) store. The worker then syncs and closes nothing, `distribute` refuses, and
  `check` fails, each with the same one-line explanation, until `siren-sync store adopt` (or the
  right `store:`) is given.
- `adopt` (in `adopt.py`) takes the records as closed distributions.
"""
from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from siren_sync.config import Config
from siren_sync.errors import SyncError
from siren_sync.sources.http import Upstream
from siren_sync.sources.registry import wp_upstream
from siren_sync.store.protocol import Store
from siren_sync.tables import DISTRIBUTIONS

log = logging.getLogger("siren_sync.lost_store")

SEARCH = "pool"  # a word in every record's content ("Revenue ... USD, pool ... USD.")
MAX_PAGES = 50  # 5,000 search results: far more than the records of years of daily periods


@dataclass(frozen=True)
class SiteRecord:
    """One siren-sync record found on the site: its post, slug, distributor and what it says."""

    post_id: int
    slug: str
    distributor: str
    end: str  # the period end as the slug spells it (UTC, `YYYYMMDDTHHMM[SS]`)
    title: str
    content: str
    meta: str  # `meta.siren_sync` (the distribution as JSON), "" where the site does not keep it
    date_gmt: str


def _text(field: Any) -> str:
    """A post field as the REST API gives it: `{"raw": ..., "rendered": ...}` (raw with context=edit)."""
    if isinstance(field, dict):
        return str(field.get("raw", field.get("rendered", "")) or "")
    return str(field or "")


def _slug_pattern(keys: Iterable[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(key.lower()) for key in sorted(keys, key=len, reverse=True))
    return re.compile(rf"siren-sync-({alternatives})-(\d{{8}}t\d{{4}}(?:\d{{2}})?)")


def site_records(upstream: Upstream, route: str, distributors: Iterable[str],
                 complete: bool = False) -> list[SiteRecord]:
    """The site's siren-sync records of `distributors` (keys), oldest period first.

    The search reads the newest posts first: a lost store's records are among the newest matches
    (siren-sync posts one a period), so the guard finds them even on a blog with thousands of
    posts saying "pool". Past `MAX_PAGES` it stops; with `complete` (adopting, which needs every
    record) that is a SyncError rather than a partial answer. Raises SyncError when the site
    cannot be asked; the caller decides what that stops.
    """
    keys = {key.lower(): key for key in distributors}
    if not keys:
        return []
    pattern = _slug_pattern(keys)
    found: dict[str, SiteRecord] = {}
    params = {"search": SEARCH, "status": "any", "context": "edit", "orderby": "id", "order": "desc"}
    for page in upstream.pages(route.strip("/"), params):
        for item in page.items:
            record = _record(item, pattern, keys)
            if record is not None:
                found.setdefault(record.slug, record)
        if page.number >= MAX_PAGES:
            if complete:
                raise SyncError(f"{route}: more than {MAX_PAGES} pages of posts match {SEARCH!r}: cannot be sure "
                                "to find every siren-sync record, nothing is adopted")
            log.warning("looking for siren-sync records: stopped after %d pages of posts, the newest", MAX_PAGES)
            break
    return sorted(found.values(), key=lambda r: (r.end, r.distributor))


def _record(item: Any, pattern: re.Pattern[str], keys: dict[str, str]) -> SiteRecord | None:
    if not isinstance(item, dict) or not isinstance(item.get("slug"), str):
        return None
    matched = pattern.fullmatch(item["slug"])
    if matched is None or not isinstance(item.get("id"), int):
        return None
    meta = item["meta"] if isinstance(item.get("meta"), dict) else {}
    return SiteRecord(post_id=item["id"], slug=item["slug"], distributor=keys[matched.group(1)],
                      end=matched.group(2), title=_text(item.get("title")), content=_text(item.get("content")),
                      meta=str(meta.get("siren_sync") or ""), date_gmt=str(item.get("date_gmt") or ""))


def has_distributions(store: Store) -> bool:
    """Whether the store has closed anything (then it is not a lost store, whatever the site holds)."""
    return bool(store.table(DISTRIBUTIONS))


def problem(store_location: str, records: list[SiteRecord]) -> str:
    """The one line a platform user reads when the guard stops closing (records is not empty)."""
    keys = sorted({r.distributor for r in records})
    return (f"store {store_location} holds no distributions, but the site already holds {len(records)} "
            f"siren-sync record(s) of {', '.join(keys)} (latest {records[-1].slug}): this store is not the "
            f"one that closed them (a lost disk, a new database?). Closing again would pay those periods "
            f"twice, so nothing is synced or closed: run `siren-sync store adopt` to continue after them "
            f"(see the README, \"Running on a hosting platform\"), or point store: at the store that closed them")


def guard(config: Config, store: Store) -> str | None:
    """The guard's one line when `store` looks lost, else None.

    Asks the site only while the store has no distributions (one search). Without WordPress
    credentials nothing can have been published, so there is nothing to find. Raises SyncError
    when the site cannot be asked: the caller waits rather than closing blind.
    """
    if has_distributions(store):
        return None
    upstream = wp_upstream(config, "publish")
    if upstream is None:
        return None
    with upstream:
        records = site_records(upstream, config.publish.rest_route, config.distributors)
    return problem(store.location, records) if records else None
