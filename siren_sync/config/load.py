"""The configuration file, section by section: `load_config` returns a validated `Config` or fails.

The file is read by `read` (YAML, `${VAR}`), each top-level section is checked here with the
`validate` kit, and distributors (the config's own and every recipe's) by `siren_json`. What is
valid but pays nothing, or will be refused by the site, is a warning kept in `Config.warnings`
for `check` to show.
"""
from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit

from siren_sync.config.programs import parse_programs
from siren_sync.config.read import parse_config, read_text
from siren_sync.config.siren_json import Parsed, distributor_json, merge, notes, parse_distributor, read_recipe
from siren_sync.config.types import (
    Config,
    PayoutsConfig,
    PublishConfig,
    Secret,
    SiteConfig,
    SourceConfig,
    StoreConfig,
    SyncConfig,
)
from siren_sync.config.validate import (
    At,
    as_list,
    check_keys,
    choice,
    duration,
    flag,
    got,
    mapping,
    number,
    required,
    resolve_path,
    show,
    text,
    texts,
    timespan,
    whole,
    wholes,
)
from siren_sync.engine.units import CURRENCY_EXPONENTS, decimals_of, near_currency
from siren_sync.errors import ConfigError
from siren_sync.gcpause import without_gc_pauses
from siren_sync.model import COLLABORATOR_STATUSES, Collaborator, Distributor, Program
from siren_sync.sources.http import is_loopback
from siren_sync.sources.registry import SOURCES
from siren_sync.store.postgres import url as postgres_url
from siren_sync.values import coupon_code, nfc, tzinfo_of

DEFAULT_PATH = "config/siren.yaml"
_TOP_KEYS = ("site", "store", "sync", "collaborators", "distributors", "recipes", "publish", "payouts", "programs",
             "programGroups")
_PAYOUTS_KEYS = ("review", "hold", "minimum", "note")
PAYPAL_NOTE_LIMIT = 400  # characters PayPal takes in a payout's note to the recipient
_POST_STATUSES = ("private", "draft", "pending", "publish")
_COLLABORATOR_KEYS = ("id", "name", "email", "status", "wp_user_id", "coupons", "tracking_ids", "products", "posts",
                      "tags")


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """The validated configuration: `path`, else $SIREN_SYNC_CONFIG, else config/siren.yaml."""
    with without_gc_pauses():  # a large config is a million small values, none in a cycle
        return _load(path, os.environ if env is None else env)


def _load(path: str | Path | None, env: Mapping[str, str]) -> Config:
    """`load_config`'s work: the file's sections, each checked, into one Config."""
    path = Path(path or env.get("SIREN_SYNC_CONFIG") or DEFAULT_PATH)
    at = At(str(path))
    top = _top(at, path, env)
    base = Path(os.path.abspath(path)).parent
    warnings: list[str] = []
    site = _site(at / "site", top.get("site"), base)
    store = _store(at / "store", top.get("store"), base, site.url)
    sync = _sync(at / "sync", top.get("sync"), base, site, warnings)
    collaborators = _collaborators(at / "collaborators", top.get("collaborators"))
    parsed, sections = _all_distributors(at, top, base, site)
    merge(parsed)
    taken = {p.distributor.key.lower(): f"{p.at.where}: {p.at.path}" for p in parsed}
    programs = parse_programs([(at, top), *sections], collaborators, taken,
                              _hold(at / "payouts", top.get("payouts")), warnings)
    payouts = _payouts(at / "payouts", top.get("payouts"), [p.distributor for p in parsed], programs.values())
    publish = _publish(at / "publish", top.get("publish"))
    if publish.enabled and site.wp_user is None:
        warnings.append((at / "publish").note("no site.wordpress credentials: records stay queued until given"))
    return Config(path=base / path.name, site=site, store=store, sync=sync, collaborators=collaborators,
                  distributors=merge([_with_payouts(p, payouts) for p in parsed]), publish=publish,
                  local_starts={p.distributor.key: p.local_start for p in parsed if p.local_start is not None},
                  warnings=tuple(warnings + [note for p in parsed for note in notes(p)]), payouts=payouts,
                  programs=programs)


def _top(at: At, path: Path, env: Mapping[str, str]) -> dict[str, Any]:
    """The file's top-level mapping, `${VAR}`s put in, its keys checked."""
    where = str(path)
    if path.is_dir():
        raise ConfigError(f"{where}: is a folder, not a config file")
    raw = parse_config(read_text(None, path, where), where, at, env)
    if raw is None:
        raise ConfigError(f"{where}: the file is empty (see config/siren.example.yaml)")
    top = mapping(at, raw, required=True)
    check_keys(at, top, _TOP_KEYS)
    return top


def _all_distributors(at: At, top: Mapping[str, Any], base: Path,
                      site: SiteConfig) -> tuple[list[Parsed], list[tuple[At, Mapping[str, Any]]]]:
    """The config's own distributors, then each recipe's, in order; and the recipes with programs
    (read with the config's own once the collaborators are known)."""
    tz = None if site.timezone == "auto" else tzinfo_of(site.timezone)
    own = mapping(at / "distributors", top.get("distributors"))
    parsed = [parse_distributor(at / "distributors" / key, key, raw, tz) for key, raw in own.items()]
    sections: list[tuple[At, Mapping[str, Any]]] = []
    for i, ref in enumerate(texts(at / "recipes", top.get("recipes"))):
        label, data = read_recipe((at / "recipes")[i], ref, base)
        parsed.extend(distributor_json(At(label), data, tz))
        if isinstance(data, Mapping) and ("programs" in data or "programGroups" in data):
            sections.append((At(label), data))
    return parsed, sections


def _store(at: At, raw: Any, base: Path, site_url: str) -> StoreConfig:
    """`store: {path}` (TinyDB) or `store: {url, namespace, leader_timeout}` (PostgreSQL)."""
    data = mapping(at, raw)
    check_keys(at, data, ("path", "url", "namespace", "leader_timeout"))
    path = resolve_path(base, text(at / "path", data.get("path", "data/siren-sync.json"), empty=False))
    if "url" not in data:
        for key in ("namespace", "leader_timeout"):
            if key in data:
                (at / key).fail("applies to a PostgreSQL store only (store.url)")
        return StoreConfig(path=path, namespace=_host(site_url))  # the namespace a `store copy` would use
    if "path" in data:
        at.fail("give store.path (TinyDB) or store.url (PostgreSQL), not both")
    url = text(at / "url", data["url"], empty=False, secret=True).strip()
    problem = postgres_url.problem(url)
    if problem:
        (at / "url").fail(problem)
    namespace = text(at / "namespace", data.get("namespace", _host(site_url)), empty=False).strip()
    if len(namespace) > 200 or not namespace.isprintable():
        (at / "namespace").fail(f"expected printable text of at most 200 characters, {got(namespace)}")
    timeout = duration(at / "leader_timeout", data.get("leader_timeout", 30))
    if timeout < 3:
        (at / "leader_timeout").fail(f"must be at least 3s, {got(data['leader_timeout'])}")
    return StoreConfig(path=path, url=Secret(url), namespace=namespace, leader_timeout=timeout)


def _host(site_url: str) -> str:
    """The default namespace: the site's host, with its port when it has one (`shop.example.com`)."""
    parts = urlsplit(site_url)
    host = (parts.hostname or "").lower()
    return f"{host}:{parts.port}" if parts.port else host


def _hold(at: At, raw: Any) -> timedelta:
    """`payouts.hold`, which programs take (they are read before the minimum, whose units may be theirs)."""
    return timespan(at / "hold", mapping(at, raw).get("hold", 0))


def _payouts(at: At, raw: Any, distributors: list[Distributor], programs: Iterable[Program]) -> PayoutsConfig:
    """`payouts:`; a minimum's unit must be one a distributor or a program pays in, or a currency."""
    data = mapping(at, raw)
    check_keys(at, data, _PAYOUTS_KEYS)
    note = text(at / "note", data.get("note") or "")
    if len(note) > PAYPAL_NOTE_LIMIT:
        (at / "note").fail(f"PayPal takes at most {PAYPAL_NOTE_LIMIT} characters, got {len(note)}")
    if any(unicodedata.category(ch).startswith("C") for ch in note):
        (at / "note").fail("must be one line without control characters (it is a cell of the payout file)")
    paid_in = {**{p.units: p.exponent for p in programs}, **{d.units: d.exponent for d in distributors}}
    minimum = {str(unit): _minimum(at / "minimum" / unit, unit, amount, paid_in)
               for unit, amount in mapping(at / "minimum", data.get("minimum")).items()}
    return PayoutsConfig(review=flag(at / "review", data.get("review", False)),
                         hold=_hold(at, raw), minimum=minimum, note=note)


def _minimum(at: At, unit: Any, amount: Any, paid_in: Mapping[str, int]) -> Decimal:
    """A minimum in a currency, or in a unit a distributor or a program pays in (`paid_in`: its decimals)."""
    exponents = {**CURRENCY_EXPONENTS, **paid_in}
    if unit not in exponents:
        near = near_currency(str(unit))
        hint = f"; did you mean {near!r}?" if near else ""
        at.fail(f"unknown unit {show(unit)}{hint} (a currency code, or a unit a distributor or a program pays in: "
                f"{', '.join(sorted(paid_in)) or 'none'})")
    value = number(at, amount, low=Decimal(0), what="minimum")
    if decimals_of(value) > exponents[unit]:
        places = exponents[unit]
        at.fail(f"{unit} has {places} decimal{'' if places == 1 else 's'}, got {show(amount)}")
    return value


def _with_payouts(parsed: Parsed, payouts: PayoutsConfig) -> Parsed:
    """The distributor with the section's review and hold, unless it sets its own."""
    d, own = parsed.distributor, parsed.own_payouts
    return replace(parsed, distributor=replace(d, review=d.review if "review" in own else payouts.review,
                                               hold=d.hold if "hold" in own else payouts.hold))


def _publish(at: At, raw: Any) -> PublishConfig:
    data = mapping(at, raw)
    check_keys(at, data, ("rest_route", "status", "enabled"))
    route = text(at / "rest_route", data.get("rest_route", "wp/v2/posts"), empty=False).strip().strip("/")
    if route.startswith("wp-json/") or not re.fullmatch(r"[\w.-]+(/[\w.()<>?+-]+)+", route):
        (at / "rest_route").fail(f"expected a route under /wp-json/ such as wp/v2/posts, {got(route)}")
    return PublishConfig(rest_route=route, status=choice(at / "status", data.get("status", "private"), _POST_STATUSES),
                         enabled=flag(at / "enabled", data.get("enabled", True)))


# ------------------------------------------------------------------------------------- site


def _site(at: At, raw: Any, base: Path) -> SiteConfig:
    data = mapping(at, raw, required=True)
    check_keys(at, data, ("url", "timezone", "verify_tls", "wordpress", "woocommerce"))
    url = _url(at / "url", required(at, data, "url"))
    zone = text(at / "timezone", data.get("timezone", "auto"), empty=False)
    if zone != "auto":
        try:
            tzinfo_of(zone)
        except ValueError as exc:
            (at / "timezone").fail(str(exc))
    user, password = _wordpress(at / "wordpress", data.get("wordpress"))
    key, secret = _woocommerce(at / "woocommerce", data.get("woocommerce"))
    if password is not None and not _secure(url):
        (at / "url").fail(f"refusing to send the WordPress application password over plain http to "
                          f"{urlsplit(url).hostname!r}: use https (plain http is for loopback hosts only)")
    verify = _verify(at / "verify_tls", data.get("verify_tls", True), base)
    return SiteConfig(url=url, timezone=zone, verify_tls=verify, wp_user=user, wp_app_password=password,
                      wc_key=key, wc_secret=secret)


def _url(at: At, value: Any) -> str:
    url = text(at, value, empty=False).strip().rstrip("/")
    parts = urlsplit(url)
    if "@" in parts.netloc:
        at.fail("must not hold credentials: give them in site.wordpress / site.woocommerce")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        at.fail(f"expected an http:// or https:// URL of the site, {got(value)}")
    if parts.query or parts.fragment:
        at.fail("the site URL must not have a query or fragment")
    if parts.path.rstrip("/").endswith("wp-json"):
        at.fail("give the site's root URL; /wp-json/ is added by siren-sync")
    return url


def _secure(url: str) -> bool:
    """Basic auth is sent only over https, or over http to this machine."""
    parts = urlsplit(url)
    return parts.scheme == "https" or is_loopback(parts.hostname or "")


def _verify(at: At, value: Any, base: Path) -> bool | str:
    if isinstance(value, bool) or (isinstance(value, str) and value.strip().lower() in ("true", "false")):
        return flag(at, value)
    path = resolve_path(base, text(at, value, empty=False))
    if not path.is_file():
        at.fail(f"CA bundle not found: {path} (or use true / false)")
    return str(path)


def _credential(at: At, data: Mapping[str, Any], key: str) -> Secret | None:
    value = data.get(key)
    return None if value is None else Secret(text(at / key, value, empty=False, secret=True))


def _wordpress(at: At, raw: Any) -> tuple[str | None, Secret | None]:
    data = mapping(at, raw)
    check_keys(at, data, ("user", "application_password"))
    user = data.get("user")
    user = None if user is None else text(at / "user", user, empty=False)
    password = _credential(at, data, "application_password")
    if (user is None) != (password is None):
        (at / ("application_password" if password is None else "user")).fail(
            "is required with " + ("user" if password is None else "application_password"))
    return user, password


def _woocommerce(at: At, raw: Any) -> tuple[Secret | None, Secret | None]:
    data = mapping(at, raw)
    check_keys(at, data, ("consumer_key", "consumer_secret"))
    key, secret = _credential(at, data, "consumer_key"), _credential(at, data, "consumer_secret")
    if (key is None) != (secret is None):
        (at / ("consumer_secret" if secret is None else "consumer_key")).fail(
            "is required with " + ("consumer_key" if secret is None else "consumer_secret"))
    return key, secret


# ------------------------------------------------------------------------------------- sync


def _option(at: At, key: str, value: Any, base: Path) -> Any:
    """One validated source option (defaults are already valid)."""
    if key in ("enabled", "read_ahead"):
        return flag(at, value)
    if key == "every":
        return None if value is None else duration(at, value)
    if key == "visitor_window":
        return duration(at, value)
    if key == "paid_statuses":
        statuses = texts(at, value)
        return statuses or at.fail("must list at least one order status")
    if key in ("extra_statuses", "visitor_created_via"):
        return texts(at, value)
    if key == "collaborator_ids":
        return {str(k): nfc(text(at / str(k), v, empty=False)) for k, v in mapping(at, value).items()}
    if key == "per_page":
        return whole(at, value, 1, 100)
    if key == "refunds":
        return choice(at, value, ("auto", "orders", "refunds"))
    if key == "path":
        return str(resolve_path(base, text(at, value, empty=False)))
    return text(at, value, empty=False)


def _source(at: At, name: str, raw: Any, base: Path) -> SourceConfig:
    data = mapping(at, raw)
    defaults = SOURCES[name].defaults
    check_keys(at, data, defaults)
    values = {k: (_option(at / k, k, data[k], base) if k in data else v) for k, v in defaults.items()}
    enabled, every = values.pop("enabled"), values.pop("every")
    return SourceConfig(enabled=enabled, every=every, options=values)


def _sync(at: At, raw: Any, base: Path, site: SiteConfig, warnings: list[str]) -> SyncConfig:
    data = mapping(at, raw)
    check_keys(at, data, ("every", "overlap", *SOURCES))
    sources = {name: _source(at / name, name, data.get(name), base) for name in SOURCES}
    warnings.extend(note for name, source in sources.items()
                    if (note := _missing_credentials(at / name / "enabled", name, source, site)))
    return SyncConfig(every=duration(at / "every", data.get("every", "5m")),
                      overlap=duration(at / "overlap", data.get("overlap", "5m"), zero=True), sources=sources)


def _missing_credentials(at: At, name: str, source: SourceConfig, site: SiteConfig) -> str | None:
    """An enabled source without its credentials will be refused by the site: worth a `check` line.

    A warning, not an error: a loopback or sandbox site may answer without them.
    """
    if source.enabled and name == "woocommerce" and site.wc_key is None:
        return at.note("no site.woocommerce.consumer_key and consumer_secret (or set enabled: false)")
    if source.enabled and SOURCES[name].wordpress and site.wp_user is None:
        return at.note("no site.wordpress.user and application_password")
    return None


# ---------------------------------------------------------------------------- collaborators


def _collaborators(at: At, raw: Any) -> tuple[Collaborator, ...]:
    items = as_list(at, raw)
    collaborators = tuple(_plain_collaborator(item) or _collaborator(at[i], item) for i, item in enumerate(items))
    _check_bindings(at, collaborators, items)
    return collaborators


_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_KEYS = frozenset(_COLLABORATOR_KEYS)


def _collaborator(at: At, raw: Any) -> Collaborator:
    """One collaborator, every value checked where it sits; its id, coupon codes and tracking ids in
    Unicode NFC (coupons lower case), so that what prints the same is the same however typed."""
    data = mapping(at, raw, required=True)
    check_keys(at, data, _COLLABORATOR_KEYS)
    ident = required(at, data, "id")
    if isinstance(ident, int) and not isinstance(ident, bool):
        ident = str(ident)
    ident = text(at / "id", ident, empty=False)
    email = text(at / "email", data.get("email") or "")
    if email and not _EMAIL.fullmatch(email):
        (at / "email").fail(f"not an email address: {show(email)}")
    wp_user = data.get("wp_user_id")
    return _made(ident, text(at / "name", data.get("name") or ""), email,
                 choice(at / "status", data.get("status", "active"), COLLABORATOR_STATUSES),
                 None if wp_user is None else whole(at / "wp_user_id", wp_user, 1),
                 texts(at / "coupons", data.get("coupons")), texts(at / "tracking_ids", data.get("tracking_ids")),
                 wholes(at / "products", data.get("products")), wholes(at / "posts", data.get("posts")),
                 texts(at / "tags", data.get("tags")))


def _plain_collaborator(raw: Any) -> Collaborator | None:
    """The collaborator `raw` is when every value is plainly right, as most of 50,000 are; None
    when anything needs `_collaborator`'s look (which finds the same, or says what is wrong where).

    Built without an `At` per value: a large config's load is mostly this (tests/config pins that
    both agree)."""
    if type(raw) is not dict or not _KEYS.issuperset(raw):
        return None
    ident, name, email = raw.get("id"), raw.get("name") or "", raw.get("email") or ""
    ident = str(ident) if type(ident) is int else ident
    status, wp_user = raw.get("status", "active"), raw.get("wp_user_id")
    if (type(ident) is not str or not ident.strip() or type(name) is not str or type(email) is not str
            or (email and not _EMAIL.fullmatch(email)) or type(status) is not str
            or status not in COLLABORATOR_STATUSES or (wp_user is not None and (type(wp_user) is not int
                                                                              or wp_user < 1))):
        return None
    lists = (_plain_texts(raw.get("coupons")), _plain_texts(raw.get("tracking_ids")),
             _plain_ids(raw.get("products")), _plain_ids(raw.get("posts")), _plain_texts(raw.get("tags")))
    if None in lists:
        return None
    return _made(ident, name, email, status, wp_user, *lists)  # type: ignore[arg-type]


def _plain_texts(value: Any) -> tuple[str, ...] | None:
    if type(value) is list and len(value) == 1:
        value = value[0]  # the usual list, of one code: no loop
    if type(value) is str:
        return (value,) if value.strip() else None
    if value is None:
        return ()
    if type(value) is not list or not all(type(v) is str and v.strip() for v in value):
        return None
    return tuple(dict.fromkeys(value))


def _plain_ids(value: Any) -> tuple[int, ...] | None:
    if type(value) is list and len(value) == 1:
        value = value[0]
    if type(value) is int:
        return (value,) if value >= 0 else None
    if value is None:
        return ()
    if type(value) is not list or not all(type(v) is int and v >= 0 for v in value):
        return None
    return tuple(dict.fromkeys(value))


def _made(ident: str, name: str, email: str, status: str, wp_user: int | None, coupons: tuple[str, ...],
          tracking_ids: tuple[str, ...], products: tuple[int, ...], posts: tuple[int, ...],
          tags: tuple[str, ...] = ()) -> Collaborator:
    return Collaborator(id=nfc(ident), name=name, email=email, status=status, wp_user_id=wp_user,
                        coupons=_folded(coupons, coupon_code), tracking_ids=_folded(tracking_ids, nfc),
                        products=products, posts=posts, tags=tags)


def _folded(texts: tuple[str, ...], fold: Callable[[str], str]) -> tuple[str, ...]:
    """`texts` in the form they are compared in, duplicates (once folded) dropped."""
    if len(texts) == 1:
        return (fold(texts[0]),)
    return tuple(dict.fromkeys(fold(t) for t in texts))


def _check_bindings(at: At, collaborators: tuple[Collaborator, ...], raw: list[Any]) -> None:
    """Each id, coupon, tracking id, product, post and WordPress user belongs to one collaborator."""
    ids: dict[str, int] = {}
    for i, c in enumerate(collaborators):
        first = ids.setdefault(c.id, i)
        if first != i:
            _duplicate_id(at, i, first, c.id, raw)
    for key, label in (("coupons", "coupon"), ("tracking_ids", "tracking id"), ("products", "product"),
                       ("posts", "post"), ("wp_user_id", "WordPress user")):
        owners: dict[Any, str] = {}
        for i, c in enumerate(collaborators):
            values = getattr(c, key)
            for value in (values if type(values) is tuple else () if values is None else (values,)):
                owner = owners.setdefault(value.lower() if type(value) is str else value, c.id)
                if owner != c.id:
                    (at[i] / key).fail(f"{label} {show(value)} is already bound to collaborator {owner!r}")


def _duplicate_id(at: At, i: int, first: int, ident: str, raw: list[Any]) -> NoReturn:
    written = [item.get("id") if isinstance(item, dict) else None for item in (raw[i], raw[first])]
    if written[0] == written[1]:
        (at[i] / "id").fail(f"duplicate collaborator id {ident!r} (also collaborators[{first}])")
    (at[i] / "id").fail(f"{ascii(written[0])} and collaborators[{first}].id {ascii(written[1])} are the same id "
                        f"{ident!r} once Unicode-normalised (NFC): they print alike, so they must be one "
                        "collaborator")
