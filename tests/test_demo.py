"""`siren-sync demo` (siren_sync/demo.py): one simulated week on the sandbox site, as a user sees it:
the sections in order, each distribution's obligations adding up to its pool to the cent, and one
record on the site for each distribution. The demo runs once for the module (about 6 s)."""
from __future__ import annotations

import io
import re
from decimal import ROUND_HALF_UP, Decimal

import pytest

from siren_sync import demo

PERCENT = {"Sales Bonus": 5, "Instructor Revenue Share": 20, "Referral Pool": 2}  # demo.THREE_POOLS
HEADER = re.compile(r"^(?P<name>[^:]+): (?P<start>\S+) to (?P<end>\S+)$")
TOTALS = re.compile(r"^  revenue (?P<revenue>-?[\d.]+) USD, pool (?P<pool>[\d.]+) USD, (?P<events>\d+) events "
                    r"\((?P<late>\d+) late\)$")
PAYEE = re.compile(r"^  (?P<who>\w+) +score +(?P<score>[\d.]+) +-> +(?P<amount>[\d.]+) USD(  \(.+\))?$")
RECORD = re.compile(r"^  post \d+ \[private\] (?P<slug>siren-sync-[a-z0-9-]+): (?P<name>[^:]+): ")


@pytest.fixture(scope="module")
def run() -> tuple[int, str]:
    out = io.StringIO()
    code = demo.run(weeks=1, out=out)
    return code, out.getvalue()


def section(text: str, title: str) -> list[str]:
    """The lines under `== title ... ==`, up to the next blank line (or the closing line)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"== {title}"))
    end = next(i for i in range(start + 1, len(lines)) if not lines[i] or lines[i].startswith("demo finished"))
    return lines[start + 1:end]


def distributions(text: str) -> list[dict]:
    """Each printed distribution: its name, period, totals and payees."""
    found: list[dict] = []
    for line in section(text, "distributions"):
        if m := HEADER.match(line):
            found.append({**m.groupdict(), "payees": {}})
        elif m := TOTALS.match(line):
            found[-1].update(m.groupdict())
        elif m := PAYEE.match(line):
            found[-1]["payees"][m["who"]] = Decimal(m["amount"])
        else:
            assert line == "  nobody qualified", line
    return found


def test_the_demo_exits_0_and_prints_its_sections_in_order(run):
    code, text = run
    assert code == 0
    lines = text.splitlines()
    assert re.fullmatch(r"sandbox site http://127\.0\.0\.1:\d+ \(timezone America/New_York\), simulated time starts "
                        r"\S+", lines[0])
    titles = [line for line in lines if line.startswith("== ")]
    assert [t.split(" (")[0] for t in titles] == ["== distributions ==", "== program rewards ==", "== open periods",
                                                  "== records the site received", "== paying collaborators =="]
    assert re.fullmatch(r"demo finished in \d+\.\d+s", lines[-1])


def test_one_week_closes_each_of_the_three_pools_once(run):
    found = distributions(run[1])
    assert sorted(d["name"] for d in found) == sorted(PERCENT)
    assert {(d["start"], d["end"]) for d in found} == {("2026-11-01T00:00:00-04:00", "2026-11-08T00:00:00-05:00")}
    assert all(int(d["events"]) > 0 and d["payees"] for d in found)  # the sandbox had a week of activity


def test_every_distributions_obligations_add_up_to_its_pool(run):
    for d in distributions(run[1]):
        assert sum(d["payees"].values()) == Decimal(d["pool"]), d["name"]
        expected = (Decimal(d["revenue"]) * PERCENT[d["name"]] / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert Decimal(d["pool"]) == max(expected, Decimal("0.00")), d["name"]


def test_the_top_score_pool_goes_to_one_collaborator(run):
    [bonus] = [d for d in distributions(run[1]) if d["name"] == "Sales Bonus"]
    assert len(bonus["payees"]) == 1


def test_the_site_received_one_record_per_distribution(run):
    text = run[1]
    received = [RECORD.match(line) for line in section(text, "records the site received")]
    assert all(received) and len(received) == len(distributions(text)) == 3
    assert f"== records the site received ({len(received)}) ==" in text
    assert sorted(m["name"] for m in received) == sorted(PERCENT)
    assert {m["slug"].rsplit("-", 1)[1] for m in received} == {"20261108t0500"}  # the period's end in UTC


def test_the_program_s_rewards_add_up_and_its_example_went_to_the_newest_engagement(run):
    lines = section(run[1], "program rewards")
    head = re.fullmatch(r"Affiliate commission \(affiliates\): (\d+) rewards \(\d+ for renewals\), ([\d.]+) USD",
                        lines[0])
    rows = [re.fullmatch(r"  (\w+) +(\d+) rewards -> +([\d.]+) USD", line) for line in lines[1:5]]
    assert head and all(rows) and int(head[1]) > 50, lines[:5]
    assert sum(int(m[2]) for m in rows) == int(head[1])
    assert sum(Decimal(m[3]) for m in rows) == Decimal(head[2])
    example = re.fullmatch(r"reward affiliates:(\d+):(\w+): order \1, ([\d.]+) USD(, [\d.]+ after refunds)?", lines[5])
    engaged = [line.split() for line in lines[6:-1]]
    assert example and len({who for _, _, who in engaged}) > 1, lines[5:]
    newest = max(engaged, key=lambda e: (e[0], [-ord(c) for c in e[2]]))  # ties: the smaller id
    why = re.fullmatch(r"  newestEngagementWins: (\w+)'s engagement at (\S+) is the newest.*; 25% of ([\d.]+) = "
                       r"([\d.]+) USD \(rounded half-up to 0.01\)", lines[-1])
    assert why and why[1] == example[2] == newest[2] and why[2] == newest[0], lines[-1]
    assert Decimal(why[4]) == (Decimal(why[3]) / 4).quantize(Decimal("0.01"), ROUND_HALF_UP) == Decimal(example[3])


def test_the_open_periods_start_where_the_closed_ones_ended(run):
    standings = section(run[1], "open periods")
    assert len(standings) == 3
    assert all(" since 2026-11-08T00:00:00-05:00, revenue " in line for line in standings)


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
