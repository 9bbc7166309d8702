"""`siren-sync check` (siren_sync/checks.py): the report's sections in order, and its exit status: 1
when the site refused a record or a source cannot be read, 0 when all is well. The store is opened
read-only, so `check` runs beside a worker; sources are replaced by scripted ones (no network)."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from siren_sync import checks
from siren_sync.config import Config, load_config
from siren_sync.errors import ConfigError, SyncError
from siren_sync.model import OutboxEntry
from siren_sync.store import Store
from siren_sync.tables import OUTBOX, QUARANTINE
from tests.support.cli import collab_yaml, dist_yaml

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture
def config(site, monkeypatch) -> Config:
    """alice and bob, an active monthly pool and an inactive one, no source enabled; `check` runs at NOW."""
    monkeypatch.setattr(checks, "utcnow", lambda: NOW)
    inactive = dist_yaml("paused").replace("status: active", "status: inactive")
    path = site.config(collab_yaml(["alice", "bob"]), dist_yaml() + inactive)  # the CLI site syncs nothing
    return load_config(path)


def report(config: Config, capsys, **options) -> tuple[int, list[str]]:
    code = checks.run(config, **{"probe_sources": False, **options})
    return code, capsys.readouterr().out.splitlines()


def put(config: Config, table: str, docs: dict) -> None:
    with Store(config.store_path) as store, store.transaction() as tx:
        tx.put_many(table, docs)


def test_a_healthy_site_exits_0_and_prints_every_section_in_order(config, capsys):
    code, lines = report(config, capsys)
    assert code == 0
    assert lines == [
        f"config {config.path}: 2 collaborators, 2 distributors, store {config.store_path}",
        *[f"  warning: {w}" for w in config.warnings],
        "site http://127.0.0.1:9 (timezone UTC)",
        "distributor pool: Pool Pool (performanceSharedPool, 10% of revenue in USD)",
        "  open period 2026-11-01T00:00:00+00:00 to 2026-12-01T00:00:00+00:00; schedule ['first day of next month']",
        "  next triggers: 2026-12-01T00:00:00+00:00, 2027-01-01T00:00:00+00:00, 2027-02-01T00:00:00+00:00",
        "distributor paused: Paused Pool (performanceSharedPool, 10% of revenue in USD) "
        "[inactive: tracked, never triggered]",
        "  open period 2026-11-01T00:00:00+00:00 to 2026-12-01T00:00:00+00:00; schedule ['first day of next month']",
        "  next triggers: 2026-12-01T00:00:00+00:00, 2027-01-01T00:00:00+00:00, 2027-02-01T00:00:00+00:00",
        "quarantined records: 0",
        "publish queue: 0 waiting of 0",
    ]


def test_config_warnings_are_shown_under_the_config_line(config, capsys):
    assert config.warnings  # publishing without WordPress credentials is a warning, not an error
    _, lines = report(config, capsys)
    assert lines[1:1 + len(config.warnings)] == [f"  warning: {w}" for w in config.warnings]


def test_a_record_the_site_refused_exits_1_and_says_why(config, capsys):
    put(config, OUTBOX, {
        "pool-20261201t0000": OutboxEntry("pool-20261201t0000", "siren-sync-pool-20261201t0000", attempts=3,
                                          last_error="HTTP 403 rest_cannot_create").to_record(),
        "pool-20270101t0000": OutboxEntry("pool-20270101t0000", "siren-sync-pool-20270101t0000").to_record()})
    code, lines = report(config, capsys)
    assert code == 1
    assert lines[-2:] == ["publish queue: 2 waiting of 2", "  pool-20261201t0000: HTTP 403 rest_cannot_create"]


def test_records_waiting_their_turn_or_posted_are_fine(config, capsys):
    put(config, OUTBOX, {
        "a": OutboxEntry("a", "siren-sync-a").to_record(),
        "b": OutboxEntry("b", "siren-sync-b", status="posted", attempts=2, last_error="HTTP 503",
                         post_id=9).to_record()})  # refused once, then posted
    code, lines = report(config, capsys)
    assert code == 0 and lines[-1] == "publish queue: 1 waiting of 2"


def test_quarantined_records_are_listed_with_their_reason_and_do_not_fail_the_check(config, capsys):
    """A quarantined record was set aside so the sync could go on: shown for the admin, not a failure."""
    put(config, QUARANTINE, {"wc/v3/orders#7": {"where": "wc/v3/orders#7", "reason": "total is not a number"},
                             "log:12": {"reason": "no time"}})
    code, lines = report(config, capsys)
    assert code == 0
    at = lines.index("quarantined records: 2")
    assert lines[at + 1:at + 3] == ["  log:12: no time", "  wc/v3/orders#7: total is not a number"]


def test_at_most_50_quarantined_records_are_listed(config, capsys):
    put(config, QUARANTINE, {f"r{n:03d}": {"where": f"r{n:03d}", "reason": "bad"} for n in range(60)})
    _, lines = report(config, capsys)
    assert "quarantined records: 60" in lines
    assert sum(line.startswith("  r0") for line in lines) == 50


def test_check_reads_the_store_while_a_worker_holds_it(config, capsys):
    with Store(config.store_path):
        code, lines = report(config, capsys)
    assert code == 0 and "quarantined records: 0" in lines


def test_check_with_an_auto_timezone_never_read_is_a_config_error(site, capsys):
    path = site.config(collab_yaml(["alice"]), dist_yaml())
    path.write_text(path.read_text().replace("timezone: UTC", "timezone: auto"))
    with pytest.raises(ConfigError, match="was never read"):
        checks.run(load_config(path), probe_sources=False)
    _, lines = report(load_config(path), capsys, fetch_timezone=lambda: "Europe/Paris")
    assert "site http://127.0.0.1:9 (timezone Europe/Paris)" in lines


# -- sources ---------------------------------------------------------------------------------

class Probe:
    """A source whose `check` gives `rows`, or raises `error`."""

    def __init__(self, name: str, rows=(), error: Exception | None = None):
        self.name, self.rows, self.error = name, list(rows), error

    def check(self):
        if self.error:
            raise self.error
        return self.rows


def with_sources(monkeypatch, *sources: Probe) -> None:
    monkeypatch.setattr(checks, "build_sources", lambda config, app: list(sources))


def test_reachable_sources_are_listed_and_the_check_passes(config, capsys, monkeypatch):
    with_sources(monkeypatch, Probe("woocommerce", [("woocommerce orders", True, "1,204 orders"),
                                                    ("refunds route", True, "wc/v3/refunds")]))
    code, lines = report(config, capsys, probe_sources=True)
    assert code == 0
    assert lines[-3:] == ["sources:", "  [ok] woocommerce orders: 1,204 orders",
                          "  [ok] woocommerce: refunds route: wc/v3/refunds"]


def test_a_source_that_fails_its_probe_exits_1(config, capsys, monkeypatch):
    with_sources(monkeypatch, Probe("woocommerce", [("woocommerce", True, "reachable")]),
                 Probe("lifterlms", [("students", False, "HTTP 401")]))
    code, lines = report(config, capsys, probe_sources=True)
    assert code == 1 and lines[-1] == "  [FAIL] lifterlms: students: HTTP 401"


def test_a_source_that_cannot_be_read_is_one_failed_row_and_the_others_still_probed(config, capsys, monkeypatch):
    with_sources(monkeypatch, Probe("siren", error=SyncError("connection refused", endpoint="siren/v1")),
                 Probe("woocommerce", [("woocommerce", True, "reachable")]))
    code, lines = report(config, capsys, probe_sources=True)
    assert code == 1
    assert lines[-2:] == ["  [FAIL] siren: siren/v1: connection refused", "  [ok] woocommerce: reachable"]


def test_sources_that_cannot_be_built_are_a_failed_row(config, capsys, monkeypatch):
    def refuse(config, app):
        raise ConfigError("siren.yaml: sync.lifterlms: needs site.wordpress.user and application_password")
    monkeypatch.setattr(checks, "build_sources", refuse)
    code, lines = report(config, capsys, probe_sources=True)
    assert code == 1 and lines[-1].startswith("  [FAIL] sources: siren.yaml: sync.lifterlms: needs")


def test_a_refused_record_fails_the_check_even_when_every_source_is_fine(config, capsys, monkeypatch):
    put(config, OUTBOX, {"d": OutboxEntry("d", "siren-sync-d", last_error="HTTP 400").to_record()})
    with_sources(monkeypatch, Probe("woocommerce", [("woocommerce", True, "reachable")]))
    assert report(config, capsys, probe_sources=True)[0] == 1


def test_programs_are_listed_and_a_refund_left_alone_by_clawback_false_is_reported(site, monkeypatch, capsys, tmp_path):
    from datetime import timedelta
    from decimal import Decimal
    from fractions import Fraction

    from siren_sync import commissions
    from siren_sync.app import open_app
    from siren_sync.model import Event, Line, OrderValue
    from siren_sync.payouts import fulfillments

    monkeypatch.setattr(checks, "utcnow", lambda: NOW)
    programs = ("programs:\n  deals: {units: USD, reward: {percentage: 25}, engagements: [boundCouponUsed], "
                "clawback: false}\n  bounty: {units: USD, reward: {flat: \"5.00\"}, conversion: lead, "
                "status: inactive}\n")
    config = load_config(site.config(collab_yaml(["alice", "bob"]), dist_yaml() + programs))
    value = OrderValue("USD", Decimal("80.00"), (Line("1", Decimal("80.00")),))
    paid = NOW - timedelta(days=5)
    with open_app(config, now=NOW) as app:
        app.ledger.record([Event(key="woocommerce:sale:7", type="sale", at=paid, order=value, order_id=7,
                                 source="test"),
                           Event(key="woocommerce:boundCouponUsed:7:a", type="boundCouponUsed", at=paid,
                                 collaborator="alice", order_id=7, source="test")])
        commissions.reward(app.store, config.programs, app.ledger.collaborators, NOW)
        made = fulfillments.plan(app.store, fulfillments.Selection(NOW), str(tmp_path / "f.csv"),
                                 app.ledger.collaborators, {}, "", NOW)
        fulfillments.create(app.store, made, paid_at=NOW)
        euros = OrderValue("EUR", Decimal("80.00"), (Line("1", Decimal("80.00")),))
        for oid in (8, 9):  # in two runs: the counts add up
            app.ledger.record([Event(key=f"woocommerce:sale:{oid}", type="sale", at=paid, order=euros, order_id=oid,
                                     source="test"),
                               Event(key=f"woocommerce:boundCouponUsed:{oid}:a", type="boundCouponUsed", at=paid,
                                     collaborator="alice", order_id=oid, source="test")])
            commissions.reward(app.store, config.programs, app.ledger.collaborators, NOW)
        app.ledger.record([Event(key="woocommerce:refund:7:3", type="sale", at=NOW, order=value, order_id=7,
                                 share=-Fraction(1, 4), source="test")])
        commissions.reward(app.store, config.programs, app.ledger.collaborators, NOW)
    code, lines = report(config, capsys)
    assert code == 0
    assert lines[0].endswith("2 collaborators, 1 distributors, 2 programs, store " + str(config.store_path))
    assert ("program deals: deals (25% of each sale in USD, newestEngagementWins, boundCouponUsed, window 30 days, "
            "all, no renewals, clawback off)") in lines
    deals = next(i for i, line in enumerate(lines) if line.startswith("program deals:"))
    assert lines[deals + 1] == "  counted nothing (not USD): 2 sales in EUR"
    assert "program bounty: bounty (flat 5.00 USD per lead, all) [inactive: earns nothing]" in lines
    assert "refunded after payment and left with collaborators (clawback: false): 5.00 USD" in lines
