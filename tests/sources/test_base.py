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


# -- visitors -------------------------------------------------------------------------------------------

KEY = b"k" * 32
AGENT = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Firefox/131.0"


def test_a_visitor_is_one_digest_however_its_address_and_agent_are_spelled():
    digest = base.visitor_digest(KEY, "203.0.113.7", AGENT)
    assert len(digest) == 32 and int(digest, 16) >= 0
    for address, agent in (("::ffff:203.0.113.7", AGENT), (" 203.0.113.7 ", AGENT),
                           ("203.0.113.7", f"  {AGENT.replace(' ', '   ')}\n")):
        assert base.visitor_digest(KEY, address, agent) == digest
    v6 = base.visitor_digest(KEY, "2001:db8::1", AGENT)
    assert base.visitor_digest(KEY, "2001:DB8:0:0:0:0:0:1", AGENT) == v6
    assert base.visitor_digest(KEY, "[2001:db8::1]", AGENT) == v6


def test_a_plain_agents_digest_is_the_one_visits_already_stored_carry():
    """The agent's normalisation changed (issue 13): a plain agent's digest must not, or visits
    recorded before would no longer match the orders placed after."""
    assert base.visitor_digest(KEY, "203.0.113.7", AGENT) == "70cd196128cc8bc8a4e928a35c5df902"
    iphone = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
              "Mobile/15E148")
    assert base.visitor_digest(KEY, "2001:db8::1", iphone) == "4c1beb6130b5c067ed9b997723ae8db5"


# (agent as the browser sent it, as WooCommerce stored it): PHP 8.2 with WordPress's sanitize_text_field.
AS_STORED = [
    ("Mozilla/5.0\u00a0(X11; Linux x86_64) Firefox/131.0", "Mozilla/5.0\u00a0(X11; Linux x86_64) Firefox/131.0"),
    ("Mozilla/5.0%20(X11; Linux x86_64) Firefox/131.0", "Mozilla/5.0(X11; Linux x86_64) Firefox/131.0"),
    ("Mozilla/5.0 <b>(X11; Linux x86_64)</b> Firefox/131.0", "Mozilla/5.0 (X11; Linux x86_64) Firefox/131.0"),
    ("Mozilla/5.0\t(X11; Linux x86_64)  Firefox/131.0 ", "Mozilla/5.0 (X11; Linux x86_64) Firefox/131.0"),
    ('Mozilla/5.0 (X11; "Caf\u00e9" \\ build) Firefox/131.0', 'Mozilla/5.0 (X11; "Caf\u00e9" \\ build) Firefox/131.0'),
    ("Mozilla/5.0 (X11; Linux x86_64\x1c) Firefox/131.0", "Mozilla/5.0 (X11; Linux x86_64\x1c) Firefox/131.0"),
]


@pytest.mark.parametrize(("sent", "stored"), AS_STORED)
def test_the_agent_sent_and_the_agent_woocommerce_stored_are_one_visitor(sent: str, stored: str):
    """Before: whitespace was collapsed by str.split() (which also splits on a no-break space and
    \\x1c, which WordPress keeps) and `%20` or tags were kept (WordPress removes them)."""
    assert base.visitor_digest(KEY, "203.0.113.7", sent) == base.visitor_digest(KEY, "203.0.113.7", stored)


def test_visitors_differ_by_address_agent_and_key():
    digest = base.visitor_digest(KEY, "203.0.113.7", AGENT)
    assert base.visitor_digest(KEY, "203.0.113.8", AGENT) != digest
    assert base.visitor_digest(KEY, "203.0.113.7", AGENT + " ") == digest  # whitespace only
    assert base.visitor_digest(KEY, "203.0.113.7", AGENT.replace("131", "132")) != digest
    assert base.visitor_digest(b"j" * 32, "203.0.113.7", AGENT) != digest


def test_an_address_that_is_not_an_ip_is_kept_as_text_and_odd_text_never_fails():
    assert base.normal_address(" Unknown ") == "unknown"
    assert base.normal_address("::FFFF:192.0.2.1") == "192.0.2.1"
    assert len(base.visitor_digest(KEY, "\ud800", "\udfff agent")) == 32  # a lone surrogate from JSON
