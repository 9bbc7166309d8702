"""sources/http.py: pooled session, retries, error messages, paging and secrets (no network, no sleeping)."""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
import responses
from responses import matchers

from siren_sync.errors import AuthError, ConfigError, SyncError
from siren_sync.logs import redact
from siren_sync.sources.http import RetryPolicy, Upstream, parse_retry_after
from tests.support.payloads import CLOUDFLARE_502, KEY, SECRET, UNAUTHENTICATED_401, wp_error

BASE = "https://shop.example/wp-json"
ORDERS = f"{BASE}/wc/v3/orders"


class FakeClock:
    """Monotonic time that only moves when the code under test sleeps."""

    def __init__(self):
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock():
    return FakeClock()


def upstream(clock, base=BASE, auth=(KEY, SECRET), **kw) -> Upstream:
    kw.setdefault("retry", RetryPolicy(attempts=5, total=120, initial=1, maximum=30, jitter=1))
    return Upstream("woocommerce", base, auth=auth, sleep=clock.sleep, clock=clock, rand=lambda: 0.5, **kw)


@responses.activate
def test_json_and_per_request_settings(clock):
    responses.get(ORDERS, json=[{"id": 1}], match=[
        matchers.request_kwargs_matcher({"timeout": (10.0, 30.0), "verify": "/etc/ssl/site-ca.pem"}),
        matchers.header_matcher({"Accept": "application/json"}),
    ])
    up = upstream(clock, verify="/etc/ssl/site-ca.pem")
    data, response = up.request("GET", "wc/v3/orders")
    assert data == [{"id": 1}] and response.status_code == 200
    assert responses.calls[0].request.headers["User-Agent"].startswith("siren-sync/")
    assert clock.sleeps == []


@responses.activate
def test_session_is_reused(clock):
    responses.get(ORDERS, json=[])
    up = upstream(clock)
    session = up.session
    for _ in range(3):
        up.get_json("wc/v3/orders")
    assert up.session is session and up.requests == 3


@responses.activate
def test_429_with_retry_after_seconds(clock):
    responses.get(ORDERS, status=429, json=wp_error("too_many_requests", "Slow down", 429),
                  headers={"Retry-After": "7"})
    responses.get(ORDERS, json=[{"id": 1}])
    assert upstream(clock).get_json("wc/v3/orders") == [{"id": 1}]
    assert clock.sleeps == [7.0]


@responses.activate
def test_429_with_retry_after_http_date(clock):
    when = datetime.now(UTC) + timedelta(seconds=30)
    responses.get(ORDERS, status=429, body="", headers={"Retry-After": format_datetime(when, usegmt=True)})
    responses.get(ORDERS, json=[])
    upstream(clock).get_json("wc/v3/orders")
    assert len(clock.sleeps) == 1 and 27 <= clock.sleeps[0] <= 31


@responses.activate
def test_retry_after_is_capped(clock):
    responses.get(ORDERS, status=503, body="", headers={"Retry-After": "86400"})
    responses.get(ORDERS, json=[])
    up = upstream(clock, retry=RetryPolicy(attempts=3, total=1000, retry_after_cap=45))
    up.get_json("wc/v3/orders")
    assert clock.sleeps == [45]


def test_parse_retry_after():
    now = datetime(2026, 9, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("120", now) == 120
    assert parse_retry_after("Tue, 01 Sep 2026 12:01:00 GMT", now) == 60
    assert parse_retry_after("Tue, 01 Sep 2026 11:00:00 GMT", now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


@responses.activate
def test_503_then_success_with_exponential_backoff(clock):
    responses.get(ORDERS, status=503, body=CLOUDFLARE_502, content_type="text/html")
    responses.get(ORDERS, status=502, body=CLOUDFLARE_502, content_type="text/html")
    responses.get(ORDERS, status=504, body="")
    responses.get(ORDERS, json=[{"id": 3}])
    assert upstream(clock).get_json("wc/v3/orders") == [{"id": 3}]
    assert clock.sleeps == [1.5, 2.5, 4.5]  # 1, 2, 4 plus half the 1 s jitter


@responses.activate
def test_retries_bounded_by_attempts(clock):
    responses.get(ORDERS, status=500, json=wp_error("internal_server_error", "There has been a critical error.", 500))
    with pytest.raises(SyncError) as info:
        upstream(clock, retry=RetryPolicy(attempts=3, total=1000)).get_json("wc/v3/orders")
    assert len(responses.calls) == 3
    assert str(info.value) == ("wc/v3/orders: 500 internal_server_error: There has been a critical error. "
                               "(gave up after 3 attempts)")


@responses.activate
def test_retries_bounded_by_total_time(clock):
    responses.get(ORDERS, status=503, body="", headers={"Retry-After": "40"})
    with pytest.raises(SyncError, match="gave up after 3 attempts"):
        upstream(clock, retry=RetryPolicy(attempts=10, total=100, retry_after_cap=300)).get_json("wc/v3/orders")
    assert clock.sleeps == [40, 40]  # a third wait would pass the 100 s budget


@responses.activate
@pytest.mark.parametrize("status", [400, 404, 409, 410])
def test_no_retry_on_other_4xx(clock, status):
    responses.get(ORDERS, status=status, json=wp_error("rest_invalid_param", "Invalid parameter(s): per_page", status))
    with pytest.raises(SyncError) as info:
        upstream(clock).get_json("wc/v3/orders")
    assert len(responses.calls) == 1 and clock.sleeps == []
    assert isinstance(info.value, SyncError) and info.value.status == status
    assert not isinstance(info.value, AuthError)


@responses.activate
def test_connection_errors_and_timeouts_retried(clock):
    responses.get(ORDERS, body=requests.ConnectionError(
        f"HTTPSConnectionPool(host='shop.example', port=443): Max retries exceeded with url: "
        f"/wp-json/wc/v3/orders?consumer_key={KEY}&consumer_secret={SECRET} (Caused by NewConnectionError("
        f"'Failed to establish a new connection: [Errno 111] Connection refused'))"))
    responses.get(ORDERS, body=requests.ReadTimeout("read timed out"))
    responses.get(ORDERS, json=[])
    assert upstream(clock).get_json("wc/v3/orders") == []
    assert len(clock.sleeps) == 2


@responses.activate
def test_connection_error_message_has_no_secret(clock):
    responses.get(ORDERS, body=requests.ConnectionError(
        f"Max retries exceeded with url: /wp-json/wc/v3/orders?oauth_consumer_key={KEY}&oauth_signature=abc "
        f"(Caused by NewConnectionError('Failed to establish a new connection: [Errno 111] Connection refused'))"))
    with pytest.raises(SyncError) as info:
        upstream(clock, retry=RetryPolicy(attempts=2, total=100)).get_json("wc/v3/orders")
    text = str(info.value)
    assert text.startswith("wc/v3/orders: connection failed: Failed to establish a new connection")
    assert KEY not in text and SECRET not in text and "oauth" not in text
    assert info.value.__cause__ is None and info.value.__suppress_context__


@responses.activate
def test_html_error_page_names_endpoint_and_status(clock):
    responses.get(ORDERS, status=502, body=CLOUDFLARE_502, content_type="text/html")
    with pytest.raises(SyncError) as info:
        upstream(clock, retry=RetryPolicy(attempts=2, total=100)).get_json(
            "wc/v3/orders", {"consumer_key": KEY, "consumer_secret": SECRET, "per_page": 100})
    text = str(info.value)
    assert text.startswith("wc/v3/orders: HTTP 502")
    assert "Bad gateway" in text and "?" not in text and KEY not in text and SECRET not in text


@responses.activate
def test_html_page_with_200_where_json_expected(clock):
    responses.get(ORDERS, body="<html><head><title>Maintenance</title></head><body>Back soon</body></html>",
                  content_type="text/html")
    with pytest.raises(SyncError) as info:
        upstream(clock, retry=RetryPolicy(attempts=2, total=100)).get_json("wc/v3/orders")
    assert "wc/v3/orders: HTTP 200 sent an HTML page where JSON was expected (Maintenance)" in str(info.value)


@responses.activate
def test_malformed_json(clock):
    responses.get(ORDERS, body='[{"id": 1, "total": "10.0', content_type="application/json")
    with pytest.raises(SyncError) as info:
        upstream(clock, retry=RetryPolicy(attempts=3, total=100)).get_json("wc/v3/orders")
    assert str(info.value).startswith("wc/v3/orders: HTTP 200 sent malformed JSON")
    assert "gave up after 3 attempts" in str(info.value)


@responses.activate
def test_truncated_then_whole_page(clock):
    responses.get(ORDERS, body='[{"id": 1', content_type="application/json")
    responses.get(ORDERS, json=[{"id": 1}])
    assert upstream(clock).get_json("wc/v3/orders") == [{"id": 1}]


@responses.activate
def test_wordpress_error_json_is_shown(clock):
    responses.get(ORDERS, status=403, json=wp_error("rest_forbidden", "Sorry, you are not allowed to do that.", 403))
    with pytest.raises(AuthError) as info:
        upstream(clock).get_json("wc/v3/orders")
    assert str(info.value) == "wc/v3/orders: 403 rest_forbidden: Sorry, you are not allowed to do that."
    assert info.value.code == "rest_forbidden"


@responses.activate
def test_401_is_auth_error_without_secrets(clock, caplog):
    caplog.set_level(logging.DEBUG)
    responses.get(ORDERS, status=401, json=UNAUTHENTICATED_401)
    with pytest.raises(AuthError) as info:
        upstream(clock).get_json("wc/v3/orders", {"per_page": 1})
    text = str(info.value)
    assert text == "wc/v3/orders: 401 woocommerce_rest_cannot_view: Sorry, you cannot list resources."
    assert len(responses.calls) == 1
    for secret in (KEY, SECRET):
        assert secret not in text and secret not in caplog.text


@responses.activate
def test_error_message_echoing_a_secret_is_redacted(clock):
    responses.get(ORDERS, status=401, json=wp_error("woocommerce_rest_authentication_error",
                                                    f"Consumer key {KEY} is invalid.", 401))
    with pytest.raises(AuthError) as info:
        upstream(clock).get_json("wc/v3/orders")
    assert KEY not in str(info.value) and "***" in str(info.value)


def test_redact():
    text = f"GET /wc/v3/orders?per_page=1&consumer_key={KEY}&consumer_secret={SECRET}&oauth_signature=x%2B&page=2"
    cleaned = redact(text)
    assert KEY not in cleaned and SECRET not in cleaned and "x%2B" not in cleaned
    assert "per_page=1" in cleaned and "page=2" in cleaned
    assert redact(f"token {SECRET} here", (SECRET,)) == "token *** here"


@pytest.mark.parametrize("base", ["http://shop.example/wp-json", "http://10.0.0.5/wp-json"])
def test_basic_auth_over_plain_http_refused(clock, base):
    with pytest.raises(ConfigError, match="Basic auth over plain http"):
        upstream(clock, base=base, auth=("admin", "app pass word"))


@pytest.mark.parametrize("base", ["http://localhost:8080/wp-json", "http://127.0.0.1/wp-json",
                                  "http://[::1]:8000/wp-json", "https://shop.example/wp-json"])
def test_basic_auth_allowed_on_loopback_and_https(clock, base):
    assert upstream(clock, base=base, auth=("admin", "app pass word")).auth is not None


def test_no_auth_over_http_is_fine(clock):
    assert upstream(clock, base="http://shop.example/wp-json", auth=None).auth is None


@responses.activate
def test_debug_log_line_per_request_without_query(clock, caplog):
    caplog.set_level(logging.DEBUG, logger="siren_sync.http")
    responses.get(ORDERS, status=503, body="")
    responses.get(ORDERS, json=[])
    upstream(clock).get_json("wc/v3/orders", {"consumer_key": KEY, "per_page": 100})
    lines = [r.getMessage() for r in caplog.records if r.name == "siren_sync.http"]
    assert any(line.startswith("GET wc/v3/orders 503 ") for line in lines)
    assert any(line.startswith("GET wc/v3/orders 200 ") for line in lines)
    assert any("retry 1/4" in line for line in lines)
    assert KEY not in caplog.text and "per_page" not in caplog.text


@responses.activate
def test_pages_follow_page_numbers_not_links(clock):
    for page, items in ((1, [{"id": 1}, {"id": 2}]), (2, [{"id": 3}, {"id": 4}]), (3, [{"id": 5}])):
        responses.get(ORDERS, json=items, headers={
            "X-WP-Total": "5", "X-WP-TotalPages": "3",
            "Link": f'<http://shop.example/wp-json/wc/v3/orders?page={page + 1}>; rel="next"'},
            match=[matchers.query_param_matcher({"page": str(page), "per_page": "2", "status": "any"})])
    pages = list(upstream(clock).pages("wc/v3/orders", {"status": "any"}, per_page=2))
    assert [p.number for p in pages] == [1, 2, 3]
    assert [i["id"] for p in pages for i in p.items] == [1, 2, 3, 4, 5]
    assert pages[0].total == 5 and pages[0].total_pages == 3
    assert all(c.request.url.startswith("https://") for c in responses.calls)


@responses.activate
def test_per_page_capped_at_100(clock):
    responses.get(ORDERS, json=[], headers={"X-WP-Total": "0", "X-WP-TotalPages": "0"},
                  match=[matchers.query_param_matcher({"page": "1", "per_page": "100"})])
    pages = list(upstream(clock).pages("wc/v3/orders", per_page=500))
    assert len(pages) == 1 and pages[0].items == []


@responses.activate
def test_full_last_page_stops_on_total_pages(clock):
    responses.get(ORDERS, json=[{"id": 1}, {"id": 2}], headers={"X-WP-Total": "2", "X-WP-TotalPages": "1"})
    assert len(list(upstream(clock).pages("wc/v3/orders", per_page=2))) == 1
    assert len(responses.calls) == 1


@responses.activate
def test_object_where_list_expected(clock):
    responses.get(ORDERS, json={"id": 1})
    with pytest.raises(SyncError, match="wc/v3/orders: HTTP 200 sent a JSON dict where a list was expected"):
        upstream(clock).page("wc/v3/orders")


@responses.activate
def test_post_is_not_retried_on_503(clock):
    responses.post(f"{BASE}/wp/v2/posts", status=503, body="")
    with pytest.raises(SyncError, match="wp/v2/posts: HTTP 503"):
        upstream(clock).request("POST", "wp/v2/posts", json_body={"title": "x"})
    assert len(responses.calls) == 1


@responses.activate
def test_post_retried_on_429(clock):
    responses.post(f"{BASE}/wp/v2/posts", status=429, body="", headers={"Retry-After": "2"})
    responses.post(f"{BASE}/wp/v2/posts", status=201, json={"id": 5})
    assert upstream(clock).request("POST", "wp/v2/posts", json_body={"title": "x"})[0] == {"id": 5}
    assert clock.sleeps == [2.0]


def test_no_secret_in_reprs_or_endpoint_names(clock):
    """What may reach a log line or an error: the upstream's reprs and the endpoint names (no query)."""
    up = upstream(clock)
    named = up.endpoint(f"/wc/v3/orders?consumer_key={KEY}&consumer_secret={SECRET}")
    assert named == "wc/v3/orders"
    for text in (repr(up), repr(up.auth), repr(up.retry), repr(up.session)):
        assert KEY not in text and SECRET not in text


@responses.activate
def test_short_page_is_not_last_when_total_pages_says_more(clock):
    # a host that caps per_page below what we asked for: follow X-WP-TotalPages, not the page size
    responses.get(ORDERS, json=[{"id": 1}], headers={"X-WP-Total": "2", "X-WP-TotalPages": "2"},
                  match=[matchers.query_param_matcher({"page": "1", "per_page": "100"})])
    responses.get(ORDERS, json=[{"id": 2}], headers={"X-WP-Total": "2", "X-WP-TotalPages": "2"},
                  match=[matchers.query_param_matcher({"page": "2", "per_page": "100"})])
    assert [i["id"] for p in upstream(clock).pages("wc/v3/orders") for i in p.items] == [1, 2]


# -- the environment, read once ----------------------------------------------------------------------

@responses.activate
def test_environment_is_read_once_not_per_request(clock, monkeypatch):
    import requests.sessions

    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    up = upstream(clock)
    assert up.session.proxies.get("https") == "http://proxy.example:3128"  # users behind a proxy keep it
    calls = []
    real = requests.sessions.get_environ_proxies
    monkeypatch.setattr(requests.sessions, "get_environ_proxies", lambda *a, **k: calls.append(a) or real(*a, **k))
    responses.get(ORDERS, json=[])
    for _ in range(3):
        up.request("GET", "wc/v3/orders")
    assert calls == []


def test_no_proxy_and_loopback_bypass_the_proxy(clock, monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
    assert "http" not in upstream(clock, base="http://127.0.0.1:8080/wp-json", auth=None).session.proxies
    assert upstream(clock, base="http://shop.example/wp-json", auth=None).session.proxies["http"] == \
        "http://proxy.example:3128"


@responses.activate
def test_ca_bundle_from_the_environment_still_applies(clock, monkeypatch):
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corporate.pem")
    responses.get(ORDERS, json=[])
    from_env = upstream(clock)
    from_env.request("GET", "wc/v3/orders")
    # an explicit verify (site.verify_tls) wins over the environment, as with requests
    upstream(clock, verify="/etc/ssl/site-ca.pem").request("GET", "wc/v3/orders")
    sent = [call.request.req_kwargs["verify"] for call in responses.calls]
    assert sent == ["/etc/ssl/corporate.pem", "/etc/ssl/site-ca.pem"]
    assert from_env.verify == "/etc/ssl/corporate.pem"


@responses.activate
def test_abort_stops_retries(clock):
    import threading

    responses.get(ORDERS, status=503, body="busy")
    abort = threading.Event()
    clock.sleep = lambda seconds: abort.set()  # the caller gives up while we wait to retry
    up = upstream(clock)
    with pytest.raises(SyncError, match="gave up after|cancelled"):
        up.request("GET", "wc/v3/orders", abort=abort)
    assert len(responses.calls) == 1
