"""Siren's distributors as Siren writes them: recipes, REST records, and the config's own distributors.

A distributor in the config has the same fields as a Siren distributor, so one parser reads all
three: the `distributors:` section, a recipe's `distributors` (builtin or a file), and a record of
`GET /siren/v1/distributors/<id>?include=extended`. Siren's JSON is accepted unchanged: the keys
only Siren uses (`id`, `dateCreated`, `currentDistribution`...) are ignored, every other unknown key
is an error with the closest valid key suggested.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from siren_sync.config.read import parse_json, parse_yaml, read_text
from siren_sync.config.validate import (
    At,
    as_list,
    check_keys,
    choice,
    flag,
    got,
    mapping,
    number,
    required,
    resolve_path,
    text,
    texts,
    timespan,
    unknown,
    wholes,
)
from siren_sync.engine import schedules
from siren_sync.engine.periods import MAX_PERIODS, Calendar
from siren_sync.engine.units import is_currency, minor_unit, near_currency
from siren_sync.errors import ConfigError
from siren_sync.model import (
    COMPILERS,
    DEFAULT_COMPILERS,
    EVENT_TYPES,
    POOL_RESOLVERS,
    RESOLVER_ALIASES,
    RESOLVERS,
    Distributor,
    LineItemFilters,
)
from siren_sync.values import localize, parse_time, tzinfo_of

_DISTRIBUTOR_KEYS = ("name", "description", "distributionResolver", "distributionPoolResolver", "status", "units",
                     "unitDecimals", "schedule", "startsAt", "engagementTypes", "revenuePercentage",
                     "transactionCompilers", "lineItemFilters", "minimumScore", "carryUnspentPool", "payouts",
                     "customUnit", "custom_unit")
# A distributor's own `payouts:` (its value wins over the top-level section's); `minimum` and `note`
# belong to a payout, which gathers a collaborator's obligations from every distributor.
_DISTRIBUTOR_PAYOUT_KEYS = ("review", "hold")
_PAYOUT_ONLY_KEYS = ("minimum", "note")
_SIREN_ONLY_KEYS = ("id", "dateCreated", "dateModified", "currentDistribution", "collaboratorCount")
_FILTER_KEYS = ("withSkus", "inCategories", "collaboratorOwned", "withTypes")
# WordPress merges runs of '-' in a slug and trims them at its ends (sanitize_title_with_dashes):
# a key with '--' or a trailing '-' would be posted under another slug than the one looked up.
_KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_]*(?:-[A-Za-z0-9_]+)*")
_EXTENDED = " (Siren returns it with GET /siren/v1/distributors/<id>?include=extended)"
_RECIPE_KEYS = ("version", "name", "description", "distributors", "programs", "programGroups")
# parse_time's zone for a startsAt written without offset: it marks a wall time, taken off again
_WALL = timezone(timedelta(0), "wall time")


@dataclass(frozen=True)
class Parsed:
    """A distributor with where it came from and its startsAt wall time still waiting for a zone."""

    at: At
    distributor: Distributor
    local_start: datetime | None
    notes: tuple[str, ...] = ()  # valid but worth a line in `check`
    own_payouts: frozenset[str] = frozenset()  # the `payouts:` keys it sets itself (the rest are the config's)


# ----------------------------------------------------------------------------- one distributor


def parse_distributor(at: At, key: str, raw: Any, tz: tzinfo | None) -> Parsed:
    """One distributor under its key; a `startsAt` wall time stays naive while `tz` is None."""
    if not isinstance(key, str) or not _KEY_PATTERN.fullmatch(key):
        at.fail("a distributor key is letters, digits, '_' and single '-' between them (it is used in "
                "record slugs, where WordPress merges '--' and drops a trailing '-')")
    data = mapping(at, raw, required=True)
    check_keys(at, data, _DISTRIBUTOR_KEYS, _SIREN_ONLY_KEYS)
    units, exponent, is_currency = units_of(at, data)
    starts_at, local = _starts_at(at / "startsAt", data.get("startsAt"), tz)
    schedule = _schedule(at / "schedule", required(at, data, "schedule", _EXTENDED))
    _check_periods(at / "schedule", schedule, starts_at or localize(local or _today(tz or UTC), tz or UTC))
    minimum = data.get("minimumScore")
    payouts = _payout_settings(at / "payouts", data.get("payouts"))
    distributor = Distributor(
        key=key, name=text(at / "name", data.get("name") or key), resolver=_resolver(at, data),
        units=units, exponent=exponent, is_currency=is_currency,
        schedule=schedule,
        points=_points(at / "engagementTypes", data.get("engagementTypes")),
        revenue_percentage=number(at / "revenuePercentage", data.get("revenuePercentage", 0), low=Decimal(0),
                                  high=Decimal(100), what="revenuePercentage"),
        pool_resolver=POOL_RESOLVERS[0], description=text(at / "description", data.get("description") or ""),
        status=choice(at / "status", data.get("status", "active"), ("active", "inactive")), starts_at=starts_at,
        compilers=compilers_of(at / "transactionCompilers", data.get("transactionCompilers")),
        filters=filters_of(at / "lineItemFilters", data.get("lineItemFilters")),
        minimum_score=None if minimum is None else number(at / "minimumScore", minimum, low=Decimal(0),
                                                          what="minimumScore"),
        carry_unspent_pool=flag(at / "carryUnspentPool", data.get("carryUnspentPool", False)), **payouts)
    return Parsed(at, distributor, local, _pool_resolver_notes(at / "distributionPoolResolver", data),
                  frozenset(payouts))


def _payout_settings(at: At, value: Any) -> dict[str, Any]:
    """The distributor's own `review` and `hold` (only those it sets)."""
    data = mapping(at, value)
    for key in _PAYOUT_ONLY_KEYS:
        if key in data:
            (at / key).fail("is set in the top-level payouts: section only (a payout gathers a "
                            "collaborator's obligations from every distributor)")
    check_keys(at, data, _DISTRIBUTOR_PAYOUT_KEYS)
    settings: dict[str, Any] = {}
    if data.get("review") is not None:
        settings["review"] = flag(at / "review", data["review"])
    if data.get("hold") is not None:
        settings["hold"] = timespan(at / "hold", data["hold"])
    return settings


def _resolver(at: At, data: Mapping[str, Any]) -> str:
    value = required(at, data, "distributionResolver")
    if value in RESOLVER_ALIASES:
        return RESOLVER_ALIASES[value]
    if value not in RESOLVERS:
        unknown(at / "distributionResolver", "resolver", value, (*RESOLVERS, *RESOLVER_ALIASES))
    return str(value)


def _pool_resolver_notes(at: At, data: Mapping[str, Any]) -> tuple[str, ...]:
    """Siren documents one pool, a percentage of revenue since the last distribution, but not its
    id (its REST reference shows a placeholder, `standard_pool`): any id is read as that pool, so a
    distributor exported from Siren loads; an id other than ours gets a line in `check`."""
    value = text(at, data.get("distributionPoolResolver", POOL_RESOLVERS[0]), empty=False)
    if value in POOL_RESOLVERS:
        return ()
    return (at.note(f"{value!r} is read as {POOL_RESOLVERS[0]} (Siren's one documented pool: "
                    f"revenuePercentage of the revenue since the last distribution)"),)


def units_of(at: At, data: Mapping[str, Any]) -> tuple[str, int, bool]:
    """(units, decimals, is a currency). A custom unit one typo away from a currency (`EURO`, `usd`)
    is refused with the code it probably means, unless `customUnit: true` says it is meant."""
    units = text(at / "units", required(at, data, "units"), empty=False).strip()
    named = "customUnit" if "customUnit" in data else "custom_unit"  # the spelling is taken too
    custom = flag(at / named, data.get(named, False))
    near = near_currency(units)
    if custom and is_currency(units):
        (at / named).fail(f"{units} is an ISO 4217 currency, not a custom unit (drop {named})")
    if near and not custom:
        (at / "units").fail(f"currency codes are upper case: did you mean {near!r}?" if near == units.upper() else
                            f"unknown currency {units!r}: did you mean {near!r}? (a reward unit one letter away "
                            f"from a currency code is taken for a typo: add customUnit: true to keep {units!r})")
    decimals = data.get("unitDecimals")
    try:
        exponent, currency = minor_unit(units, decimals)
    except ValueError as exc:
        (at / "unitDecimals").fail(str(exc))
    return units, exponent, currency


def _starts_at(at: At, value: Any, tz: tzinfo | None) -> tuple[datetime | None, datetime | None]:
    """(aware start, naive wall time waiting for the site timezone); a date means local midnight."""
    if value is None:
        return None, None
    if isinstance(value, str):
        try:
            value = parse_time(value, naive=_WALL)
        except ValueError:
            at.fail(f"expected a date (2026-11-01) or a date and time (2026-11-01T08:00:00), {got(value)}")
        if value.tzinfo is _WALL:
            value = value.replace(tzinfo=None)
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time())
    elif not isinstance(value, datetime):
        at.fail(f"expected a date (2026-11-01) or a date and time, {got(value)}")
    if value.tzinfo is not None:
        return value, None
    return (None, value) if tz is None else (localize(value, tz), None)


def _schedule(at: At, value: Any) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else as_list(at, value)
    modifiers = tuple(text(at[i], v, empty=False) for i, v in enumerate(items))
    if not modifiers:
        at.fail("must list at least one DateTime modifier, e.g. ['first day of next month']")
    for i, modifier in enumerate(modifiers):
        try:
            schedules.validate(modifier)
        except (ValueError, ConfigError) as exc:  # ValueError: a lone surrogate (UTF-8 cannot encode it)
            detail = " ".join(str(exc).split())
            at[i].fail(detail if repr(modifier) in detail else f"cannot parse schedule {modifier!r}: {detail}")
    return modifiers


def _check_periods(at: At, modifiers: tuple[str, ...], start: datetime) -> None:
    """The schedule's first periods from the first start (without `startsAt`, today): one that does
    not advance time, or that makes more periods than a calendar keeps between the first start and
    now (where `check`'s preview and the worker's first events lead it), fails here, naming its key,
    before anything runs (the worker would otherwise fail at its first turn, and `check` half way
    through its report)."""
    try:
        ends = Calendar(start, modifiers, start.tzinfo or UTC).next_triggers(start, 3)
    except ConfigError as exc:
        at.fail(str(exc))
    shortest = min(end - begin for begin, end in zip([start, *ends], ends, strict=False))
    if (datetime.now(UTC) - start) / shortest > MAX_PERIODS:
        at.fail(f"schedule {list(modifiers)!r} makes a period every {shortest}: more than {MAX_PERIODS:,} periods "
                f"from {start.isoformat()} to now (use a longer schedule, or a later startsAt)")


def _today(tz: tzinfo) -> datetime:
    """Midnight today in `tz`, naive: the first start of a distributor without `startsAt`."""
    return datetime.combine(datetime.now(tz).date(), time())


def _points(at: At, value: Any) -> dict[str, Decimal]:
    """engagementTypes as Siren's list of {id, type, value} or as a mapping {type: points}."""
    if isinstance(value, Mapping):
        entries = [(at / t, t, at / t, v) for t, v in value.items()]
    else:
        entries = [_engagement(at[i], item) for i, item in enumerate(as_list(at, value))]
    points: dict[str, Decimal] = {}
    for type_at, kind, value_at, amount in entries:
        if kind not in EVENT_TYPES:
            unknown(type_at, "event type", kind, EVENT_TYPES)
        if kind in points:
            type_at.fail(f"{kind} is listed twice")
        points[kind] = number(value_at, amount, low=Decimal(0), what="points")
    return points


def _engagement(at: At, item: Any) -> tuple[At, Any, At, Any]:
    data = mapping(at, item, required=True)
    check_keys(at, data, ("type", "value"), ("id",))
    return at / "type", required(at, data, "type"), at / "value", required(at, data, "value")


def compilers_of(at: At, value: Any) -> tuple[str, ...]:
    """Transaction compilers; Siren's `standard` is the default pair [lineItems, discounts]."""
    if value is None:
        return DEFAULT_COMPILERS
    names: list[str] = []
    for i, name in enumerate(texts(at, value)):
        for one in (DEFAULT_COMPILERS if name == "standard" else (name,)):
            if one not in COMPILERS:
                unknown(at[i], "transaction compiler", one, (*COMPILERS, "standard"))
            names.append(one)
    return tuple(dict.fromkeys(names))


def filters_of(at: At, value: Any) -> LineItemFilters:
    """Siren's lineItemFilters; `withTypes` is accepted and ignored (shop lines are all products)."""
    data = mapping(at, value)
    check_keys(at, data, _FILTER_KEYS)
    texts(at / "withTypes", data.get("withTypes"))
    categories = wholes(at / "inCategories", data.get("inCategories"))
    return LineItemFilters(with_skus=texts(at / "withSkus", data.get("withSkus")),
                           in_categories=categories or None,
                           collaborator_owned=flag(at / "collaboratorOwned", data.get("collaboratorOwned", False)))


def notes(parsed: Parsed) -> list[str]:
    """Settings that are valid but pay nothing: worth a line in `check`."""
    d, found = parsed.distributor, list(parsed.notes)
    if not d.points:
        found.append((parsed.at / "engagementTypes").note("none set: nobody scores, so nothing is paid"))
    if d.revenue_percentage == 0:
        found.append((parsed.at / "revenuePercentage").note("0: the pool is always empty"))
    if not d.compilers:
        found.append((parsed.at / "transactionCompilers").note("empty: no revenue counts"))
    return found


def merge(parsed: list[Parsed]) -> dict[str, Distributor]:
    """Keys are unique across config and recipes, case-insensitively (they become record slugs)."""
    seen: dict[str, Parsed] = {}
    for p in parsed:
        other = seen.get(p.distributor.key.lower())
        if other is not None:
            p.at.fail(f"distributor key {p.distributor.key!r} is already defined at {other.at.where}: {other.at.path}")
        seen[p.distributor.key.lower()] = p
    return {p.distributor.key: p.distributor for p in parsed}


# ---------------------------------------------------------------------- Siren JSON and recipes


def load_distributor_json(data: Any, where: str, *, site_timezone: str | tzinfo | None = None) -> list[Distributor]:
    """Distributors from Siren JSON: a recipe, one REST distributor record, or a list of them.

    A REST record has no key: it is the camelCased name ("Monthly Sales Bonus" -> monthlySalesBonus).
    A `startsAt` without offset needs `site_timezone`, else it is an error.
    """
    tz = tzinfo_of(site_timezone) if isinstance(site_timezone, str) else site_timezone
    parsed = distributor_json(At(where), data, tz)
    merge(parsed)
    for p in parsed:
        if p.local_start is not None:
            (p.at / "startsAt").fail("has no UTC offset and no site timezone was given")
    return [p.distributor for p in parsed]


def distributor_json(at: At, data: Any, tz: tzinfo | None) -> list[Parsed]:
    """The distributors of a recipe, of one REST record or of a list of them."""
    if isinstance(data, list):
        return [_rest_distributor(at[i], item, tz) for i, item in enumerate(data)]
    if isinstance(data, Mapping) and ("distributors" in data or "programs" in data):
        return _recipe(at, data, tz)
    if isinstance(data, Mapping):
        return [_rest_distributor(at, data, tz)]
    at.fail(f"expected a Siren recipe or distributor (a JSON object), {got(data)}")


def _recipe(at: At, data: Mapping[str, Any], tz: tzinfo | None) -> list[Parsed]:
    check_keys(at, data, _RECIPE_KEYS)
    if data.get("version", 1) != 1:
        (at / "version").fail(f"only recipe version 1 is known, {got(data['version'])}")
    # a recipe's programs are read with the config's (config/programs.py): they need its collaborators
    distributors = mapping(at / "distributors", data.get("distributors"), required="programs" not in data)
    return [parse_distributor(at / "distributors" / key, key, raw, tz) for key, raw in distributors.items()]


def _rest_distributor(at: At, data: Any, tz: tzinfo | None) -> Parsed:
    name = data.get("name") if isinstance(data, Mapping) else None
    words = re.findall(r"[A-Za-z0-9]+", name) if isinstance(name, str) else []
    if not words:
        (at / "name").fail("is required (a Siren distributor's key is made from its name)")
    key = words[0].lower() + "".join(w[:1].upper() + w[1:] for w in words[1:])
    return parse_distributor(at, key, data, tz)


def read_recipe(at: At, ref: str, base: Path) -> tuple[str, Any]:
    """(file label, data) of one `recipes:` entry: a path beside the config, or `builtin:<name>`."""
    if ref.startswith("builtin:"):
        name = ref.removeprefix("builtin:").strip()
        available = builtin_recipes()
        if name not in available:
            unknown(at, "builtin recipe", name, available)
        shipped = resources.files("siren_sync").joinpath(f"recipes/{name}.json").read_text(encoding="utf-8")
        return ref, parse_json(shipped, ref)
    path = resolve_path(base, ref)
    content = read_text(at, path, str(path))
    parse = parse_yaml if path.suffix.lower() in (".yaml", ".yml") else parse_json
    return str(path), parse(content, str(path))


def builtin_recipes() -> list[str]:
    """Names usable as `builtin:<name>` (the recipes shipped in the package, `siren_sync/recipes/`)."""
    folder = resources.files("siren_sync").joinpath("recipes")
    return sorted(p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json"))
