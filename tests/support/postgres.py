"""PostgreSQL for the tests: the server named by `SIREN_TEST_DATABASE_URL` (CI starts one with
`tools/pg-cluster`; elsewhere the tests that need it skip, saying how to start one).

Every test works in a namespace of its own (`namespace_for`), so tests share one database; a test
of the schema itself gets a database of its own (`fresh_database`), dropped at the end.
"""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.support.prereq import require

ENV = "SIREN_TEST_DATABASE_URL"
HOW = ("start a throwaway cluster and point the tests at it: "
       "export SIREN_TEST_DATABASE_URL=\"$(tools/pg-cluster start /tmp/siren-pg)\" "
       "(tools/pg-cluster stop /tmp/siren-pg when done)")


def database_url() -> str:
    """The test server's URL, or skip (fail in CI) saying how to get one."""
    url = os.environ.get(ENV, "")
    require(bool(url), f"a PostgreSQL server for the tests ({ENV})", HOW)
    return url


def namespace_for(location: Path) -> str:
    """The namespace of the test whose temp folder is `location` (the same in its child processes)."""
    marker = location / ".namespace"
    if not marker.exists():
        location.mkdir(parents=True, exist_ok=True)
        marker.write_text(f"test-{location.name}-{uuid.uuid4().hex[:10]}")
    return marker.read_text()


def with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, ""))


@contextmanager
def fresh_database() -> Iterator[str]:
    """The URL of a new, empty database on the test server, dropped afterwards."""
    import psycopg

    url = database_url()
    name = f"siren_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield with_database(url, name)
    finally:
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
