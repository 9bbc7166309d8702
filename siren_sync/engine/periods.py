"""A distributor's periods: half-open `[start, end)` intervals chained by its schedule.

The first period starts at the distributor's first start; each period's end is the schedule's
modifiers applied in order to its start (PHP `DateTime::modify` semantics, in the site timezone),
and the next period starts there. Boundaries are computed once and cached, so placing a million
events costs a bisect each, not a schedule evaluation each.
"""
from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from datetime import UTC, datetime, tzinfo

from siren_sync.engine import schedules
from siren_sync.errors import ScheduleError
from siren_sync.values import as_utc

# A guard against a schedule that would need more periods than any site has history for.
MAX_PERIODS = 100_000


class Calendar:
    """The period boundaries of one distributor, extended forward on demand."""

    def __init__(self, first_start: datetime, modifiers: Sequence[str], tz: tzinfo, label: str = ""):
        if first_start.tzinfo is None:
            raise ValueError("first_start must be timezone-aware")
        self._label = f"{label}: " if label else ""  # where the schedule is written, for its errors
        self._modifiers = tuple(modifiers)
        self._tz = tz
        self._bounds = [first_start.astimezone(tz)]
        self._utc = [first_start.astimezone(UTC)]
        # The last period found, as (start UTC, end UTC, (start, end)): a page's events mostly fall
        # in one period, and each is placed in every distributor's.
        self._last: tuple[datetime, datetime, tuple[datetime, datetime]] | None = None

    @property
    def first_start(self) -> datetime:
        return self._bounds[0]

    def end_of(self, start: datetime) -> datetime:
        """The trigger time of the period starting at `start` (in the site timezone)."""
        end = schedules.modify(start.astimezone(self._tz), self._modifiers)
        if end <= start:
            raise ScheduleError(
                f"{self._label}schedule {list(self._modifiers)!r} does not advance time from {start.isoformat()}")
        return end

    def _extend_past(self, moment: datetime) -> None:
        while self._utc[-1] <= moment:
            if len(self._bounds) > MAX_PERIODS:
                raise ScheduleError(f"{self._label}schedule {list(self._modifiers)!r} makes more than "
                                    f"{MAX_PERIODS:,} periods before {moment.isoformat()}")
            end = self.end_of(self._bounds[-1])
            self._bounds.append(end)
            self._utc.append(end.astimezone(UTC))

    def period_containing(self, moment: datetime) -> tuple[datetime, datetime] | None:
        """The `[start, end)` period holding `moment`, or None before the first start."""
        moment = as_utc(moment)
        last = self._last
        if last is not None and last[0] <= moment < last[1]:
            return last[2]
        if moment < self._utc[0]:
            return None
        self._extend_past(moment)
        i = bisect_right(self._utc, moment) - 1
        period = self._bounds[i], self._bounds[i + 1]
        self._last = (self._utc[i], self._utc[i + 1], period)
        return period

    def next_triggers(self, after: datetime, count: int) -> list[datetime]:
        """The next `count` trigger times strictly after `after` (for `check`)."""
        period = self.period_containing(after) or (self._bounds[0], self.end_of(self._bounds[0]))
        ends: list[datetime] = []
        end = period[1]
        while len(ends) < count:
            ends.append(end)
            end = self.end_of(end)
        return ends
