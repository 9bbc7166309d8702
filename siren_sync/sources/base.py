"""What every source adapter gets and gives: the sync context and the report of one poll.

A source reads one upstream and turns its records into `Event`s. It never computes money and never
touches the store directly: it hands each page of events to `SyncContext.commit` together with the
cursor that comes after them, and the ledger records both in one atomic store write. So a crash
between two pages loses nothing and counts nothing twice: on restart the source resumes from the
last committed cursor and re-reads at most one page, whose events are already known by key.
"""
from __future__ import annotations

import functools
import hashlib
import ipaddress
import re
import socket
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from siren_sync.model import Collaborator, Event, Line
from siren_sync.sources.php import sanitize_text_field
from siren_sync.values import coupon_code, nfc


class TextIndex(dict[str, str]):
    """A lookup by a typed text (a coupon code, a tracking id) that compares texts as people read
    them: each key is folded (`nfc`, or `coupon_code`) when stored and when looked up, so a code
    typed with a combining accent finds the one configured precomposed, whatever the caller passes."""

    def __init__(self, fold: Callable[[str], str] = nfc):
        super().__init__()
        self._fold = fold

    def __setitem__(self, key: str, value: str) -> None:
        super().__setitem__(self._fold(key), value)

    def update(self, other: Mapping[str, str]) -> None:  # type: ignore[override]  # one mapping, folded
        for key, value in other.items():
            self[key] = value

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(self._fold(key))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(self._fold(key))

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(self._fold(key), default) if isinstance(key, str) else default


@dataclass
class Attribution:
    """Who owns what: lookups from upstream ids to collaborator ids (active or not). Coupon codes and
    tracking ids are compared in Unicode NFC (coupon codes case-insensitively too), on both sides."""

    by_coupon: TextIndex = field(default_factory=lambda: TextIndex(coupon_code))
    by_tracking_id: TextIndex = field(default_factory=TextIndex)
    by_product: dict[int, str] = field(default_factory=dict)
    by_wp_user: dict[int, str] = field(default_factory=dict)
    by_post: dict[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, collaborators: Iterable[Collaborator]) -> Attribution:
        """The lookups of these collaborators (a later one wins a shared code or id)."""
        index = cls()
        for c in collaborators:
            index.by_coupon.update({code: c.id for code in c.coupons})
            index.by_tracking_id.update({t: c.id for t in c.tracking_ids})
            index.by_product.update({p: c.id for p in c.products})
            index.by_post.update({p: c.id for p in c.posts})
            if c.wp_user_id is not None:
                index.by_wp_user[c.wp_user_id] = c.id
        return index

    def owner_of(self, line: Line) -> str | None:
        """Who owns an order line: the owner of the variation bought, else the owner of its product.
        The more specific id wins, so a line is never two owners' (one owns the T-shirt, another
        its size L: the L's lines are the second's, the other sizes the first's)."""
        variation, by_product = line.variation_id, self.by_product
        owner = by_product.get(variation) if variation is not None else None
        return owner or (by_product.get(line.product_id) if line.product_id is not None else None)


VISITOR_DIGEST_BYTES = 16  # a visitor digest is 32 hex characters
VISITORS_CACHED = 4096  # digests remembered in memory (a few hundred kB): returning customers, busy visitors
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}")  # dotted IPv4 as `ipaddress` writes it (no leading zeros)
_MAPPED = bytes(10) + b"\xff\xff"  # the first 12 bytes of an IPv4-mapped IPv6 address


@functools.lru_cache(maxsize=VISITORS_CACHED)
def visitor_digest(key: bytes, address: str, agent: str) -> str:
    """The keyed digest (BLAKE2b) that stands for one visitor: a client address and a user agent.

    Sales and referred visits are matched on it, and only it is kept: the raw address and agent never
    reach the store. The address is normalised (`::ffff:1.2.3.4` is `1.2.3.4`, IPv6 in its short
    lower-case form) and the agent is what WooCommerce stores as an order's `customer_user_agent`
    (WordPress's `sanitize_text_field` of the agent sent, `php.sanitize_text_field`): an access log's
    agent becomes that text, and an order's stays itself, so a log line and an order by the same
    visitor agree. A plain agent (no `<`, `%`, tab, line break or double space) is digested as it is,
    as it always was. Without the store's key the digest cannot be tried against guessed addresses.
    Remembered in memory (never stored) for the visitors seen most recently: a sync meets them again.
    """
    text = f"{normal_address(address)}\n{sanitize_text_field(agent)}"
    # "surrogatepass": a lone surrogate escaped in JSON must not stop a sync.
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), key=key,
                           digest_size=VISITOR_DIGEST_BYTES).hexdigest()


def normal_address(address: str) -> str:
    """An IP address in one spelling (IPv4-mapped IPv6 as IPv4); anything else trimmed, lower case.

    A plain dotted IPv4 address is its own spelling already; an IPv6 address is read and written
    back by the C library (`ipaddress` takes 30 µs for one, more than the digest), what it cannot
    read (a zone index, `fe80::1%eth0`) by `ipaddress`.
    """
    text = address.strip()
    if _IPV4.fullmatch(text):
        return text
    bare = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    try:
        packed = socket.inet_pton(socket.AF_INET6, bare)
    except (OSError, ValueError):
        packed = None
    if packed is not None:
        if packed[:12] == _MAPPED:
            return socket.inet_ntop(socket.AF_INET, packed[12:])
        return socket.inet_ntop(socket.AF_INET6, packed)
    try:
        ip = ipaddress.ip_address(bare)
    except ValueError:
        return text.lower()
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


@dataclass
class SyncReport:
    """One poll of one source: what the log line and `check` show."""

    source: str
    records: int = 0  # upstream records read
    events: int = 0  # new events recorded
    quarantined: int = 0  # set by `sync.run_source` from the context's count, whatever a source says
    pages: int = 0
    started: float = field(default_factory=time.monotonic)
    detail: dict[str, Any] = field(default_factory=dict)

    @property
    def duration(self) -> float:
        """Seconds since the poll started."""
        return time.monotonic() - self.started


class SyncContext(Protocol):
    """What the ledger offers a source during one poll."""

    attribution: Attribution
    now: datetime  # the sync's start time (UTC): no cursor may pass it

    def cursor(self, name: str) -> Mapping[str, Any] | None:
        """The state this source committed last time under `name`, or None on a first run."""

    def commit(self, name: str, events: list[Event], cursor: Mapping[str, Any]) -> int:
        """Record `events` and save `cursor` atomically; returns how many events were new."""

    def known(self, keys: Iterable[str]) -> set[str]:
        """Those of `keys` whose events are recorded: stored, or committed earlier in this poll."""

    def same_period(self, a: datetime, b: datetime) -> bool:
        """True when `a` and `b` fall in the same period of every distributor (refund placement)."""

    def quarantine(self, where: str, reason: str, payload: Any = None) -> None:
        """Keep a bad upstream record aside with its reason (shown by `check`); the sync goes on.

        The context counts what it keeps aside (the report's `quarantined`): a source only calls this.
        """

    def progress(self, source: str, page: int, total_pages: int | None, records: int) -> None:
        """Report a page read, for the terminal progress line or the log."""

    def visitor(self, address: str, agent: str) -> str:
        """The visitor digest of a client address and user agent (`visitor_digest` with the store's key).

        A source passes the raw values here and keeps only what comes back.
        """


class Source(Protocol):
    """One upstream adapter: what the registry builds and `sync.run_source`, the worker and `check` use."""

    name: str

    def sync(self, ctx: SyncContext, since: datetime | None = None) -> SyncReport:
        """Read what changed since the committed cursor (or `since`, a backfill) and commit it."""

    def check(self) -> list[tuple[str, bool, str]]:
        """Probe the upstream: (what, ok, detail) rows for `siren-sync check`."""

