"""The PostgreSQL store's own tests: `pg` (a writer in a namespace of its own, closed at the end)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.postgres import database_url, namespace_for


@pytest.fixture
def url() -> str:
    return database_url()


@pytest.fixture
def namespace(tmp_path: Path) -> str:
    return namespace_for(tmp_path)


@pytest.fixture
def pg(url: str, namespace: str) -> Iterator:
    from siren_sync.store.postgres.store import PostgresStore

    with PostgresStore(url, namespace, leader_timeout=3) as store:
        yield store
