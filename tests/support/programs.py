"""A shop with programs driven through the command line (the `site` fixture): alice and bob, one
monthly pool, and programs paying for sales imported with a collaborator (`manual`) and for leads."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from tests.support.cli import collab_yaml, dist_yaml

DEALS = 'deals: {units: USD, reward: {percentage: 25}, engagements: [manual]}'
LEADS = 'leads: {units: USD, reward: {flat: "10.00"}, conversion: lead}'


def shop(site: Any, *programs: str, payouts: str = "", timezone: str = "UTC") -> None:
    """The shop's config with `programs` (one YAML flow mapping each, `key: {...}`), its site in `timezone`."""
    listed = "".join(f"  {p}\n" for p in programs)
    path = site.config(collab_yaml(["alice", "bob"]), dist_yaml() + f"programs:\n{listed}" + payouts)
    path.write_text(path.read_text().replace("timezone: UTC", f"timezone: {timezone}"))


def deal(site: Any, key: str, who: str, revenue: str, at: datetime | None = None) -> None:
    """Import a sale closed by `who` (a `manual` engagement), at `at` (default now)."""
    when = (at or datetime.now(UTC)).isoformat()
    code, _, err = site.run("import", str(site.events([{"key": key, "type": "sale", "collaborator": who,
                                                          "at": when, "revenue": revenue}])))
    assert code == 0, err


def lead(site: Any, key: str, who: str, at: datetime | None = None) -> None:
    when = (at or datetime.now(UTC)).isoformat()
    code, _, err = site.run("import", str(site.events([{"key": key, "type": "lead", "collaborator": who,
                                                          "at": when}])))
    assert code == 0, err


def json_of(site: Any, *argv: str) -> dict:
    code, out, err = site.run(*argv, "--json")
    assert code == 0, err
    return json.loads(out)
