"""End to end: the real worker process against the sandbox with visitors, its access log and
WooCommerce Subscriptions, running two programs beside the distributors (DESIGN section 8).

What the worker recorded is compared, to the cent and reward by reward, with an oracle computing the
rewards from the sandbox's own ground truth (`tests.support.program_truth`); the rewards reach
`history --json` and `payouts --json` as program obligations; renewals pay the first order's
collaborator; refunds reduce rewards; and no client address or user agent is anywhere in the store
(the TinyDB files, or the PostgreSQL namespace's rows) or the worker's log.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal

import psycopg
import pytest

from siren_sync.demo import DEMO_PROGRAM, ROYALTIES
from tests.support.e2e import TINYDB, Choreography, Site, postgres_store, wait_until
from tests.support.postgres import database_url, namespace_for
from tests.support.program_truth import COUPON, ROYALTY, VISIT, Rule, device, expected_rewards, obligations

pytestmark = pytest.mark.e2e

SEED, DAYS, ORDERS_PER_DAY = 11, 10, 30
STEPS = 40  # six-hour steps: ten days
PAY_AFTER = 16  # steps: the rewards of the first four days are paid, then refunds claw back
PROGRAMS = DEMO_PROGRAM + ROYALTIES  # the demo's affiliates, and royalties
RULES = (Rule("affiliates", 25, frozenset({COUPON, VISIT})), Rule("royalties", 50, frozenset({ROYALTY})))


def _programs_site(make_site, tmp_path, store: str) -> tuple[Site, object]:
    log = tmp_path / "access.log"
    site = make_site("programs", seed=SEED, schedule="+1 week", days=DAYS, orders_per_day=ORDERS_PER_DAY,
                     store=store, options=("--visitors", "--subscriptions", "--access-log", str(log)),
                     sources=f"  access_log: {{enabled: true, path: {log}}}\n", extra=PROGRAMS)
    return site, log


def _store(kind: str, tmp_path) -> tuple[str, str | None]:
    """(the config's `store:` line, the PostgreSQL namespace or None) of a test on `kind`."""
    if kind == "tinydb":
        return TINYDB, None
    namespace = namespace_for(tmp_path)
    return postgres_store(database_url(), namespace), namespace


def _recorded(site: Site) -> dict[str, dict]:
    done = site.cli("history", "--json")
    assert done.returncode == 0, done.stderr
    return {r["id"]: r for r in json.loads(done.stdout).get("rewards", [])}


def _mismatch(got: dict[str, dict], want: Mapping[str, Decimal]) -> list[str]:
    ids = sorted(set(got) | set(want))
    return [f"{i}: worker {got[i]['amount'] if i in got else None}, oracle {want.get(i)}"
            for i in ids if i not in got or i not in want or Decimal(got[i]["amount"]) != want[i]]


def _settled(site: Site, want: Mapping[str, Decimal]) -> dict[str, dict]:
    """The rewards the worker recorded, once they are `want` (its next poll may be on its way)."""
    try:
        wait_until(lambda: not _mismatch(_recorded(site), want), 60, 0.5, "the worker's last poll")
    except AssertionError:
        pass  # the differences are shown below
    got = _recorded(site)
    assert not _mismatch(got, want), "\n".join(_mismatch(got, want)[:20])
    return got


@pytest.mark.parametrize("kind", ["tinydb", "postgresql"])
def test_the_worker_s_program_rewards_equal_the_sandbox_s_truth_to_the_cent(make_site, tmp_path, kind):
    store, namespace = _store(kind, tmp_path)
    site, log = _programs_site(make_site, tmp_path, store)
    worker = site.worker("programs")
    worker.wait_for_log("worker started", timeout=60)
    Choreography(site, STEPS).finish()
    want = expected_rewards(SEED, DAYS, ORDERS_PER_DAY, site.sandbox.now(), log, RULES)
    got = _settled(site, obligations(want))
    assert all(r["program"] == i.split(":")[0] and i.count(":") == 2 for i, r in got.items())

    # every kind of reward is there: coupons, visits, royalties, renewals, partial and full refunds
    renewals = [r for r in want.values() if r.renewal_of is not None]
    assert {r.id.split(":")[0] for r in renewals} == {"affiliates", "royalties"}
    for r in renewals:  # a renewal pays the collaborator its first order paid in the same program
        program = r.id.split(":")[0]
        assert got[r.id]["collaborator"] == want[f"{program}:{r.renewal_of}:{r.collaborator}"].collaborator
    reduced = [r for r in want.values() if Decimal(0) < r.amount < r.reward]
    assert reduced and all(got[r.id]["status"] != "rejected" for r in reduced)
    zeroed = [r for r in want.values() if r.amount == 0]
    assert zeroed and all(got[r.id]["status"] == "rejected" for r in zeroed)

    done = site.cli("payouts", "--json")
    assert done.returncode == 0, done.stderr
    rows = {o["id"]: o for o in json.loads(done.stdout)["obligations"] if o["source"] == "program"}
    assert rows.keys() == got.keys()
    assert all(Decimal(o["amount"]) == want[i].amount and o["origin"] == i.split(":")[0] for i, o in rows.items())

    assert worker.sigterm() == 0
    _nothing_raw(site, tmp_path / "access.log", namespace)


def test_refunds_after_payment_are_clawbacks_netted_in_the_next_fulfillment(make_site, tmp_path):
    site, log = _programs_site(make_site, tmp_path, TINYDB)
    site.worker("clawbacks").wait_for_log("worker started", timeout=60)
    steps = Choreography(site, STEPS)
    for _ in range(PAY_AFTER):
        steps.step()
    paid_at = site.sandbox.now()
    before = expected_rewards(SEED, DAYS, ORDERS_PER_DAY, paid_at, log, RULES)
    _settled(site, obligations(before))
    rows = {o["id"]: o for o in _pay(site, tmp_path / "first.csv", paid_at.isoformat())["obligations"]}
    paid = {i for i, r in before.items() if r.amount > 0}
    assert paid and {i for i, o in rows.items() if o["status"] == "paid"} == paid

    steps.finish()
    end = site.sandbox.now()
    want = obligations(expected_rewards(SEED, DAYS, ORDERS_PER_DAY, end, log, RULES), int(paid_at.timestamp()), paid)
    _settled(site, want)
    clawbacks = {i for i in want if ":refund:" in i}
    assert clawbacks and all(want[i] < 0 for i in clawbacks), clawbacks

    second = _pay(site, tmp_path / "second.csv", end.isoformat())
    rows = {o["id"]: o for o in second["obligations"]}
    first, netted = {rows[i]["fulfillment"] for i in paid}, {rows[i]["fulfillment"] for i in clawbacks}
    assert len(first) == len(netted) == 1 and first != netted  # netted in the next fulfillment
    assert all(rows[i]["status"] == "paid" for i in clawbacks)
    assert all(c["balance"] == "0.00" for c in second["collaborators"])


def _pay(site: Site, csv, as_of: str) -> dict:
    """`payouts --csv FILE --mark-paid --as-of ...` beside the worker; then `payouts --json`."""
    done = site.cli("payouts", "--csv", str(csv), "--mark-paid", "--as-of", as_of)
    assert done.returncode == 0, done.stderr
    done = site.cli("payouts", "--json", "--as-of", as_of)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _stored(site: Site, namespace: str | None) -> bytes:
    """Everything the store holds: its files, or its namespace's rows as text."""
    if namespace is None:
        return b"".join(p.read_bytes() for p in (site.folder / "store").rglob("*") if p.is_file())
    columns = {"siren_sync_documents": "tbl || ' ' || key || ' ' || doc", "siren_sync_chunks": "tbl || ' ' || docs",
               "siren_sync_events": "record", "siren_sync_tables": "tbl", "siren_sync_buckets": "bucket"}
    with psycopg.connect(database_url()) as conn:
        rows = [conn.execute(f"SELECT {text} FROM {table} WHERE namespace = %s", (namespace,)).fetchall()
                for table, text in columns.items()]
    return "\n".join(row[0] for found in rows for row in found).encode()


def _nothing_raw(site: Site, log, namespace: str | None) -> None:
    """No client address or user agent of the shop's visitors in the store or the worker's log."""
    raw: set[str] = set()
    for line in log.read_text().splitlines():
        address, agent = line.split(" ", 1)[0], line.rsplit('"', 2)[-2]
        raw |= {address, device(address, agent)[0], agent}
    assert len(raw) > 100
    stored = _stored(site, namespace)
    logged = "".join(w.text() for w in site.workers)
    assert b"programs/visits" in stored and b"referredSiteVisit" in stored
    found = sorted(v for v in raw if v.encode() in stored or v in logged)
    assert found == [], f"raw visitor values stored or logged: {found[:5]}"
