"""Fixtures every test folder shares: a store in a temp dir, a fake clock, sandbox sites (stopped at
the end whatever happens), a copy of the store the first wave wrote, and `site`: a config and a
store in a temp folder driven through the command line (`site.run(*argv)` -> (code, out, err))."""
from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from siren_sync.cli import main
from siren_sync.sandbox import Sandbox
from siren_sync.store import Store
from tests.support.cli import BASE
from tests.support.clock import FakeClock

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """Where a test's store lives (its folder is not created yet, as on a first run)."""
    return tmp_path / "data" / "siren-sync.json"


@pytest.fixture
def store(store_path: Path) -> Iterator[Store]:
    """An open, empty store (the writer), closed at the end."""
    with Store(store_path) as opened:
        yield opened


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., Sandbox]]:
    """`make_sandbox(**Sandbox options)` starts a sandbox site on loopback; all are stopped at the end."""
    started: list[Sandbox] = []

    def make(**options: Any) -> Sandbox:
        box = Sandbox(**options).start()
        started.append(box)
        return box

    yield make
    for box in started:
        box.stop()


@pytest.fixture
def first_wave(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of a store written by the first wave's code and its config (see fixtures/first_wave/README.md);
    returns the config's path. The sandbox credentials it names are set to placeholders: it is read offline."""
    folder = tmp_path / "first_wave"
    shutil.copytree(FIXTURES / "first_wave", folder, ignore=shutil.ignore_patterns("golden"))
    for name in ("SANDBOX_WP_USER", "SANDBOX_WP_PASSWORD", "SANDBOX_WC_KEY", "SANDBOX_WC_SECRET"):
        monkeypatch.setenv(name, "placeholder")
    return folder / "siren.yaml"


@pytest.fixture
def site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    class Site:
        root = tmp_path

        def config(self, collaborators, distributors):
            path = tmp_path / "siren.yaml"
            path.write_text(BASE.format(collaborators=collaborators, distributors=distributors))
            return path

        def run(self, *argv):
            code = main(["--config", str(tmp_path / "siren.yaml"), *argv])
            out = capsys.readouterr()
            return code, out.out, out.err

        def events(self, rows):
            path = tmp_path / f"events-{len(list(tmp_path.glob('events-*')))}.jsonl"
            path.write_text("".join(json.dumps(r) + "\n" for r in rows))
            return path

    return Site()
