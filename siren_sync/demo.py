"""`siren-sync demo`: the whole lifecycle on a sandbox site, in fast simulated time.

Starts the sandbox WordPress + WooCommerce + LifterLMS + Siren site on a free loopback port, writes
a temporary config for it (timezone read from the site, the sandbox's credentials), and steps the
real worker through several weekly periods: each step moves the site's clock six hours ahead, then
the worker polls, closes what is due and publishes. The shop has visitors, a web server access log
and WooCommerce Subscriptions, and beside the three distributors runs one program (DESIGN section 8:
an affiliate commission per sale, for a collaborator's coupon or referral visit, renewals included).
Finally it prints every distribution with its obligations, the program's rewards, the open
standings, and the records the site received; then it pays: the payable obligations (distributions'
and rewards alike) go into a PayPal file in its temp folder, the fulfillment is completed (as after
the upload), the records are updated on the site, and the payout overview is printed.
"""
from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, TextIO
from zoneinfo import ZoneInfo

from siren_sync import commissions, explain, history
from siren_sync.config import Config, load_config
from siren_sync.model import Record
from siren_sync.payouts import fulfillments, overview
from siren_sync.values import iso

if TYPE_CHECKING:
    from siren_sync.sandbox import Sandbox
    from siren_sync.worker import Worker

STEP = 12 * 3600  # simulated seconds per worker step
ACCESS_LOG = "access.log"  # the sandbox's web server log, in the demo's temp folder

# The sandbox site and its four collaborators (their ids, coupons and products are the sandbox's;
# product 25 is alice's subscription, sold when the sandbox runs with `subscriptions`); the demo, the
# worker tests and the end-to-end tests add their own `sync:`, `distributors:` and `programs:`.
SANDBOX_SITE = """\
site:
  url: {url}
  timezone: auto
  wordpress: {{user: "${{SANDBOX_WP_USER}}", application_password: "${{SANDBOX_WP_PASSWORD}}"}}
  woocommerce: {{consumer_key: "${{SANDBOX_WC_KEY}}", consumer_secret: "${{SANDBOX_WC_SECRET}}"}}
store: {{path: store/siren-sync.json}}
collaborators:
  - {{id: alice, name: Alice Martin, email: alice.martin@example.test, wp_user_id: 2,
      coupons: [ALICE10], tracking_ids: [alice], products: [10, 18, 25]}}
  - {{id: bruno, name: Bruno Costa, email: bruno.costa@example.test, wp_user_id: 3,
      coupons: [BRUNO15], tracking_ids: [bruno], products: [11]}}
  - {{id: chloe, name: Chloe Dubois, email: chloe.dubois@example.test, wp_user_id: 4,
      coupons: [CHLOE10], tracking_ids: [chloe], products: [12]}}
  - {{id: david, name: David Nguyen, email: david.nguyen@example.test, wp_user_id: 5,
      coupons: [DAVID20], tracking_ids: [david], products: [14, 16, 17]}}
"""
SIREN_IDS = '{"1": alice, "2": bruno, "3": chloe, "4": david}'  # Siren's collaborator ids -> ours

DEMO_SYNC = """\
sync:
  every: 5m
  overlap: 5m
  woocommerce: {{enabled: true}}
  lifterlms: {{enabled: true, every: 1d}}
  siren: {{enabled: true, every: 12h, collaborator_ids: {siren_ids}}}
  access_log: {{enabled: true, path: {access_log}}}
"""

# One distributor per resolver, on the sandbox's activity; the end-to-end tests use them too.
THREE_POOLS = """\
distributors:
  salesBonus:
    name: Sales Bonus
    distributionResolver: topScoreWins
    units: USD
    schedule: ["{schedule}"]
    startsAt: {start}
    engagementTypes: {{boundCouponUsed: 5, collaboratorProductSold: 2}}
    revenuePercentage: 5
  instructorRevenueShare:
    name: Instructor Revenue Share
    distributionResolver: performanceSharedPool
    units: USD
    schedule: ["{schedule}"]
    startsAt: {start}
    engagementTypes: {{courseCompleted: 10, lessonCompleted: 1}}
    revenuePercentage: 20
    lineItemFilters: {{collaboratorOwned: true}}
  referralPool:
    name: Referral Pool
    distributionResolver: sharedEngagementPool
    units: USD
    schedule: ["{schedule}"]
    startsAt: {start}
    engagementTypes: {{referredSiteVisit: 1}}
    revenuePercentage: 2
"""


# The demo's program, in the shape of DESIGN section 8: a quarter of each sale to the collaborator
# who brought it (their coupon, or their `?ref=` link visited by the same visitor within 30 days; the
# newest engagement wins), subscription renewals paying the first order's collaborator.
DEMO_PROGRAM = """\
programs:
  affiliates:
    name: Affiliate commission
    status: active
    units: USD
    reward: {percentage: 25}
    engagements: [boundCouponUsed, referredSiteVisit]
    structure: newestEngagementWins
    window: 30 days
    members: all
    renewals: true
    clawback: true
    transactionCompilers: [lineItems, discounts]
"""
# A second program, beside the demo's in the end-to-end tests and the programs benchmark: half of
# each product owner's own lines, renewals included.
ROYALTIES = """\
  royalties:
    name: Product royalties
    units: USD
    reward: {percentage: 50}
    engagements: [collaboratorProductSold]
    renewals: true
"""


def sandbox_config_text(url: str, rest: str) -> str:
    """A config for the sandbox site at `url`: its site and collaborators, then `rest` (sync, distributors)."""
    return SANDBOX_SITE.format(url=url) + rest


def sandbox_env(credentials: Mapping[str, str]) -> dict[str, str]:
    """The environment variables `SANDBOX_SITE` reads its secrets from."""
    return {"SANDBOX_WP_USER": credentials["wp_user"], "SANDBOX_WP_PASSWORD": credentials["wp_app_password"],
            "SANDBOX_WC_KEY": credentials["wc_key"], "SANDBOX_WC_SECRET": credentials["wc_secret"]}


# The demo's payout rules: a short hold (the last week is still pending at the end) and a minimum.
DEMO_PAYOUTS = """\
payouts:
  hold: 3 days
  minimum: {USD: "10.00"}
  note: "Rewards from the demo shop"
"""


def _config(sandbox: Sandbox, folder: Path) -> Config:
    start = sandbox.now.astimezone(sandbox_tz(sandbox)).date().isoformat()
    path = folder / "siren.yaml"
    sync = DEMO_SYNC.format(siren_ids=SIREN_IDS, access_log=folder / ACCESS_LOG)
    rest = sync + DEMO_PAYOUTS + THREE_POOLS.format(schedule="+1 week", start=start) + DEMO_PROGRAM
    path.write_text(sandbox_config_text(sandbox.url, rest))
    return load_config(path, env=sandbox_env(sandbox.credentials))


def sandbox_tz(sandbox: Sandbox) -> ZoneInfo:
    return ZoneInfo(sandbox.site.timezone_name)


def run(weeks: int = 2, seed: int = 7, out: TextIO = sys.stdout) -> int:
    """Run the demo; returns the exit status."""
    from siren_sync.sandbox import Sandbox
    from siren_sync.worker import Worker

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="siren-sync-demo-") as folder, \
            Sandbox(seed=seed, days=weeks * 7 + 2, orders_per_day=40, visitors=True, subscriptions=True,
                    access_log=Path(folder) / ACCESS_LOG) as sandbox:
        print(f"sandbox site {sandbox.url} (timezone {sandbox.site.timezone_name}), "
              f"simulated time starts {sandbox.now.isoformat()}", file=out)
        config = _config(sandbox, Path(folder))
        worker = Worker(config, clock=lambda: sandbox.now, fetch_timezone=lambda: sandbox.site.timezone_name)
        try:
            for _ in range(weeks * 7 * 24 * 3600 // STEP + 1):
                worker.step()
                sandbox.advance(STEP)
            worker.step()
            _report(worker, sandbox, out)
            _pay(worker, sandbox, Path(folder), out)
        finally:
            worker.app.close()
    print(f"demo finished in {time.monotonic() - started:.1f}s", file=out)
    return 0


def _report(worker: Worker, sandbox: Sandbox, out: TextIO) -> None:
    ledger = worker.app.ledger
    print("\n== distributions ==", file=out)
    for r in history.history(worker.app.store):
        print(f"{r.name}: {iso(r.period_start)} to {iso(r.period_end)}", file=out)
        print(f"  revenue {r.revenue} {r.units}, pool {r.pool} {r.units}, "
              f"{r.events} events ({r.late_events} late)", file=out)
        for o in r.obligations:
            note = f"  ({o.note})" if o.note else ""
            print(f"  {o.collaborator:<8} score {str(o.score):>6}  -> {str(o.amount):>9} {r.units}{note}", file=out)
        if not r.obligations:
            print("  nobody qualified", file=out)
    _rewards(worker, out)
    print("\n== open periods (standings) ==", file=out)
    for r in history.standings(ledger):
        scores = ", ".join(f"{s.collaborator} {s.score}" for s in r.scores) or "no scores yet"
        print(f"{r.name}: since {iso(r.period_start)}, revenue {r.revenue}, pool so far {r.pool}; {scores}",
              file=out)
    posts = sandbox.stats.posts_created
    print(f"\n== records the site received ({len(posts)}) ==", file=out)
    for p in posts:
        print(f"  post {p['id']} [{p['status']}] {p['slug']}: {p['title']}", file=out)


def _rewards(worker: Worker, out: TextIO) -> None:
    """Each program's rewards: how many, the total, each collaborator's, and one reward with the
    engagements of its order and why it went where it did (what `explain --reward` shows in full)."""
    app = worker.app
    docs = commissions.documents(app.store)
    rewards = [o for o in commissions.obligations(app.store) if "of" not in docs[o.key]]  # not clawbacks
    print("\n== program rewards ==", file=out)
    for key, program in app.config.programs.items():
        mine = [o for o in rewards if o.origin == key]
        renewals = sum(1 for o in mine if docs[o.key].get("renewal_of"))
        print(f"{program.name} ({key}): {len(mine)} rewards ({renewals} for renewals), "
              f"{sum((o.amount for o in mine), Decimal(0))} {program.units}", file=out)
        for who in sorted({o.collaborator for o in mine}):
            theirs = [o for o in mine if o.collaborator == who]
            print(f"  {who:<8} {len(theirs):>4} rewards -> {sum((o.amount for o in theirs), Decimal(0)):>9} "
                  f"{program.units}", file=out)
    example = _contested(docs)
    if example is not None:
        ident, doc = example
        after = f", {doc['amount']} after refunds" if doc["amount"] != doc["reward"] else ""
        print(f"reward {ident}: order {doc['order']}, {doc['reward']} {doc['units']}{after}", file=out)
        for at, kind, who in explain.engagements(doc, app.tz):
            print(f"  {at}  {kind:<18} {who}", file=out)
        print(f"  {explain.prose(doc['why'], app.tz)}; {doc['arithmetic']}", file=out)


def _contested(docs: Mapping[str, Record]) -> tuple[str, Record] | None:
    """A reward whose order more than one collaborator engaged (the structure chose), if any."""
    for ident, doc in sorted(docs.items()):
        if len({who for _, who, _ in doc.get("engagements", [])}) > 1:
            return ident, doc
    return None


def _pay(worker: Worker, sandbox: Sandbox, folder: Path, out: TextIO) -> None:
    """One step further: fulfil what is payable into a PayPal file, complete it (as after the
    upload), publish the records it updates, and print the payout overview."""
    app, now = worker.app, sandbox.now
    payouts = app.config.payouts
    made = fulfillments.plan(app.store, fulfillments.Selection(now, "paypal"), str(folder / "paypal.csv"),
                             app.ledger.collaborators, payouts.minimum, payouts.note, now)
    print("\n== paying collaborators ==", file=out)
    if not made.payouts:
        print("nothing is payable yet", file=out)
        return
    record = fulfillments.create(app.store, made)
    for path, data in made.files.items():
        print(f"fulfillment {record.id}: PayPal file {path}", file=out)
        print("".join(f"  {line}\n" for line in data.decode("utf-8").splitlines()), end="", file=out)
    done, _ = fulfillments.complete(app.store, record.id, now, (), now)
    revised = worker.publisher.publish(app.store).revised if worker.publisher is not None else []
    print(f"fulfillment {done.id} complete: {done.payouts} payouts paid; {len(revised)} records on the site updated "
          f"with their payments", file=out)
    view = overview.overview(app.store, app.ledger.distributors, payouts.minimum, now)
    print("\n".join(overview.text_lines(view, False, app.tz)), file=out)
