"""Programs through the command line: `import` of sales naming a collaborator and of leads, then
`standings`, `history`, `explain --reward`, `payouts` and `approve` show and move their rewards."""
from __future__ import annotations

import json
from datetime import UTC, datetime

from tests.support.cli import dist_yaml
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
    assert out.strip() == "approved program reward deals:crm:deal:9:alice: payable now"  # no hold
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
        made = found(store, ident)
        calls.append(ident)
        if len(calls) < 2:  # the command's usage check; the second look is approve's own
            return made
        with open_app(load_config(site.root / "siren.yaml")) as other, other.store.transaction() as tx:
            tx.put(made.table, ident, dict(made.doc, amount="0.00", status="rejected"))
        return made

    monkeypatch.setattr(commissions, "find", found_then_refunded_by_another_writer)
    code, _, err = site.run("approve", "deals:crm:deal:9:alice")
    assert code == 2 and "program reward deals:crm:deal:9:alice is rejected: its refunds took it back whole" in err
    monkeypatch.setattr(commissions, "find", found)
    [reward] = json_of(site, "payouts", "--as-of", "2025-06-01T00:00:00+00:00")["obligations"]
    assert (reward["amount"], reward["status"]) == ("0.00", "rejected")


# -- what a user reads: times in the site's timezone, ids in NFC, leads, approve ---------------------------

PARIS = "Europe/Paris"  # 2025-03-10T12:00Z is 13:00+01:00; 30 days later the clocks went forward: 14:00+02:00
HELD = "payouts: {hold: 30 days}\n"
REVIEWED = DEALS.replace("engagements: [manual]", "engagements: [manual], review: true")


def test_history_text_shows_a_reward_s_time_in_the_site_s_timezone_and_its_json_as_stored(site):
    """Before: `earned 2025-03-10T12:00:00+00:00` in a site in Paris, where distributions show +01:00.
    `--json` keeps the stored UTC time: an exact instant with its offset (DESIGN), unchanged."""
    shop(site, DEALS, timezone=PARIS)
    deal(site, "crm:deal:9", "alice", "120.00", PAID)
    code, out, _ = site.run("history")
    assert code == 0 and "earned 2025-03-10T13:00:00+01:00 [payable]" in out
    assert json_of(site, "history")["rewards"][0]["earned_at"] == "2025-03-10T12:00:00+00:00"


def test_explain_a_reward_shows_every_time_in_the_site_s_timezone(site):
    """Before: the engagement, the winner's reason, earned, payable from and a refund's note in UTC."""
    shop(site, DEALS, payouts=HELD, timezone=PARIS)
    deal(site, "crm:deal:9", "alice", "120.00", PAID)
    code, _, err = site.run("import", str(site.events([{"key": "crm:deal:9:r", "type": "sale", "reverses": "crm:deal:9",
                                                          "at": "2025-03-11T08:00:00+00:00", "revenue": "-12.00"}])))
    assert code == 0, err
    code, out, err = site.run("explain", "alice", "--reward", "deals:crm:deal:9:alice")
    assert code == 0, err
    lines = out.splitlines()
    assert "    2025-03-10T13:00:00+01:00  manual                   alice" in lines
    assert "  won: newestEngagementWins: alice's engagement at 2025-03-10T13:00:00+01:00 is the newest" in lines
    assert "  reward 30.00 USD, earned 2025-03-10T13:00:00+01:00 (the payment)" in lines
    assert ("  refund crm:deal:9:r at 2025-03-11T09:00:00+01:00: -3.00 = 30.00 x 12.00 / 120.00, rounded half-up; "
            "the reward is reduced") in lines
    assert "  now 27.00 USD, status payable, payable from 2025-04-09T14:00:00+02:00" in lines
    assert "+00:00" not in out


def test_payouts_show_a_reward_s_hold_in_the_site_s_timezone(site):
    """Before: `until 2025-04-09T12:00:00+00:00` and the next payable time in UTC."""
    shop(site, DEALS, payouts=HELD, timezone=PARIS)
    deal(site, "crm:deal:9", "alice", "120.00", PAID)
    code, out, _ = site.run("payouts", "--as-of", "2025-03-20T00:00:00+00:00", "--collaborator", "alice")
    assert code == 0
    row, listed = out.splitlines()[2:4]
    assert row.endswith("  2025-04-09T14:00:00+02:00")
    assert listed.endswith("pending until 2025-04-09T14:00:00+02:00")
    (obligation,) = json_of(site, "payouts", "--as-of", "2025-03-20T00:00:00+00:00")["obligations"]
    assert obligation["payable_at"] == "2025-04-09T12:00:00+00:00"  # the JSON as stored


def test_a_reward_id_typed_in_another_unicode_form_is_the_stored_one(site):
    """Ids are compared in NFC (README). Before: `explain --reward` and `approve` refused the reward
    of a configured `José` typed with a combining accent (exit 2), though the collaborator was found."""
    site.config("  - {id: José, name: José, email: jose@example.com}", dist_yaml() + f"programs:\n  {REVIEWED}\n")
    deal(site, "crm:deal:9", "José", "120.00", PAID)
    code, out, err = site.run("explain", "Jose\u0301", "--reward", "deals:crm:deal:9:Jose\u0301")
    assert code == 0, err
    assert out.startswith("reward deals:crm:deal:9:José (program deals: deals), order crm:deal:9")
    code, out, err = site.run("approve", "deals:crm:deal:9:Jose\u0301")
    assert code == 0, err
    assert out == "approved program reward deals:crm:deal:9:José: payable now\n"
    assert json_of(site, "history")["rewards"][0]["status"] == "payable"


def test_a_reward_whose_imported_key_was_written_with_a_combining_accent_is_found_either_way(site):
    shop(site, DEALS)
    deal(site, "crm:jose\u0301", "alice", "120.00", PAID)  # the key is stored as imported
    for typed in ("deals:crm:jose\u0301:alice", "deals:crm:jos\u00e9:alice"):
        code, out, err = site.run("explain", "alice", "--reward", typed)
        assert code == 0, err
        assert out.startswith("reward deals:crm:jose\u0301:alice (program deals: deals)")


def test_explain_a_lead_says_its_flat_bounty_and_no_counted_value(site):
    """Before: `counted value 0; amount: flat 10.00 USD per lead` and `earned ... (the payment)`."""
    shop(site, LEADS)
    lead(site, "crm:lead:1", "bob", PAID)
    code, out, err = site.run("explain", "bob", "--reward", "leads:crm:lead:1:bob")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[:3] == ["reward leads:crm:lead:1:bob (program leads: leads), lead crm:lead:1",
                         "  engagements of the lead:", "    2025-03-10T12:00:00+00:00  lead                     bob"]
    assert "  amount: flat 10.00 USD per lead (the bounty of each lead)" in lines
    assert "  reward 10.00 USD, earned 2025-03-10T12:00:00+00:00 (the lead)" in lines
    assert not any("counted value" in line for line in lines)


def test_approve_says_when_a_reward_is_payable_as_it_is(site, monkeypatch):
    """Before: always `pending until its hold is over`, with no hold or a hold already over."""
    from siren_sync.cli import payouts

    shop(site, REVIEWED, payouts=HELD, timezone=PARIS)
    deal(site, "crm:deal:1", "alice", "120.00", PAID)
    deal(site, "crm:deal:2", "alice", "120.00", PAID)
    monkeypatch.setattr(payouts, "utcnow", lambda: datetime(2025, 3, 20, tzinfo=UTC))  # inside the hold
    code, out, _ = site.run("approve", "deals:crm:deal:1:alice")
    assert (code, out) == (0, "approved program reward deals:crm:deal:1:alice: pending until "
                              "2025-04-09T14:00:00+02:00, when its hold is over\n")
    monkeypatch.setattr(payouts, "utcnow", lambda: datetime(2025, 4, 9, 12, tzinfo=UTC))  # the hold's very end
    code, out, _ = site.run("approve", "deals:crm:deal:2:alice")
    assert (code, out) == (0, "approved program reward deals:crm:deal:2:alice: payable now\n")
    code, out, _ = site.run("payouts", "--as-of", "2025-04-09T12:00:00+00:00", "--json")
    assert {o["status"] for o in json.loads(out)["obligations"]} == {"payable"}


def _visits_sync(make_sandbox, tmp_path, monkeypatch, capsys, channels: str | None) -> tuple[object, set[int]]:
    """The sandbox shop with its access log (its phone orders among the rest), synced by `siren-sync
    sync` into a new store with a referral-visit program; (the sandbox, the orders `history` rewards)."""
    from siren_sync.cli import main
    from siren_sync.demo import THREE_POOLS, sandbox_config_text, sandbox_env

    log = tmp_path / "access.log"
    sb = make_sandbox(seed=5, days=12, orders_per_day=30, lms=False, access_log=log)
    sb.advance(12 * 86_400)
    folder = tmp_path / f"worker-{channels}"
    folder.mkdir()
    woo = "{enabled: true}" if channels is None else f"{{enabled: true, visitor_created_via: {channels}}}"
    text = (f"sync:\n  woocommerce: {woo}\n  access_log: {{enabled: true, path: {log}}}\n"
            "programs:\n  affiliates: {units: USD, reward: {percentage: 25}, engagements: [referredSiteVisit], "
            "window: 30 days}\n" + THREE_POOLS.format(schedule="+1 week", start="2026-11-01"))
    (folder / "siren.yaml").write_text(sandbox_config_text(sb.url, text))
    for name, value in sandbox_env(sb.credentials).items():
        monkeypatch.setenv(name, value)
    assert main(["--config", str(folder / "siren.yaml"), "sync"]) == 0
    capsys.readouterr()
    assert main(["--config", str(folder / "siren.yaml"), "history", "--json"]) == 0
    rewards = json.loads(capsys.readouterr().out)["rewards"]
    return sb, {int(r["id"].split(":")[1]) for r in rewards}


def test_a_phone_order_keyed_in_after_the_manager_tried_a_referral_link_pays_nothing_by_visit(
        make_sandbox, tmp_path, monkeypatch, capsys):
    """The shop manager tried a collaborator's `?ref=` link on the office computer, then keyed in
    phone orders there (`created_via: admin`): they record the office's address and agent, so they
    are the visit's visitor. By default no program pays them by that visit, while storefront orders
    following their customers' own visits are paid; listing `admin` as a customer's channel (what
    siren-sync did before) pays the collaborator for the manager's click."""
    sb, paid = _visits_sync(make_sandbox, tmp_path, monkeypatch, capsys, None)
    phone = {o.id for o in sb.site.orders.values() if o.created_via == "admin" and o.paid is not None}
    assert phone and len(paid) > 20
    assert paid & phone == set()
    _, wrongly = _visits_sync(make_sandbox, tmp_path, monkeypatch, capsys, "[checkout, store-api, admin]")
    assert wrongly & phone and wrongly - phone == paid
