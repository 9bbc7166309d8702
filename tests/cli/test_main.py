"""The command line as a whole: every command's exit status, and errors in one line (DESIGN section 6:
0 success, 2 bad config or usage, 1 failure)."""
from __future__ import annotations

import pytest

from tests.support.cli import collab_yaml, dist_yaml

COMMANDS = [["run"], ["sync"], ["publish"], ["check"], ["standings"], ["distribute"], ["import", "-"],
            ["credit", "alice"], ["history"], ["explain", "alice"], ["payouts"]]


def test_bad_config_exits_2_with_one_line(site):
    path = site.config(collab_yaml(["alice"]), dist_yaml().replace("revenuePercentage: 10", "revenuePercentage: 150"))
    code, _, err = site.run("check")
    assert code == 2
    assert err.count("\n") == 1 and str(path) in err and "revenuePercentage" in err


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda argv: argv[0])
def test_every_command_refuses_a_bad_config_with_exit_2_and_one_line(site, argv):
    path = site.config(collab_yaml(["alice"]), dist_yaml().replace("units: USD", "units: usd"))
    code, out, err = site.run(*argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and str(path) in err and "did you mean 'USD'" in err


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda argv: argv[0])
def test_every_command_refuses_a_missing_config_with_exit_2(site, argv):
    code, _, err = site.run(*argv)  # site.config() was never written
    assert code == 2 and err.count("\n") == 1 and "siren.yaml" in err


USAGE = {
    "unknown command": ["frobnicate"],
    "sync unknown source": ["sync", "--source", "nope"],
    "sync source without credentials": ["sync", "--source", "lifterlms"],
    "sync since without offset": ["sync", "--since", "2026-11-01"],
    "sync since not a time": ["sync", "--since", "yesterday"],
    "distribute bad as-of": ["distribute", "--as-of", "soon"],
    "distribute unknown distributor": ["distribute", "--distributor", "nope"],
    "standings unknown distributor": ["standings", "--distributor", "nope"],
    "history unknown distributor": ["history", "--distributor", "nope"],
    "credit unknown collaborator": ["credit", "nobody"],
    "credit zero count": ["credit", "alice", "--count", "0"],
    "credit unknown type": ["credit", "alice", "likedAPost"],
    "credit count not a number": ["credit", "alice", "--count", "three"],
    "explain unknown collaborator": ["explain", "nobody"],
    "explain unknown distribution": ["explain", "alice", "--distribution", "pool-20991201t0000"],
    "import missing file": ["import", "no-such-file.jsonl"],
    "payouts mark-paid without csv": ["payouts", "--mark-paid"],
    "payouts unknown status": ["payouts", "--status", "owed"],
    "log level": ["--log-level", "LOUD", "check"],
    "demo weeks not a number": ["demo", "--weeks", "two"],
}


@pytest.mark.parametrize("argv", USAGE.values(), ids=USAGE.keys())
def test_usage_errors_exit_2_with_one_line(site, argv):
    site.config(collab_yaml(["alice"]), dist_yaml())
    code, _, err = site.run(*argv)
    assert code == 2, err
    assert err.count("\n") == 1 and err.startswith("siren-sync"), err
