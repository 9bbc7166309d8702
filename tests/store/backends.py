"""The store backends the contract tests run on, and how each one is made to fail mid-commit.

A backend knows where its store lives (`location`: a temp folder for TinyDB), makes store objects
on it, names its crash points (places in the middle of a commit, before its commit point) and can
make the next commit call `crash()` at one of them. A child process rebuilds the same backend with
`BACKENDS[name](location)` to be killed at a crash point. The PostgreSQL backend works in a
namespace of its own per test on the server of `SIREN_TEST_DATABASE_URL` (skipped, saying how to
start one, when it is not set; failed in CI).
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
from tests.store.helpers import run_python, start_python
from tests.support.postgres import database_url, namespace_for


class Backend(Protocol):
    """What the contract tests need of a backend."""

    name: str
    crash_points: ClassVar[tuple[str, ...]]
    location: Path

    def store(self, *, readonly: bool = False) -> Store: ...

    def crash_at(self, patch: pytest.MonkeyPatch, point: str, crash: Callable[[], Any]) -> None: ...

    def run_child(self, code: str) -> subprocess.CompletedProcess: ...

    def start_child(self, code: str) -> subprocess.Popen: ...


class ChildProcesses:
    """What both backends share: running code in a child process on the same store."""

    name: str
    location: Path

    def _with_backend(self, code: str) -> str:
        return (f"from pathlib import Path\nfrom tests.store.backends import BACKENDS\n"
                f"backend = BACKENDS[{self.name!r}](Path({str(self.location)!r}))\n" + textwrap.dedent(code))

    def run_child(self, code: str) -> subprocess.CompletedProcess:
        """Run `code` in a child process where `backend` is this backend."""
        return run_python(self._with_backend(code), self.location)

    def start_child(self, code: str) -> subprocess.Popen:
        """`run_child`, without waiting: the child's stdout is a pipe of text lines."""
        return start_python(self._with_backend(code), self.location)


class TinyDBBackend(ChildProcesses):
    """The TinyDB store at `<location>/data/siren-sync.json`."""

    name = "tinydb"
    # The commit's steps, in order; a crash at each one comes before the root's rename.
    crash_points: ClassVar[tuple[str, ...]] = (
        "writing a partition", "appending to a journal", "appending to a segment", "appending to the key index",
        "replacing the root")

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
            "appending to a journal": ("open", lambda target: Path(target).suffix == ".jsonl"
                                       and Path(target).parent.name == "tables"),
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


class PostgresBackend(ChildProcesses):
    """The PostgreSQL store in a namespace of its own (derived from `location`) on the test server."""

    name = "postgres"
    # The commit's steps, in order (`store/postgres/commit.py`); a crash at each comes before COMMIT.
    crash_points: ClassVar[tuple[str, ...]] = (
        "writing documents", "deleting documents", "writing partition chunks", "listing tables",
        "appending events", "growing the key index", "counting the generation",
        "before COMMIT")
    _STEPS: ClassVar[dict[str, str]] = {"writing documents": "_documents", "deleting documents": "_deletes",
                                        "writing partition chunks": "_chunks", "listing tables": "_tables",
                                        "appending events": "_events",
                                        "growing the key index": "_keys", "counting the generation": "_bump",
                                        "before COMMIT": "write"}

    def __init__(self, location: Path):
        self.location = location
        self.url = database_url()
        self.namespace = namespace_for(location)

    def store(self, *, readonly: bool = False) -> Store:
        """A new (not yet opened) store object on this backend's namespace."""
        from siren_sync.store.postgres.store import PostgresStore

        return PostgresStore(self.url, self.namespace, readonly=readonly, leader_timeout=3)

    def crash_at(self, patch: pytest.MonkeyPatch, point: str, crash: Callable[[], Any]) -> None:
        """Make every commit call `crash()` at `point`: when that step starts, or, for the last one,
        once every row is written and the COMMIT is about to be sent."""
        from siren_sync.store.postgres import commit

        name = self._STEPS[point]
        real = getattr(commit, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if name != "write":
                crash()
            result = real(*args, **kwargs)
            if name == "write":
                crash()
            return result

        patch.setattr(commit, name, wrapper)


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


BACKENDS: dict[str, type[Backend]] = {"tinydb": TinyDBBackend, "postgres": PostgresBackend}
