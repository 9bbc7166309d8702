"""Payout files byte for byte (payouts/formats.py): Siren's CSV and PayPal Payouts' upload file."""
from __future__ import annotations

from decimal import Decimal

import pytest

from siren_sync.errors import UsageError
from siren_sync.model import Collaborator, Obligation, Payout
from siren_sync.payouts import formats
from tests.engine.test_balances import EARNED

PEOPLE = {c.id: c for c in (
    Collaborator("alice", "Alice Martin", "alice@example.com"),
    Collaborator("bob", 'Bob, "the builder"', "bob@example.com"),
    Collaborator("=cmd", "@SUM(A1:A2)", "+1@example.com"),
    Collaborator("tab", "\tTabbed\rName", "tab@example.com"),
    Collaborator("nomail", "No Mail", ""),
    Collaborator("zoé", "Zoé Ünïcode", "zoe@example.com"),
)}


def payout(who, amount, units="USD", fulfillment="F20261201-1"):
    return Payout(fulfillment, who, units, Decimal(amount), (f"d:{who}",))


def test_siren_file_byte_for_byte():
    data = formats.siren_file([payout("alice", "30.00"), payout("bob", "1234.50"), payout("zoé", "0.07"),
                               payout("gone", "5", units="points")], PEOPLE)
    assert data == (
        "Payout ID,Collaborator Email,Collaborator Name,Collaborator ID,Currency,Value\n"
        "F20261201-1:alice,alice@example.com,Alice Martin,alice,USD,30.00\n"
        'F20261201-1:bob,bob@example.com,"Bob, ""the builder""",bob,USD,1234.50\n'
        "F20261201-1:zoé,zoe@example.com,Zoé Ünïcode,zoé,USD,0.07\n"
        "F20261201-1:gone,<deleted>,<deleted>,gone,points,5\n").encode()
    assert not data.startswith(b"\xef\xbb\xbf") and b"\r" not in data


def test_cells_a_spreadsheet_would_run_get_a_leading_quote_and_amounts_stay_numbers():
    data = formats.siren_obligations([
        Obligation("d", "=cmd", Decimal("-4.25"), "USD", Decimal(1), EARNED),
        Obligation("d", "tab", Decimal("3.00"), "-pts", Decimal(1), EARNED)], PEOPLE)
    assert data.decode() == (
        "Payout ID,Collaborator Email,Collaborator Name,Collaborator ID,Currency,Value\n"
        "d:=cmd,'+1@example.com,'@SUM(A1:A2),'=cmd,USD,-4.25\n"  # the id starts with d: safe as it is
        "d:tab,tab@example.com,\"'\tTabbed\rName\",tab,'-pts,3.00\n")  # a CR is quoted (RFC 4180)


@pytest.mark.parametrize("text, cell", [("=1+1", "'=1+1"), ("+33 6", "'+33 6"), ("-x", "'-x"), ("@x", "'@x"),
                                        ("\tx", "'\tx"), ("\rx", "'\rx"), ("a=b", "a=b"), ("", "")])
def test_text_cell(text, cell):
    assert formats.text_cell(text) == cell


def test_paypal_file_byte_for_byte():
    files = formats.paypal_files("out/paypal.csv", list(enumerate([payout("alice", "30.00"), payout("bob", "7.5")], 1)),
                                 PEOPLE, 'Rewards, "November"')
    assert files == {"out/paypal.csv": (
        b'alice@example.com,30.00,USD,F20261201-1-1,"Rewards, ""November""",PAYPAL\n'
        b'bob@example.com,7.5,USD,F20261201-1-2,"Rewards, ""November""",PAYPAL\n')}


def test_paypal_note_that_looks_like_a_formula_is_neutralised():
    [data] = formats.paypal_files("p.csv", [(1, payout("alice", "1.00"))], PEOPLE, "=HYPERLINK(x)").values()
    assert data == b"alice@example.com,1.00,USD,F20261201-1-1,'=HYPERLINK(x),PAYPAL\n"


def test_paypal_writes_one_file_per_currency_numbering_payouts_across_them():
    numbered = list(enumerate([payout("alice", "1.00", "EUR"), payout("bob", "100", "JPY"),
                               payout("alice", "2.00", "USD")], 1))
    files = formats.paypal_files("/x/pay.csv", numbered, PEOPLE, "")
    assert files == {"/x/pay.EUR.csv": b"alice@example.com,1.00,EUR,F20261201-1-1,,PAYPAL\n",
                     "/x/pay.JPY.csv": b"bob@example.com,100,JPY,F20261201-1-2,,PAYPAL\n",
                     "/x/pay.USD.csv": b"alice@example.com,2.00,USD,F20261201-1-3,,PAYPAL\n"}
    assert formats.per_currency("payouts", "USD") == "payouts.USD"
    with pytest.raises(UsageError, match="one currency a file.*give --out a file name"):
        formats.paypal_files("-", numbered, PEOPLE, "")


def test_paypal_refuses_custom_units_and_payees_without_an_address():
    with pytest.raises(UsageError, match="points is not a currency: PayPal pays currencies only"):
        formats.paypal_files("p.csv", [(1, payout("alice", "5", "points"))], PEOPLE, "")
    with pytest.raises(UsageError, match="PayPal needs an email address for =cmd, gone, nomail"):
        formats.paypal_files("p.csv", [(1, payout("nomail", "5")), (2, payout("gone", "5")),
                                       (3, payout("=cmd", "5"))], PEOPLE, "")


def test_paypal_takes_5000_rows_a_file_and_says_so_beyond():
    people = {f"c{i}": Collaborator(f"c{i}", email=f"c{i}@example.com") for i in range(5001)}
    rows = [(i + 1, payout(f"c{i}", "1.00")) for i in range(5001)]
    assert len(formats.paypal_files("p.csv", rows[:5000], people, "")["p.csv"].splitlines()) == 5000
    with pytest.raises(UsageError, match="PayPal takes at most 5,000 rows a file and USD has 5,001 payouts"):
        formats.paypal_files("p.csv", rows, people, "")


def test_paypal_customer_ids_fit_30_characters():
    with pytest.raises(UsageError, match="over 30 characters"):
        formats.paypal_files("p.csv", [(1, payout("alice", "1.00", fulfillment="F20261201-" + "9" * 20))], PEOPLE, "")
