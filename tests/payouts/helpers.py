"""A shop for the payout tests, driven through the command line (the `site` fixture): three
collaborators, one monthly distributor paying the whole revenue in USD, January 2025 closed.

January: alice scores 3, bob 1, carol 1, and 50.00 of revenue: alice is owed 30.00, bob and carol
10.00 each, as obligations of `pool-20250201t0000`, earned 2025-02-01. Dates are in 2025 so that
no test depends on the real clock (`fulfill` refuses an as-of time in the future).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

JANUARY = "pool-20250201t0000"
FEBRUARY = "pool-20250301t0000"
CLOSE_JANUARY = "2025-02-01T00:00:00+00:00"
CLOSE_FEBRUARY = "2025-03-01T00:00:00+00:00"
LATER = "2025-06-01T00:00:00+00:00"

COLLABORATORS = """\
  - {id: alice, name: Alice Martin, email: alice@example.com}
  - {id: bob, name: "Bob, \\"the builder\\"", email: bob@example.com}
  - {id: carol, name: Carol, email: carol@example.com}
"""

POOL = """\
  pool:
    name: Pool
    distributionResolver: performanceSharedPool
    units: {units}
    schedule: ["first day of next month"]
    startsAt: 2025-01-01
    engagementTypes: {{manual: 1}}
    revenuePercentage: 100
{extra}"""


def second_pool(key: str, units: str, resolver: str) -> str:
    """Another monthly distributor from the same January, paying 10% of the revenue in `units`."""
    return (f"  {key}:\n    name: {key.title()}\n    distributionResolver: {resolver}\n    units: {units}\n"
            f"    schedule: [\"first day of next month\"]\n    startsAt: 2025-01-01\n"
            f"    engagementTypes: {{manual: 1}}\n    revenuePercentage: 10\n")


def shop(site: Any, payouts: str = "", collaborators: str = COLLABORATORS, units: str = "USD",
         extra: str = "", distributors: str = "") -> Path:
    """Write the shop's config (with a `payouts:` section when given) and return its path."""
    path = site.config(collaborators.rstrip("\n"), POOL.format(units=units, extra=extra) + distributors)
    if payouts:
        path.write_text(path.read_text() + f"payouts:\n{payouts}")
    return path


def credits(site: Any, month: str = "2025-01", scores: dict[str, int] | None = None, revenue: str = "50.00") -> None:
    """Record a month's scores and revenue (default: January's 3 / 1 / 1 and 50.00)."""
    at = f"{month}-10T12:00:00+00:00"
    rows = [{"key": f"t:{who}:{month}", "type": "manual", "collaborator": who, "at": at, "quantity": n}
            for who, n in (scores or {"alice": 3, "bob": 1, "carol": 1}).items()]
    rows.append({"key": f"t:sale:{month}", "type": "sale", "at": at, "revenue": revenue})
    code, _, err = site.run("import", str(site.events(rows)))
    assert code == 0, err


def close(site: Any, as_of: str = CLOSE_JANUARY) -> list[dict]:
    code, out, err = site.run("distribute", "--as-of", as_of, "--json")
    assert code == 0, err
    return json.loads(out)["distributions"]


def january(site: Any, payouts: str = "", **options: Any) -> None:
    """The shop with January closed."""
    shop(site, payouts, **options)
    credits(site)
    close(site)


def overview(site: Any, *argv: str, as_of: str = LATER) -> dict:
    code, out, err = site.run("payouts", "--json", "--as-of", as_of, *argv)
    assert code == 0, err
    return json.loads(out)


def statuses(site: Any, as_of: str = LATER) -> dict[str, str]:
    """Obligation id -> status."""
    return {o["id"]: o["status"] for o in overview(site, as_of=as_of)["obligations"]}


def fulfillments(site: Any) -> list[dict]:
    code, out, err = site.run("fulfillments", "--json")
    assert code == 0, err
    return json.loads(out)["fulfillments"]
