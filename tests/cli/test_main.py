"""The command line as a whole: every command's exit status, and errors in one line (DESIGN section 6:
0 success, 2 bad config or usage, 1 failure)."""
from __future__ import annotations

import json

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


STORE_COMMANDS = [["sync"], ["standings"], ["distribute"], ["credit", "alice"], ["history"], ["check"], ["run"]]


@pytest.mark.parametrize("argv", STORE_COMMANDS, ids=lambda argv: argv[0])
@pytest.mark.parametrize("where,problem", [("file/siren.json", "is a file, not a folder"),
                                           ("folder", "is a folder, not a store file")])
def test_a_store_path_that_cannot_be_a_store_is_one_line(site, argv, where, problem):
    site.config(collab_yaml(["alice"]), dist_yaml())
    (site.root / "file").write_text("")
    (site.root / "folder").mkdir()
    config = site.root / "siren.yaml"
    config.write_text(config.read_text().replace("path: store/siren.json", f"path: {where}"))
    code, _, err = site.run(*argv)
    assert code == 1 and err.count("\n") == 1 and problem in err and "Traceback" not in err, err


def _json_lines(err):
    lines = err.splitlines()
    assert lines, "nothing on stderr"
    return [json.loads(line) for line in lines]  # every line is JSON, or this fails


def test_with_json_logs_every_stderr_line_is_json(site):
    site.config(collab_yaml(["alice"]), dist_yaml())
    path = site.root / "bad.jsonl"
    path.write_bytes(b"{not json\n\xff\n")
    code, out, err = site.run("--log-format", "json", "import", str(path))
    assert code == 1 and out.startswith("imported 0 new events from 2 lines")
    skipped = [line for line in _json_lines(err) if line.get("event") == "import_line_skipped"]
    assert [(s["line"], s["level"]) for s in skipped] == [(1, "warning"), (2, "warning")]
    assert skipped[1]["message"] == f"{path}:2: not UTF-8 text (byte 0xff at column 1) (skipped)"


@pytest.mark.parametrize("argv", [["--log-level", "LOUD", "check"], ["credit"], ["frobnicate"],
                                  ["credit", "alice", "--count", "-3"], ["import", "missing.jsonl"]],
                         ids=["log level", "missing argument", "unknown command", "negative count", "missing file"])
def test_with_json_logs_an_error_is_one_json_line(site, argv):
    site.config(collab_yaml(["alice"]), dist_yaml())
    code, _, err = site.run("--log-format", "json", *argv)
    [line] = _json_lines(err)
    assert code == 2 and line["level"] == "error" and line["exit"] == 2 and line["message"].startswith("siren-sync")


def test_log_level_loud_is_a_usage_error(site):
    site.config(collab_yaml(["alice"]), dist_yaml())
    code, _, err = site.run("--log-level", "LOUD", "check")
    assert (code, err) == (2, "siren-sync: --log-level 'LOUD': expected one of DEBUG, INFO, WARNING, ERROR\n")


def test_an_unexpected_error_is_one_line_without_a_traceback(site, monkeypatch):
    from siren_sync import history
    site.config(collab_yaml(["alice"]), dist_yaml())

    def broken(*_args, **_kwargs):
        raise RuntimeError("something nobody planned for")

    monkeypatch.setattr(history, "history", broken)
    code, _, err = site.run("history")
    assert code == 1 and "Traceback" not in err
    assert err == ("siren-sync: unexpected error: RuntimeError: something nobody planned for (run with "
                   "--log-level DEBUG for the details, and please report it)\n")
