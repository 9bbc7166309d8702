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
* `seed`: the random draws are reproducible.

Control routes (`/wp-json/sandbox/v1/...`) are never faulted.
"""
from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

HTML_PAGE = """<!DOCTYPE html>
<html lang="en-US"><head><meta charset="utf-8"><title>{status} {reason} | shop</title></head>
<body><div id="cf-error-details"><h1>Error {status}</h1><p>{reason}</p>
<p>The web server reported an error. Ray ID: {ray}</p></div></body></html>
"""

REASONS = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
           503: "Service Unavailable", 504: "Gateway Timeout"}


@dataclass
class FaultDecision:
    status: int
    html: bool
    retry_after: int | None = None


@dataclass
class Faults:
    latency_ms: float | list[float] = 0
    rate_429: float = 0.0
    rate_5xx: float = 0.0
    html_errors: bool = False
    modify_during_sync: bool = False
    mixed_ties: bool = False
    retry_after: int = 1
    seed: int | None = None
    _rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    FIELDS = ("latency_ms", "rate_429", "rate_5xx", "html_errors", "modify_during_sync", "mixed_ties",
              "retry_after", "seed")

    def __post_init__(self) -> None:
        if self.seed is not None:
            self._rng.seed(self.seed)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.FIELDS}

    def update(self, values: dict) -> None:
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
                elif key in ("html_errors", "modify_during_sync", "mixed_ties"):
                    value = bool(value)
                elif key == "retry_after":
                    value = int(value)
                setattr(self, key, value)
            if "seed" in values and values["seed"] is not None:
                self._rng.seed(values["seed"])

    def reset(self) -> None:
        self.update({"latency_ms": 0, "rate_429": 0.0, "rate_5xx": 0.0, "html_errors": False,
                     "modify_during_sync": False, "mixed_ties": False, "retry_after": 1})

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

    def pick(self, items: list):
        with self._lock:
            return self._rng.choice(items)

    def ray(self) -> str:
        with self._lock:
            return "%016x" % self._rng.getrandbits(64)
