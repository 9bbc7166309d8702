"""Fault injection: what a real host, WAF or CDN does to REST calls now and then.

`Faults` holds the switches (set over `POST /wp-json/sandbox/v1/faults` or directly):

* `latency_ms`: added to every API response (a number, or `[min, max]` for a random spread);
* `rate_429`: share of API requests answered `429 Too Many Requests` with a `Retry-After` header;
* `rate_5xx`: share answered 500, 502, 503 or 504;
* `html_errors`: injected errors come as an HTML page (like a Cloudflare or nginx error page)
  instead of WordPress's JSON error shape;
* `modify_during_sync`: after serving a page of `wc/v3/orders`, one order of that page is modified
  (its `date_modified` moves to the site's now), so it moves to the end of a `orderby=modified`
  listing and shifts the later pages, as a busy shop does during a long sync;
* `mixed_ties`: orders modified in the same second come in a different order on each page of an
  `orderby=modified` listing, as MySQL may return equal rows when nothing breaks the tie
  (WooCommerce before woocommerce#61410), so paging through such a second by number repeats some
  orders and leaves others out;
* `refuse_options`: every `OPTIONS` request is answered `403` (a host or WAF that refuses the
  method), so the site cannot be asked to describe its routes;
* `drop_counts`: collections come without `X-WP-Total` and `X-WP-TotalPages` (a proxy or cache
  that strips them);
* `hold_writes`: every write to the API (POST, PUT, PATCH, DELETE) waits before the site carries it
  out, as a busy host queues PHP requests; switched off, the held writes are carried out one at a
  time in the order they came, whether their client still waits or not (a client killed meanwhile
  leaves a request the site still carries out). `GET .../faults` says how many wait (`held`);
* `seed`: the random draws are reproducible.

`fail_once(path, status, body)` queues a one-off answer: the next `GET` of a path matching the
regular expression (under the REST root, e.g. `wc/v3/orders`) gets it instead of the real one
(a truncated page, a 503 page, a 401), whatever the switches say.

Control routes (`/wp-json/sandbox/v1/...`) are never faulted.
"""
from __future__ import annotations

import random
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

HTML_PAGE = """<!DOCTYPE html>
<html lang="en-US"><head><meta charset="utf-8"><title>{status} {reason} | shop</title></head>
<body><div id="cf-error-details"><h1>Error {status}</h1><p>{reason}</p>
<p>The web server reported an error. Ray ID: {ray}</p></div></body></html>
"""

T = TypeVar("T")

REASONS = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable", 504: "Gateway Timeout"}


@dataclass
class FaultDecision:
    status: int
    html: bool
    retry_after: int | None = None


@dataclass(frozen=True)
class OneOff:
    """An answer given once, instead of the real one, to the next GET of a matching path."""

    path: re.Pattern[str]
    status: int
    body: Any  # a dict or list (sent as JSON), or text (JSON if it starts like JSON, else HTML)
    headers: dict[str, str]


@dataclass
class Faults:
    latency_ms: float | list[float] = 0
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    html_errors: bool = False
    modify_during_sync: bool = False
    mixed_ties: bool = False
    refuse_options: bool = False
    drop_counts: bool = False
    hold_writes: bool = False
    retry_after: int = 1
    seed: int | None = None
    _rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)
    _once: list[OneOff] = field(default_factory=list, repr=False, compare=False)
    _turns: threading.Condition = field(default_factory=threading.Condition, repr=False, compare=False)
    _tickets: int = field(default=0, repr=False, compare=False)  # writes that came while held or queued
    _served: int = field(default=0, repr=False, compare=False)  # of those, carried out

    FIELDS = ("latency_ms", "rate_429", "rate_5xx", "html_errors", "modify_during_sync", "mixed_ties",
              "refuse_options", "drop_counts", "hold_writes", "retry_after", "seed")
    SWITCHES = ("html_errors", "modify_during_sync", "mixed_ties", "refuse_options", "drop_counts", "hold_writes")
    WRITES = ("POST", "PUT", "PATCH", "DELETE")

    def __post_init__(self) -> None:
        if self.seed is not None:
            self._rng.seed(self.seed)

    def as_dict(self) -> dict[str, Any]:
        with self._turns:
            held = self._tickets - self._served
        return {**{k: getattr(self, k) for k in self.FIELDS}, "held": held}

    def update(self, values: dict[str, Any]) -> None:
        unknown = set(values) - set(self.FIELDS)
        if unknown:
            raise ValueError(f"unknown fault switch(es): {', '.join(sorted(unknown))}")
        for key in ("rate_429", "rate_5xx"):
            if key in values and not 0 <= float(values[key]) <= 1:
                raise ValueError(f"{key} must be between 0 and 1")
        with self._lock:
            for key, value in values.items():
                if key in ("rate_429", "rate_5xx"):
                    value = float(value)
                elif key in self.SWITCHES:
                    value = bool(value)
                elif key == "retry_after":
                    value = int(value)
                setattr(self, key, value)
            if "seed" in values and values["seed"] is not None:
                self._rng.seed(values["seed"])
        with self._turns:
            self._turns.notify_all()  # held writes go on once `hold_writes` is off

    def reset(self) -> None:
        self.update({"latency_ms": 0, "rate_429": 0.0, "rate_5xx": 0.0, "retry_after": 1,
                     **dict.fromkeys(self.SWITCHES, False)})
        with self._lock:
            self._once.clear()

    @contextmanager
    def write_turn(self, method: str) -> Iterator[None]:
        """Around a route's run: a write waits while `hold_writes` is on, and writes that waited
        are carried out one at a time in the order they came."""
        if method not in self.WRITES:
            yield
            return
        with self._turns:
            if not self.hold_writes and self._tickets == self._served:
                ticket = None
            else:
                ticket, self._tickets = self._tickets, self._tickets + 1
                self._turns.wait_for(lambda: not self.hold_writes and self._served == ticket)
        try:
            yield
        finally:
            if ticket is not None:
                with self._turns:
                    self._served += 1
                    self._turns.notify_all()

    def fail_once(self, path: str, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        """Answer the next GET of a path matching `path` (a regular expression, under the REST root)
        with `status` and `body` instead; one-offs queued for one path are given in order."""
        with self._lock:
            self._once.append(OneOff(re.compile(path), status, body, dict(headers or {})))

    def take_once(self, method: str, path: str) -> OneOff | None:
        """The one-off answer for this request, if one is queued (it is then used up)."""
        if method != "GET" or not self._once:
            return None
        with self._lock:
            for i, one in enumerate(self._once):
                if one.path.fullmatch(path):
                    return self._once.pop(i)
        return None

    def latency(self) -> float:
        """Seconds to wait before answering."""
        value = self.latency_ms
        if isinstance(value, (list, tuple)):
            with self._lock:
                value = self._rng.uniform(float(value[0]), float(value[1]))
        return max(0.0, float(value or 0)) / 1000.0

    def decide(self) -> FaultDecision | None:
        """Whether to replace this API response by an error, and which."""
        if not self.rate_429 and not self.rate_5xx:
            return None
        with self._lock:
            draw = self._rng.random()
            if draw < self.rate_429:
                return FaultDecision(429, self.html_errors, self.retry_after)
            if draw < self.rate_429 + self.rate_5xx:
                return FaultDecision(self._rng.choice((500, 502, 503, 504)), self.html_errors)
        return None

    def pick(self, items: list[T]) -> T:
        with self._lock:
            return self._rng.choice(items)

    def ray(self) -> str:
        with self._lock:
            return f"{self._rng.getrandbits(64):016x}"
