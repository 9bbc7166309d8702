"""Running the command line on a store in a temp folder: a config, JSON Lines events, the output."""
from __future__ import annotations

import json

BASE = """
site: {{url: "http://127.0.0.1:9", timezone: UTC}}
store: {{path: store/siren.json}}
sync: {{woocommerce: {{enabled: false}}}}
collaborators:
{collaborators}
distributors:
{distributors}
"""


def collab_yaml(ids, status="active"):
    return "\n".join(f"  - {{id: {c}, name: {c.title()}, email: {c}@example.com, status: {status}}}" for c in ids)


def dist_yaml(key="pool", resolver="performanceSharedPool", pct=10, types="{manual: 1}", extra="",
              schedule="first day of next month", starts="2026-11-01"):
    return (f"  {key}:\n    name: {key.title()} Pool\n    distributionResolver: {resolver}\n"
            f"    distributionPoolResolver: revenueSinceLastDistribution\n    status: active\n    units: USD\n"
            f"    schedule: [\"{schedule}\"]\n    startsAt: {starts}\n"
            f"    engagementTypes: {types}\n    revenuePercentage: {pct}\n{extra}")


def credit(who, n, key=None, at="2026-11-10T12:00:00+00:00", type_="manual"):
    return {"key": key or f"t:{who}:{n}:{at}", "type": type_, "collaborator": who, "at": at, "quantity": n}


def sale(key, revenue, at="2026-11-10T12:00:00+00:00"):
    return {"key": key, "type": "sale", "at": at, "revenue": revenue}


def distribute_json(site, *extra, as_of="2026-12-01T00:00:00+00:00"):
    code, out, err = site.run("distribute", "--as-of", as_of, "--json", *extra)
    assert code == 0, err
    return json.loads(out)["distributions"]


def amounts(dist):
    return {o["collaborator"]: o["amount"] for o in dist["obligations"]}
