"""A PostgreSQL URL as the config gives it, and as messages may show it (never with its password).

Hosting platforms hand `DATABASE_URL` with the `postgres://` scheme, libpq documents
`postgresql://`: both are taken as they are (libpq reads both). The password may sit in the
user part (`user:secret@host`) or in the query (`?password=secret`); `shown` drops both.
"""
from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlsplit

SCHEMES = ("postgres", "postgresql")


def is_database_url(url: str) -> bool:
    """Whether `url` is a PostgreSQL URL (`postgres://` or `postgresql://`)."""
    return urlsplit(url).scheme.lower() in SCHEMES


def problem(url: str) -> str | None:
    """What makes `url` unusable as a store URL, or None (never quoting the password)."""
    scheme = urlsplit(url).scheme
    if scheme.lower() not in SCHEMES:
        return f"expected a postgres:// or postgresql:// URL, got {f'{scheme}://' if scheme else 'no scheme'}"
    return None


def password(url: str) -> str | None:
    """The URL's password (to mask it in any message that might quote it), or None."""
    parts = urlsplit(url)
    userinfo = parts.netloc.rpartition("@")[0]
    if ":" in userinfo:
        return unquote(userinfo.partition(":")[2]) or None
    return dict(parse_qsl(parts.query)).get("password")


def shown(url: str) -> str:
    """The URL without its password, for messages and logs: `postgresql://user@host:5432/db`."""
    parts = urlsplit(url)
    userinfo, at, hosts = parts.netloc.rpartition("@")
    netloc = f"{userinfo.partition(':')[0]}{at}{hosts}"
    query = "&".join(pair for pair in parts.query.split("&") if pair and pair.partition("=")[0] != "password")
    return f"{parts.scheme}://{netloc}{parts.path}" + (f"?{query}" if query else "")
