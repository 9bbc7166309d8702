"""A clock for tests: time moves only when the test (or the code's own sleep) moves it."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

START = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


class FakeClock:
    """Wall time (`clock.now`, `clock()` as a datetime) and monotonic seconds (`clock.monotonic()`)
    that only move on `advance` or `sleep`; `sleeps` lists every sleep the code under test asked for."""

    def __init__(self, start: datetime = START):
        self.now = start
        self._origin = start
        self.sleeps: list[float] = []

    def __call__(self) -> datetime:
        return self.now

    def monotonic(self) -> float:
        return 1000.0 + (self.now - self._origin).total_seconds()

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.advance(seconds)
