"""A PostgreSQL URL as given (both schemes) and as shown (never with its password)."""
from __future__ import annotations

import pytest

from siren_sync.store.postgres.url import is_database_url, password, problem, shown


@pytest.mark.parametrize("url, want, secret", [
    ("postgres://app:s3cr%40t@db.example:5432/site?sslmode=require",
     "postgres://app@db.example:5432/site?sslmode=require", "s3cr@t"),
    ("postgresql://db.example/site?password=hunter2&sslmode=require",
     "postgresql://db.example/site?sslmode=require", "hunter2"),
    ("postgresql:///site?host=/run/postgresql", "postgresql:///site?host=/run/postgresql", None),
    ("postgresql://app@h1:5432,h2:5432/site", "postgresql://app@h1:5432,h2:5432/site", None),
])
def test_shown_drops_the_password_wherever_it_is(url, want, secret):
    assert is_database_url(url) and problem(url) is None
    assert shown(url) == want
    assert password(url) == secret


def test_other_schemes_are_refused_without_quoting_the_url():
    assert not is_database_url("mysql://app:s3cret@db/site")
    assert problem("mysql://app:s3cret@db/site") == "expected a postgres:// or postgresql:// URL, got mysql://"
    assert problem("db.example/site") == "expected a postgres:// or postgresql:// URL, got no scheme"
