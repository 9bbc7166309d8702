"""What every source gets and gives (siren_sync/sources/base.py): the attribution lookups built from
the collaborators, and the duration a poll's report shows."""
from __future__ import annotations

import time

import pytest

from siren_sync.model import Collaborator
from siren_sync.sources import base
from siren_sync.sources.base import Attribution, SyncReport

ALICE = Collaborator(id="alice", wp_user_id=12, coupons=("ALICE10", "Spring-Sale"), tracking_ids=("ali",),
                     products=(93, 94), posts=(501,))
BRUNO = Collaborator(id="bruno", status="inactive", coupons=("bruno15",), tracking_ids=("bruno",), products=(11,))


def test_every_binding_is_indexed_to_its_collaborator():
    index = Attribution.of([ALICE, BRUNO])
    assert index.by_coupon == {"alice10": "alice", "spring-sale": "alice", "bruno15": "bruno"}
    assert index.by_tracking_id == {"ali": "alice", "bruno": "bruno"}
    assert index.by_product == {93: "alice", 94: "alice", 11: "bruno"}
    assert index.by_wp_user == {12: "alice"}
    assert index.by_post == {501: "alice"}


def test_coupons_are_looked_up_in_lower_case_as_woocommerce_returns_them():
    index = Attribution.of([Collaborator(id="carol", coupons=("CaRoL-20",))])
    assert index.by_coupon == {"carol-20": "carol"}


def test_an_inactive_collaborator_is_still_indexed():
    """Who owns a coupon does not depend on status: the ledger decides who scores, not the source."""
    assert Attribution.of([BRUNO]).by_product == {11: "bruno"}


def test_a_collaborator_without_a_wordpress_user_owns_no_user_id():
    assert Attribution.of([BRUNO]).by_wp_user == {}


def test_a_later_collaborator_wins_a_shared_binding():
    first = Collaborator(id="first", coupons=("SHARED",), products=(7,))
    second = Collaborator(id="second", coupons=("shared",), products=(7,))
    index = Attribution.of([first, second])
    assert index.by_coupon == {"shared": "second"} and index.by_product == {7: "second"}


def test_no_collaborators_no_lookups():
    assert Attribution.of([]) == Attribution()


def test_a_report_starts_empty_for_its_source():
    report = SyncReport("woocommerce")
    assert (report.source, report.records, report.events, report.quarantined, report.pages, report.detail) == (
        "woocommerce", 0, 0, 0, 0, {})


def test_a_report_starts_its_clock_when_it_is_made():
    before = time.monotonic()
    report = SyncReport("woocommerce")
    assert before <= report.started <= time.monotonic()


def test_a_reports_duration_is_the_monotonic_time_since_the_poll_started(monkeypatch: pytest.MonkeyPatch):
    report = SyncReport("woocommerce", started=100.0)
    monkeypatch.setattr(base.time, "monotonic", lambda: 112.5)
    assert report.duration == 12.5


def test_each_report_has_its_own_detail():
    first, second = SyncReport("a"), SyncReport("b")
    first.detail["pages"] = 3
    assert second.detail == {}


def test_a_coupon_or_tracking_id_typed_another_way_finds_its_owner():
    """Before: `CAFÉ` typed with a combining accent on the shop did not find the configured `café`."""
    index = Attribution.of([Collaborator("jos\u00e9", coupons=("caf\u00e910",), tracking_ids=("jos\u00e9",))])
    assert index.by_coupon.get("cafe\u030110") == "jos\u00e9"  # what WooCommerce sends, lower-cased
    assert index.by_coupon.get("CAF\u00c910") == "jos\u00e9" and "cafe\u030110" in index.by_coupon
    assert index.by_coupon["caf\u00e910"] == "jos\u00e9"
    assert index.by_tracking_id.get("jose\u0301") == "jos\u00e9" and index.by_tracking_id.get("other") is None
    assert index.by_coupon.get(None) is None  # a lookup of nothing finds nothing
