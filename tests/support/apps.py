"""A real app (a config file, its store and ledger) in a temp folder, for tests that run a source
through `sync.run_source` and then read what reached the store (events, cursors, quarantine)."""
from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from siren_sync.app import App, open_app
from siren_sync.config import load_config
from siren_sync.model import Collaborator
from siren_sync.sources.base import Source, SyncReport
from siren_sync.sync import run_source

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)
WP_USER, WP_PASSWORD = "admin", "abcd efgh ijkl"

CONFIG = """\
site:
  url: https://shop.example
  timezone: UTC
{wordpress}store: {{path: store/siren.json}}
sync:
  woocommerce: {{enabled: false}}
{sync}collaborators:
{collaborators}
distributors:
  visits:
    name: Visits
    distributionResolver: performanceSharedPool
    distributionPoolResolver: revenueSinceLastDistribution
    units: USD
    schedule: ["first day of next month"]
    startsAt: 2026-11-01
    engagementTypes: {{referredSiteVisit: 1, boundPostUsed: 1, courseCompleted: 5, lessonCompleted: 1}}
    revenuePercentage: 10
"""


def _collaborator_yaml(c: Collaborator) -> str:
    fields = {"id": c.id, "name": c.name or c.id, "email": c.email or f"{c.id}@example.com", "status": c.status,
              "wp_user_id": c.wp_user_id, "tracking_ids": list(c.tracking_ids), "posts": list(c.posts)}
    return "  - " + json.dumps({k: v for k, v in fields.items() if v is not None})  # JSON is YAML


def write_config(folder: Path, collaborators: Iterable[Collaborator], sync: dict[str, dict] | None = None,
                 wordpress: bool = True) -> Path:
    """`folder/siren.yaml`: the sandbox-free site `shop.example` (WordPress application password unless
    `wordpress` is false), WooCommerce off, the `sync` sections given, these collaborators."""
    folder.mkdir(parents=True, exist_ok=True)
    sign_in = f'  wordpress: {{user: {WP_USER}, application_password: "{WP_PASSWORD}"}}\n' if wordpress else ""
    sections = "".join(f"  {name}: {json.dumps(options)}\n" for name, options in (sync or {}).items())
    path = folder / "siren.yaml"
    path.write_text(CONFIG.format(wordpress=sign_in, sync=sections,
                                  collaborators="\n".join(map(_collaborator_yaml, collaborators))))
    return path


def open_test_app(folder: Path, collaborators: Iterable[Collaborator], sync: dict[str, dict] | None = None,
                  wordpress: bool = True, now: datetime = NOW) -> App:
    """The app of `write_config(...)`, store open for writing (close it, or use it in a `with`)."""
    return open_app(load_config(write_config(folder, collaborators, sync, wordpress)), now=now)


def run_once(folder: Path, collaborators: Iterable[Collaborator], source: Source) -> tuple[SyncReport, dict]:
    """`source` polled once through `sync.run_source` on a fresh app in `folder`, as `siren-sync sync`
    runs it: its report and the store's `quarantine` table afterwards."""
    with open_test_app(folder, collaborators) as app:
        report = run_source(app, source, app.ledger.now)
        return report, app.store.table("quarantine")
