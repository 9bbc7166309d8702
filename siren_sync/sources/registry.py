"""Which sources exist, what each one's config section holds, and how one is built from the config.

The one list of source names: config validation reads each source's option defaults from it,
`sync --source NAME` and `check` look names up in it, the worker builds its sources through it.
Building imports a source's module only when it is used (the WooCommerce client pulls in
`requests` and OAuth; `check --help` should not).
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from siren_sync.errors import ConfigError, SirenSyncError, UsageError
from siren_sync.sources.base import Source
from siren_sync.sources.http import TIMEOUT, Upstream

if TYPE_CHECKING:
    from siren_sync.app import App
    from siren_sync.config import Config

log = logging.getLogger("siren_sync.sources")


@dataclass(frozen=True)
class SourceSpec:
    """A source as the config and the command line know it.

    `defaults` lists every option of its `sync.<name>` section with its default (`enabled` and
    `every` included: `every: None` means `sync.every`); `wordpress` says it signs in with the
    WordPress application password; `build` makes the source (None: not an event source).
    """

    name: str
    defaults: Mapping[str, Any]
    wordpress: bool = False
    build: Callable[[Config, App], Source] | None = None


def wp_upstream(config: Config, name: str, read_timeout: float | None = None) -> Upstream | None:
    """The site's REST root with the WordPress application password, or None without one;
    `read_timeout` replaces the usual 30 s (the end-to-end tests' `run --read-timeout`)."""
    site = config.site
    if not site.wp_user or site.wp_app_password is None:
        return None
    return Upstream(name, f"{site.url}/wp-json", auth=(site.wp_user, site.wp_app_password.value),
                    verify=site.verify_tls, timeout=TIMEOUT if read_timeout is None else read_timeout)


def _wordpress(config: Config, name: str) -> Upstream:
    """The WordPress sign-in a source cannot do without: missing credentials are a config error."""
    upstream = wp_upstream(config, name)
    if upstream is None:
        raise ConfigError(f"{config.path}: sync.{name}: needs site.wordpress.user and application_password")
    return upstream


def _woocommerce(config: Config, app: App) -> Any:
    from siren_sync.sources.woocommerce import WooCommerceSource
    return WooCommerceSource.from_config(config, site_tz=app.tz)


def _lifterlms(config: Config, app: App) -> Source:
    from siren_sync.sources.lifterlms import LifterLMSSource
    return LifterLMSSource(_wordpress(config, "lifterlms"), app.tz)


def _learndash(config: Config, app: App) -> Source:
    from siren_sync.sources.learndash import LearnDashSource
    return LearnDashSource(_wordpress(config, "learndash"))


def _siren(config: Config, app: App) -> Source:
    from siren_sync.sources.siren import SirenEngagementsSource
    options = config.sync.sources["siren"].options
    return SirenEngagementsSource(_wordpress(config, "siren"), collaborator_ids=options.get("collaborator_ids"),
                                  known_collaborators=app.ledger.collaborators)


def _access_log(config: Config, app: App) -> Source:
    """The access log source; bound posts' URL paths are read from the site when it can be asked."""
    from siren_sync.sources import wordpress
    from siren_sync.sources.access_log import AccessLogSource

    options = config.sync.sources["access_log"].options
    collaborators = app.ledger.collaborators.values()
    authors = [c.wp_user_id for c in collaborators if c.wp_user_id is not None]
    posts = [p for c in collaborators for p in c.posts]
    bound = wordpress.BoundPosts()
    upstream = wp_upstream(config, "wordpress")
    if upstream is not None and (authors or posts):
        try:
            bound = wordpress.fetch_bound_posts(upstream, authors, posts)
        except SirenSyncError as exc:
            log.warning("access_log: bound posts could not be read from the site (%s); "
                        "only referred visits count until they can", exc)
    return AccessLogSource(options["path"], ref_param=options["ref_param"], post_paths=bound.paths,
                           post_authors=bound.authors, visitor_window=float(options["visitor_window"]))


SOURCES: Mapping[str, SourceSpec] = {spec.name: spec for spec in (
    SourceSpec("woocommerce", {"enabled": True, "every": None, "paid_statuses": ("processing", "completed"),
                               "per_page": 100, "refunds": "auto", "extra_statuses": (), "read_ahead": True,
                               "ref_meta_key": None,
                               "visitor_created_via": None},  # None: woocommerce.orders.CUSTOMER_CHANNELS
               build=_woocommerce),
    SourceSpec("lifterlms", {"enabled": False, "every": 3600.0}, wordpress=True, build=_lifterlms),
    SourceSpec("learndash", {"enabled": False, "every": 3600.0}, wordpress=True, build=_learndash),
    SourceSpec("access_log", {"enabled": False, "every": None, "path": "/var/log/nginx/access.log",
                              "ref_param": "ref", "visitor_window": 1800.0}, build=_access_log),
    SourceSpec("siren", {"enabled": False, "every": 900.0, "collaborator_ids": {}}, wordpress=True, build=_siren),
    SourceSpec("collaborators_from_site", {"enabled": False, "every": 3600.0, "role": "siren_collaborator",
                                           "coupon_meta_key": "siren_collaborator",
                                           "product_meta_key": "siren_collaborator"}, wordpress=True),
)}
EVENT_SOURCES = tuple(name for name, spec in SOURCES.items() if spec.build is not None)


def check_source(config: Config, name: str) -> None:
    """`sync --source NAME` names an event source that can be built: a usage or a config error if not."""
    if name not in EVENT_SOURCES:
        raise UsageError(f"unknown source {name!r} (valid: {', '.join(EVENT_SOURCES)})")
    if SOURCES[name].wordpress:
        _wordpress(config, name)


def build_sources(config: Config, app: App, only: str | None = None) -> list[Source]:
    """The enabled event sources (or just `only`, enabled or not), built from the config."""
    if only is not None:
        check_source(config, only)
    sources: list[Source] = []
    for name in EVENT_SOURCES:
        section = config.sync.sources.get(name)
        if (only and name != only) or section is None or not (section.enabled or only == name):
            continue
        build = SOURCES[name].build
        assert build is not None
        sources.append(build(config, app))
    return sources
