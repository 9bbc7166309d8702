"""`programs:` and `programGroups:` (DESIGN section 8): rewards per sale, validated like the rest.

A program comes from the config or from a recipe (`recipes: [builtin:b2b-referral]`); its members
are the config's collaborators (a list of ids, or `{tag: ...}` resolved here), so programs are read
after them. Every mistake is one line naming file and key: a structure or an engagement nobody
knows, a program in a group that does not exist, a member who is not a collaborator, a reward that
is not one percentage from 0 to 100 or one flat amount in the unit's decimals. A tag no collaborator
has is not an error (collaborators come and go, the program then has no members): `check` says so.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

from siren_sync.config.siren_json import compilers_of, filters_of, units_of
from siren_sync.config.validate import (
    At,
    check_keys,
    choice,
    flag,
    got,
    mapping,
    number,
    required,
    show,
    text,
    texts,
    timespan,
    unknown,
    whole,
)
from siren_sync.engine.units import decimals_of
from siren_sync.model import CONVERSIONS, GROUP_STRUCTURES, PROGRAM_ENGAGEMENTS, STRUCTURES, Collaborator, Program

_PROGRAM_KEYS = ("name", "description", "status", "units", "unitDecimals", "customUnit", "reward", "engagements",
                 "structure", "window", "members", "group", "renewals", "clawback", "transactionCompilers",
                 "lineItemFilters", "conversion", "review")
_DEFAULT_WINDOW = "30 days"


def parse_programs(sections: list[tuple[At, Mapping[str, Any]]], collaborators: tuple[Collaborator, ...],
                   taken: Mapping[str, str], hold: timedelta, warnings: list[str]) -> dict[str, Program]:
    """Every program of `sections` (the config's own, then each recipe's: `(at, {"programs",
    "programGroups"})`), keys unique across them and apart from the distributors' (`taken`: lower
    case key -> where); each gets the payouts section's `hold`. Notes go to `warnings`."""
    groups: dict[str, str] = {}
    raw: list[tuple[At, str, Any]] = []
    for at, section in sections:
        for name, value in mapping(at / "programGroups", section.get("programGroups")).items():
            groups[str(name)] = _group(at / "programGroups" / name, name, value, groups)
        raw.extend((at / "programs" / key, key, value)
                   for key, value in mapping(at / "programs", section.get("programs")).items())
    seen = dict(taken)
    programs: dict[str, Program] = {}
    for at, key, value in raw:
        if not isinstance(key, str) or not key or ":" in key or key.strip() != key:
            at.fail("a program key is a name without ':' or spaces around it (it starts each reward's id)")
        if key.lower() in seen:
            at.fail(f"key {key!r} is already used at {seen[key.lower()]}")
        seen[key.lower()] = f"{at.where}: {at.path}"
        programs[key] = parse_program(at, key, value, collaborators, groups, warnings, hold)
    return programs


def _group(at: At, name: Any, value: Any, groups: Mapping[str, str]) -> str:
    """A group's structure (oldest or newest engagement wins; newest, Siren's default, when unset)."""
    if name in groups:
        at.fail(f"group {name!r} is defined twice")
    data = mapping(at, value)
    check_keys(at, data, ("structure",))
    structure = data.get("structure", "newestEngagementWins")
    if structure not in GROUP_STRUCTURES:
        unknown(at / "structure", "group structure", structure, GROUP_STRUCTURES)
    return str(structure)


def parse_program(at: At, key: str, raw: Any, collaborators: tuple[Collaborator, ...],
                  groups: Mapping[str, str], warnings: list[str], hold: timedelta = timedelta(0)) -> Program:
    """One program under its key."""
    data = mapping(at, raw, required=True)
    check_keys(at, data, _PROGRAM_KEYS)
    units, exponent, currency = units_of(at, data)
    conversion = choice(at / "conversion", data.get("conversion", "sale"), CONVERSIONS)
    percentage, flat = _reward(at / "reward", required(at, data, "reward"), units, exponent)
    if conversion == "lead" and flat is None:
        (at / "reward").fail("a lead has no value to take a percentage of: give {flat: ...} per lead")
    group = data.get("group")
    if group is not None and group not in groups:
        if not groups:
            (at / "group").fail(f"unknown program group {show(group)} (define it under programGroups)")
        unknown(at / "group", "program group", group, groups)
    return Program(
        key=key, name=text(at / "name", data.get("name") or key), units=units, exponent=exponent,
        is_currency=currency, percentage=percentage, flat=flat, conversion=conversion,
        engagements=_engagements(at / "engagements", data.get("engagements"), conversion),
        structure=_structure(at / "structure", data.get("structure", "newestEngagementWins")),
        status=choice(at / "status", data.get("status", "active"), ("active", "inactive")),
        window=timespan(at / "window", data.get("window", _DEFAULT_WINDOW)),
        members=_members(at / "members", data.get("members", "all"), collaborators, warnings),
        group=None if group is None else str(group), group_structure=groups.get(str(group), GROUP_STRUCTURES[1]),
        renewals=_renewals(at / "renewals", data.get("renewals", False)),
        clawback=flag(at / "clawback", data.get("clawback", True)),
        compilers=compilers_of(at / "transactionCompilers", data.get("transactionCompilers")),
        filters=filters_of(at / "lineItemFilters", data.get("lineItemFilters")),
        review=flag(at / "review", data.get("review", False)), hold=hold)


def _reward(at: At, raw: Any, units: str, exponent: int) -> tuple[Decimal | None, Decimal | None]:
    """(percentage, flat): exactly one of them."""
    data = mapping(at, raw, required=True)
    check_keys(at, data, ("percentage", "flat"))
    if ("percentage" in data) == ("flat" in data):
        at.fail("give exactly one of percentage (of the sale's counted value) or flat (per conversion)")
    if "percentage" in data:
        return number(at / "percentage", data["percentage"], low=Decimal(0), high=Decimal(100),
                      what="percentage"), None
    flat = number(at / "flat", data["flat"], low=Decimal(0), what="flat")
    if decimals_of(flat) > exponent:
        (at / "flat").fail(f"{units} has {exponent} decimal{'' if exponent == 1 else 's'}, got {show(data['flat'])}")
    return None, flat.quantize(Decimal(1).scaleb(-exponent))  # `flat: 50` in USD is paid as 50.00


def _structure(at: At, value: Any) -> str:
    if value not in STRUCTURES:
        unknown(at, "structure", value, STRUCTURES)
    return str(value)


def _engagements(at: At, value: Any, conversion: str) -> tuple[str, ...]:
    """What engages a collaborator with a sale (a lead program needs none: the lead names them)."""
    if value is None and conversion == "lead":
        return ()
    if value is None:
        at.fail(f"is required: which of {', '.join(PROGRAM_ENGAGEMENTS)} engage a collaborator with a sale")
    names = texts(at, value)
    for i, name in enumerate(names):
        if name not in PROGRAM_ENGAGEMENTS:
            unknown(at[i], "engagement", name, PROGRAM_ENGAGEMENTS)
    if not names:
        at.fail(f"must list at least one of {', '.join(PROGRAM_ENGAGEMENTS)}")
    return names


def _members(at: At, value: Any, collaborators: tuple[Collaborator, ...], warnings: list[str]) -> frozenset[str] | None:
    """None for `all`; the ids of a list (each a collaborator) or of `{tag: ...}`."""
    if value == "all":
        return None
    known = {c.id for c in collaborators}
    if isinstance(value, Mapping):
        data = mapping(at, value)
        check_keys(at, data, ("tag",))
        tag = text(at / "tag", required(at, data, "tag"), empty=False)
        tagged = frozenset(c.id for c in collaborators if tag in c.tags)
        if not tagged:
            warnings.append(at.note(f"no collaborator has the tag {tag!r}: the program has no members yet"))
        return tagged
    if not isinstance(value, (list, str)):
        at.fail(f"expected all, a list of collaborator ids or {{tag: ...}}, {got(value)}")
    ids = texts(at, value)
    for i, ident in enumerate(ids):
        if ident not in known:
            at[i].fail(f"{ident!r} is not a collaborator")
    return frozenset(ids)


def _renewals(at: At, value: Any) -> int | None:
    """None: every renewal pays; a count: that many renewals of one first order pay; 0: none."""
    if isinstance(value, bool) or (isinstance(value, str) and value.strip().lower() in ("true", "false")):
        return None if flag(at, value) else 0
    return whole(at, value, 0)
