#!/usr/bin/env python3
"""Generate tests/fixtures/vectors/schedules.json with the real PHP interpreter.

Every case is (IANA timezone, base time, list of DateTime::modify() strings). All cases go to one
`php tools/php_modify.php` process as JSON; PHP answers the base it built and the result (or the
parse error). `tests/engine/test_schedules.py` replays the file against `siren_sync.engine.schedules` without PHP.

Each case carries a `grammar` tag:
- "supported": the formats siren-sync models; `modify` must equal PHP (or raise where PHP fails);
- "invalid":   strings PHP rejects; `validate` must raise;
- "outside":   strings PHP accepts but siren-sync deliberately refuses (timezones, ISO dates,
               timestamps, sub-second units...); `validate` must raise ScheduleError rather than
               compute something that could differ from PHP.

Usage: python tools/php_schedule_vectors.py [--php php] [--out tests/fixtures/vectors/schedules.json]
Needs php-cli (Debian: apt-get install php-cli).
"""
from __future__ import annotations

import argparse
import json
import random
import subprocess
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
PHP_SCRIPT = ROOT / "tools" / "php_modify.php"


def at(tz: str, local: str, fold: int = 0) -> str:
    """A base given as a UTC instant ("@<ts>"), to pick one side of an ambiguous local time."""
    dt = datetime.fromisoformat(local).replace(tzinfo=ZoneInfo(tz), fold=fold)
    return f"@{int(dt.timestamp())}"


# ---------------------------------------------------------------------------------------- bases
CALENDAR_BASES = [  # month ends, leap days, every weekday
    ("UTC", "2024-01-29 10:15:30"), ("UTC", "2024-01-30 00:00:00"), ("UTC", "2024-01-31 23:59:59"),
    ("UTC", "2023-01-31 08:00:00"), ("UTC", "2024-02-29 12:00:00"), ("UTC", "2023-02-28 00:00:00"),
    ("UTC", "2100-01-31 06:00:00"), ("UTC", "2100-02-28 12:00:00"), ("UTC", "2000-02-29 00:00:00"),
    ("UTC", "2024-03-31 09:00:00"), ("UTC", "2024-05-31 00:00:00"), ("UTC", "2024-08-31 18:45:00"),
    ("UTC", "2024-12-31 18:00:00"), ("UTC", "2024-06-02 10:00:00"), ("UTC", "2024-06-03 00:00:00"),
    ("UTC", "2024-06-04 07:00:00"), ("UTC", "2024-06-05 10:15:30"), ("UTC", "2024-06-06 23:00:00"),
    ("UTC", "2024-06-07 12:00:00"), ("UTC", "2024-06-08 18:00:00"), ("UTC", "2024-06-01 00:00:00"),
    ("Asia/Kolkata", "2024-01-31 10:00:00"), ("Asia/Kolkata", "2024-02-29 23:30:00"),
]
DST_BASES = [
    # America/New_York: spring forward 2024-03-10 02:00 -> 03:00, fall back 2024-11-03 02:00 -> 01:00
    ("America/New_York", "2024-03-09 02:30:00"), ("America/New_York", "2024-03-10 00:00:00"),
    ("America/New_York", "2024-03-10 01:30:00"), ("America/New_York", "2024-03-10 03:30:00"),
    ("America/New_York", "2024-11-02 01:30:00"), ("America/New_York", "2024-11-03 00:30:00"),
    ("America/New_York", at("America/New_York", "2024-11-03 01:30:00", 0)),
    ("America/New_York", at("America/New_York", "2024-11-03 01:30:00", 1)),
    ("America/New_York", "2024-11-03 12:00:00"), ("America/New_York", "2024-01-31 10:00:00"),
    ("America/New_York", "2024-02-10 02:30:00"), ("America/New_York", "2024-10-03 01:30:00"),
    # Europe/London: 2024-03-31 01:00 -> 02:00, 2024-10-27 02:00 -> 01:00
    ("Europe/London", "2024-03-30 01:30:00"), ("Europe/London", "2024-03-31 00:30:00"),
    ("Europe/London", "2024-10-27 00:30:00"),
    ("Europe/London", at("Europe/London", "2024-10-27 01:30:00", 0)),
    ("Europe/London", at("Europe/London", "2024-10-27 01:30:00", 1)),
    ("Europe/London", "2024-02-29 23:00:00"),
    # Europe/Berlin: 2024-03-31 02:00 -> 03:00, 2024-10-27 03:00 -> 02:00
    ("Europe/Berlin", "2024-03-30 02:30:00"), ("Europe/Berlin", "2024-03-31 01:30:00"),
    ("Europe/Berlin", "2024-03-31 00:00:00"), ("Europe/Berlin", "2024-10-26 02:30:00"),
    ("Europe/Berlin", at("Europe/Berlin", "2024-10-27 02:30:00", 0)),
    ("Europe/Berlin", at("Europe/Berlin", "2024-10-27 02:30:00", 1)),
    ("Europe/Berlin", "2024-01-31 00:00:00"), ("Europe/Berlin", "2024-09-27 02:30:00"),
    # Australia/Sydney (southern): 2024-04-07 03:00 -> 02:00, 2024-10-06 02:00 -> 03:00
    ("Australia/Sydney", "2024-04-06 02:30:00"),
    ("Australia/Sydney", at("Australia/Sydney", "2024-04-07 02:30:00", 0)),
    ("Australia/Sydney", at("Australia/Sydney", "2024-04-07 02:30:00", 1)),
    ("Australia/Sydney", "2024-10-05 02:30:00"), ("Australia/Sydney", "2024-10-06 01:30:00"),
    ("Australia/Sydney", "2024-01-31 12:00:00"), ("Australia/Sydney", "2024-03-07 02:30:00"),
    # Pacific/Chatham (+12:45/+13:45): 2024-04-07 03:45 -> 02:45, 2024-09-29 02:45 -> 03:45
    ("Pacific/Chatham", "2024-04-06 03:15:00"),
    ("Pacific/Chatham", at("Pacific/Chatham", "2024-04-07 03:15:00", 0)),
    ("Pacific/Chatham", at("Pacific/Chatham", "2024-04-07 03:15:00", 1)),
    ("Pacific/Chatham", "2024-09-28 03:00:00"), ("Pacific/Chatham", "2024-09-29 02:00:00"),
    ("Pacific/Chatham", "2024-01-31 23:00:00"),
]
# ------------------------------------------------------------------------------------ modifiers
CORE = [  # on every base
    "first day of next month", "last day of next month", "first day of this month",
    "last day of last month", "first day of next month midnight", "+1 month", "-1 month",
    "+1 day", "-1 day", "+1 week", "+24 hours", "+1 hour", "-1 hour", "midnight", "tomorrow",
    "noon", "next monday", "last friday", "sunday", "first monday of next month",
    "last friday of this month", "+1 weekday", "02:30", "01:30", "03:15", "+1 month 09:00",
    "next monday noon", "+30 minutes",
]
CALENDAR = [
    "last day of previous month", "first day of previous month", "last day of this month",
    "first day of last month", "first day of", "last day of", "first day of +1 month",
    "last day of +1 month", "first day of -1 month", "last day of next month 23:59:59",
    "first day of january", "last day of february", "first day of march 2025",
    "last day of feb 2100", "last day of february 2024", "first day of dec 2024", "last day of sept",
    "first day of jan 2025 00:00", "First Day Of Next Month", "LAST DAY OF NEXT MONTH",
    "second tuesday of this month", "third wednesday of last month", "fourth thursday of next month",
    "last sunday of next month", "last saturday of last month", "fifth monday of this month",
    "first sun of next month", "next friday of next month", "this friday of this month",
    "previous monday of next month", "twelfth monday of next month", "first monday of",
    "last day of next month midnight", "first monday of january 2025", "second friday of next month 17:00",
    "+2 months", "+12 months", "+13 months", "-13 months", "+1 year", "-1 year", "+4 years",
    "+7 days", "+2 weeks", "+1 fortnight", "+2 fortnights", "+1 forthnight", "+90 minutes",
    "+30 min", "+30 mins", "+45 sec", "+3600 secs", "+1 second", "-86400 seconds", "+5 weekdays",
    "+3 weekdays", "-1 weekday", "-6 weekdays", "+0 weekdays", "+10 weekdays", "-5 weekdays",
    "1 day ago", "2 weeks ago", "1 month ago", "3 weekdays ago", "1 fortnight ago", "monday ago",
    "next month", "last month", "previous month", "this month", "next year", "last year",
    "next day", "next week", "last week", "this week", "previous week", "next hour", "next minute",
    "next sec", "last friday", "this sunday", "previous wednesday", "next weekday", "last weekday",
    "this weekday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "mon",
    "sat", "sun", "thu", "mondays", "next mondays", "monday next week", "sunday this week",
    "friday last week", "this week sunday", "next week friday", "today", "now", "yesterday",
    "00:00", "09:00", "23:59:59", "9:30", "12:00:00", "10.30", "9am", "5pm", "12am", "12pm",
    "9:30pm", "11:59:59 pm", "9 a.m.", "t9", "t10:00", "24:00", "first day of next month 00:00",
    "tomorrow 09:00", "midnight +1 day", "+1 week 2 days", "next month +3 days", "+1 month -1 day",
    "noon tomorrow", "tomorrow noon", "+1 day midnight", "monday 09:00", "09:00 monday",
    "today +14 days", "09:00 noon", "first day of next month +14 days", "+1 monday", "2 monday", "-1 monday",
    "weekday", "weekdays", "first day", "eighth day", "second month", "--1 day", "+-1 day",
    "- 1 day", "+ 1 day", "+3 days tomorrow", "+1 fortnights ago", "next  month", "\tnext month ",
    "+1 day, 09:00", "first day of next month, midnight", "last day of this month 23:59:59",
    "first monday of next month 09:00", "first day of next year", "last day of next year",
    "+1 year first day of", "first day of next month noon", "sat this week", "sun next week",
    "   ",  # PHP keeps one blank of an all-blank string: a no-op, not an error
]
DST = [
    "+2 hours", "+3 hours", "-2 hours", "+25 hours", "-24 hours", "+60 minutes", "+3600 seconds",
    "+1 day 02:30", "tomorrow 02:30", "midnight", "today", "00:00", "01:00", "01:59:59", "02:00",
    "02:45", "03:00", "03:30", "03:45", "04:00", "+7 days", "next sunday 02:30", "yesterday",
    "+1 week", "-1 week", "+1 month", "first day of next month 02:30", "+1 hour +1 day",
    "+30 min", "+90 minutes", "+12 hours", "-12 hours",
]
LISTS = [  # multi-string schedules
    ["first day of next month", "+14 days"], ["first day of next month", "midnight"],
    ["+1 month", "last day of this month"], ["next monday", "+8 hours"], ["midnight", "+1 day"],
    ["first day of this month", "+1 month", "-1 sec"], ["today", "+1 week", "09:00"],
    ["last day of this month", "23:59:59"], ["+1 day", "+1 day", "+1 day"],
    ["first monday of next month", "+2 days"], ["tomorrow", "02:30"], ["02:30", "+1 hour"],
    ["01:30", "+1 hour"], ["01:30", "-1 hour"], ["midnight", "+2 hours"],
    ["first day of next month", "every month"],
]
INVALID = [  # PHP rejects these (the generator checks)
    "", "every month", "first day of nextmonth", "noon 10:00", "09:00 10:00", "3 hrs",
    "month", "next", "day", "first day of next mnth", "last day of febuary", "january february",
    "!", "next month!", "nextmonth", "first-day-of-next-month", "+1 monthly", "each monday",
    "first monday of next monthly", "@", "+1 day #", "next month ~", "dayly",
    "weekly", "monthly", "annually", "31 febuary",
]
OUTSIDE = [  # PHP accepts these; siren-sync refuses them on purpose
    "a month", "+1 hrs", "2024-01-01", "@1700000000", "first day of next month UTC",
    "+1 day Europe/Berlin", "10:00:00.5", "0900", "+500 ms", "+1 msec", "+10 usecs", "2025",
    "next month EST", "back of 7pm", "front of 9", "January 15", "15 January", "1 January 2025",
    "2024W05", "tomorrow z", "+1234567890 sec", "1/15", "next month +01:00", "2024-02-30",
    "jan 1", "1st january", "20250101", "feb -1 weekday", "noon GMT", "monday CET", "+1 week T", "Europe/Paris",
]


# Pieces of the supported grammar, glued at random (fixed seed) into multi-token strings.
FUZZ_PIECES = [
    "first day of", "last day of", "next month", "last month", "this month", "previous month",
    "+1 month", "-2 months", "+1 year", "+3 days", "-1 day", "+1 week", "+2 weekdays",
    "1 weekday ago", "+5 hours", "-90 min", "+45 secs", "+1 fortnight", "next year", "next week",
    "this week", "last week", "monday", "friday", "sunday", "sat", "next tuesday",
    "last thursday", "this saturday", "first monday of", "last friday of", "third sunday of",
    "second wed of", "midnight", "today", "noon", "tomorrow", "yesterday", "now", "09:00",
    "23:30:15", "02:30", "7pm", "12am", "ago", "january", "feb", "december 2025", "jun 2024",
    "next weekday", "last weekday", "+0 day", "second day", "eighth month",
]


def fuzz_cases(n: int, seed: int) -> list[tuple[str, str, list[str]]]:
    rng = random.Random(seed)
    bases = CALENDAR_BASES + DST_BASES
    out = []
    for _ in range(n):
        tz, base = rng.choice(bases)
        mods = [" ".join(rng.choice(FUZZ_PIECES) for _ in range(rng.randint(1, 3)))
                for _ in range(rng.randint(1, 2))]
        out.append((tz, base, mods))
    return out


def _each(bases: list[tuple[str, str]], modifiers: list[str]) -> list[tuple[str, str, list[str]]]:
    """Every base with every single modifier."""
    return [(tz, base, [m]) for tz, base in bases for m in modifiers]


def build_cases(fuzz: int = 600, seed: int = 20240229) -> list[dict]:
    """The cases, in the order of tests/fixtures/vectors/schedules.json."""
    everywhere = CALENDAR_BASES + DST_BASES
    supported = (_each(everywhere, CORE) + _each(CALENDAR_BASES[::2], CALENDAR) + _each(DST_BASES, DST)
                 + [(tz, base, mods) for i, mods in enumerate(LISTS) for tz, base in everywhere[i % 5::5]]
                 + fuzz_cases(fuzz, seed))
    cases = [{"tz": tz, "base": base, "modifiers": mods, "grammar": "supported"} for tz, base, mods in supported]
    cases += [{"tz": "UTC", "base": "2024-06-05 10:15:30", "modifiers": [m], "grammar": "invalid"} for m in INVALID]
    outside_bases = (("UTC", "2024-06-05 10:15:30"), ("Europe/Berlin", "2024-01-31 10:00:00"))
    cases += [{"tz": tz, "base": base, "modifiers": [m], "grammar": "outside"}
              for m in OUTSIDE for tz, base in outside_bases]
    return cases


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--php", default="php")
    ap.add_argument("--out", default=str(ROOT / "tests" / "fixtures" / "vectors" / "schedules.json"))
    ap.add_argument("--fuzz", type=int, default=600, help="random combinations to add")
    ap.add_argument("--seed", type=int, default=20240229)
    args = ap.parse_args()

    cases = build_cases(args.fuzz, args.seed)
    proc = subprocess.run([args.php, str(PHP_SCRIPT)], input=json.dumps(cases),
                          capture_output=True, text=True, check=True)
    answer = json.loads(proc.stdout)
    rows = []
    accepted = [c["modifiers"] for c, r in zip(cases, answer["results"], strict=True)
                if c["grammar"] == "invalid" and r["result"] is not None]
    if accepted:
        raise SystemExit(f"PHP accepts {accepted!r}: move them out of INVALID")
    for n, (case, res) in enumerate(zip(cases, answer["results"], strict=True)):
        if case["grammar"] == "outside" and res["result"] is None:
            case["grammar"] = "invalid"      # PHP refuses it as well
        rows.append({"id": n, "tz": case["tz"], "base": res["base"], "modifiers": case["modifiers"],
                     "grammar": case["grammar"], "php": res["result"], "php_error": res["error"]})
    doc = {
        "generated_by": "tools/php_schedule_vectors.py (tools/php_modify.php)",
        "php_version": answer["php_version"],
        "note": "php = DateTime::modify() result as Y-m-d\\TH:i:sP, null when PHP failed",
        "cases": rows,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w") as fh:
        fh.write("{\n")
        for key in ("generated_by", "php_version", "note"):
            fh.write(f"  {json.dumps(key)}: {json.dumps(doc[key])},\n")
        fh.write('  "cases": [\n')
        fh.write(",\n".join("    " + json.dumps(r, ensure_ascii=False) for r in rows))
        fh.write("\n  ]\n}\n")
    counts: dict[str, int] = {}
    for r in rows:
        counts[r["grammar"]] = counts.get(r["grammar"], 0) + 1
    print(f"{len(rows)} cases, PHP {answer['php_version']}: {counts} -> {out}")


if __name__ == "__main__":
    main()
