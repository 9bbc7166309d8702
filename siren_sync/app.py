"""Wiring: a loaded config, the store, the site timezone and the ledger, for commands and the worker.

Kept apart from the command line so the worker, the demo and the tests build the same objects the
same way. The site timezone is the config's, or (with `timezone: auto`) the one read from the site
and remembered in the store, so offline commands still place events in the right periods.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from siren_sync.config import Config, tzinfo_of
from siren_sync.errors import ConfigError
from siren_sync.ledger import Ledger
from siren_sync.model import Collaborator, Distributor
from siren_sync.store import make_store
from siren_sync.store.protocol import Store
from siren_sync.tables import META, SITE_COLLABORATORS
from siren_sync.values import coupon_code, nfc


def utcnow() -> datetime:
    return datetime.now(UTC)


def zone(name: str) -> tzinfo:
    """The site's timezone: an IANA name, or a fixed offset such as `+05:30` (WordPress without a city)."""
    try:
        return tzinfo_of(name)
    except ValueError as exc:
        raise ConfigError(f"site timezone: {exc}") from None


@dataclass
class App:
    config: Config
    store: Store
    tz: tzinfo
    ledger: Ledger

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def site_timezone(config: Config, store: Store, fetch: Callable[[], str] | None = None) -> str:
    """The configured zone, or the site's as last read (asking the site when never read)."""
    if config.site.timezone != "auto":
        return config.site.timezone
    remembered = store.get(META, "site")
    if remembered and remembered.get("timezone"):
        return str(remembered["timezone"])
    if fetch is None:
        raise ConfigError(f"{config.path}: site.timezone: is 'auto' but the site's timezone was never read; "
                          f"run `siren-sync sync` once or set site.timezone")
    name = fetch()
    zone(name)  # a name this machine cannot use is never remembered: the site is asked again next time
    if not store.readonly:
        with store.transaction() as tx:
            tx.put(META, "site", {"timezone": name})
    return name


def collaborators_of(config: Config, store: Store) -> dict[str, Collaborator]:
    """Collaborators from the config, plus those read from the site (the config wins on an id)."""
    merged: dict[str, Collaborator] = {}
    for row in (store.table(SITE_COLLABORATORS) or {}).values():
        c = Collaborator(id=nfc(row["id"]), name=row.get("name", ""), email=row.get("email", ""),
                         status=row.get("status", "active"), wp_user_id=row.get("wp_user_id"),
                         coupons=tuple(coupon_code(code) for code in row.get("coupons", ())),
                         tracking_ids=tuple(nfc(t) for t in row.get("tracking_ids", ())),
                         products=tuple(row.get("products", ())), posts=tuple(row.get("posts", ())))
        merged[c.id] = c
    merged.update({c.id: c for c in config.collaborators})
    return merged


def store_of(config: Config, readonly: bool = False) -> Store:
    """The config's store, not opened yet (TinyDB at `store.path`, or PostgreSQL at `store.url`)."""
    settings = config.store
    return make_store(settings.path, settings.url.value if settings.url else None, settings.namespace,
                      readonly=readonly, leader_timeout=settings.leader_timeout)


def open_app(config: Config, readonly: bool = False, now: datetime | None = None,
             fetch_timezone: Callable[[], str] | None = None) -> App:
    """Open the store and build the ledger for `config`."""
    store = store_of(config, readonly=readonly).open()
    try:
        tz = zone(site_timezone(config, store, fetch_timezone))
        distributors: Mapping[str, Distributor] = config.with_timezone(tz).distributors
        ledger = Ledger(store, distributors, collaborators_of(config, store), tz, now or utcnow())
        if config.programs and not readonly:
            ledger.keep_recent()  # what a sync records goes to the programs in memory (`commissions.reward`)
    except BaseException:
        store.close()
        raise
    return App(config=config, store=store, tz=tz, ledger=ledger)
