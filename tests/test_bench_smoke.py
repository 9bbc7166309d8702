"""Small-size smoke runs of every benchmark's `main` (bench/), so the scripts don't rot.

Not timed: only the shape of the results and the correctness checks the benchmarks make (shares add
up to the pool, refunds land in their exact period) are asserted. The figures are in bench/README.md.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"
sys.path.insert(0, str(BENCH))

pytestmark = pytest.mark.bench


def test_ingest_orders_smoke():
    import ingest_orders

    r = ingest_orders.main(orders=1000)
    assert r["orders_read"] >= 1000
    assert r["events"] > 1000
    assert r["requests"] >= 10
    assert r["floor_json_loads_s"] > 0 and r["cpu_s"] > 0
    assert r["floor_json_loads_s"] < r["reads_only_s"] < r["cpu_s"]  # reading alone holds the decode, not the rest
    assert set(r["targets"]) == {"cpu_over_floor<=3", "cpu_ms_per_order<=0.2", "peak_rss_mb<100"}


def test_ingest_stages_smoke():
    import ingest_stages

    r = ingest_stages.main(orders=500, transport_pages=3)
    assert r["orders"] == 500 and r["transport_pages"] == 3
    ms = r["transport_ms_per_page"]
    assert ms["worker client (Upstream.page, json.loads included)"] > ms["json.loads alone (the floor)"] > 0
    assert all(us > 0 for us in r["processing_us_per_order"].values())


def test_store_growth_smoke():
    import store_growth

    r = store_growth.main(size=3000, batch=200, fill_batch=1000, repeat=1)
    assert [row["level"] for row in r["levels"]] == [0, 300, 1500, 3000]
    assert r["levels"][-1]["held"] >= 3000
    assert r["events"] >= 3000 + 200
    assert r["bytes_per_event"] > 0


def test_access_log_smoke():
    import access_log

    r = access_log.main(lines=5000)
    assert r["lines"] == 5000
    assert 0 < r["events"] <= r["candidates"] <= 5000
    assert r["mix"]["ref"] > 0 and r["mix"]["bot"] > 0 and r["mix"]["asset"] > 0


def test_close_period_smoke():
    import close_period

    r = close_period.main(collaborators=300, events=3000, fill_batch=1000)
    assert r["events"] == 3000
    assert r["targets"]["shares_add_up"] and r["shares_sum"] == r["pool"]
    assert 0 < r["obligations"] <= 300


def test_idle_smoke():
    import idle

    r = idle.main(seconds=2, warmup=2)
    assert r["exit_code"] == 0 and r["seconds"] >= 2 and r["startup_cpu_s"] > 0
    messages = r["log_messages"]  # every stderr line parsed as JSON, or this raised
    assert any(m.startswith("worker started") for m in messages) and messages[-1] == "worker stopped"


def test_requests_backfill_smoke():
    import requests_backfill

    r = requests_backfill.main(orders=1000, refunds=60, full=40, strict=True)
    assert r["refund_events"] == r["refunds"] == 60
    assert r["requests"] >= 10
    assert r["targets"]["refunds_exact"]


def test_payouts_smoke():
    import payouts

    r = payouts.main(collaborators=200, obligations=1000)
    assert r["obligations"] >= 1000 and r["distributions"] >= 5
    assert r["fulfill"]["payouts"] > 0 and r["fulfill"]["waiting"] > 0  # some balances stay under the minimum
    assert r["payouts_json"]["obligations"] == r["obligations"]
    assert set(r["targets"]) == {"fulfill_s<2", "fulfill_rss_mb<300", "payouts_json_s<2", "payouts_json_rss_mb<300"}


def test_config_load_smoke():
    import config_load

    r = config_load.main(collaborators=300, repeat=1)
    assert r["collaborators"] == 300 and r["bytes"] > 0 and r["wall_s"] > 0 and r["peak_rss_mb"] > 0
    assert config_load.main(collaborators=50, style="block", repeat=1)["collaborators"] == 50
    assert set(r["targets"]) == {"wall_s<2", "peak_rss_mb<150"}


def test_programs_smoke():
    import programs

    r = programs.main(orders=600, refunds=30, repeat=1, days=1, orders_per_day=200, polls=6)
    assert r["orders_read"] >= 600 and r["rewards"] > 100 and r["adjusted"] > 0  # rewards written, refunds taken
    for run in (r, r["steady"]):
        ms = run["cpu_ms_per_order"]
        assert ms["two programs"] > 0 and ms["no programs"] > 0 and 0 < run["rewards_ms_per_order"] < ms["two programs"]
    assert r["steady"]["orders"] > 50 and r["steady"]["polls"] == 6
    assert set(r["targets"]) == {"ratio<=1.3", "steady_ratio<=1.3"}


@pytest.mark.parametrize("mode", ["none", "without", "with", "steady-none", "steady-without", "steady-with"])
def test_programs_one_process_of_the_instruction_count_runs(mode, capsys):
    """What `--instructions` runs under valgrind, one process each (the count itself needs valgrind)."""
    import programs

    assert programs.cli(["--one", mode, "--orders", "300", "--refunds", "10", "--days", "1", "--orders-per-day",
                         "100", "--polls", "4"]) == {}
    assert "Traceback" not in capsys.readouterr().err


def test_programs_check_smoke(tmp_path):
    """One side of the checker (this tree's package, in this process) and its comparison: every
    state holds rewards, and a changed field is named where it is."""
    import argparse
    import json

    import programs_check

    out = tmp_path / "state.json"
    programs_check.dump(argparse.Namespace(orders=300, refunds=20, days=1, orders_per_day=60, polls=2), out)
    state = json.loads(out.read_text())
    assert set(state) == {"backfill, in memory", "backfill, read back", "backfill, more programs", "steady",
                          "steady, more programs"}
    assert state["backfill, in memory"] == state["backfill, read back"]
    tables = [t for t in state["backfill, more programs"] if t.startswith("programs/obligations/")]
    assert tables and state["backfill, more programs"]["cursors/programs"]["counts"]
    changed = json.loads(out.read_text())
    first = next(iter(changed["backfill, more programs"][tables[0]].values()))
    first["amount"] += "0"
    found = programs_check._differences(state, changed)
    assert len(found) == 1 and found[0].startswith(f"/backfill, more programs/{tables[0]}/") and "/amount:" in found[0]


def test_the_store_benchmarks_run_on_postgresql_too():
    import close_period
    import ingest_orders
    import store_growth

    from tests.support.postgres import database_url

    url = database_url()
    r = store_growth.main(size=3000, batch=200, fill_batch=1000, repeat=1, store_url=url)
    assert r["store"] == "postgres" and r["levels"][-1]["held"] >= 3000 and r["bytes_per_event"] > 0
    r = close_period.main(collaborators=300, events=3000, fill_batch=1000, store_url=url)
    assert r["store"] == "postgres" and r["targets"]["shares_add_up"] and set(r["targets"]) == {
        "close_s<3", "peak_rss_mb<300", "shares_add_up"}
    r = ingest_orders.main(orders=500, store_url=url)
    assert r["store"] == "postgres" and r["orders_read"] >= 500 and r["events"] > 500
