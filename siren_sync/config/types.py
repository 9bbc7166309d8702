"""What a loaded configuration is: frozen dataclasses, built once by `load.load_config`.

Frozen, because the worker, the sources and the commands all read the same object for the whole
run: nothing may change a setting behind another's back. Credentials are `Secret`s so that a
config printed in a log line, a traceback or an error message never shows one.

Site timezone `auto` (read from the site at start-up): a `startsAt` without a UTC offset is a wall
time in the site's timezone, which is not known yet. Such distributors get `starts_at=None` and the
wall time is kept in `Config.local_starts`; the worker calls `config.with_timezone(name)` once it
knows the zone, which returns a Config whose distributors all have aware `starts_at`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any

from siren_sync.model import Collaborator, Distributor, Program
from siren_sync.values import localize, tzinfo_of


@dataclass(frozen=True)
class Secret:
    """A credential: `repr`/`str` never show it (logs, tracebacks, error messages); `.value` does."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "Secret('***')"

    def __str__(self) -> str:
        return "***"


@dataclass(frozen=True)
class SiteConfig:
    url: str  # no trailing slash
    timezone: str  # IANA name (or +HH:MM) or "auto"
    verify_tls: bool | str  # True, False, or CA bundle path
    wp_user: str | None
    wp_app_password: Secret | None
    wc_key: Secret | None
    wc_secret: Secret | None


@dataclass(frozen=True)
class SourceConfig:
    """One entry of sync.<source>."""

    enabled: bool
    every: float | None  # seconds, None = sync.every
    options: Mapping[str, Any]  # the other validated keys of that section, defaults filled in


@dataclass(frozen=True)
class SyncConfig:
    every: float  # seconds
    overlap: float  # seconds
    sources: Mapping[str, SourceConfig]


@dataclass(frozen=True)
class PublishConfig:
    rest_route: str = "wp/v2/posts"
    status: str = "private"
    enabled: bool = True


@dataclass(frozen=True)
class PayoutsConfig:
    """`payouts:` (DESIGN section 7). `review` and `hold` are the defaults each distributor takes
    unless it sets its own (they are resolved into every `Distributor`); `minimum` (per unit) and
    `note` belong to a payout, which gathers every distributor's obligations, so they are global."""

    review: bool = False
    hold: timedelta = timedelta(0)
    minimum: Mapping[str, Decimal] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class StoreConfig:
    """`store:`: a TinyDB file (`path`), or a PostgreSQL database (`url`) shared under `namespace`."""

    path: Path  # the TinyDB root file, relative paths resolved against the config file's folder
    url: Secret | None = None  # postgres:// or postgresql://; a Secret, so its password never shows
    namespace: str = ""  # the site's rows in a shared database (default: the site's host[:port])
    leader_timeout: float = 30.0  # seconds in which a standby worker takes over from a dead leader

    def describe(self) -> str:
        """Where the store is, for messages: the file, or the URL without its password."""
        if self.url is None:
            return str(self.path)
        from siren_sync.store.postgres.url import shown
        return f"{shown(self.url.value)} (namespace {self.namespace})"


@dataclass(frozen=True)
class Config:
    path: Path
    site: SiteConfig
    store: StoreConfig
    sync: SyncConfig
    collaborators: tuple[Collaborator, ...]
    distributors: Mapping[str, Distributor]  # key -> Distributor (recipes merged)
    publish: PublishConfig
    # distributor key -> naive wall time of a startsAt waiting for the site timezone (timezone: auto)
    local_starts: Mapping[str, datetime] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()  # not fatal, shown by `check`: "<file>: <key>: <note>"
    payouts: PayoutsConfig = field(default_factory=PayoutsConfig)
    programs: Mapping[str, Program] = field(default_factory=dict)  # key -> Program (recipes' included)

    @property
    def store_path(self) -> Path:
        """The TinyDB store's root file (`store.path`, or its default when a `store.url` is set)."""
        return self.store.path

    def with_timezone(self, zone: str | tzinfo) -> Config:
        """This config once the site timezone is known: every pending `startsAt` made aware.

        `zone` is a tzinfo, an IANA name or a fixed offset (`+02:00`, WordPress sites set to "UTC+2").
        """
        tz = tzinfo_of(zone) if isinstance(zone, str) else zone
        name = zone if isinstance(zone, str) else getattr(zone, "key", None) or str(zone)
        distributors = {key: replace(d, starts_at=localize(self.local_starts[key], tz))
                        if key in self.local_starts else d for key, d in self.distributors.items()}
        return replace(self, site=replace(self.site, timezone=name), distributors=distributors, local_starts={})
