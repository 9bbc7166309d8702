"""`siren-sync demo`: the whole lifecycle on the sandbox site, down to a paid PayPal fulfillment."""
from __future__ import annotations

import io
import re

from siren_sync import demo


def test_the_demo_pays_its_collaborators_through_a_paypal_file_and_shows_the_overview():
    out = io.StringIO()
    assert demo.run(weeks=2, seed=7, out=out) == 0
    text = out.getvalue()
    paying = text[text.index("== paying collaborators =="):]
    lines = paying.splitlines()
    assert re.fullmatch(r"fulfillment F\d{8}-1: PayPal file .*/paypal\.csv", lines[1])
    rows = [line.strip() for line in lines[2:6]]
    assert all(re.fullmatch(r"[a-z]+\.[a-z]+@example\.test,\d+\.\d\d,USD,F\d{8}-1-[1-4],Rewards from the demo "
                            r"shop,PAYPAL", row) for row in rows), rows
    assert re.fullmatch(r"fulfillment F\d{8}-1 complete: 4 payouts paid; 3 records on the site updated with "
                        r"their payments", lines[6])
    assert lines[7].startswith("payouts as of ")
    table = lines[9:13]
    # the first week is paid; the second is still inside its 3-day hold
    assert all(row.split()[1] == "USD" and row.split()[3] != "0.00" and row.split()[6] != "0.00" for row in table)
    assert text.rstrip().splitlines()[-1].startswith("demo finished in")
