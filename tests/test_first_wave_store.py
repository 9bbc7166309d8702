"""A store written by the first wave's code reads the same with today's code (fixtures/first_wave)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from siren_sync.cli import main

GOLDEN = Path(__file__).parent / "fixtures" / "first_wave" / "golden"

COMMANDS = {
    "history.json": ["history", "--json"],
    "history.txt": ["history"],
    "payouts.txt": ["payouts", "--as-of", "2026-11-10T00:00:00+00:00"],  # the overview since the second wave
    "explain-alice.txt": ["explain", "alice"],
    "standings.json": ["standings", "--json"],
}


@pytest.mark.parametrize("golden", sorted(COMMANDS))
def test_first_wave_store_prints_what_the_first_wave_printed(first_wave, capsys, golden):
    assert main(["--config", str(first_wave), *COMMANDS[golden]]) == 0
    assert capsys.readouterr().out == (GOLDEN / golden).read_text()


UNPAID = {"bruno": "537.56", "chloe": "236.57", "david": "24.95"}  # what the first wave left pending


@pytest.fixture
def clock_at_the_first_waves_end(monkeypatch):
    """The commands' clock on 2026-11-10, whatever the machine's (fulfill refuses a future as-of)."""
    from datetime import UTC, datetime

    from siren_sync.cli import fulfillments, payouts

    for module in (fulfillments, payouts):
        monkeypatch.setattr(module, "utcnow", lambda: datetime(2026, 11, 10, 12, tzinfo=UTC))


def test_pending_obligations_of_the_first_wave_are_payable_at_once_and_paid_stays_paid(first_wave, capsys):
    assert main(["--config", str(first_wave), "payouts", "--json", "--as-of", "2026-11-10T00:00:00+00:00"]) == 0
    data = json.loads(capsys.readouterr().out)
    by_status = {(o["collaborator"], o["status"]) for o in data["obligations"]}
    assert {s for _, s in by_status} == {"paid", "payable"}
    assert {who for who, s in by_status if s == "paid"} == {"alice"}
    paid = [o for o in data["obligations"] if o["status"] == "paid"]
    assert {o["paid_at"] for o in paid} == {"2026-11-09T04:00:00+00:00"} and {o["fulfillment"] for o in paid} == {None}
    assert {c["collaborator"]: c["balance"] for c in data["collaborators"]} == {"alice": "0.00", **UNPAID}


def test_a_fulfillment_of_a_first_wave_store_pays_only_what_it_left_unpaid(first_wave, capsys,
                                                                          clock_at_the_first_waves_end):
    out = first_wave.parent / "payouts.csv"
    assert main(["--config", str(first_wave), "fulfill", "--out", str(out), "--as-of",
                 "2026-11-10T00:00:00+00:00"]) == 0
    rows = [line.split(",") for line in out.read_text().splitlines()[1:]]
    assert {r[3]: r[5] for r in rows} == UNPAID
    assert main(["--config", str(first_wave), "fulfillment", "complete", "F20261110-1"]) == 0
    capsys.readouterr()
    assert main(["--config", str(first_wave), "payouts", "--json", "--as-of", "2026-11-10T00:00:00+00:00"]) == 0
    assert {o["status"] for o in json.loads(capsys.readouterr().out)["obligations"]} == {"paid"}
    # what the first wave printed for `history --json` and `explain alice` stays as it was
    for golden in ("history.json", "explain-alice.txt"):
        assert main(["--config", str(first_wave), *COMMANDS[golden]]) == 0
        assert capsys.readouterr().out == (GOLDEN / golden).read_text()
