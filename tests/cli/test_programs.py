"""Programs through the command line: `import` of sales naming a collaborator and of leads, then
`standings`, `history`, `explain --reward`, `payouts` and `approve` show and move their rewards."""
from __future__ import annotations

from datetime import UTC, datetime

from tests.support.programs import DEALS, LEADS, deal, json_of, lead, shop

PAID = datetime(2025, 3, 10, 12, tzinfo=UTC)


def test_payouts_json_has_program_obligations_exactly_as_design_section_7(site):
    shop(site, DEALS)
    deal(site, "crm:deal:9", "alice", "120.00", PAID)
    view = json_of(site, "payouts", "--as-of", "2025-06-01T00:00:00+00:00")
    assert view["obligations"] == [{
        "id": "deals:crm:deal:9:alice", "source": "program", "origin": "deals", "collaborator": "alice",
        "amount": "30.00", "units": "USD", "status": "payable", "earned_at": "2025-03-10T12:00:00+00:00",
        "payable_at": "2025-03-10T12:00:00+00:00", "fulfillment": None, "paid_at": None}]
    assert view["collaborators"][0]["balance"] == "30.00"


def test_the_hold_applies_to_program_rewards(site):
    shop(site, DEALS, payouts="payouts: {hold: 30 days}\n")
    deal(site, "crm:deal:9", "alice", "120.00", PAID)
    (row,) = json_of(site, "payouts", "--as-of", "2025-03-20T00:00:00+00:00")["obligations"]
    assert (row["status"], row["payable_at"]) == ("pending", "2025-04-09T12:00:00+00:00")


def test_history_lists_rewards_beside_distributions(site):
    shop(site, DEALS, LEADS)
    deal(site, "crm:deal:9", "alice", "120.00", PAID)
    lead(site, "crm:lead:1", "bob", PAID)
    assert json_of(site, "history") == {"distributions": [], "rewards": [
        {"id": "deals:crm:deal:9:alice", "program": "deals", "collaborator": "alice", "amount": "30.00",
         "units": "USD", "earned_at": "2025-03-10T12:00:00+00:00", "status": "payable"},
        {"id": "leads:crm:lead:1:bob", "program": "leads", "collaborator": "bob", "amount": "10.00",
         "units": "USD", "earned_at": "2025-03-10T12:00:00+00:00", "status": "payable"}]}
    code, out, _ = site.run("history")
    assert code == 0 and "program rewards:" in out and "deals:crm:deal:9:alice" in out


def test_history_shows_a_paid_reward_as_paid_like_payouts(site):
    """Before: `history` showed the stored status, `pending`, for a reward `payouts` showed paid."""
    shop(site, DEALS)
    deal(site, "crm:deal:9", "alice", "120.00", PAID)
    code, _, err = site.run("payouts", "--csv", str(site.root / "paid.csv"), "--mark-paid")
    assert code == 0, err
    [reward] = json_of(site, "history")["rewards"]
    assert reward["status"] == "paid"
    code, out, _ = site.run("history")
    assert "deals:crm:deal:9:alice" in out and out.rstrip().endswith("[paid]")


def test_a_store_without_programs_prints_history_and_standings_as_before(site):
    shop(site)
    assert json_of(site, "history") == {"distributions": []}
    assert set(json_of(site, "standings")) == {"standings"}


def test_standings_show_the_open_month_s_earnings_per_program(site):
    shop(site, DEALS)
    deal(site, "crm:deal:1", "alice", "100.00")
    deal(site, "crm:deal:2", "bob", "40.00")
    deal(site, "crm:deal:old", "bob", "400.00", PAID)  # another month
    (month,) = json_of(site, "standings")["programs"]
    assert (month["program"], month["rewards"], month["earned"], month["units"]) == ("deals", 2, "35.00", "USD")
    assert month["collaborators"] == [{"collaborator": "alice", "amount": "25.00"},
                                      {"collaborator": "bob", "amount": "10.00"}]
    code, out, _ = site.run("standings")
    assert "program deals:" in out and "2 rewards, 35.00 USD" in out


def test_explain_a_reward_shows_its_engagements_the_winner_and_the_arithmetic(site):
    shop(site, DEALS)
    deal(site, "crm:deal:9", "alice", "33.33", PAID)
    code, out, err = site.run("explain", "alice", "--reward", "deals:crm:deal:9:alice")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "reward deals:crm:deal:9:alice (program deals: deals), order crm:deal:9"
    assert "    2025-03-10T12:00:00+00:00  manual                   alice" in lines
    assert "  won: newestEngagementWins: alice's engagement at 2025-03-10T12:00:00+00:00 is the newest" in lines
    assert "  counted value 33.33; amount: 25% of 33.33 = 8.33 USD (rounded half-up to 0.01)" in lines
    assert any(line.startswith("  now 8.33 USD, status payable") for line in lines)
    code, _, err = site.run("explain", "bob", "--reward", "deals:crm:deal:9:alice")
    assert code == 2 and "bob has no program reward 'deals:crm:deal:9:alice'" in err


def test_a_reviewed_program_s_rewards_wait_for_approve(site):
    shop(site, DEALS.replace("engagements: [manual]", "engagements: [manual], review: true"))
    deal(site, "crm:deal:9", "alice", "120.00", PAID)
    later = ("--as-of", "2025-06-01T00:00:00+00:00")
    assert json_of(site, "payouts", *later)["obligations"][0]["status"] == "draft"
    code, out, err = site.run("approve", "deals:crm:deal:9:alice")
    assert code == 0, err
    assert out.strip() == "approved program reward deals:crm:deal:9:alice: pending until its hold is over"
    assert json_of(site, "payouts", *later)["obligations"][0]["status"] == "payable"
    code, out, _ = site.run("approve", "deals:crm:deal:9:alice", "--reject", "--reason", "duplicate")
    assert code == 2
    code, _, err = site.run("approve", "nothing:1:alice")
    assert code == 2 and "unknown distribution 'nothing:1:alice'" in err


def test_a_fulfillment_pays_program_rewards_in_the_siren_file(site, tmp_path):
    shop(site, DEALS)
    deal(site, "crm:deal:9", "alice", "120.00", PAID)
    out = tmp_path / "payouts.csv"
    code, _, err = site.run("fulfill", "--out", str(out), "--as-of", "2025-06-01T00:00:00+00:00")
    assert code == 0, err
    assert out.read_text().splitlines()[1] == "F20250601-1:alice,alice@example.com,Alice,alice,USD,30.00"


def test_a_program_added_later_rewards_the_sales_imported_from_then_on(site):
    shop(site)
    deal(site, "crm:deal:1", "alice", "100.00", PAID)
    shop(site, DEALS)
    deal(site, "crm:deal:2", "alice", "100.00", PAID)
    assert [r["id"] for r in json_of(site, "history")["rewards"]] == ["deals:crm:deal:2:alice"]


def test_approve_decides_on_the_reward_as_stored_when_it_commits(site, monkeypatch):
    """Before: approve wrote back the reward it had read before taking the write lock, so a refund
    the worker committed in between (taking the reward to 0.00, `rejected`) was undone and paid."""
    from siren_sync import commissions
    from siren_sync.app import open_app
    from siren_sync.config import load_config

    shop(site, DEALS.replace("engagements: [manual]", "engagements: [manual], review: true"))
    deal(site, "crm:deal:9", "alice", "120.00", PAID)
    found, calls = commissions.find, []

    def found_then_refunded_by_another_writer(store, ident):
        table, doc = found(store, ident)
        calls.append(ident)
        if len(calls) < 2:  # the command's usage check; the second look is approve's own
            return table, doc
        with open_app(load_config(site.root / "siren.yaml")) as other, other.store.transaction() as tx:
            tx.put(table, ident, dict(doc, amount="0.00", status="rejected"))
        return table, doc

    monkeypatch.setattr(commissions, "find", found_then_refunded_by_another_writer)
    code, _, err = site.run("approve", "deals:crm:deal:9:alice")
    assert code == 2 and "program reward deals:crm:deal:9:alice is rejected: its refunds took it back whole" in err
    monkeypatch.setattr(commissions, "find", found)
    [reward] = json_of(site, "payouts", "--as-of", "2025-06-01T00:00:00+00:00")["obligations"]
    assert (reward["amount"], reward["status"]) == ("0.00", "rejected")
