"""Authentication as a plain-http WordPress + WooCommerce site does it.

* `wc/*` routes: OAuth 1.0a one-legged, verified like WooCommerce's `WC_REST_Authentication`: the
  parameters come from the query string (PHP `$_GET` semantics: the last duplicate wins, `a[]`
  builds arrays) and an `Authorization: OAuth ...` header; the base string is
  `METHOD&rawurlencode(home_url + path)&` + the sorted parameters, each `rawurlencode`d twice
  (`key%3Dvalue`, joined with `%26`); the key is `consumer_secret&`; HMAC-SHA1 or -SHA256. The
  timestamp must be within 15 minutes of the server's real clock (clients sign with `time.time()`,
  not with the simulated clock), and a nonce is single use.
* HTTP Basic with the consumer key and secret is only honoured over HTTPS by WooCommerce: on a
  site whose URL is https (a site served in process to tests) the key's secret is checked; over
  plain http it is ignored and the request is anonymous: a 401 from the route. OAuth is for plain
  http only.
* WordPress application passwords (Basic `user:app password`, spaces ignored) work on every route,
  since the sandbox's environment type is `local`.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, unquote_plus

from siren_sync.sandbox.site import User

OAUTH_PARAMS = ("oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature",
                "oauth_signature_method")
WINDOW = 15 * 60


class AuthError(Exception):
    """A credential was given and is wrong: WordPress answers 401 before any route runs."""

    def __init__(self, code: str, message: str, status: int = 401):
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


def rawurlencode(value: str) -> str:
    return quote(value, safe="~")  # PHP rawurlencode: everything but A-Za-z0-9 -_.~


def php_query(query: str) -> dict[str, Any]:
    """Parse a query string like PHP's `$_GET`: last duplicate wins, `k[]` / `k[x]` make arrays."""
    out: dict[str, Any] = {}
    if not query:
        return out
    for part in query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        key, value = unquote_plus(key), unquote_plus(value)
        if "[" in key and key.index("[") > 0 and key.endswith("]"):
            base, rest = key[:key.index("[")], key[key.index("["):]
            subs = [s for s in rest[1:-1].split("][")]
            target = out.get(base)
            if not isinstance(target, dict):
                target = out[base] = {}
            for n, sub in enumerate(subs):
                last = n == len(subs) - 1
                if sub == "":
                    sub = str(len([k for k in target if k.isdigit()]))
                if last:
                    target[sub] = value
                else:
                    nxt = target.get(sub)
                    if not isinstance(nxt, dict):
                        nxt = target[sub] = {}
                    target = nxt
        else:
            out[key.replace(".", "_").replace(" ", "_")] = value
    return out


def _join(params: dict[str, Any], prefix: str = "") -> list[str]:
    pairs: list[str] = []
    for key, value in params.items():
        name = f"{prefix}%5B{key}%5D" if prefix else key
        if isinstance(value, dict):
            pairs.extend(_join(value, name))
        else:
            pairs.append(rawurlencode(f"{name}={value}"))
    return pairs


def _normalize(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _normalize(v) for k, v in value.items()}
    return rawurlencode(str(value))


def signature(method: str, url: str, params: dict[str, Any], secret: str, algorithm: str = "sha256") -> str:
    """The signature WooCommerce expects for `params` (without `oauth_signature`)."""
    items = sorted(((k, v) for k, v in params.items() if k != "oauth_signature"),
                   key=lambda kv: kv[0].encode())
    normalized = {rawurlencode(k): _normalize(v) for k, v in items}
    base = f"{method.upper()}&{rawurlencode(url)}&" + "%26".join(_join(normalized))
    digest = hmac.new(f"{secret}&".encode(), base.encode(), getattr(hashlib, algorithm)).digest()
    return base64.b64encode(digest).decode()


def parse_oauth_header(header: str) -> dict[str, str]:
    header = header.strip()
    if not header.startswith("OAuth "):
        return {}
    out = {}
    for part in header[6:].split(","):
        key, _, value = part.strip().partition("=")
        if key.startswith("oauth_"):
            out[key] = unquote(value.strip().strip('"'))
    return out


@dataclass
class Principal:
    user_id: int
    via: str  # "oauth" | "basic" | "application-password"


class Authenticator:
    """Checks the credentials of one request against the site's keys and users."""

    def __init__(self, *, consumer_key: str, consumer_secret: str, key_user: int = 1,
                 clock: Callable[[], float] = time.time):
        self.consumer_key = consumer_key
        self.consumer_secret = consumer_secret
        self.key_user = key_user
        self.clock = clock
        self._nonces: dict[str, int] = {}
        self._lock = threading.Lock()

    def oauth(self, method: str, url: str, query: dict[str, Any], header: str | None) -> Principal | None:
        """None when the request does not try OAuth; raises AuthError when it tries and fails."""
        params = dict(query)
        if header:
            params.update(parse_oauth_header(header))
        missing = [p for p in OAUTH_PARAMS if not params.get(p)]
        if len(missing) == len(OAUTH_PARAMS):
            return None
        if missing:
            noun = "parameter" if len(missing) == 1 else "parameters"
            raise AuthError("woocommerce_rest_authentication_missing_parameter",
                            f"Missing OAuth {noun} {', '.join(missing)}")
        self._check_signature(method, url, params)
        self._use_nonce(params)
        return Principal(self.key_user, "oauth")

    def _check_signature(self, method: str, url: str, params: dict[str, Any]) -> None:
        if params["oauth_consumer_key"] != self.consumer_key:
            raise AuthError("woocommerce_rest_authentication_error", "Consumer key is invalid.")
        sig_method = params["oauth_signature_method"]
        if sig_method not in ("HMAC-SHA1", "HMAC-SHA256"):
            raise AuthError("woocommerce_rest_authentication_error",
                            "Invalid signature - signature method is invalid.")
        given = str(params["oauth_signature"]).replace(" ", "+")
        expected = signature(method, url, params, self.consumer_secret, sig_method[5:].lower())
        if not hmac.compare_digest(expected, given):
            raise AuthError("woocommerce_rest_authentication_error",
                            "Invalid signature - provided signature does not match.")

    def _use_nonce(self, params: dict[str, Any]) -> None:
        """The timestamp must be within 15 minutes of the real clock, and the nonce new."""
        try:
            ts = int(params["oauth_timestamp"])
        except ValueError:
            raise AuthError("woocommerce_rest_authentication_error", "Invalid timestamp.") from None
        now = int(self.clock())
        if ts < now - WINDOW or ts > now + WINDOW:
            raise AuthError("woocommerce_rest_authentication_error", "Invalid timestamp.")
        nonce = str(params["oauth_nonce"])
        with self._lock:
            if nonce in self._nonces:
                raise AuthError("woocommerce_rest_authentication_error",
                                "Invalid nonce - nonce has already been used.")
            self._nonces[nonce] = ts
            if len(self._nonces) > 10_000:
                self._nonces = {n: t for n, t in self._nonces.items() if t >= now - WINDOW}

    def check_key(self, key: str, secret: str) -> Principal | None:
        """Basic auth with a consumer key over HTTPS: None for a key the site does not have (the
        request stays anonymous); AuthError when the key is the site's and the secret is not."""
        if key != self.consumer_key:
            return None
        if not hmac.compare_digest(secret, self.consumer_secret):
            raise AuthError("woocommerce_rest_authentication_error", "Consumer secret is invalid.")
        return Principal(self.key_user, "basic")

    @staticmethod
    def basic(header: str | None) -> tuple[str, str] | None:
        if not header or not header.startswith("Basic "):
            return None
        try:
            raw = base64.b64decode(header[6:].strip()).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None
        user, sep, password = raw.partition(":")
        return (user, password) if sep else None

    def application_password(self, users: Iterable[User], username: str, password: str) -> Principal:
        """Check a Basic `user:application password` against the users (by login or email)."""
        found = None
        for u in users:
            if u.username == username or u.email == username:
                found = u
                break
        if found is None:
            if "@" in username:
                raise AuthError("invalid_email", "Unknown email address. Check again or try your username.")
            raise AuthError("invalid_username", "Unknown username. Check again or try your email address.")
        given = password.replace(" ", "")
        if not found.app_password or not hmac.compare_digest(found.app_password, given):
            raise AuthError("incorrect_password", "The provided password is an invalid application password.")
        return Principal(found.id, "application-password")
