"""A PostgreSQL URL as given (both schemes) and as shown (never with its password)."""
from __future__ import annotations

import pytest

from siren_sync.store.postgres.url import is_database_url, passwords, problem, shown


@pytest.mark.parametrize("url, want, secret", [
    ("postgres://app:s3cr%40t@db.example:5432/site?sslmode=require",
     "postgres://app@db.example:5432/site?sslmode=require", ("s3cr%40t", "s3cr@t")),
    ("postgresql://db.example/site?password=hunter2&sslmode=require",
     "postgresql://db.example/site?sslmode=require", ("hunter2",)),
    ("postgresql:///site?host=/run/postgresql", "postgresql:///site?host=/run/postgresql", ()),
    ("postgresql://app@db.example/site?sslkey=/k.pem&sslpassword=k3y%21&sslmode=require",
     "postgresql://app@db.example/site?sslkey=/k.pem&sslmode=require", ("k3y%21", "k3y!")),
    ("postgresql://app@h1:5432,h2:5432/site", "postgresql://app@h1:5432,h2:5432/site", ()),
    # libpq decodes a parameter's name too: `%70assword` is the password
    ("postgresql://db.example/site?%70assword=hunter2&ssl%70assword=k3y", "postgresql://db.example/site",
     ("hunter2", "k3y")),
])
def test_shown_drops_the_password_wherever_it_is(url, want, secret):
    assert is_database_url(url) and problem(url) is None
    assert shown(url) == want
    assert passwords(url) == secret


def test_other_schemes_are_refused_without_quoting_the_url():
    assert not is_database_url("mysql://app:s3cret@db/site")
    assert problem("mysql://app:s3cret@db/site") == "expected a postgres:// or postgresql:// URL, got mysql://"
    assert problem("db.example/site") == "expected a postgres:// or postgresql:// URL, got no scheme"


def test_a_badly_encoded_password_is_never_shown_in_a_connection_error():
    """libpq quotes the raw token of a bad percent-encoding: the raw password is masked too."""
    from siren_sync.errors import StoreError
    from siren_sync.store.postgres.connection import Connection

    url = "postgresql://u:Pa%2Xss%41wordSecret@127.0.0.1:1/db?connect_timeout=1"
    assert passwords(url) == ("Pa%2Xss%41wordSecret", "Pa%2XssAwordSecret")
    with pytest.raises(StoreError) as caught:
        Connection(url, "the test store", "test").get()
    assert "wordSecret" not in str(caught.value) and "Pa%2X" not in str(caught.value)


def test_an_unencoded_at_sign_in_the_password_is_refused_without_quoting_it():
    """libpq splits at the first @: `p@ssw0rd@host` would show `ssw0rd@host` as the host it could not find."""
    said = problem("postgresql://u:p@ssw0rd@db.example/site")
    assert said == "more than one @ before the host: percent-encode an @ in the user or password as %40"
    assert problem("postgresql://u:p%40ssw0rd@db.example/site") is None
