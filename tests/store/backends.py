"""The store backends the contract tests run on, and how each one is made to fail mid-commit.

A backend knows where its store lives (`location`: a temp folder for TinyDB), makes store objects
on it, names its crash points (places in the middle of a commit, before its commit point) and can
make the next commit call `crash()` at one of them. A child process rebuilds the same backend with
`BACKENDS[name](location)` to be killed at a crash point. Issue 14 adds PostgreSQL here.
"""
from __future__ import annotations

import os
import subprocess
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar, Protocol

import pytest

from siren_sync.store.protocol import Store
from siren_sync.store.tinydb import TinyDBStore
from tests.store.helpers import run_python


class Backend(Protocol):
    """What the contract tests need of a backend."""

    name: str
    crash_points: ClassVar[tuple[str, ...]]
    location: Path

    def store(self, *, readonly: bool = False) -> Store: ...

    def crash_at(self, patch: pytest.MonkeyPatch, point: str, crash: Callable[[], Any]) -> None: ...

    def run_child(self, code: str) -> subprocess.CompletedProcess: ...


class TinyDBBackend:
    """The TinyDB store at `<location>/data/siren-sync.json`."""

    name = "tinydb"
    # The commit's steps, in order; a crash at each one comes before the root's rename.
    crash_points: ClassVar[tuple[str, ...]] = (
        "writing a partition", "appending to a segment", "appending to the key index", "replacing the root")

    def __init__(self, location: Path):
        self.location = location
        self.path = location / "data" / "siren-sync.json"

    def store(self, *, readonly: bool = False) -> Store:
        """A new (not yet opened) store object on this backend's store."""
        return TinyDBStore(self.path, readonly=readonly)

    def crash_at(self, patch: pytest.MonkeyPatch, point: str, crash: Callable[[], Any]) -> None:
        """Make every commit call `crash()` at `point` (one of `crash_points`) until `patch` is undone."""
        call, hit = {
            "writing a partition": ("replace", lambda target: Path(target).parent.name == "tables"),
            "appending to a segment": ("open", lambda target: Path(target).parent.name == "events"),
            "appending to the key index": ("open", lambda target: Path(target).name == "keys.bin"),
            "replacing the root": ("replace", lambda target: Path(target) == self.path),
        }[point]
        real = getattr(os, call)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if hit(args[1] if call == "replace" else args[0]):
                crash()
            return real(*args, **kwargs)

        patch.setattr(os, call, wrapper)

    def run_child(self, code: str) -> subprocess.CompletedProcess:
        """Run `code` in a child process where `backend` is this backend."""
        prelude = (f"from pathlib import Path\nfrom tests.store.backends import BACKENDS\n"
                   f"backend = BACKENDS[{self.name!r}](Path({str(self.location)!r}))\n")
        return run_python(prelude + textwrap.dedent(code), self.location)


def kill_mid_commit(backend: Backend, point: str) -> subprocess.CompletedProcess:
    """Open the backend's store as the writer in a child process and commit `helpers.change_everything`
    with SIGKILL at crash point `point`: the child dies there (returncode -SIGKILL)."""
    return backend.run_child(f"""
        import os, signal
        import pytest
        from tests.store.helpers import change_everything
        store = backend.store().open()
        backend.crash_at(pytest.MonkeyPatch(), {point!r}, lambda: os.kill(os.getpid(), signal.SIGKILL))
        with store.transaction() as tx:
            change_everything(tx)
        print("committed")
    """)


BACKENDS: dict[str, type[Backend]] = {"tinydb": TinyDBBackend}
