"""One pooled HTTP session per upstream: timeouts, bounded retries, JSON guarding and WordPress paging.

Every source talks to its site through an `Upstream`. It owns one `requests.Session` (connections are
reused), sends `verify` and the (connect, read) timeout on every request, and retries with tenacity
on connection errors, timeouts, 429, 500, 502, 503 and 504: exponential backoff with jitter, honouring
`Retry-After` (delta-seconds or an HTTP-date, capped), bounded both in attempts and in total time.
Other 4xx are not retried. What the site answers is turned into one-line `SyncError`s that name the
endpoint (the path below the REST root, never the full URL) and the status, for example
`wc/v3/orders: 403 rest_forbidden: Sorry, you are not allowed to do that.`; 401 and 403 raise
`AuthError`. No secret reaches a log line or an exception: query strings are never printed, known
secret values and `consumer_*` / `oauth_*` parameters are scrubbed from any text we pass on, and
Basic auth over plain `http://` is refused unless the host is loopback (DESIGN section 5).
"""
from __future__ import annotations

import email.utils
import ipaddress
import json
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.auth import HTTPBasicAuth
from requests.utils import get_environ_proxies, get_netrc_auth
from tenacity import RetryCallState, Retrying, retry_if_exception

from siren_sync.errors import AuthError, ConfigError, RetriableSyncError, SyncError
from siren_sync.logs import redact

log = logging.getLogger("siren_sync.http")

USER_AGENT = "siren-sync/0.1 (+https://github.com/siren-sync)"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_PER_PAGE = 100  # WordPress and WooCommerce refuse larger pages with 400 rest_invalid_param


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try: bounded in attempts and in total seconds (waits included)."""

    attempts: int = 5
    total: float = 120.0
    initial: float = 1.0  # first backoff, doubled each attempt
    maximum: float = 30.0  # backoff ceiling (before jitter)
    jitter: float = 1.0  # up to this many random seconds added to each backoff
    retry_after_cap: float = 120.0  # never wait longer than this, whatever Retry-After says

    def backoff(self, attempt: int, rand: Callable[[], float] = random.random) -> float:
        """The wait after failed attempt number `attempt` (1-based) without a Retry-After."""
        return min(self.maximum, self.initial * 2.0 ** (attempt - 1)) + self.jitter * rand()


def _failure(endpoint: str, message: str, *, status: int | None = None, code: str | None = None,
             retryable: bool = False, retry_after: float | None = None) -> SyncError:
    """The error of one failed request: 401/403 refuse our credentials, a transient failure may pass."""
    if status in (401, 403):
        return AuthError(message, endpoint=endpoint, status=status, code=code)
    cls = RetriableSyncError if retryable else SyncError
    return cls(message, endpoint=endpoint, status=status, code=code, retry_after=retry_after)


@dataclass
class Page:
    """One page of a WordPress collection and what its headers say about the rest."""

    items: list[Any]
    number: int
    per_page: int
    total: int | None  # X-WP-Total
    total_pages: int | None  # X-WP-TotalPages
    response: requests.Response

    @property
    def last(self) -> bool:
        """No page after this one: X-WP-TotalPages says so, or (without it) the page is short."""
        if not self.items:
            return True
        if self.total_pages is not None:
            return self.number >= self.total_pages
        return len(self.items) < self.per_page


def is_loopback(host: str) -> bool:
    """`localhost` (and `*.localhost`) or a loopback address: where plain http may carry a password."""
    host = (host or "").strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or an HTTP-date); None if unusable."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = now or datetime.now(UTC)
    return max(0.0, (when - now).total_seconds())


def _one_line(text: object, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _html_title(text: str) -> str:
    match = re.search(r"<title[^>]*>(.*?)</title>", text, re.I | re.S)
    return _one_line(match.group(1), 80) if match else ""


def _int_header(response: requests.Response, name: str) -> int | None:
    try:
        return int(response.headers[name])
    except (KeyError, ValueError):
        return None


TIMEOUT = (10.0, 30.0)  # (connect, read) seconds of every request unless an upstream is given others

class Upstream:
    """One site (or one API root) behind one pooled session.

    `base_url` is the REST root (`https://shop.example/wp-json`); paths are relative to it
    (`wc/v3/orders`) and are what errors and logs call the endpoint. `auth` is anything `requests`
    accepts: a `(user, password)` tuple (Basic) or an `AuthBase` such as an OAuth signer, applied
    again on every attempt so signatures and nonces are fresh. `sleep` and `clock` are injectable so
    tests never sleep; `rand` drives the jitter.
    """

    def __init__(self, name: str, base_url: str, auth: Any = None, verify: bool | str = True,
                 timeout: float | tuple[float, float] = TIMEOUT, user_agent: str = USER_AGENT,
                 retry: RetryPolicy | None = None, secrets: tuple[str, ...] = (),
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 rand: Callable[[], float] = random.random, session: requests.Session | None = None):
        self.name = name
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{name}: {self.base_url!r} is not an http(s) URL")
        if isinstance(auth, (tuple, list)):
            auth = HTTPBasicAuth(*auth)
        if isinstance(auth, HTTPBasicAuth) and parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ConfigError(
                f"{name}: refusing to send a password with Basic auth over plain http:// to "
                f"{parts.hostname}; use https:// (plain http is only allowed on loopback)")
        self.session = session or requests.Session()
        if self.session.trust_env:
            # What requests would look up in the environment on every request (proxies, NO_PROXY,
            # the CA bundle, ~/.netrc; ~1 ms a request), read once: every request goes to this host.
            self.session.trust_env = False
            proxies = get_environ_proxies(self.base_url)
            for scheme, proxy in proxies.items():
                self.session.proxies.setdefault(scheme, proxy)
            if verify is True:
                verify = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
            if auth is None:
                auth = get_netrc_auth(self.base_url)
                if auth:
                    auth = HTTPBasicAuth(*auth)
        self.auth = auth
        self.verify = verify
        self.timeout = timeout if isinstance(timeout, tuple) else (min(10.0, float(timeout)), float(timeout))
        self.retry = retry or RetryPolicy()
        self.secrets = tuple(s for s in secrets if s)
        if isinstance(auth, HTTPBasicAuth):
            self.secrets += tuple(s.decode("latin-1") if isinstance(s, bytes) else s
                                  for s in (auth.username, auth.password) if s)
        self._sleep = sleep
        self._clock = clock
        self._rand = rand
        self.session.headers.update({"User-Agent": user_agent, "Accept": "application/json"})
        adapter = HTTPAdapter(pool_connections=2, pool_maxsize=4, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.requests = 0  # requests sent, retries included (for benchmarks and tests)
        self._count_lock = threading.Lock()  # a source may read ahead on a thread

    # -- plumbing ---------------------------------------------------------------------------

    def close(self) -> None:
        """Close the pooled connections."""
        self.session.close()

    def __enter__(self) -> Upstream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def endpoint(self, path: str) -> str:
        """The name errors and logs use: the path below the REST root, without any query."""
        return path.split("?", 1)[0].strip("/") or self.base_url  # the REST index: name the site

    def url(self, path: str) -> str:
        """The full URL of `path` (its query left to `params`)."""
        return f"{self.base_url}/{path.split('?', 1)[0].lstrip('/')}"

    def _redact(self, text: object) -> str:
        return redact(text, self.secrets)

    # -- requests ---------------------------------------------------------------------------

    def request(self, method: str, path: str, params: Mapping[str, Any] | None = None,
                json_body: Any = None, expect_json: bool = True,
                idempotent: bool | None = None,
                abort: threading.Event | None = None,
                retry: RetryPolicy | None = None) -> tuple[Any, requests.Response]:
        """Send one request with retries; returns (decoded JSON or None, response).

        Non-idempotent requests (POST unless told otherwise) are retried only on 429 and connect
        timeouts, where the site cannot have acted on them. Once `abort` is set (a request made
        ahead on a thread for a caller that has stopped) no further attempt is made. `retry`
        replaces the upstream's policy for this request (a request the caller can do without).
        """
        method = method.upper()
        endpoint = self.endpoint(path)
        rules = _RetryRules(method, endpoint, method != "POST" if idempotent is None else idempotent,
                            retry or self.retry, abort, self._clock, self._rand)
        sleep = self._sleep
        if abort is not None and sleep is time.sleep:
            sleep = _waiting_on(abort)  # a real wait that ends when the caller gives up
        retrying = rules.retrying(sleep)
        try:
            for attempt in retrying:
                with attempt:
                    if abort is not None and abort.is_set() and attempt.retry_state.attempt_number > 1:
                        raise SyncError("cancelled (the sync stopped)", endpoint=endpoint)
                    return self._attempt(method, path, endpoint, params, json_body, expect_json)
        except SyncError as exc:
            tries = retrying.statistics.get("attempt_number", 1)
            if exc.retryable and tries > 1:
                raise type(exc)(f"{exc.detail} (gave up after {tries} attempts)", endpoint=exc.endpoint,
                                status=exc.status, code=exc.code) from None
            raise
        raise AssertionError("unreachable")  # pragma: no cover

    def _attempt(self, method: str, path: str, endpoint: str, params: Mapping[str, Any] | None,
                 json_body: Any, expect_json: bool) -> tuple[Any, requests.Response]:
        t0 = self._clock()
        with self._count_lock:
            self.requests += 1
        try:
            response = self.session.request(method, self.url(path), params=params, json=json_body,
                                            auth=self.auth, verify=self.verify, timeout=self.timeout,
                                            allow_redirects=True)
        except requests.ConnectTimeout:
            log.debug("%s %s failed after %.3fs: connect timeout", method, endpoint, self._clock() - t0)
            raise _failure(endpoint, "connect timeout", code="connect-timeout", retryable=True) from None
        except requests.Timeout:
            log.debug("%s %s failed after %.3fs: read timeout", method, endpoint, self._clock() - t0)
            raise _failure(endpoint, f"no answer within {self.timeout[1]:g}s (read timeout)",
                                code="timeout", retryable=True) from None
        except requests.exceptions.SSLError as exc:
            raise _failure(endpoint, f"TLS error: {_one_line(self._redact(exc), 200)} (see site.verify_tls)"
                                ) from None
        except requests.ConnectionError as exc:
            log.debug("%s %s failed after %.3fs: connection error", method, endpoint, self._clock() - t0)
            raise _failure(endpoint, f"connection failed: {_one_line(self._redact(_root_cause(exc)), 200)}",
                                code="connection", retryable=True) from None
        except requests.RequestException as exc:
            raise _failure(endpoint, f"request failed: {_one_line(self._redact(exc), 200)}") from None
        elapsed = self._clock() - t0
        status = response.status_code
        log.debug("%s %s %d %.3fs", method, endpoint, status, elapsed)
        if status >= 400:
            raise self._error(endpoint, response)
        if not expect_json or status == 204 or method == "HEAD":
            return None, response
        return self._decode(endpoint, response), response

    def _decode(self, endpoint: str, response: requests.Response) -> Any:
        text = response.text
        status = response.status_code
        if _looks_like_html(response, text):
            title = _html_title(text)
            raise _failure(endpoint, f"HTTP {status} sent an HTML page where JSON was expected"
                                + (f" ({self._redact(title)})" if title else ""), status=status,
                                code="html", retryable=True)
        try:
            return json.loads(text)
        except ValueError as exc:
            raise _failure(endpoint, f"HTTP {status} sent malformed JSON ({_one_line(exc, 100)}, "
                                f"{len(text)} bytes)", status=status, code="malformed-json",
                                retryable=True) from None

    def _error(self, endpoint: str, response: requests.Response) -> SyncError:
        status = response.status_code
        retryable = status in RETRY_STATUSES
        retry_after = parse_retry_after(response.headers.get("Retry-After")) if retryable else None
        code = message = None
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("code"), str):
            code = body["code"]
            message = _one_line(self._redact(body.get("message") or ""), 200)
        if code:
            text = f"{status} {code}: {message}" if message else f"{status} {code}"
        else:
            reason = response.reason or ""
            title = _html_title(response.text or "") if _looks_like_html(response, response.text or "") else ""
            text = f"HTTP {status} {reason}".rstrip()
            if title and title.lower() not in text.lower():
                text += f" ({self._redact(title)})"
        return _failure(endpoint, text, status=status, code=code, retryable=retryable, retry_after=retry_after)

    # -- helpers ----------------------------------------------------------------------------

    def get_json(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        """GET `path` and return its decoded JSON."""
        return self.request("GET", path, params)[0]

    def page(self, path: str, params: Mapping[str, Any] | None = None, page: int = 1,
             per_page: int = MAX_PER_PAGE, abort: threading.Event | None = None) -> Page:
        """One page of a collection, with `page` and `per_page` (at most 100) set."""
        per_page = max(1, min(MAX_PER_PAGE, int(per_page)))
        query = dict(params or {})
        query.update({"page": page, "per_page": per_page})
        data, response = self.request("GET", path, query, abort=abort)
        if not isinstance(data, list):
            raise _failure(self.endpoint(path), f"HTTP {response.status_code} sent a JSON "
                                f"{type(data).__name__} where a list was expected", status=response.status_code)
        return Page(items=data, number=page, per_page=per_page, total=_int_header(response, "X-WP-Total"),
                    total_pages=_int_header(response, "X-WP-TotalPages"), response=response)

    def pages(self, path: str, params: Mapping[str, Any] | None = None, per_page: int = MAX_PER_PAGE,
              start: int = 1) -> Iterator[Page]:
        """Every page of a collection, by page number (never by the `Link` URLs, which a TLS proxy
        may rewrite to http://), until a short page or X-WP-TotalPages."""
        number = start
        while True:
            current = self.page(path, params, number, per_page)
            yield current
            if current.last:
                return
            number += 1


class _RetryRules:
    """When one request is tried again and how long it waits first: tenacity's callbacks.

    A failure is retried when it may pass (`RetriableSyncError`) and the request is idempotent, or
    the site cannot have acted on it (429, a connect timeout); `Retry-After` beats the backoff (up to
    its cap); attempts and total seconds (waits included) are bounded; a set `abort` stops at once.
    """

    def __init__(self, method: str, endpoint: str, idempotent: bool, policy: RetryPolicy,
                 abort: threading.Event | None, clock: Callable[[], float], rand: Callable[[], float]):
        self.method = method
        self.endpoint = endpoint
        self.idempotent = idempotent
        self.policy = policy
        self.abort = abort
        self.clock = clock
        self.rand = rand
        self.started = clock()

    def retrying(self, sleep: Callable[[float], None]) -> Retrying:
        """The tenacity loop of one request."""
        return Retrying(stop=self.stop, wait=self.wait, retry=retry_if_exception(self.retryable), sleep=sleep,
                        before_sleep=self.before_sleep, reraise=True)

    def stop(self, state: RetryCallState) -> bool:
        """No further attempt: attempts spent, aborted, or the next wait would pass the total budget."""
        if state.attempt_number >= self.policy.attempts or (self.abort is not None and self.abort.is_set()):
            return True
        return (self.clock() - self.started) + (state.upcoming_sleep or 0.0) > self.policy.total

    def wait(self, state: RetryCallState) -> float:
        """What the site asked for (`Retry-After`, capped), else the policy's backoff."""
        after = getattr(_outcome_error(state), "retry_after", None)
        if after is not None:
            return float(min(after, self.policy.retry_after_cap))
        return self.policy.backoff(state.attempt_number, self.rand)

    def retryable(self, exc: BaseException) -> bool:
        """A failure that may pass, on a request the site cannot have acted on twice."""
        if not isinstance(exc, SyncError) or not exc.retryable:
            return False
        return self.idempotent or exc.status == 429 or exc.code == "connect-timeout"

    def before_sleep(self, state: RetryCallState) -> None:
        """A warning per retry, so a slow sync says why it is slow."""
        error = _outcome_error(state)
        log.warning("%s %s: %s; retry %d/%d in %.1fs", self.method, self.endpoint,
                    error.detail if isinstance(error, SyncError) else error, state.attempt_number,
                    self.policy.attempts - 1, state.upcoming_sleep)


def _outcome_error(state: RetryCallState) -> BaseException | None:
    """The exception the last attempt raised (None if it returned)."""
    return state.outcome.exception() if state.outcome is not None else None


def _waiting_on(abort: threading.Event) -> Callable[[float], None]:
    """A sleep that ends early once `abort` is set."""
    def sleep(seconds: float) -> None:
        """Wait `seconds`, or less if the caller gives up."""
        abort.wait(seconds)
    return sleep


def _looks_like_html(response: requests.Response, text: str) -> bool:
    ctype = response.headers.get("Content-Type", "").lower()
    head = text.lstrip()[:100].lower()
    return "html" in ctype or head.startswith("<!doctype") or head.startswith("<html")


def _root_cause(exc: BaseException) -> str:
    """The innermost reason of a requests ConnectionError, without the URL it wraps."""
    text = str(exc)
    match = re.search(r"(Failed to establish a new connection: [^)'\"]+|Connection refused|Name or service "
                      r"not known|Temporary failure in name resolution|Connection reset by peer|"
                      r"Remote end closed connection without response|Connection aborted)", text)
    return match.group(1) if match else type(exc).__name__
