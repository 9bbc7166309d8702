"""A store written by the first wave's code reads the same with today's code (fixtures/first_wave)."""
from __future__ import annotations

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
