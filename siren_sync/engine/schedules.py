"""PHP's `DateTime::modify()` relative formats, ported from timelib (PHP 8.2, timelib 2022.12).

A distributor's `schedule` is a list of modifier strings applied in order to a period's start; the
result is the period's end (DESIGN section 3). This module reproduces what PHP computes, surprises
included, in three steps that mirror timelib:

1. **Scanning** (`parse_date.re`): timelib's scanner is an re2c lexer that, at each position, takes
   the *longest* match among ~50 token rules (ties go to the rule listed first). `_RULES` holds
   every one of those rules, so a string is cut into exactly the tokens PHP sees. Tokens of the
   supported grammar fill a small `_Parsed` structure (absolute y/m/d/h/i/s, relative offsets,
   weekday behaviour, special "first/last day of" and "Nth weekday of" markers) exactly as the C
   actions do; any token outside it (timezones, ISO dates, timestamps...) raises `ScheduleError`
   rather than computing something that could differ from PHP.
2. **Merging** (`php_date_modify` in ext/date): parsed absolute fields replace the object's.
3. **Applying** (`tm2unixtime.c`): `do_adjust_special_early`, `do_adjust_relative`,
   `do_adjust_special`, then the wall time is resolved to an instant with `do_adjust_timezone`,
   whose rules decide what happens to nonexistent (moved forward) and ambiguous (the object's
   current DST flag wins) local times. Relative hours are wall-clock hours, as in PHP's modify().

The proof is `tests/fixtures/vectors/schedules.json`, produced by `tools/php_schedule_vectors.py` with the real
PHP interpreter and replayed by `tests/test_schedules.py`.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, tzinfo
from functools import lru_cache

from siren_sync.errors import ScheduleError

__all__ = ["modify", "validate", "next_triggers"]

# --------------------------------------------------------------------------------------------------
# The token rules of timelib's scanner, in the order of parse_date.re (the order breaks length ties).
# re2c 'quoted' strings are case-insensitive, "double quoted" ones and [classes] are not. The scanner
# works on bytes, so the patterns do too.

_F = {
    "space": r"(?:[ \t]+|(?:\xc2\xa0)+|(?:\xe2\x80\xaf)+)",
    "frac": r"\.[0-9]+",
    "hour24": r"(?:[01]?[0-9]|2[0-4])",
    "hour24lz": r"(?:[01][0-9]|2[0-4])",
    "hour12": r"(?:0?[1-9]|1[0-2])",
    "minute": r"(?:[0-5]?[0-9])",
    "minutelz": r"(?:[0-5][0-9])",
    "meridian": r"(?:[AaPp]\.?[Mm]\.?)[\x00\t ]",
    "daysuf": r"(?:st|nd|rd|th)",
    "month": r"(?:0?[0-9]|1[0-2])",
    "year": r"[0-9]{1,4}",
    "year2": r"[0-9]{2}",
    "year4": r"[0-9]{4}",
    "year4withsign": r"[+-]?[0-9]{4}",
    "yearx": r"[+-][0-9]{5,19}",
    "dayofyear": r"(?:00[1-9]|0[1-9][0-9]|[12][0-9][0-9]|3[0-5][0-9]|36[0-6])",
    "weekofyear": r"(?:0[1-9]|[1-4][0-9]|5[0-3])",
    "monthlz": r"(?:0[0-9]|1[0-2])",
    "daylz": r"(?:0[0-9]|[12][0-9]|3[01])",
    "dayfulls": r"(?i:sundays|mondays|tuesdays|wednesdays|thursdays|fridays|saturdays)",
    "dayfull": r"(?i:sunday|monday|tuesday|wednesday|thursday|friday|saturday)",
    "dayabbr": r"(?i:sun|mon|tue|wed|thu|fri|sat)",
    "dayspecial": r"(?i:weekday|weekdays)",
    "monthfull": r"(?i:january|february|march|april|may|june|july|august|september|october|november"
                 r"|december)",
    "monthabbr": r"(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)",
    "monthroman": r"(?:I|II|III|IV|V|VI|VII|VIII|IX|X|XI|XII)",
    "reltextnumber": r"(?i:first|second|third|fourth|fifth|sixth|seventh|eight|eighth|ninth|tenth"
                     r"|eleventh|twelfth)",
    "reltexttext": r"(?i:next|last|previous|this)",
    "relnumber": r"(?:[+-]*[ \t]*[0-9]{1,13})",
}
_F["second"] = f"(?:{_F['minute']}|60)"
_F["secondlz"] = f"(?:{_F['minutelz']}|60)"
_F["tz"] = r"(?:\(?[A-Za-z]{1,6}\)?|[A-Z][a-z]+(?:[_/-][A-Za-z]+)+)"
_F["tzcorrection"] = (r"(?:GMT)?[+-](?:(?:{hour24}(?::?{minute})?)|(?:{hour24lz}{minutelz}{secondlz})"
                      r"|(?:{hour24lz}:{minutelz}:{secondlz}))").format(**_F)
_F["day"] = r"(?:(?:[0-2]?[0-9]|3[01]){daysuf}?)".format(**_F)
_F["daytext"] = "(?:{dayfulls}|{dayfull}|{dayabbr}|{dayspecial})".format(**_F)
_F["monthtext"] = "(?:{monthfull}|{monthabbr}|{monthroman})".format(**_F)
_F["reltextunit"] = (r"(?:(?i:ms|\xc2\xb5s)|(?i:(?:msec|millisecond|\xc2\xb5sec|microsecond|usec|sec"
                     r"|second|min|minute|hour|day|fortnight|forthnight|month|year)s?)|(?i:weeks)"
                     r"|{daytext})").format(**_F)
_F["datenoyear"] = r"{monthtext}[ .\t-]*{day}(?:[,.stndrh\t ]+|\x00)".format(**_F)
_F["timeshort12"] = r"{hour12}[:.]{minutelz}{space}?{meridian}".format(**_F)
_F["timelong12"] = r"{hour12}[:.]{minute}[:.]{secondlz}{space}?{meridian}".format(**_F)
_F["timeshort24"] = r"(?i:t)?{hour24}[:.]{minute}".format(**_F)
_F["timelong24"] = r"(?i:t)?{hour24}[:.]{minute}[:.]{second}".format(**_F)
_F["iso8601normtz"] = (r"(?i:t)?{hour24}[:.]{minute}[:.]{secondlz}{space}?(?:{tzcorrection}|{tz})"
                       .format(**_F))


def _expand(pattern: str) -> str:
    """Substitute the named fragments `{name}` (and leave quantifiers like `{1,4}` alone)."""
    return re.sub(r"\{([a-z0-9]+)\}", lambda m: _F.get(m.group(1), m.group(0)), pattern)


def _alt(*patterns: str) -> str:
    return "|".join(f"(?:{_expand(p)})" for p in patterns)


# (rule name, pattern). Rule names in _SUPPORTED have an action below; any other rule is valid PHP
# that this port does not model, and is refused.
_RULE_SOURCES: list[tuple[str, str]] = [
    ("yesterday", r"(?i:yesterday)"),
    ("now", r"(?i:now)"),
    ("noon", r"(?i:noon)"),
    ("midnight", r"(?i:midnight|today)"),
    ("tomorrow", r"(?i:tomorrow)"),
    ("timestamp", r"@-?[0-9]+"),
    ("timestampms", r"@-?[0-9]+\.[0-9]{0,6}"),
    ("firstlastdayof", r"(?i:first day of|last day of)"),
    ("backfrontof", r"(?i:back of |front of ){hour24}(?:{space}?{meridian})?"),
    ("weekdayof", r"(?:{reltextnumber}|{reltexttext}){space}(?:{dayfulls}|{dayfull}|{dayabbr})"
                  r"{space}(?i:of)"),
    ("time12", _alt(r"{hour12}{space}?{meridian}", "{timeshort12}", "{timelong12}")),
    ("mssqltime", r"{hour12}:{minutelz}:{secondlz}[:.][0-9]+{meridian}"),
    ("time24", _alt(r"(?i:t){hour24}", "{timeshort24}", "{timelong24}",
                    r"(?i:t)?{hour24}[:.]{minute}[:.]{second}{frac}")),
    ("gnunocolon", r"(?i:t)?{hour24lz}{minutelz}"),
    ("iso8601nocolon", r"(?i:t)?{hour24lz}{minutelz}{secondlz}"),
    ("american", _alt("{month}/{day}", "{month}/{day}/{year}")),
    ("iso8601date4", _alt("{year4withsign}-{monthlz}-{daylz}", "{year4}/{monthlz}/{daylz}/?",
                          "{year4}/{month}/{day}")),
    ("iso8601date2", "{year2}-{monthlz}-{daylz}"),
    ("iso8601datex", "{yearx}-{monthlz}-{daylz}"),
    ("gnudateshorter", "{year4}-{month}"),
    ("gnudateshort", "{year}-{month}-{day}"),
    ("datefull", r"{day}[ \t.-]*{monthtext}[ \t.-]*{year}"),
    ("pointeddate4", r"{day}[.\t-]{month}[.-]{year4}"),
    ("pointeddate2", r"{day}[.\t]{month}\.{year2}"),
    ("datenoday", r"{monthtext}[ .\t-]*{year4}"),
    ("datenodayrev", r"{year4}[ .\t-]*{monthtext}"),
    ("datetextual", _alt(r"{monthtext}[ .\t-]*{day}[,.stndrh\t ]+{year}", "{datenoyear}")),
    ("datenoyearrev", r"{day}[ .\t-]*{monthtext}"),
    ("datenocolon", "{year4}{monthlz}{daylz}"),
    ("xmlrpc", _alt(r"{year4}-{monthlz}-{daylz}T{hour24lz}:{minutelz}:{secondlz}{frac}"
                    r"{tzcorrection}?",
                    "{year4}{monthlz}{daylz}T{hour24}:{minutelz}:{secondlz}",
                    "{year4}{monthlz}{daylz}(?i:t){hour24}{minutelz}{secondlz}",
                    "{year4}-{month}-{day}T{hour24}:{minute}:{second}",
                    "{year4}:{monthlz}:{daylz} {hour24lz}:{minutelz}:{secondlz}")),
    ("pgydotd", "{year4}[.-]?{dayofyear}"),
    ("isoweekday", "{year4}-?W{weekofyear}-?[0-7]"),
    ("isoweek", "{year4}-?W{weekofyear}"),
    ("pgtextshort", "{monthabbr}-{daylz}-{year}"),
    ("pgtextreverse", "{year}-{monthabbr}-{daylz}"),
    ("clf", "{day}/{monthabbr}/{year4}:{hour24lz}:{minutelz}:{secondlz}{space}{tzcorrection}"),
    ("year4", "{year4}"),
    ("ago", "(?i:ago)"),
    ("daytext", "{daytext}"),
    ("relativetextweek", "{reltexttext}{space}(?i:week)"),
    ("relativetext", "(?:{reltextnumber}|{reltexttext}){space}{reltextunit}"),
    ("monthtext", "(?:{monthfull}|{monthabbr})"),
    ("tz", "(?:{tzcorrection}|{tz})"),
    ("dateshortwithtime12", _alt("{datenoyear}{timeshort12}", "{datenoyear}{timelong12}")),
    ("dateshortwithtime24", _alt("{datenoyear}{timeshort24}", "{datenoyear}{timelong24}",
                                 "{datenoyear}{iso8601normtz}")),
    ("relative", "{relnumber}{space}?(?:{reltextunit}|(?i:week))"),
    ("punct", "[.,]"),
    ("space", "{space}"),
    ("eol", "[\\x00\\n]"),
    ("any", "(?s:.)"),
]
_RULES = [(name, re.compile(_expand(src).encode("ascii"))) for name, src in _RULE_SOURCES]
_SKIP = {"punct", "space", "eol"}

# --------------------------------------------------------------------------------------------------
# timelib's lookup tables (parse_date.re)

_SECOND, _MINUTE, _HOUR, _DAY, _MONTH, _YEAR, _WEEKDAY, _SPECIAL, _MICROSEC = range(9)
_SPECIAL_WEEKDAY, _SPECIAL_DAY_OF_WEEK_IN_MONTH, _SPECIAL_LAST_DAY_OF_WEEK_IN_MONTH = 1, 2, 3
_FIRST_DAY_OF_MONTH, _LAST_DAY_OF_MONTH = 1, 2

_RELUNITS: dict[bytes, tuple[int, int]] = {}
for _names, _unit, _mult in [
    ("ms msec msecs millisecond milliseconds", _MICROSEC, 1000),
    ("\xb5s usec usecs \xb5sec \xb5secs microsecond microseconds", _MICROSEC, 1),
    ("sec secs second seconds", _SECOND, 1), ("min mins minute minutes", _MINUTE, 1),
    ("hour hours", _HOUR, 1), ("day days", _DAY, 1), ("week weeks", _DAY, 7),
    ("fortnight fortnights forthnight forthnights", _DAY, 14), ("month months", _MONTH, 1),
    ("year years", _YEAR, 1),
    ("mondays monday mon", _WEEKDAY, 1), ("tuesdays tuesday tue", _WEEKDAY, 2),
    ("wednesdays wednesday wed", _WEEKDAY, 3), ("thursdays thursday thu", _WEEKDAY, 4),
    ("fridays friday fri", _WEEKDAY, 5), ("saturdays saturday sat", _WEEKDAY, 6),
    ("sundays sunday sun", _WEEKDAY, 0), ("weekday weekdays", _SPECIAL, _SPECIAL_WEEKDAY),
]:
    for _n in _names.split():
        # "µ" is the UTF-8 pair C2 B5; only ASCII letters compare case-insensitively.
        _RELUNITS[_n.replace("\xb5", "\xc2\xb5").encode("latin-1")] = (_unit, _mult)

# word -> (value, behaviour)
_RELTEXT = {b"first": (1, 0), b"next": (1, 0), b"second": (2, 0), b"third": (3, 0),
            b"fourth": (4, 0), b"fifth": (5, 0), b"sixth": (6, 0), b"seventh": (7, 0),
            b"eight": (8, 0), b"eighth": (8, 0), b"ninth": (9, 0), b"tenth": (10, 0),
            b"eleventh": (11, 0), b"twelfth": (12, 0), b"last": (-1, 0), b"previous": (-1, 0),
            b"this": (0, 1)}
_MONTHS = {w.encode(): n for n, ws in enumerate(
    ["", "jan january i", "feb february ii", "mar march iii", "apr april iv", "may v",
     "jun june vi", "jul july vii", "aug august viii", "sep sept september ix", "oct october x",
     "nov november xi", "dec december xii"]) for w in ws.split()}

_REL_DELIMITERS = b"\0 ,\t;:/.-()"


class _Reject(Exception):
    """The string is refused: `php` says whether PHP itself refuses it."""

    def __init__(self, reason: str, php: bool):
        super().__init__(reason)
        self.php = php


# --------------------------------------------------------------------------------------------------
# The parsed structure (a slice of timelib_time)

@dataclass
class _Rel:
    y: int = 0
    m: int = 0
    d: int = 0
    h: int = 0
    i: int = 0
    s: int = 0
    weekday: int = 0
    weekday_behavior: int = 0
    have_weekday_relative: bool = False
    have_special_relative: bool = False
    special_type: int = 0
    special_amount: int = 0
    first_last_day_of: int = 0


@dataclass
class _Parsed:
    y: int | None = None
    m: int | None = None
    d: int | None = None
    h: int | None = None
    i: int | None = None
    s: int | None = None
    have_time: int = 0
    have_date: bool = False
    have_relative: bool = False
    rel: _Rel = field(default_factory=_Rel)


class _Ptr:
    """A `char *` walking over one token's text (NUL past the end, as in C)."""

    def __init__(self, text: bytes):
        self.text, self.pos = text, 0

    def ch(self, k: int = 0) -> int:
        p = self.pos + k
        return self.text[p] if p < len(self.text) else 0

    def get_nr(self, max_length: int) -> int | None:          # timelib_get_nr
        while not 0x30 <= self.ch() <= 0x39:
            if self.ch() == 0:
                return None
            self.pos += 1
        begin = self.pos
        while 0x30 <= self.ch() <= 0x39 and self.pos - begin < max_length:
            self.pos += 1
        return int(self.text[begin:self.pos])

    def get_signed_nr(self) -> int:                            # sign-multiplying, as in 2022.12
        while self.ch() and not (0x30 <= self.ch() <= 0x39 or self.ch() in b"+-"):
            self.pos += 1
        sign = 1
        while self.ch() in b"+-" and self.ch() != 0:
            if self.ch() == ord("-"):
                sign = -sign
            self.pos += 1
        return sign * (self.get_nr(24) or 0)

    def letters(self) -> bytes:
        begin = self.pos
        while 0x41 <= self.ch() <= 0x5A or 0x61 <= self.ch() <= 0x7A:
            self.pos += 1
        return self.text[begin:self.pos].lower()

    def get_relative_text(self) -> tuple[int, int]:           # timelib_get_relative_text
        while self.ch() in b" \t-/" and self.ch() != 0:
            self.pos += 1
        return _RELTEXT.get(self.letters(), (0, 0))

    def get_month(self) -> int:                                # timelib_get_month
        while self.ch() in b" \t-./" and self.ch() != 0:
            self.pos += 1
        return _MONTHS.get(self.letters(), 0)

    def eat_spaces(self) -> None:
        while True:
            if self.ch() in b" \t" and self.ch() != 0:
                self.pos += 1
            elif self.text[self.pos:self.pos + 3] == b"\xe2\x80\xaf":
                self.pos += 3
            elif self.text[self.pos:self.pos + 2] == b"\xc2\xa0":
                self.pos += 2
            else:
                return

    def relunit(self) -> tuple[int, int] | None:               # timelib_lookup_relunit
        begin = self.pos
        while self.ch() not in _REL_DELIMITERS:
            self.pos += 1
        return _RELUNITS.get(self.text[begin:self.pos].lower())

    def meridian(self, h: int) -> int:                         # timelib_meridian
        while self.ch() and self.ch() not in b"AaPp":
            self.pos += 1
        c = self.ch()
        self.pos += 1
        for optional in (b".", b"Mm", b"."):
            if self.ch() in optional and self.ch() != 0:
                self.pos += 1
        if c in b"Aa":
            return -12 if h == 12 else 0
        return 12 if h != 12 else 0


def _unhave_time(t: _Parsed) -> None:
    t.have_time, t.h, t.i, t.s = 0, 0, 0, 0


def _have_time(t: _Parsed) -> None:
    if t.have_time:
        raise _Reject("Double time specification", php=True)
    t.have_time, t.h, t.i, t.s = 1, 0, 0, 0


def _have_date(t: _Parsed) -> None:
    if t.have_date:
        raise _Reject("Double date specification", php=True)
    t.have_date = True


def _set_relative(t: _Parsed, p: _Ptr, amount: int, behavior: int, keep_time: bool) -> None:
    unit = p.relunit()
    if unit is None:
        return
    kind, mult = unit
    r = t.rel
    if kind == _MICROSEC:
        raise _Reject("sub-second units are outside the supported grammar", php=False)
    if kind in (_SECOND, _MINUTE, _HOUR, _DAY, _MONTH, _YEAR):
        attr = "sihdmy"[[_SECOND, _MINUTE, _HOUR, _DAY, _MONTH, _YEAR].index(kind)]
        setattr(r, attr, getattr(r, attr) + amount * mult)
    elif kind == _WEEKDAY:
        t.have_relative = r.have_weekday_relative = True
        if not keep_time:
            _unhave_time(t)
        r.d += (amount - 1 if amount > 0 else amount) * 7
        r.weekday = mult
        r.weekday_behavior = behavior
    else:
        t.have_relative = r.have_special_relative = True
        if not keep_time:
            _unhave_time(t)
        r.special_type = mult
        r.special_amount = amount


# The C actions of the supported scanner rules, one function each (timelib's parse_date.re).

def _act_yesterday_tomorrow(rule: str, p: _Ptr, t: _Parsed) -> None:
    t.have_relative = True
    _unhave_time(t)
    t.rel.d = -1 if rule == "yesterday" else 1


def _act_now(rule: str, p: _Ptr, t: _Parsed) -> None:
    return None


def _act_noon(rule: str, p: _Ptr, t: _Parsed) -> None:
    _unhave_time(t)
    _have_time(t)
    t.h = 12


def _act_midnight(rule: str, p: _Ptr, t: _Parsed) -> None:
    _unhave_time(t)


def _act_firstlastdayof(rule: str, p: _Ptr, t: _Parsed) -> None:
    t.have_relative = True
    t.rel.first_last_day_of = _LAST_DAY_OF_MONTH if p.text[:1] in b"lL" else _FIRST_DAY_OF_MONTH


def _act_weekdayof(rule: str, p: _Ptr, t: _Parsed) -> None:
    t.have_relative = t.rel.have_special_relative = True
    amount, behavior = p.get_relative_text()
    p.eat_spaces()
    if amount > 0:
        t.rel.special_type = _SPECIAL_DAY_OF_WEEK_IN_MONTH
        _set_relative(t, p, amount, 1, keep_time=False)
    else:
        t.rel.special_type = _SPECIAL_LAST_DAY_OF_WEEK_IN_MONTH
        _set_relative(t, p, amount, behavior, keep_time=False)


def _act_time12(rule: str, p: _Ptr, t: _Parsed) -> None:
    _have_time(t)
    hour = p.get_nr(2) or 0  # the scanner matched digits here
    if p.ch() in b":.":
        t.i = p.get_nr(2)
        if p.ch() in b":.":
            t.s = p.get_nr(2)
    p.eat_spaces()
    t.h = hour + p.meridian(hour)


def _act_time24(rule: str, p: _Ptr, t: _Parsed) -> None:
    _have_time(t)
    t.h = p.get_nr(2)
    if p.ch() in b":." and p.ch() != 0:
        t.i = p.get_nr(2)
        if p.ch() in b":." and p.ch() != 0:
            t.s = p.get_nr(2)
            if p.ch() == ord("."):
                raise _Reject("fractions of a second are outside the supported grammar", php=False)
    if p.ch() != 0:
        raise _Reject("timezones are outside the supported grammar", php=False)


def _act_monthtext(rule: str, p: _Ptr, t: _Parsed) -> None:
    _have_date(t)
    t.m = _MONTHS.get(p.letters(), 0)


def _act_datenoday(rule: str, p: _Ptr, t: _Parsed) -> None:
    _have_date(t)
    t.m = p.get_month()
    t.y = p.get_nr(4)
    t.d = 1


def _act_ago(rule: str, p: _Ptr, t: _Parsed) -> None:
    r = t.rel
    r.y, r.m, r.d, r.h, r.i, r.s = -r.y, -r.m, -r.d, -r.h, -r.i, -r.s
    r.weekday = -r.weekday
    if r.weekday == 0:
        r.weekday = -7
    if r.have_special_relative and r.special_type == _SPECIAL_WEEKDAY:
        r.special_amount = -r.special_amount


def _act_daytext(rule: str, p: _Ptr, t: _Parsed) -> None:
    t.have_relative = t.rel.have_weekday_relative = True
    _unhave_time(t)
    unit = p.relunit()
    assert unit is not None  # the scanner matched a day name
    t.rel.weekday = unit[1]
    if t.rel.weekday_behavior != 2:
        t.rel.weekday_behavior = 1


def _act_relativetext(rule: str, p: _Ptr, t: _Parsed) -> None:
    """`next month`, `last week` ...; the `week` unit also pins the weekday (relativetextweek)."""
    t.have_relative = True
    while p.ch():
        amount, behavior = p.get_relative_text()
        p.eat_spaces()
        _set_relative(t, p, amount, behavior, keep_time=False)
        if rule == "relativetextweek":
            t.rel.weekday_behavior = 2
            if not t.rel.have_weekday_relative:
                t.have_relative = t.rel.have_weekday_relative = True
                t.rel.weekday = 1


def _act_relative(rule: str, p: _Ptr, t: _Parsed) -> None:
    t.have_relative = True
    digits = re.search(rb"[0-9]+", p.text)
    if digits is not None and len(digits.group()) > 9:
        raise _Reject("numbers of more than 9 digits are outside the supported grammar", php=False)
    while p.ch():
        amount = p.get_signed_nr()
        p.eat_spaces()
        _set_relative(t, p, amount, 1, keep_time=True)


_ACTIONS: dict[str, Callable[[str, _Ptr, _Parsed], None]] = {
    "yesterday": _act_yesterday_tomorrow, "tomorrow": _act_yesterday_tomorrow, "now": _act_now,
    "noon": _act_noon, "midnight": _act_midnight, "firstlastdayof": _act_firstlastdayof,
    "weekdayof": _act_weekdayof, "time12": _act_time12, "time24": _act_time24, "monthtext": _act_monthtext,
    "datenoday": _act_datenoday, "ago": _act_ago, "daytext": _act_daytext,
    "relativetextweek": _act_relativetext, "relativetext": _act_relativetext, "relative": _act_relative,
}


def _act(rule: str, token: bytes, t: _Parsed) -> None:
    """The C action of one supported scanner rule."""
    _ACTIONS[rule](rule, _Ptr(token), t)


_SUPPORTED = frozenset(_ACTIONS)


def _longest_match(buf: bytes, pos: int) -> tuple[str, int]:
    """(rule, end) of the token re2c picks at `pos`: the longest match, first rule on ties."""
    best_rule, best_end = "any", pos + 1
    best_len = 0
    for name, rx in _RULES:
        m = rx.match(buf, pos)
        if m is None:
            continue
        end = m.end()
        for e in range(len(buf), end, -1):       # Python's `|` is not leftmost-longest
            if e - pos <= best_len:
                break
            if rx.fullmatch(buf, pos, e):
                end = e
                break
        if end - pos > best_len:
            best_rule, best_end, best_len = name, end, end - pos
    return best_rule, best_end


@lru_cache(maxsize=1024)
def _parse_cached(modifier: str) -> tuple[_Parsed | None, _Reject | None]:
    try:
        return _parse(modifier), None
    except _Reject as exc:
        return None, exc


def _parse(modifier: str) -> _Parsed:
    raw = modifier.encode("utf-8")
    if not raw:
        raise _Reject("empty string", php=True)
    first, last = 0, len(raw) - 1               # timelib_strtotime's trim keeps one character
    while raw[first] in b" \t\n\v\f\r" and first < last:
        first += 1
    while raw[last] in b" \t\n\v\f\r" and last > first:
        last -= 1
    raw = raw[first:last + 1]
    if b"\0" in raw:
        raise _Reject("NUL character", php=False)
    buf = raw + b"\0" * 8                       # re2c's YYMAXFILL padding
    t = _Parsed()
    pos = 0
    while pos < len(raw):
        rule, end = _longest_match(buf, pos)
        token = buf[pos:end]
        if rule == "any":
            raise _Reject(f"unexpected character at position {pos}", php=True)
        if rule not in _SKIP:
            if rule not in _SUPPORTED:
                shown = token.rstrip(b"\0").decode("utf-8", "replace")
                raise _Reject(f"{shown!r} ({rule}) is outside the supported grammar", php=False)
            _act(rule, token.rstrip(b"\0"), t)
        pos = end
    return t


# --------------------------------------------------------------------------------------------------
# tm2unixtime.c

_DAYS_IN_MONTH = (31, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)       # [0] is December
_DAYS_IN_MONTH_LEAP = (31, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _is_leap(y: int) -> bool:
    return y % 4 == 0 and (y % 100 != 0 or y % 400 == 0)


def _cdiv(a: int, b: int) -> int:
    """C's truncating integer division."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _cmod(a: int, b: int) -> int:
    return a - b * _cdiv(a, b)


@dataclass
class _Time:
    y: int
    m: int
    d: int
    h: int
    i: int
    s: int


def _range_limit(start: int, end: int, adj: int, a: int, b: int) -> tuple[int, int]:
    if a < start:
        b -= _cdiv(start - a - 1, adj) + 1
        a += adj * (_cdiv(start - a - 1, adj) + 1)
    if a >= end:
        b += _cdiv(a, adj)
        a -= adj * _cdiv(a, adj)
    return a, b


def _range_limit_days(t: _Time) -> bool:
    changed = False
    t.m, t.y = _range_limit(1, 13, 12, t.m, t.y)
    table = _DAYS_IN_MONTH_LEAP if _is_leap(t.y) else _DAYS_IN_MONTH
    while t.d <= 0 and t.m > 0:
        prev_m, prev_y = (t.m - 1, t.y) if t.m > 1 else (12, t.y - 1)
        t.d += (_DAYS_IN_MONTH_LEAP if _is_leap(prev_y) else _DAYS_IN_MONTH)[prev_m]
        t.m -= 1
        changed = True
    while t.d > 0 and t.m <= 12 and t.d > table[t.m]:
        t.d -= table[t.m]
        t.m += 1
        changed = True
    return changed


def _normalize(t: _Time) -> None:                              # timelib_do_normalize
    t.s, t.i = _range_limit(0, 60, 60, t.s, t.i)
    t.i, t.h = _range_limit(0, 60, 60, t.i, t.h)
    t.h, t.d = _range_limit(0, 24, 24, t.h, t.d)
    t.m, t.y = _range_limit(1, 13, 12, t.m, t.y)
    while _range_limit_days(t):
        pass
    t.m, t.y = _range_limit(1, 13, 12, t.m, t.y)


def _day_of_week(t: _Time) -> int:
    """0 = Sunday .. 6 = Saturday, of a normalized date."""
    return _date(t).isoweekday() % 7


def _date(t: _Time) -> date:
    if not 1 <= t.y <= 9999:
        raise _Reject(f"year {t.y} is out of range", php=False)
    return date(t.y, t.m, t.d)


def _adjust_for_weekday(t: _Time, r: _Rel) -> None:
    dow = _day_of_week(t)
    if r.weekday_behavior == 2:
        # "this week" when today is a Sunday; "sunday this week" when it is not
        if dow == 0 and r.weekday != 0:
            r.weekday -= 7
        if r.weekday == 0 and dow != 0:
            r.weekday = 7
        t.d += r.weekday - dow
        return
    difference = r.weekday - dow
    if (r.d < 0 and difference < 0) or (r.d >= 0 and difference <= -r.weekday_behavior):
        difference += 7
    if r.weekday >= 0:
        t.d += difference
    else:
        t.d -= 7 - (abs(r.weekday) - dow)
    r.have_weekday_relative = False


def _first_last_day_of(t: _Time, r: _Rel) -> None:
    if r.first_last_day_of == _FIRST_DAY_OF_MONTH:
        t.d = 1
    elif r.first_last_day_of == _LAST_DAY_OF_MONTH:
        t.d = 0
        t.m += 1


def _adjust_special_early(t: _Time, r: _Rel) -> None:
    if r.have_special_relative:
        if r.special_type == _SPECIAL_DAY_OF_WEEK_IN_MONTH:
            t.d = 1
            t.m += r.m
            r.m = 0
        elif r.special_type == _SPECIAL_LAST_DAY_OF_WEEK_IN_MONTH:
            t.d = 1
            t.m += r.m + 1
            r.m = 0
    _first_last_day_of(t, r)
    _normalize(t)


def _adjust_relative(t: _Time, r: _Rel, have_relative: bool) -> None:
    if r.have_weekday_relative:
        _adjust_for_weekday(t, r)
    _normalize(t)
    if have_relative:
        t.s += r.s
        t.i += r.i
        t.h += r.h
        t.d += r.d
        t.m += r.m
        t.y += r.y
    _first_last_day_of(t, r)
    _normalize(t)


def _weekday_shift(count: int, rem: int, dow: int) -> int:
    """do_adjust_special_weekday's correction for weekends, before the `rem` weekdays are added."""
    if count > 0:
        if rem == 0:
            return {0: -2, 6: -1}.get(dow, 0)
        if dow == 6:
            return 1
        return 2 if dow + rem > 5 else 0
    if rem == 0:
        return {6: 2, 0: 1}.get(dow, 0)
    if dow == 0:
        return -1
    return -2 if dow + rem < 1 else 0


def _adjust_special(t: _Time, r: _Rel) -> None:
    if r.have_special_relative and r.special_type == _SPECIAL_WEEKDAY:
        count = r.special_amount
        dow = _day_of_week(t)
        t.d += _cdiv(count, 5) * 7                  # whole weeks keep the day of the week
        rem = _cmod(count, 5)
        t.d += _weekday_shift(count, rem, dow) + rem
    _normalize(t)


_EPOCH = date(1970, 1, 1).toordinal()


def _offset_info(ts: int, tz: tzinfo) -> tuple[int, int, bool]:
    """timelib_get_time_zone_offset_info: (UTC offset, start of that offset, is DST) at `ts`.

    The start is found by bisection within two days; further back it does not matter to
    `_adjust_timezone` (offsets differ by less than a day), so `ts - 2 days` stands in for it.
    """
    def key(x: int) -> tuple[int, bool]:
        local = datetime.fromtimestamp(x, tz)
        offset = local.utcoffset()
        assert offset is not None  # an aware datetime made by fromtimestamp(x, tz)
        return int(offset.total_seconds()), bool(local.dst())

    try:
        here = key(ts)
        lo = ts - 2 * 86400
        if key(lo) == here:
            return here[0], lo, here[1]
        hi = ts                                       # key(lo) != here == key(hi)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if key(mid) == here:
                hi = mid
            else:
                lo = mid
        return here[0], hi, here[1]
    except (OverflowError, OSError, ValueError) as exc:
        raise _Reject(f"time out of range ({exc})", php=False) from None


def _adjust_timezone(sse: int, tz: tzinfo, obj_dst: bool) -> int:
    """do_adjust_timezone for a zone given by identifier: local seconds -> UTC seconds."""
    cur_off, _, cur_dst = _offset_info(sse, tz)
    after_off, after_tt, _ = _offset_info(sse - cur_off, tz)
    act_off, act_tt = after_off, after_tt
    if cur_off == after_off:
        if cur_off >= 0 and obj_dst and not cur_dst:
            # east of UTC: the local time read as UTC leaves DST before the real local time
            e_off, e_tt, _ = _offset_info(sse - cur_off - 7200, tz)
            if e_off != after_off and sse - e_off < after_tt:
                act_off, act_tt = e_off, e_tt
        elif cur_off <= 0 and cur_dst and not obj_dst:
            # west of UTC: it leaves DST after the real local time
            l_off, l_tt, _ = _offset_info(sse - cur_off + 7200, tz)
            if l_off != after_off and sse - l_off >= l_tt:
                act_off, act_tt = l_off, l_tt
    in_transition = act_tt + (cur_off - act_off) <= sse - act_off < act_tt
    if cur_off != act_off and not in_transition:
        return sse - act_off
    return sse - cur_off


def _modify_one(base: datetime, parsed: _Parsed) -> datetime:
    tz = base.tzinfo
    assert tz is not None  # modify() refuses a naive base
    t = _Time(base.year, base.month, base.day, base.hour, base.minute, base.second)
    r = replace(parsed.rel)
    # php_date_modify: parsed absolute fields replace the object's
    if parsed.y is not None:
        t.y = parsed.y
    if parsed.m is not None:
        t.m = parsed.m
    if parsed.d is not None:
        t.d = max(parsed.d, 1)
    if parsed.h is not None:
        t.h = parsed.h
        t.i = parsed.i if parsed.i is not None else 0
        t.s = parsed.s if parsed.i is not None and parsed.s is not None else 0
    # timelib_update_ts
    _adjust_special_early(t, r)
    _adjust_relative(t, r, parsed.have_relative)
    _adjust_special(t, r)
    sse = (_date(t).toordinal() - _EPOCH) * 86400 + t.h * 3600 + t.i * 60 + t.s
    sse = _adjust_timezone(sse, tz, bool(base.dst()))
    try:
        return datetime.fromtimestamp(sse, tz)
    except (OverflowError, OSError, ValueError) as exc:
        raise _Reject(f"time out of range ({exc})", php=False) from None


# --------------------------------------------------------------------------------------------------
# Public API

def _error(modifier: str, reason: _Reject | str) -> ScheduleError:
    return ScheduleError(f"unparseable schedule {modifier!r}: {reason}")


def _parsed(modifier: str) -> _Parsed:
    if not isinstance(modifier, str):
        raise _error(str(modifier), "a schedule modifier must be a string")
    parsed, rejected = _parse_cached(modifier)
    if rejected is not None:
        why = "PHP cannot parse it" if rejected.php else "not supported by siren-sync"
        raise _error(modifier, f"{why} ({rejected})")
    assert parsed is not None  # _parse_cached gives a parse or a rejection
    return parsed


def validate(modifier: str) -> None:
    """Raise `ScheduleError` unless `modifier` is a string PHP's modify() accepts and this port
    computes exactly (see the module docstring)."""
    _parsed(modifier)


def modify(base: datetime, modifiers: Sequence[str]) -> datetime:
    """What PHP's `$d = new DateTime(base); foreach ($modifiers as $m) $d->modify($m);` gives,
    as an aware datetime in base's timezone (microseconds dropped)."""
    if isinstance(modifiers, str):
        modifiers = [modifiers]
    if base.tzinfo is None or base.utcoffset() is None:
        raise ValueError("modify() needs a timezone-aware datetime")
    current = base.replace(microsecond=0)
    for modifier in modifiers:
        parsed = _parsed(modifier)
        try:
            current = _modify_one(current, parsed)
        except _Reject as exc:
            raise _error(modifier, exc) from None
    return current


def next_triggers(start: datetime, modifiers: Sequence[str], count: int) -> list[datetime]:
    """The ends of `count` successive periods, the first starting at `start`."""
    triggers: list[datetime] = []
    current = start
    for _ in range(count):
        following = modify(current, modifiers)
        if following <= current:
            raise ScheduleError(f"schedule {list(modifiers)!r} does not advance time "
                                f"(from {current.isoformat()} it gives {following.isoformat()})")
        triggers.append(following)
        current = following
    return triggers
