"""What every command shares (siren_sync/cli/common.py): a usage error in one line and exit 2, the
time arguments, and opening the store for a command: a writer's usage checks run on a read-only
view first, so a command refused for its arguments leaves nothing behind, not even an empty store."""
from __future__ import annotations

import argparse
import logging
from datetime import UTC, datetime, timedelta, timezone

import pytest

from siren_sync import logs
from siren_sync.cli.common import Parser, check_collaborator, check_distributor, open_for, time_arg
from siren_sync.errors import UsageError
from tests.support.cli import collab_yaml, dist_yaml


@pytest.fixture
def user_lines():
    """Logging set up as `main` sets it up before parsing (the `say` lines on stderr); undone after."""
    said, root = logging.getLogger(logs.SAY), logging.getLogger()
    kept = (said.handlers[:], said.propagate, root.handlers[:], root.level)
    logs.setup("WARNING", "text")
    yield
    said.handlers[:], said.propagate, root.handlers[:] = kept[0], kept[1], kept[2]
    root.setLevel(kept[3])


def test_a_usage_error_is_one_line_naming_the_help_and_exits_2(capsys, user_lines):
    parser = Parser(prog="siren-sync")
    parser.add_argument("--weeks", type=int)
    with pytest.raises(SystemExit) as info:
        parser.parse_args(["--weeks", "two"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err == "siren-sync: argument --weeks: invalid int value: 'two' (see siren-sync --help)\n"


@pytest.mark.parametrize("text, expected", [
    ("2026-12-01T00:00:00+00:00", datetime(2026, 12, 1, tzinfo=UTC)),
    ("2026-12-01T00:00:00Z", datetime(2026, 12, 1, tzinfo=UTC)),
    ("2026-12-01 09:30:00+05:30", datetime(2026, 12, 1, 9, 30, tzinfo=timezone(timedelta(hours=5, minutes=30)))),
])
def test_time_arg_reads_an_iso_time_with_its_offset(text, expected):
    got = time_arg(text)
    assert got == expected and got.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("text", ["2026-12-01T00:00:00", "2026-12-01", "yesterday", ""])
def test_time_arg_refuses_a_time_without_offset_saying_what_it_wants(text):
    with pytest.raises(argparse.ArgumentTypeError) as info:
        time_arg(text)
    assert str(info.value) == (f"{text!r} is not an ISO 8601 time with offset (like 2026-12-01T00:00:00+00:00)")


@pytest.fixture
def args(site) -> argparse.Namespace:
    """A command's arguments naming the site's config (alice; the distributor `pool`); no store yet."""
    return argparse.Namespace(config=str(site.config(collab_yaml(["alice"]), dist_yaml())))


def store_file(site):
    return site.root / "store" / "siren.json"


def test_a_usage_error_found_by_the_check_leaves_no_store_behind(site, args):
    with pytest.raises(UsageError, match="unknown distributor 'nope'"):
        open_for(args, check=lambda view: check_distributor(view, "nope"))
    assert not store_file(site).exists() and list(site.root.iterdir()) == [site.root / "siren.yaml"]


def test_the_check_sees_a_read_only_view_then_the_command_gets_the_writer(site, args):
    seen = []
    with open_for(args, check=lambda view: seen.append(view.store.readonly)) as app:
        assert seen == [True] and app.store.readonly is False
        with app.store.transaction() as tx:
            tx.put("meta", "probe", {"ok": True})
    assert store_file(site).exists()


def test_a_command_without_a_check_opens_the_store_as_asked(site, args):
    with open_for(args, readonly=True) as app:
        assert app.store.readonly and not store_file(site).exists()
    with open_for(args) as app:
        assert not app.store.readonly and store_file(site).exists()


def test_unknown_distributor_and_collaborator_name_what_is_known(args):
    with open_for(args, readonly=True) as app:
        check_distributor(app, "pool")
        check_distributor(app, None)  # not asked for: every distributor
        check_collaborator(app, "alice")
        with pytest.raises(UsageError, match=r"^unknown distributor 'nope' \(known: pool\)$"):
            check_distributor(app, "nope")
        with pytest.raises(UsageError, match=r"^unknown collaborator 'bob'$"):
            check_collaborator(app, "bob")
