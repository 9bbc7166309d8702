"""An imported sale's reversal (`"reverses": "<the sale's key>"` on a negative sale) takes its program
rewards back pro rata, as WooCommerce refunds do an order's (README "Refunds, cancellations,
renewals"): an unpaid reward is reduced, a paid one clawed back, `clawback: false` leaves it."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.support.programs import DEALS, deal, json_of, shop

PAID = datetime(2026, 11, 10, 12, tzinfo=UTC)
AS_OF = "2026-11-20T00:00:00+00:00"
LATER = "2026-11-25T00:00:00+00:00"


def reverse(site, key: str, sale: str, revenue: str, at: datetime) -> int:
    """Import one negative sale naming `sale`; the exit status."""
    code, _, err = site.run("import", str(site.events([{"key": key, "type": "sale", "reverses": sale,
                                                          "at": at.isoformat(), "revenue": revenue}])))
    assert "skipped" not in err, err
    return code


def owed(site, as_of: str = LATER) -> dict[str, tuple[str, str]]:
    return {o["id"]: (o["amount"], o["status"]) for o in json_of(site, "payouts", "--as-of", as_of)["obligations"]}


def test_a_partial_reversal_reduces_an_unpaid_reward_pro_rata_and_a_full_one_nets_it_to_zero(site):
    """Before: an imported negative sale left the manual sale's reward whole (250.00 kept)."""
    shop(site, DEALS)
    deal(site, "deal-42", "alice", "1000.00", PAID)
    assert owed(site) == {"deals:deal-42:alice": ("250.00", "payable")}
    assert reverse(site, "deal-42:refund:1", "deal-42", "-333.33", datetime(2026, 11, 12, tzinfo=UTC)) == 0
    assert owed(site) == {"deals:deal-42:alice": ("166.67", "payable")}  # 250.00 x 333.33 / 1000.00 = 83.33
    assert reverse(site, "deal-42:cancel", "deal-42", "-666.67", datetime(2026, 11, 13, tzinfo=UTC)) == 0
    assert owed(site) == {"deals:deal-42:alice": ("0.00", "rejected")}
    assert json_of(site, "payouts", "--as-of", LATER)["collaborators"][0]["balance"] == "0.00"


def test_a_reversal_after_payment_is_clawed_back_and_netted_in_the_next_fulfillment(site):
    shop(site, DEALS)
    deal(site, "deal-42", "alice", "1000.00", PAID)
    deal(site, "deal-43", "alice", "400.00", PAID)
    code, _, err = site.run("payouts", "--csv", str(site.root / "paid.csv"), "--mark-paid")
    assert code == 0, err
    assert reverse(site, "deal-42:cancel", "deal-42", "-1000.00", datetime(2026, 11, 21, tzinfo=UTC)) == 0
    deal(site, "deal-44", "alice", "2000.00", datetime(2026, 11, 22, tzinfo=UTC))
    assert owed(site) == {"deals:deal-42:alice": ("250.00", "paid"), "deals:deal-43:alice": ("100.00", "paid"),
                          "deals:deal-42:alice:refund:deal-42:cancel": ("-250.00", "payable"),
                          "deals:deal-44:alice": ("500.00", "payable")}
    out = site.root / "next.csv"
    code, _, err = site.run("fulfill", "--out", str(out), "--as-of", LATER)
    assert code == 0, err
    assert out.read_text().splitlines()[1] == "F20261125-1:alice,alice@example.com,Alice,alice,USD,250.00"
    code, text, err = site.run("explain", "alice", "--reward", "deals:deal-42:alice")
    assert code == 0, err
    assert "  clawback deals:deal-42:alice:refund:deal-42:cancel: -250.00 USD, earned 2026-11-21T00:00:00+00:00" in text


def test_clawback_false_leaves_a_paid_reward_alone_and_check_says_how_much(site):
    shop(site, DEALS.replace("engagements: [manual]", "engagements: [manual], clawback: false"))
    deal(site, "deal-42", "alice", "1000.00", PAID)
    code, _, err = site.run("payouts", "--csv", str(site.root / "paid.csv"), "--mark-paid")
    assert code == 0, err
    assert reverse(site, "deal-42:refund:1", "deal-42", "-100.00", datetime(2026, 11, 21, tzinfo=UTC)) == 0
    assert owed(site) == {"deals:deal-42:alice": ("250.00", "paid")}
    _, out, _ = site.run("check")
    assert "refunded after payment and left with collaborators (clawback: false): 25.00 USD" in out


def test_a_sale_and_its_reversal_in_one_file_net_to_zero_to_the_cent(site):
    shop(site, DEALS)
    at, later = PAID.isoformat(), datetime(2026, 11, 11, tzinfo=UTC).isoformat()
    rows = [{"key": "deal-9", "type": "sale", "collaborator": "bob", "at": at, "revenue": "33.33"},
            {"key": "deal-9:r1", "type": "sale", "reverses": "deal-9", "at": later, "revenue": "-10.00"},
            {"key": "deal-9:r2", "type": "sale", "reverses": "deal-9", "at": later, "revenue": "-23.33"}]
    code, out, err = site.run("import", str(site.events(rows)))
    assert code == 0, err
    assert owed(site) == {"deals:deal-9:bob": ("0.00", "rejected")}  # 8.33 - 2.50 - 5.83


def test_a_reversal_that_cannot_name_its_sale_is_one_bad_line_naming_file_line_and_field(site):
    shop(site, DEALS)
    deal(site, "deal-42", "alice", "1000.00", PAID)
    before = PAID.replace(hour=11).isoformat()
    later = datetime(2026, 11, 12, tzinfo=UTC).isoformat()
    rows = [{"key": "r1", "type": "sale", "reverses": "deal-41", "at": later, "revenue": "-1.00"},
            {"key": "r2", "type": "sale", "reverses": "deal-42", "at": later, "revenue": "-1000.01"},
            {"key": "r3", "type": "sale", "reverses": "deal-42", "at": before, "revenue": "-1.00"},
            {"key": "r4", "type": "sale", "reverses": "deal-42", "at": later, "revenue": "5.00"},
            {"key": "r5", "type": "sale", "reverses": "deal-42", "collaborator": "alice", "at": later,
             "revenue": "-1.00"},
            {"key": "r6", "type": "lead", "reverses": "deal-42", "collaborator": "alice", "at": later},
            {"key": "r7", "type": "sale", "reverses": 42, "at": later, "revenue": "-1.00"},
            {"key": "r8", "type": "sale", "reverses": "r9", "at": later, "revenue": "-1.00"},
            {"key": "r9", "type": "sale", "collaborator": "alice", "at": later, "revenue": "1.00"}]
    path = site.events(rows)
    code, out, err = site.run("import", str(path))
    assert code == 1
    assert [line for line in err.splitlines() if line.startswith(str(path))] == [
        f"{path}:1: 'reverses': no sale 'deal-41' is recorded or on an earlier line (skipped)",
        f"{path}:2: 'revenue' is -1000.01: more than the 1000.00 of the sale 'deal-42' it reverses (skipped)",
        f"{path}:3: 'at' is 2026-11-10T11:00:00+00:00: a reversal comes after the sale 'deal-42' it reverses "
        "(2026-11-10T12:00:00+00:00) (skipped)",
        f"{path}:4: 'revenue' is 5.00: a reversal takes back, its 'revenue' is negative (skipped)",
        f"{path}:5: a reversal names its sale ('reverses'), not a 'collaborator': the sale's is taken back (skipped)",
        f"{path}:6: 'reverses' is a field of a sale (a reversal), not of a lead (skipped)",
        f"{path}:7: 'reverses' must be the key of the sale it takes back (a string) (skipped)",
        f"{path}:8: 'reverses': no sale 'r9' is recorded or on an earlier line (skipped)"]
    assert "imported 1 new events from 9 lines" in out
    assert owed(site) == {"deals:deal-42:alice": ("250.00", "payable"), "deals:r9:alice": ("0.25", "payable")}


def test_a_negative_sale_naming_a_collaborator_says_how_to_reverse_one(site):
    shop(site, DEALS)
    path = site.events([{"key": "x", "type": "sale", "collaborator": "alice", "at": PAID.isoformat(),
                         "revenue": "-5.00"}])
    code, _, err = site.run("import", str(path))
    assert code == 1 and '"reverses": "<its key>"' in err


def test_a_reversal_nets_in_the_pool_as_any_negative_sale(site):
    shop(site, DEALS)
    deal(site, "deal-1", "alice", "100.00", PAID)
    assert reverse(site, "deal-1:r", "deal-1", "-40.00", PAID + timedelta(days=1)) == 0
    (standing,) = json_of(site, "standings")["standings"]
    assert standing["revenue"] == "60.00"


def test_a_file_of_reversals_reads_their_sales_month_once_and_takes_each_back(site, monkeypatch):
    """A CRM's file of reversals: each finds its sale's rewards in the sale's month. Before, each
    reversal copied and scanned that month's whole table again (three reads here, one per reversal)."""
    from siren_sync.store.tinydb.store import TinyDBStore

    shop(site, DEALS)
    for n in range(3):
        deal(site, f"deal-{n}", "alice", "400.00", PAID + timedelta(hours=n))
    month, reads = "programs/obligations/2026-11", []
    real = TinyDBStore.table
    monkeypatch.setattr(TinyDBStore, "table", lambda store, table: reads.append(table) or real(store, table))
    later = (PAID + timedelta(days=1)).isoformat()
    rows = [{"key": f"deal-{n}:r", "type": "sale", "reverses": f"deal-{n}", "at": later, "revenue": "-100.00"}
            for n in range(3)]
    code, _, err = site.run("import", str(site.events(rows)))
    monkeypatch.undo()
    assert code == 0, err
    assert reads.count(month) == 1
    assert owed(site) == {f"deals:deal-{n}:alice": ("75.00", "payable") for n in range(3)}  # 100.00 - 25.00
