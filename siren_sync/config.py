"""The configuration: YAML with `${VAR}` secrets, plus Siren recipe and distributor JSON as they are.

Every mistake is reported as one line, `<file>: <key path>: <problem>`, raised as `ConfigError`
before anything runs, so a typo never turns into a silent zero payout months later. Siren's own
JSON (recipes, `GET /siren/v1/distributors/<id>?include=extended`) is accepted unchanged: the keys
only Siren uses (`id`, `dateCreated`, `currentDistribution`...) are ignored, every other unknown key is
an error with the closest valid key suggested.

Site timezone `auto` (read from the site at start-up): a `startsAt` without a UTC offset is a wall
time in the site's timezone, which is not known yet. Such distributors get `starts_at=None` and the
wall time is kept in `Config.local_starts`; the worker calls `config.with_timezone(name)` once it
knows the zone, which returns a Config whose distributors all have aware `starts_at`.
"""
from __future__ import annotations

import difflib
import json
import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from siren_sync.engine.units import looks_like_currency, minor_unit
from siren_sync.errors import ConfigError
from siren_sync.model import (
    COLLABORATOR_STATUSES,
    COMPILERS,
    DEFAULT_COMPILERS,
    EVENT_TYPES,
    POOL_RESOLVERS,
    RESOLVER_ALIASES,
    RESOLVERS,
    Collaborator,
    Distributor,
    LineItemFilters,
)
from siren_sync.sources.http import is_loopback
from siren_sync.sources.registry import SOURCES

DEFAULT_PATH = "config/siren.yaml"


# ---------------------------------------------------------------------------------------- types


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
class Config:
    path: Path
    site: SiteConfig
    store_path: Path  # relative paths resolved against the config file's folder
    sync: SyncConfig
    collaborators: tuple[Collaborator, ...]
    distributors: Mapping[str, Distributor]  # key -> Distributor (recipes merged)
    publish: PublishConfig
    # distributor key -> naive wall time of a startsAt waiting for the site timezone (timezone: auto)
    local_starts: Mapping[str, datetime] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()  # not fatal, shown by `check`: "<file>: <key>: <note>"

    @property
    def tz(self) -> tzinfo | None:
        """The site's timezone, or None while it is `auto` and not yet read from the site."""
        return None if self.site.timezone == "auto" else tzinfo_of(self.site.timezone)

    def with_timezone(self, zone: str | tzinfo) -> Config:
        """This config once the site timezone is known: every pending `startsAt` made aware.

        `zone` is a tzinfo, an IANA name or a fixed offset (`+02:00`, WordPress sites set to "UTC+2").
        """
        tz = tzinfo_of(zone) if isinstance(zone, str) else zone
        name = zone if isinstance(zone, str) else getattr(zone, "key", None) or str(zone)
        distributors = {key: replace(d, starts_at=localize(self.local_starts[key], tz))
                        if key in self.local_starts else d for key, d in self.distributors.items()}
        return replace(self, site=replace(self.site, timezone=name), distributors=distributors, local_starts={})


def tzinfo_of(name: str) -> tzinfo:
    """An IANA zone or a fixed `+HH:MM` offset; ValueError for anything else."""
    match = re.fullmatch(r"(?:UTC)?([+-])(\d{1,2})(?::?(\d{2}))?", name.strip())
    if match:
        sign, hours, minutes = match.groups()
        offset = timedelta(hours=int(hours), minutes=int(minutes or 0))
        if offset > timedelta(hours=14):
            raise ValueError(f"offset {name!r} is out of range")
        return timezone(-offset if sign == "-" else offset)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown timezone {name!r} (an IANA name such as 'Europe/Paris', or +HH:MM)") from None


def localize(wall: datetime, tz: tzinfo) -> datetime:
    """A naive wall time in `tz`, aware; a time skipped by DST moves forward by the gap, as in PHP."""
    return wall.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)


# ------------------------------------------------------------------------------ where + helpers


@dataclass(frozen=True)
class _At:
    """Where a value sits: the file label and the key path, for the one-line error message."""

    where: str
    path: str = ""

    def __truediv__(self, key: Any) -> _At:
        return _At(self.where, f"{self.path}.{key}" if self.path else str(key))

    def __getitem__(self, index: int) -> _At:
        return _At(self.where, f"{self.path}[{index}]")

    def fail(self, problem: str) -> NoReturn:
        raise ConfigError(f"{self.where}: {self.path or '(top level)'}: {problem}")

    def note(self, problem: str) -> str:
        return f"{self.where}: {self.path or '(top level)'}: {problem}"


def _show(value: Any) -> str:
    """A value as the user wrote it (YAML spelling), short and on one line."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    return str(value)[:60]


def _got(value: Any) -> str:
    hint = " (YAML reads yes/no/on/off as true/false: quote it)" if isinstance(value, bool) else ""
    return f"got {_show(value)}{hint}"


def _unknown(at: _At, what: str, value: Any, valid: Iterable[str]) -> NoReturn:
    valid = list(valid)
    close = difflib.get_close_matches(str(value), valid, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    at.fail(f"unknown {what} {_show(value)}{hint} (valid: {', '.join(valid)})")


def _mapping(at: _At, value: Any, *, required: bool = False) -> dict:
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping):
        at.fail(f"expected a mapping, {_got(value)}" if value is not None else "is required")
    return dict(value)


def _keys(at: _At, data: Mapping, known: Iterable[str], ignored: Iterable[str] = ()) -> None:
    """Refuse keys nobody knows; Siren-only keys (`ignored`) pass silently."""
    known, ignored = list(known), set(ignored)
    for key in data:
        if key in known or key in ignored:
            continue
        close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"valid keys: {', '.join(known)}"
        (at / key).fail(f"unknown key; {hint}")


def _required(at: _At, data: Mapping, key: str, hint: str = "") -> Any:
    if data.get(key) is None:
        (at / key).fail("is required" + hint)
    return data[key]


def _text(at: _At, value: Any, *, empty: bool = True, secret: bool = False) -> str:
    if not isinstance(value, str):
        at.fail("expected a string, got something else" if secret else f"expected a string, {_got(value)}")
    if not empty and not value.strip():
        at.fail("must not be empty")
    return value


def _flag(at: _At, value: Any) -> bool:
    """true/false; also the strings "true"/"false", which is what a `${VAR}` gives."""
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        at.fail(f"expected true or false, {_got(value)}")
    return value


def _whole(at: _At, value: Any, low: int | None = None, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        at.fail(f"expected a whole number, {_got(value)}")
    if (low is not None and value < low) or (high is not None and value > high):
        at.fail(f"must be from {low} to {high}, got {value}" if high is not None
                else f"must be at least {low}, got {value}")
    return value


def _number(at: _At, value: Any, *, low: Decimal | None = None, high: Decimal | None = None,
            what: str = "value") -> Decimal:
    """A Decimal from a number or a numeric string (Siren's REST writes points as "100")."""
    try:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise InvalidOperation
        number = Decimal(str(value).strip())
        if not number.is_finite():
            raise InvalidOperation
    except InvalidOperation:
        at.fail(f"expected a number, {_got(value)}")
    if low is not None and number < low:
        at.fail(f"{what} must not be negative, got {_show(value)}" if low == 0 and high is None
                else f"{what} must be between {low} and {high}, got {_show(value)}")
    if high is not None and number > high:
        at.fail(f"{what} must be between {low} and {high}, got {_show(value)}")
    return number


def _choice(at: _At, value: Any, choices: Iterable[str]) -> str:
    choices = list(choices)
    if value not in choices or not isinstance(value, str):
        at.fail(f"expected one of {', '.join(choices)}, {_got(value)}")
    return value


def _list(at: _At, value: Any) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        at.fail(f"expected a list, {_got(value)}")
    return value


def _texts(at: _At, value: Any) -> tuple[str, ...]:
    """A list of non-empty strings; a single string is a list of one."""
    items = [value] if isinstance(value, str) else _list(at, value)
    return tuple(dict.fromkeys(_text(at[i], v, empty=False) for i, v in enumerate(items)))


def _wholes(at: _At, value: Any) -> tuple[int, ...]:
    items = [value] if isinstance(value, int) and not isinstance(value, bool) else _list(at, value)
    return tuple(dict.fromkeys(_whole(at[i], v, 0) for i, v in enumerate(items)))


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(at: _At, value: Any, *, zero: bool = False) -> float:
    """Seconds from `30s`, `5m`, `1h`, `1d`, `1h30m`, or a plain number of seconds."""
    seconds: float | None = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.replace(" ", "").lower()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
        elif re.fullmatch(r"(\d+(\.\d+)?[smhd])+", text):
            seconds = sum(float(n) * _DURATION_UNITS[u] for n, _, u in re.findall(r"(\d+(\.\d+)?)([smhd])", text))
    if seconds is None or not math.isfinite(seconds):
        at.fail(f"expected a duration such as 30s, 5m, 1h, 1d or a number of seconds, {_got(value)}")
    if seconds < 0 or (seconds == 0 and not zero):
        at.fail(f"must be {'zero or more' if zero else 'more than zero'}, {_got(value)}")
    return seconds


def _path(base: Path, value: str) -> Path:
    return Path(os.path.abspath(base / Path(value).expanduser()))


# ------------------------------------------------------------------------------ files and ${VAR}


class _Loader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys (PyYAML silently keeps the last one)."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, (str, int, float, bool)) or key is None:
                if key in seen:
                    raise yaml.MarkedYAMLError(problem=f"duplicate key {_show(key)}",
                                               problem_mark=key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep)


def _read_text(at: _At | None, path: Path, where: str) -> str:
    """The file's text; `at` is where a referenced file is named (None for the config itself)."""
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if at is None:
            raise ConfigError(f"{where}: file not found") from None
        at.fail(f"file not found: {path}")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read: {exc.__class__.__name__}: {exc}") from None


def _parse_yaml(text: str, where: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f"line {mark.line + 1}" if mark else "YAML"
        problem = " ".join(str(exc.problem or exc.context or "syntax error").split())
        raise ConfigError(f"{where}: {line}: YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: YAML syntax error: {' '.join(str(exc).split())}") from None


def _parse_json(text: str, where: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{where}: line {exc.lineno}: invalid JSON: {exc.msg}") from None


_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")


def _interpolate(at: _At, value: Any, env: Mapping[str, str]) -> Any:
    """`${VAR}` (or `${VAR:-default}`) in every string value, from `env`; `$${` is a literal `${`."""
    if isinstance(value, dict):
        return {k: _interpolate(at / k, v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_interpolate(at[i], v, env) for i, v in enumerate(value)]
    if isinstance(value, str) and "${" in value:
        return _REFERENCE.sub(lambda m: _expand(at, m, env), value)
    return value


def _expand(at: _At, match: re.Match, env: Mapping[str, str]) -> str:
    if match.group(0) == "$${":
        return "${"
    body = match.group(1)
    parsed = re.fullmatch(r"([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?", body or "", re.S)
    if body is None or not parsed:
        at.fail(f"bad environment reference {_show(match.group(0))}: write ${{NAME}} (or $${{ for a literal ${{)")
    name, default = parsed.groups()
    if name in env:
        return env[name]
    if default is not None:
        return default
    at.fail(f"environment variable {name} is not set")


# ------------------------------------------------------------------------------------- site


def _site(at: _At, raw: Any, base: Path) -> SiteConfig:
    data = _mapping(at, raw, required=True)
    _keys(at, data, ("url", "timezone", "verify_tls", "wordpress", "woocommerce"))
    url = _url(at / "url", _required(at, data, "url"))
    zone = _text(at / "timezone", data.get("timezone", "auto"), empty=False)
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


def _url(at: _At, value: Any) -> str:
    url = _text(at, value, empty=False).strip().rstrip("/")
    parts = urlsplit(url)
    if "@" in parts.netloc:
        at.fail("must not hold credentials: give them in site.wordpress / site.woocommerce")
    if parts.scheme not in ("http", "https") or not parts.hostname:
        at.fail(f"expected an http:// or https:// URL of the site, {_got(value)}")
    if parts.query or parts.fragment:
        at.fail("the site URL must not have a query or fragment")
    if parts.path.rstrip("/").endswith("wp-json"):
        at.fail("give the site's root URL; /wp-json/ is added by siren-sync")
    return url


def _secure(url: str) -> bool:
    """Basic auth is sent only over https, or over http to this machine."""
    parts = urlsplit(url)
    return parts.scheme == "https" or is_loopback(parts.hostname or "")


def _verify(at: _At, value: Any, base: Path) -> bool | str:
    if isinstance(value, bool) or (isinstance(value, str) and value.strip().lower() in ("true", "false")):
        return _flag(at, value)
    path = _path(base, _text(at, value, empty=False))
    if not path.is_file():
        at.fail(f"CA bundle not found: {path} (or use true / false)")
    return str(path)


def _credential(at: _At, data: Mapping, key: str) -> Secret | None:
    value = data.get(key)
    return None if value is None else Secret(_text(at / key, value, empty=False, secret=True))


def _wordpress(at: _At, raw: Any) -> tuple[str | None, Secret | None]:
    data = _mapping(at, raw)
    _keys(at, data, ("user", "application_password"))
    user = data.get("user")
    user = None if user is None else _text(at / "user", user, empty=False)
    password = _credential(at, data, "application_password")
    if (user is None) != (password is None):
        (at / ("application_password" if password is None else "user")).fail(
            "is required with " + ("user" if password is None else "application_password"))
    return user, password


def _woocommerce(at: _At, raw: Any) -> tuple[Secret | None, Secret | None]:
    data = _mapping(at, raw)
    _keys(at, data, ("consumer_key", "consumer_secret"))
    key, secret = _credential(at, data, "consumer_key"), _credential(at, data, "consumer_secret")
    if (key is None) != (secret is None):
        (at / ("consumer_secret" if secret is None else "consumer_key")).fail(
            "is required with " + ("consumer_key" if secret is None else "consumer_secret"))
    return key, secret


# ------------------------------------------------------------------------------------- sync



def _option(at: _At, key: str, value: Any, base: Path) -> Any:
    """One validated source option (defaults are already valid)."""
    if key in ("enabled", "read_ahead"):
        return _flag(at, value)
    if key == "every":
        return None if value is None else _duration(at, value)
    if key == "visitor_window":
        return _duration(at, value)
    if key == "paid_statuses":
        statuses = _texts(at, value)
        return statuses or at.fail("must list at least one order status")
    if key == "extra_statuses":
        return _texts(at, value)
    if key == "collaborator_ids":
        return {str(k): _text(at / str(k), v, empty=False) for k, v in _mapping(at, value).items()}
    if key == "per_page":
        return _whole(at, value, 1, 100)
    if key == "refunds":
        return _choice(at, value, ("auto", "orders", "refunds"))
    if key == "path":
        return str(_path(base, _text(at, value, empty=False)))
    return _text(at, value, empty=False)


def _source(at: _At, name: str, raw: Any, base: Path) -> SourceConfig:
    data = _mapping(at, raw)
    defaults = SOURCES[name].defaults
    _keys(at, data, defaults)
    values = {k: (_option(at / k, k, data[k], base) if k in data else v) for k, v in defaults.items()}
    enabled, every = values.pop("enabled"), values.pop("every")
    return SourceConfig(enabled=enabled, every=every, options=values)


def _sync(at: _At, raw: Any, base: Path, site: SiteConfig, warnings: list[str]) -> SyncConfig:
    data = _mapping(at, raw)
    _keys(at, data, ("every", "overlap", *SOURCES))
    sources = {name: _source(at / name, name, data.get(name), base) for name in SOURCES}
    warnings.extend(note for name, source in sources.items()
                    if (note := _missing_credentials(at / name / "enabled", name, source, site)))
    return SyncConfig(every=_duration(at / "every", data.get("every", "5m")),
                      overlap=_duration(at / "overlap", data.get("overlap", "5m"), zero=True), sources=sources)


def _missing_credentials(at: _At, name: str, source: SourceConfig, site: SiteConfig) -> str | None:
    """An enabled source without its credentials will be refused by the site: worth a `check` line.

    A warning, not an error: a loopback or sandbox site may answer without them.
    """
    if source.enabled and name == "woocommerce" and site.wc_key is None:
        return at.note("no site.woocommerce.consumer_key and consumer_secret (or set enabled: false)")
    if source.enabled and SOURCES[name].wordpress and site.wp_user is None:
        return at.note("no site.wordpress.user and application_password")
    return None


# ---------------------------------------------------------------------------- collaborators

_COLLABORATOR_KEYS = ("id", "name", "email", "status", "wp_user_id", "coupons", "tracking_ids", "products", "posts")


def _collaborators(at: _At, raw: Any) -> tuple[Collaborator, ...]:
    collaborators = tuple(_collaborator(at[i], item) for i, item in enumerate(_list(at, raw)))
    _check_bindings(at, collaborators)
    return collaborators


def _collaborator(at: _At, raw: Any) -> Collaborator:
    data = _mapping(at, raw, required=True)
    _keys(at, data, _COLLABORATOR_KEYS)
    ident = _required(at, data, "id")
    if isinstance(ident, int) and not isinstance(ident, bool):
        ident = str(ident)
    ident = _text(at / "id", ident, empty=False)
    email = _text(at / "email", data.get("email") or "")
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+", email):
        (at / "email").fail(f"not an email address: {_show(email)}")
    wp_user = data.get("wp_user_id")
    return Collaborator(
        id=ident, name=_text(at / "name", data.get("name") or ""), email=email,
        status=_choice(at / "status", data.get("status", "active"), COLLABORATOR_STATUSES),
        wp_user_id=None if wp_user is None else _whole(at / "wp_user_id", wp_user, 1),
        coupons=tuple(dict.fromkeys(c.lower() for c in _texts(at / "coupons", data.get("coupons")))),
        tracking_ids=_texts(at / "tracking_ids", data.get("tracking_ids")),
        products=_wholes(at / "products", data.get("products")),
        posts=_wholes(at / "posts", data.get("posts")))


def _check_bindings(at: _At, collaborators: tuple[Collaborator, ...]) -> None:
    """Each id, coupon, tracking id, product, post and WordPress user belongs to one collaborator."""
    ids: dict[str, int] = {}
    owners: dict[tuple[str, Any], str] = {}
    for i, c in enumerate(collaborators):
        if c.id in ids:
            (at[i] / "id").fail(f"duplicate collaborator id {c.id!r} (also collaborators[{ids[c.id]}])")
        ids[c.id] = i
        bindings = (("coupons", "coupon", c.coupons), ("tracking_ids", "tracking id", c.tracking_ids),
                    ("products", "product", c.products), ("posts", "post", c.posts),
                    ("wp_user_id", "WordPress user", () if c.wp_user_id is None else (c.wp_user_id,)))
        for key, label, values in bindings:
            for value in values:
                owner = owners.setdefault((key, value.lower() if isinstance(value, str) else value), c.id)
                if owner != c.id:
                    (at[i] / key).fail(f"{label} {_show(value)} is already bound to collaborator {owner!r}")


# ----------------------------------------------------------------------------- distributors

_DISTRIBUTOR_KEYS = ("name", "description", "distributionResolver", "distributionPoolResolver", "status", "units",
                     "unitDecimals", "schedule", "startsAt", "engagementTypes", "revenuePercentage",
                     "transactionCompilers", "lineItemFilters", "minimumScore", "carryUnspentPool")
_SIREN_ONLY_KEYS = ("id", "dateCreated", "dateModified", "currentDistribution", "collaboratorCount")
_FILTER_KEYS = ("withSkus", "inCategories", "collaboratorOwned", "withTypes")
# WordPress merges runs of '-' in a slug and trims them at its ends (sanitize_title_with_dashes):
# a key with '--' or a trailing '-' would be posted under another slug than the one looked up.
_KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*")


@dataclass(frozen=True)
class _Parsed:
    """A distributor with where it came from and its startsAt wall time still waiting for a zone."""

    at: _At
    distributor: Distributor
    local_start: datetime | None
    notes: tuple[str, ...] = ()  # valid but worth a line in `check`


def _distributor(at: _At, key: str, raw: Any, tz: tzinfo | None) -> _Parsed:
    if not isinstance(key, str) or not _KEY_PATTERN.fullmatch(key):
        at.fail("a distributor key is letters, digits, '_' and single '-' between them (it is used in "
                "record slugs, where WordPress merges '--' and drops a trailing '-')")
    data = _mapping(at, raw, required=True)
    _keys(at, data, _DISTRIBUTOR_KEYS, _SIREN_ONLY_KEYS)
    units, exponent, is_currency = _units(at, data)
    starts_at, local = _starts_at(at / "startsAt", data.get("startsAt"), tz)
    minimum = data.get("minimumScore")
    distributor = Distributor(
        key=key, name=_text(at / "name", data.get("name") or key), resolver=_resolver(at, data),
        units=units, exponent=exponent, is_currency=is_currency,
        schedule=_schedule(at / "schedule", _required(at, data, "schedule", _EXTENDED)),
        points=_points(at / "engagementTypes", data.get("engagementTypes")),
        revenue_percentage=_number(at / "revenuePercentage", data.get("revenuePercentage", 0), low=Decimal(0),
                                   high=Decimal(100), what="revenuePercentage"),
        pool_resolver=POOL_RESOLVERS[0], description=_text(at / "description", data.get("description") or ""),
        status=_choice(at / "status", data.get("status", "active"), ("active", "inactive")), starts_at=starts_at,
        compilers=_compilers(at / "transactionCompilers", data.get("transactionCompilers")),
        filters=_filters(at / "lineItemFilters", data.get("lineItemFilters")),
        minimum_score=None if minimum is None else _number(at / "minimumScore", minimum, low=Decimal(0),
                                                           what="minimumScore"),
        carry_unspent_pool=_flag(at / "carryUnspentPool", data.get("carryUnspentPool", False)))
    return _Parsed(at, distributor, local, _pool_resolver_notes(at / "distributionPoolResolver", data))


_EXTENDED = " (Siren returns it with GET /siren/v1/distributors/<id>?include=extended)"


def _resolver(at: _At, data: Mapping) -> str:
    value = _required(at, data, "distributionResolver")
    if value in RESOLVER_ALIASES:
        return RESOLVER_ALIASES[value]
    if value not in RESOLVERS:
        _unknown(at / "distributionResolver", "resolver", value, (*RESOLVERS, *RESOLVER_ALIASES))
    return value


def _pool_resolver_notes(at: _At, data: Mapping) -> tuple[str, ...]:
    """Siren documents one pool, a percentage of revenue since the last distribution, but not its
    id (its REST reference shows a placeholder, `standard_pool`): any id is read as that pool, so a
    distributor exported from Siren loads; an id other than ours gets a line in `check`."""
    value = _text(at, data.get("distributionPoolResolver", POOL_RESOLVERS[0]), empty=False)
    if value in POOL_RESOLVERS:
        return ()
    return (at.note(f"{value!r} is read as {POOL_RESOLVERS[0]} (Siren's one documented pool: "
                    f"revenuePercentage of the revenue since the last distribution)"),)


def _units(at: _At, data: Mapping) -> tuple[str, int, bool]:
    units = _text(at / "units", _required(at, data, "units"), empty=False).strip()
    if looks_like_currency(units):
        (at / "units").fail(f"currency codes are upper case: did you mean {looks_like_currency(units)!r}?")
    decimals = data.get("unitDecimals")
    try:
        exponent, is_currency = minor_unit(units, decimals)
    except ValueError as exc:
        (at / "unitDecimals").fail(str(exc))
    return units, exponent, is_currency


def _starts_at(at: _At, value: Any, tz: tzinfo | None) -> tuple[datetime | None, datetime | None]:
    """(aware start, naive wall time waiting for the site timezone); a date means local midnight."""
    if value is None:
        return None, None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            at.fail(f"expected a date (2026-11-01) or a date and time (2026-11-01T08:00:00), {_got(value)}")
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time())
    elif not isinstance(value, datetime):
        at.fail(f"expected a date (2026-11-01) or a date and time, {_got(value)}")
    if value.tzinfo is not None:
        return value, None
    return (None, value) if tz is None else (localize(value, tz), None)


def _schedule(at: _At, value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else _list(at, value)
    modifiers = tuple(_text(at[i], v, empty=False) for i, v in enumerate(items))
    if not modifiers:
        at.fail("must list at least one DateTime modifier, e.g. ['first day of next month']")
    from siren_sync.engine import schedules  # imported on use: schedules never needs the config

    for i, modifier in enumerate(modifiers):
        try:
            if schedules.validate(modifier) is False:
                raise ValueError("not a PHP DateTime::modify() string")
        except (ValueError, ConfigError) as exc:
            detail = " ".join(str(exc).split())
            at[i].fail(detail if repr(modifier) in detail else f"cannot parse schedule {modifier!r}: {detail}")
    return modifiers


def _points(at: _At, value: Any) -> dict[str, Decimal]:
    """engagementTypes as Siren's list of {id, type, value} or as a mapping {type: points}."""
    if isinstance(value, Mapping):
        entries = [(at / t, t, at / t, v) for t, v in value.items()]
    else:
        entries = [_engagement(at[i], item) for i, item in enumerate(_list(at, value))]
    points: dict[str, Decimal] = {}
    for type_at, kind, value_at, amount in entries:
        if kind not in EVENT_TYPES:
            _unknown(type_at, "event type", kind, EVENT_TYPES)
        if kind in points:
            type_at.fail(f"{kind} is listed twice")
        points[kind] = _number(value_at, amount, low=Decimal(0), what="points")
    return points


def _engagement(at: _At, item: Any) -> tuple[_At, Any, _At, Any]:
    data = _mapping(at, item, required=True)
    _keys(at, data, ("type", "value"), ("id",))
    return at / "type", _required(at, data, "type"), at / "value", _required(at, data, "value")


def _compilers(at: _At, value: Any) -> tuple[str, ...]:
    """Transaction compilers; Siren's `standard` is the default pair [lineItems, discounts]."""
    if value is None:
        return DEFAULT_COMPILERS
    names: list[str] = []
    for i, name in enumerate(_texts(at, value)):
        for one in (DEFAULT_COMPILERS if name == "standard" else (name,)):
            if one not in COMPILERS:
                _unknown(at[i], "transaction compiler", one, (*COMPILERS, "standard"))
            names.append(one)
    return tuple(dict.fromkeys(names))


def _filters(at: _At, value: Any) -> LineItemFilters:
    """Siren's lineItemFilters; `withTypes` is accepted and ignored (shop lines are all products)."""
    data = _mapping(at, value)
    _keys(at, data, _FILTER_KEYS)
    _texts(at / "withTypes", data.get("withTypes"))
    categories = _wholes(at / "inCategories", data.get("inCategories"))
    return LineItemFilters(with_skus=_texts(at / "withSkus", data.get("withSkus")),
                           in_categories=categories or None,
                           collaborator_owned=_flag(at / "collaboratorOwned", data.get("collaboratorOwned", False)))


def _notes(parsed: _Parsed) -> list[str]:
    """Settings that are valid but pay nothing: worth a line in `check`."""
    d, notes = parsed.distributor, list(parsed.notes)
    if not d.points:
        notes.append((parsed.at / "engagementTypes").note("none set: nobody scores, so nothing is paid"))
    if d.revenue_percentage == 0:
        notes.append((parsed.at / "revenuePercentage").note("0: the pool is always empty"))
    if not d.compilers:
        notes.append((parsed.at / "transactionCompilers").note("empty: no revenue counts"))
    return notes


# ---------------------------------------------------------------------- Siren JSON and recipes

_RECIPE_KEYS = ("version", "name", "description", "distributors")
_RECIPE_IGNORED = ("programs", "programGroups")


def load_distributor_json(data: Any, where: str, *, site_timezone: str | tzinfo | None = None) -> list[Distributor]:
    """Distributors from Siren JSON: a recipe, one REST distributor record, or a list of them.

    A REST record has no key: it is the camelCased name ("Monthly Sales Bonus" -> monthlySalesBonus).
    A `startsAt` without offset needs `site_timezone`, else it is an error.
    """
    tz = tzinfo_of(site_timezone) if isinstance(site_timezone, str) else site_timezone
    parsed = _distributor_json(_At(where), data, tz, [])
    _merge(parsed)
    for p in parsed:
        if p.local_start is not None:
            (p.at / "startsAt").fail("has no UTC offset and no site timezone was given")
    return [p.distributor for p in parsed]


def _distributor_json(at: _At, data: Any, tz: tzinfo | None, warnings: list[str]) -> list[_Parsed]:
    if isinstance(data, list):
        return [_rest_distributor(at[i], item, tz) for i, item in enumerate(data)]
    if isinstance(data, Mapping) and "distributors" in data:
        return _recipe(at, data, tz, warnings)
    if isinstance(data, Mapping):
        return [_rest_distributor(at, data, tz)]
    at.fail(f"expected a Siren recipe or distributor (a JSON object), {_got(data)}")


def _recipe(at: _At, data: Mapping, tz: tzinfo | None, warnings: list[str]) -> list[_Parsed]:
    _keys(at, data, _RECIPE_KEYS, _RECIPE_IGNORED)
    if data.get("version", 1) != 1:
        (at / "version").fail(f"only recipe version 1 is known, {_got(data['version'])}")
    for key in _RECIPE_IGNORED:
        if data.get(key):
            warnings.append((at / key).note("siren-sync runs distributors only; this part is ignored"))
    distributors = _mapping(at / "distributors", data["distributors"], required=True)
    return [_distributor(at / "distributors" / key, key, raw, tz) for key, raw in distributors.items()]


def _rest_distributor(at: _At, data: Any, tz: tzinfo | None) -> _Parsed:
    name = data.get("name") if isinstance(data, Mapping) else None
    words = re.findall(r"[A-Za-z0-9]+", name) if isinstance(name, str) else []
    if not words:
        (at / "name").fail("is required (a Siren distributor's key is made from its name)")
    key = words[0].lower() + "".join(w[:1].upper() + w[1:] for w in words[1:])
    return _distributor(at, key, data, tz)


def _read_recipe(at: _At, ref: str, base: Path) -> tuple[str, Any]:
    """(file label, data) of one `recipes:` entry: a path beside the config, or `builtin:<name>`."""
    if ref.startswith("builtin:"):
        name = ref.removeprefix("builtin:").strip()
        available = builtin_recipes()
        if name not in available:
            _unknown(at, "builtin recipe", name, available)
        text = resources.files("siren_sync").joinpath(f"recipes/{name}.json").read_text(encoding="utf-8")
        return ref, _parse_json(text, ref)
    path = _path(base, ref)
    text = _read_text(at, path, str(path))
    parse = _parse_yaml if path.suffix.lower() in (".yaml", ".yml") else _parse_json
    return str(path), parse(text, str(path))


def builtin_recipes() -> list[str]:
    """Names usable as `builtin:<name>` (the recipes shipped in the package)."""
    folder = resources.files("siren_sync").joinpath("recipes")
    return sorted(p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json"))


def _merge(parsed: list[_Parsed]) -> dict[str, Distributor]:
    """Keys are unique across config and recipes, case-insensitively (they become record slugs)."""
    seen: dict[str, _Parsed] = {}
    for p in parsed:
        other = seen.get(p.distributor.key.lower())
        if other is not None:
            p.at.fail(f"distributor key {p.distributor.key!r} is already defined at {other.at.where}: {other.at.path}")
        seen[p.distributor.key.lower()] = p
    return {p.distributor.key: p.distributor for p in parsed}


# ----------------------------------------------------------------------------------- config

_TOP_KEYS = ("site", "store", "sync", "collaborators", "distributors", "recipes", "publish")
_POST_STATUSES = ("private", "draft", "pending", "publish")


def load_config(path: str | Path | None = None, env: Mapping[str, str] | None = None) -> Config:
    """The validated configuration: `path`, else $SIREN_SYNC_CONFIG, else config/siren.yaml."""
    env = os.environ if env is None else env
    path = Path(path or env.get("SIREN_SYNC_CONFIG") or DEFAULT_PATH)
    where, at = str(path), _At(str(path))
    if path.is_dir():
        raise ConfigError(f"{where}: is a folder, not a config file")
    raw = _parse_yaml(_read_text(None, path, where), where)
    if raw is None:
        raise ConfigError(f"{where}: the file is empty (see config/siren.example.yaml)")
    top = _mapping(at, _interpolate(at, raw, env), required=True)
    _keys(at, top, _TOP_KEYS)
    base = Path(os.path.abspath(path)).parent
    warnings: list[str] = []
    site = _site(at / "site", top.get("site"), base)
    store_path = _store(at / "store", top.get("store"), base)
    sync = _sync(at / "sync", top.get("sync"), base, site, warnings)
    collaborators = _collaborators(at / "collaborators", top.get("collaborators"))
    parsed = _all_distributors(at, top, base, site, warnings)
    publish = _publish(at / "publish", top.get("publish"))
    if publish.enabled and site.wp_user is None:
        warnings.append((at / "publish").note("no site.wordpress credentials: records stay queued until given"))
    return Config(path=base / path.name, site=site, store_path=store_path, sync=sync, collaborators=collaborators,
                  distributors=_merge(parsed), publish=publish,
                  local_starts={p.distributor.key: p.local_start for p in parsed if p.local_start is not None},
                  warnings=tuple(warnings + [note for p in parsed for note in _notes(p)]))


def _all_distributors(at: _At, top: Mapping, base: Path, site: SiteConfig, warnings: list[str]) -> list[_Parsed]:
    """The config's own distributors, then each recipe's, in order."""
    tz = None if site.timezone == "auto" else tzinfo_of(site.timezone)
    own = _mapping(at / "distributors", top.get("distributors"))
    parsed = [_distributor(at / "distributors" / key, key, raw, tz) for key, raw in own.items()]
    for i, ref in enumerate(_texts(at / "recipes", top.get("recipes"))):
        label, data = _read_recipe((at / "recipes")[i], ref, base)
        parsed.extend(_distributor_json(_At(label), data, tz, warnings))
    return parsed


def _store(at: _At, raw: Any, base: Path) -> Path:
    data = _mapping(at, raw)
    _keys(at, data, ("path",))
    return _path(base, _text(at / "path", data.get("path", "data/siren-sync.json"), empty=False))


def _publish(at: _At, raw: Any) -> PublishConfig:
    data = _mapping(at, raw)
    _keys(at, data, ("rest_route", "status", "enabled"))
    route = _text(at / "rest_route", data.get("rest_route", "wp/v2/posts"), empty=False).strip().strip("/")
    if route.startswith("wp-json/") or not re.fullmatch(r"[\w.-]+(/[\w.()<>?+-]+)+", route):
        (at / "rest_route").fail(f"expected a route under /wp-json/ such as wp/v2/posts, {_got(route)}")
    return PublishConfig(rest_route=route, status=_choice(at / "status", data.get("status", "private"), _POST_STATUSES),
                         enabled=_flag(at / "enabled", data.get("enabled", True)))
