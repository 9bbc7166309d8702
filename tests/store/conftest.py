"""The store tests' fixtures: `backend` (each store backend the contract tests run on, from
`backends.BACKENDS`) and `seeded` (a TinyDB store holding a little of everything)."""
from __future__ import annotations

from pathlib import Path

import pytest

from siren_sync.store import Store
from tests.store.backends import BACKENDS, Backend
from tests.store.helpers import seed


@pytest.fixture(params=sorted(BACKENDS))
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    """A backend whose store does not exist yet (a new one per test)."""
    return BACKENDS[request.param](tmp_path)


@pytest.fixture
def seeded(store_path: Path) -> Path:
    """The path of a TinyDB store with one root document, one partition document and two committed
    events (`helpers.seed`)."""
    with Store(store_path) as store:
        seed(store)
    return store_path
