"""The one-line-error kit: where a value sits (`At`) and the small checkers every config section uses.

Every mistake in the configuration is one line, `<file>: <key path>: <problem>`, raised as
`ConfigError` before anything runs, so a typo never turns into a silent zero payout months later.
The file and the key come from the data itself: each checker is handed the `At` of its value
(`at / "site" / "url"`, `at["collaborators"][2]`) and fails there, so no check builds a position
string of its own. A checker returns the value in the type the caller wants, or fails.
"""
from __future__ import annotations

import difflib
import math
import os
import re
from collections.abc import Iterable, Mapping
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

from siren_sync.errors import ConfigError
from siren_sync.values import OutOfBounds, parse_decimal


class At:
    """Where a value sits: the file label and the key path, for the one-line error message.

    The path is spelled only when a message needs it: `at / "id"` just remembers its parent and
    the step, as a config of 50,000 collaborators makes a million of these and fails at none.
    """

    __slots__ = ("where", "_parent", "_step")

    def __init__(self, where: str, path: str = "", *, _parent: At | None = None, _step: str | int = ""):
        self.where = where
        self._parent = _parent
        self._step: str | int = _step if _parent is not None else path  # a key, or a list index

    @property
    def path(self) -> str:
        """The key path (`collaborators[2].id`), spelled now."""
        if self._parent is None:
            return str(self._step)
        base = self._parent.path
        if isinstance(self._step, int):
            return f"{base}[{self._step}]"
        return f"{base}.{self._step}" if base else self._step

    def __truediv__(self, key: Any) -> At:
        return At(self.where, _parent=self, _step=str(key))

    def __getitem__(self, index: int) -> At:
        return At(self.where, _parent=self, _step=index)

    def __repr__(self) -> str:
        return f"At({self.where!r}, {self.path!r})"

    def fail(self, problem: str) -> NoReturn:
        """Stop loading: the configuration is wrong here."""
        raise ConfigError(self.note(problem))

    def note(self, problem: str) -> str:
        """The same line as `fail`, for a warning that does not stop anything (`check` shows it)."""
        return f"{self.where}: {self.path or '(top level)'}: {problem}"


def show(value: Any) -> str:
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


def got(value: Any) -> str:
    """`got <value>`, with a hint when YAML turned a word (yes, off) into a boolean."""
    hint = " (YAML reads yes/no/on/off as true/false: quote it)" if isinstance(value, bool) else ""
    return f"got {show(value)}{hint}"


def unknown(at: At, what: str, value: Any, valid: Iterable[str]) -> NoReturn:
    """Fail on a name nobody knows, suggesting the closest valid one and listing them all."""
    valid = list(valid)
    close = difflib.get_close_matches(str(value), valid, n=1, cutoff=0.6)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    at.fail(f"unknown {what} {show(value)}{hint} (valid: {', '.join(valid)})")


def mapping(at: At, value: Any, *, required: bool = False) -> dict[Any, Any]:
    """A mapping as a dict; a missing optional section is an empty one."""
    if value is None and not required:
        return {}
    if not isinstance(value, Mapping):
        at.fail(f"expected a mapping, {got(value)}" if value is not None else "is required")
    return dict(value)


def check_keys(at: At, data: Mapping[Any, Any], known: Iterable[str], ignored: Iterable[str] = ()) -> None:
    """Refuse keys nobody knows, with the closest known key; Siren-only keys (`ignored`) pass silently."""
    known, ignored = list(known), set(ignored)
    for key in data:
        if key in known or key in ignored:
            continue
        close = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}?" if close else f"valid keys: {', '.join(known)}"
        (at / key).fail(f"unknown key; {hint}")


def required(at: At, data: Mapping[Any, Any], key: str, hint: str = "") -> Any:
    """`data[key]`, which must be there and not null."""
    if data.get(key) is None:
        (at / key).fail("is required" + hint)
    return data[key]


def text(at: At, value: Any, *, empty: bool = True, secret: bool = False) -> str:
    """A string; a `secret` one is never shown in the error, whatever it holds."""
    if not isinstance(value, str):
        at.fail("expected a string, got something else" if secret else f"expected a string, {got(value)}")
    if not empty and not value.strip():
        at.fail("must not be empty")
    return value


def flag(at: At, value: Any) -> bool:
    """true/false; also the strings "true"/"false", which is what a `${VAR}` gives."""
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if not isinstance(value, bool):
        at.fail(f"expected true or false, {got(value)}")
    return value


def whole(at: At, value: Any, low: int | None = None, high: int | None = None) -> int:
    """An integer (not a bool) within the bounds given."""
    if isinstance(value, bool) or not isinstance(value, int):
        at.fail(f"expected a whole number, {got(value)}")
    if (low is not None and value < low) or (high is not None and value > high):
        at.fail(f"must be from {low} to {high}, got {value}" if high is not None
                else f"must be at least {low}, got {value}")
    return value


def number(at: At, value: Any, *, low: Decimal | None = None, high: Decimal | None = None,
           what: str = "value") -> Decimal:
    """A Decimal from a number or a numeric string (Siren's REST writes points as "100").

    YAML has no decimal type, so its floats are taken (`values.parse_decimal`'s floats=True): a
    percentage such as 12.5 is read through its shortest repr, "12.5", never through binary.
    """
    try:
        amount = parse_decimal(value, what, floats=True)
    except OutOfBounds as exc:
        at.fail(str(exc))
    except ValueError:
        at.fail(f"expected a number, {got(value)}")
    if low is not None and amount < low:
        at.fail(f"{what} must not be negative, got {show(value)}" if low == 0 and high is None
                else f"{what} must be between {low} and {high}, got {show(value)}")
    if high is not None and amount > high:
        at.fail(f"{what} must be between {low} and {high}, got {show(value)}")
    return amount


def choice(at: At, value: Any, choices: Iterable[str]) -> str:
    """One of `choices`, as a string."""
    choices = list(choices)
    if value not in choices or not isinstance(value, str):
        at.fail(f"expected one of {', '.join(choices)}, {got(value)}")
    return value


def as_list(at: At, value: Any) -> list[Any]:
    """A list; a missing one is empty."""
    if value is None:
        return []
    if not isinstance(value, list):
        at.fail(f"expected a list, {got(value)}")
    return value


def texts(at: At, value: Any) -> tuple[str, ...]:
    """A list of non-empty strings, duplicates dropped; a single string is a list of one."""
    items = [value] if isinstance(value, str) else as_list(at, value)
    return tuple(dict.fromkeys(text(at[i], v, empty=False) for i, v in enumerate(items)))


def wholes(at: At, value: Any) -> tuple[int, ...]:
    """A list of ids (whole numbers from 0), duplicates dropped; a single number is a list of one."""
    items = [value] if isinstance(value, int) and not isinstance(value, bool) else as_list(at, value)
    return tuple(dict.fromkeys(whole(at[i], v, 0) for i, v in enumerate(items)))


_DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def duration(at: At, value: Any, *, zero: bool = False) -> float:
    """Seconds from `30s`, `5m`, `1h`, `1d`, `1h30m`, or a plain number of seconds."""
    seconds = _seconds(value)
    if seconds is None or not math.isfinite(seconds):
        at.fail(f"expected a duration such as 30s, 5m, 1h, 1d or a number of seconds, {got(value)}")
    if seconds < 0 or (seconds == 0 and not zero):
        at.fail(f"must be {'zero or more' if zero else 'more than zero'}, {got(value)}")
    return seconds


def _seconds(value: Any) -> float | None:
    """The seconds a duration spells, or None when it spells none."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if not isinstance(value, str):
        return None
    spelled = value.replace(" ", "").lower()
    if re.fullmatch(r"\d+(\.\d+)?", spelled):
        return float(spelled)
    if re.fullmatch(r"(\d+(\.\d+)?[smhd])+", spelled):
        return sum(float(n) * _DURATION_UNITS[u] for n, _, u in re.findall(r"(\d+(\.\d+)?)([smhd])", spelled))
    return None


_SPAN_UNITS = {**dict.fromkeys(("s", "sec", "secs", "second", "seconds"), 1),
               **dict.fromkeys(("m", "min", "mins", "minute", "minutes"), 60),
               **dict.fromkeys(("h", "hr", "hrs", "hour", "hours"), 3600),
               **dict.fromkeys(("d", "day", "days"), 86400), **dict.fromkeys(("w", "week", "weeks"), 7 * 86400)}
_LONGEST_SPAN = 3660 * 86400  # ten years: longer is a typo, and beyond what a date can hold


def timespan(at: At, value: Any) -> timedelta:
    """A duration of zero or more, in words too (`30 days`, `2 weeks`, `1 week 2 days`): a hold.

    `duration`'s spellings (`1d`, `1h30m`, a number of seconds) read the same; a month is refused,
    having no fixed length.
    """
    seconds = _seconds(value)
    if seconds is None and isinstance(value, str):
        text = value.strip().lower()
        if re.fullmatch(r"(\d+(\.\d+)?\s*[a-z]+\s*)+", text):
            parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]+)", text)
            if all(unit in _SPAN_UNITS for _, unit in parts):
                seconds = sum(float(n) * _SPAN_UNITS[unit] for n, unit in parts)
    if seconds is None or not math.isfinite(seconds):
        at.fail(f"expected a duration such as 30 days, 2 weeks, 12 hours or 0, {got(value)}")
    if seconds < 0:
        at.fail(f"must be zero or more, {got(value)}")
    if seconds > _LONGEST_SPAN:
        at.fail(f"must be at most {_LONGEST_SPAN // 86400} days, {got(value)}")
    return timedelta(seconds=seconds)


def resolve_path(base: Path, value: str) -> Path:
    """An absolute path; a relative one is relative to `base`, the config file's folder."""
    return Path(os.path.abspath(base / Path(value).expanduser()))
