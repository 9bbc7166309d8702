"""A PostgreSQL URL as the config gives it, and as messages may show it (never with its password).

Hosting platforms hand `DATABASE_URL` with the `postgres://` scheme, libpq documents
`postgresql://`: both are taken as they are (libpq reads both). The password may sit in the
user part (`user:secret@host`) or in the query (`?password=secret`), and the client key's
passphrase in the query (`?sslpassword=secret`); `shown` drops them all.
"""
from __future__ import annotations

from urllib.parse import unquote, urlsplit

SCHEMES = ("postgres", "postgresql")
SECRET_PARAMETERS = ("password", "sslpassword")  # libpq's: the password, the client key's passphrase


def is_database_url(url: str) -> bool:
    """Whether `url` is a PostgreSQL URL (`postgres://` or `postgresql://`)."""
    return urlsplit(url).scheme.lower() in SCHEMES


def problem(url: str) -> str | None:
    """What makes `url` unusable as a store URL, or None (never quoting the password)."""
    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme.lower() not in SCHEMES:
        return f"expected a postgres:// or postgresql:// URL, got {f'{scheme}://' if scheme else 'no scheme'}"
    if parts.netloc.count("@") > 1:  # libpq would take the password's tail for the host, and show it
        return "more than one @ before the host: percent-encode an @ in the user or password as %40"
    return None


def passwords(url: str) -> tuple[str, ...]:
    """The URL's secrets (its password, a client key's passphrase) as written and as decoded (to
    mask either in any message that might quote it: libpq quotes the raw token when its
    percent-encoding is bad), or ()."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    raw = [userinfo.partition(":")[2]] if ":" in userinfo else []
    raw += [value for name, _, value in (pair.partition("=") for pair in parts.query.split("&"))
            if unquote(name) in SECRET_PARAMETERS]  # libpq decodes names too
    return tuple(dict.fromkeys(s for token in raw for s in (token, unquote(token)) if s))


def shown(url: str) -> str:
    """The URL without its password, for messages and logs: `postgresql://user@host:5432/db`."""
    parts = urlsplit(url)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    netloc = f"{userinfo.partition(':')[0]}{at}{hosts}"
    query = "&".join(pair for pair in parts.query.split("&")
                     if pair and unquote(pair.partition("=")[0]) not in SECRET_PARAMETERS)
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
