"""Publishing closed distributions to the site (HTTP mocked with `responses`): what the site
receives, exactly once whatever crashes happen, and what a site owner sees when the site refuses."""

from __future__ import annotations

import base64
import json
import logging
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses

from siren_sync.app import open_app
from siren_sync.cli import main
from siren_sync.config import load_config
from siren_sync.publish import Publisher
from siren_sync.sources.http import Upstream
from tests.support.e2e import wait_until
from tests.support.loopback import rest, wp_session
from tests.support.payloads import wp_error

URL = "http://127.0.0.1:8765"
POSTS = re.compile(re.escape(f"{URL}/wp-json/wp/v2/posts") + r"(\?.*)?$")
POST = re.compile(re.escape(f"{URL}/wp-json/wp/v2/posts/") + r"\d+$")
USER = "siren-bot"
PASSWORD = "abcd EFGH ijkl MNOP qrst UVWX"  # a WordPress application password
SLUG = "siren-sync-weeklybonus-20261109t0500"  # period end 2026-11-09 00:00 New York = 05:00 UTC

CONFIG = """
site:
  url: "{url}"
  timezone: America/New_York
  wordpress: {{user: "${{SIREN_WP_USER}}", application_password: "${{SIREN_WP_APP_PASSWORD}}"}}
store: {{path: store/siren.json}}
sync: {{woocommerce: {{enabled: false}}}}
collaborators:
  - {{id: alice, name: Alice Martin, email: alice@example.com}}
  - {{id: bob, name: "Bob <Builder> & Co", email: bob@example.com}}
distributors:
  weeklyBonus:
    name: Weekly Bonus
    distributionResolver: performanceSharedPool
    units: USD
    schedule: ["+1 week"]
    startsAt: 2026-11-02
    engagementTypes: {{manual: 1}}
    revenuePercentage: 10
"""

EVENTS = [
    {"key": "t:alice", "type": "manual", "collaborator": "alice", "at": "2026-11-03T12:00:00+00:00", "quantity": 3},
    {"key": "t:bob", "type": "manual", "collaborator": "bob", "at": "2026-11-04T12:00:00+00:00", "quantity": 1},
    {"key": "t:sale", "type": "sale", "at": "2026-11-05T12:00:00+00:00", "revenue": "400.00"},
    {"key": "t:alice2", "type": "manual", "collaborator": "alice", "at": "2026-11-10T12:00:00+00:00", "quantity": 1},
    {"key": "t:sale2", "type": "sale", "at": "2026-11-10T12:00:00+00:00", "revenue": "50.00"},
]


class Wall:
    """Real time as `publish()` shows it to the publisher, moved by hand (a read timeout moves it by 30 s)."""

    def __init__(self) -> None:
        self.now = float(int(time.time()))  # whole seconds, as the outbox keeps them; `site.run` reads the real clock

    def __call__(self) -> float:
        return self.now


class FakeSite:
    """`wp/v2/posts` as WordPress answers it: slug lookup, create, and refusals on demand."""

    def __init__(self, rsps):
        self.posts: list[dict] = []
        self.created: list[dict] = []  # bodies of successful POSTs
        self.lookups: list[dict] = []
        self.post_answers: list[tuple[int, dict, dict]] = []  # queued (status, body, headers) for POSTs
        self.refuse: tuple[int, dict] | None = None  # answer every request with this
        self.registered_meta = True  # whether the site registered meta.siren_sync for REST
        self.updates: list[tuple[int, dict]] = []  # (post id, body) of successful updates
        self.update_answers: list[tuple[int, dict]] = []  # queued (status, body) for updates
        self.landing: list[dict] = []  # earlier POSTs still in flight: each lands just before the next POST
        self.unanswered: list[dict] = []  # bodies of POSTs answered with an exception (it may land later)
        self.wall = Wall()  # the real time the publisher sees
        self.deleted: list[tuple[int, dict]] = []  # (post id, query) of DELETEs
        self.refuse_delete: tuple[int, dict] | None = None  # answer DELETEs with this
        rsps.add_callback(responses.GET, POSTS, callback=self._get)
        rsps.add_callback(responses.POST, POSTS, callback=self._post)
        rsps.add_callback(responses.POST, POST, callback=self._update)
        rsps.add_callback(responses.DELETE, re.compile(POST.pattern[:-1] + r"(\?.*)?$"), callback=self._delete)

    def _auth_ok(self, request) -> bool:
        expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
        return request.headers.get("Authorization") == expected

    def _get(self, request):
        if self.refuse:
            return self.refuse[0], {}, json.dumps(self.refuse[1])
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        self.lookups.append(query)
        if not self._auth_ok(request):
            return (
                401,
                {},
                json.dumps(
                    wp_error(
                        "rest_forbidden_context", "Sorry, you are not allowed to edit posts in this post type.", 401
                    )
                ),
            )
        slugs = query.get("slug", "").split(",")  # one slug, or several (WordPress takes a list)
        found = [p for p in self.posts if p["slug"] in slugs]
        return 200, {"X-WP-Total": str(len(found)), "X-WP-TotalPages": "1"}, json.dumps(found)

    def _post(self, request):
        if self.refuse:
            return self.refuse[0], {}, json.dumps(self.refuse[1])
        if self.post_answers:
            answer = self.post_answers.pop(0)
            if isinstance(answer, Exception):  # no answer: the site may carry the POST out later
                self.unanswered.append(json.loads(request.body))
                self.wall.now += 30 if isinstance(answer, requests.ReadTimeout) else 0  # the read timeout
                return answer
            status, body, headers = answer
            return status, headers, json.dumps(body)
        while self.landing:
            self._insert(self.landing.pop(0))
        body = json.loads(request.body)
        post = self._insert(body)
        self.created.append(body)
        # WordPress answers with the registered meta keys only ([] when none is registered)
        meta = {"siren_sync": body["meta"]["siren_sync"]} if self.registered_meta else []
        return 201, {}, json.dumps(dict(post, meta=meta))

    def _insert(self, body: dict) -> dict:
        """A new post; a slug already taken gets `-2`, `-3`... as `wp_unique_post_slug` gives it."""
        taken = {p["slug"] for p in self.posts}
        slug, n = body["slug"], 2
        while slug in taken:
            slug, n = f"{body['slug']}-{n}", n + 1
        post = {"id": 100 + len(self.posts) + len(self.deleted), "slug": slug, "status": body["status"],
                "author": 7, "title": {"raw": body["title"]}, "content": {"raw": body.get("content", "")},
                "meta": {"siren_sync": body["meta"]["siren_sync"]} if self.registered_meta and "meta" in body else []}
        self.posts.append(post)
        return post

    def _delete(self, request):
        if self.refuse_delete:
            return self.refuse_delete[0], {}, json.dumps(self.refuse_delete[1])
        post_id = int(urlsplit(request.url).path.rsplit("/", 1)[1])
        query = {k: v[0] for k, v in parse_qs(urlsplit(request.url).query).items()}
        if not any(p["id"] == post_id for p in self.posts):
            return 404, {}, json.dumps(wp_error("rest_post_invalid_id", "Invalid post ID.", 404))
        self.deleted.append((post_id, query))
        previous = next(p for p in self.posts if p["id"] == post_id)
        self.posts.remove(previous)
        return 200, {}, json.dumps({"deleted": True, "previous": previous})

    def _update(self, request):
        if self.update_answers:
            status, body = self.update_answers.pop(0)
            return status, {}, json.dumps(body)
        post_id = int(urlsplit(request.url).path.rsplit("/", 1)[1])
        if not any(p["id"] == post_id for p in self.posts):
            return 404, {}, json.dumps(wp_error("rest_post_invalid_id", "Invalid post ID.", 404))
        body = json.loads(request.body)
        self.updates.append((post_id, body))
        return 200, {}, json.dumps({"id": post_id, "meta": {"siren_sync": body["meta"]["siren_sync"]}})


def _two_closed(folder, url: str) -> Path:
    """A config for the site at `url` and a store with two closed weekly distributions queued."""
    config_path = folder / "siren.yaml"
    config_path.write_text(CONFIG.format(url=url))
    events = folder / "events.jsonl"
    events.write_text("".join(json.dumps(e) + "\n" for e in EVENTS))
    assert _main(["--config", str(config_path), "import", str(events)]) == 0
    assert _main(["--config", str(config_path), "distribute", "--as-of", "2026-11-17T00:00:00+00:00"]) == 0
    return config_path


@pytest.fixture
def site(tmp_path, monkeypatch, capsys):
    """A store with two closed weekly distributions queued, and the mocked site."""
    monkeypatch.setenv("SIREN_WP_USER", USER)
    monkeypatch.setenv("SIREN_WP_APP_PASSWORD", PASSWORD)
    with responses.RequestsMock() as guard:  # before its first close, `distribute` asks for records (none yet)
        guard.add(responses.GET, POSTS, json=[], headers={"X-WP-Total": "0", "X-WP-TotalPages": "0"})
        config_path = _two_closed(tmp_path, URL)
    capsys.readouterr()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake = FakeSite(rsps)
        fake.config = load_config(config_path)
        fake.run = lambda *argv: _run(capsys, config_path, *argv)
        yield fake


def _run(capsys, config_path, *argv):
    code = _main(["--config", str(config_path), *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def _main(argv):
    """The command line, leaving the root logger as pytest set it (main binds it to this stderr)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        return main(argv)
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


class Sleeps(list):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def publish(site, sleeps=None):
    """One publish pass with the real Publisher, as the worker wires it (no real sleeping)."""
    upstream = Upstream("publish", f"{URL}/wp-json", auth=(USER, PASSWORD),
                        sleep=Sleeps() if sleeps is None else sleeps)
    return _publish(site.config, upstream, site.wall)


def _publish(config, upstream, wall):
    with open_app(config) as app:
        names = {c.id: c.name for c in app.ledger.collaborators.values()}
        report = Publisher(upstream, "wp/v2/posts", "private", app.tz, names, wall=wall).publish(app.store)
        outbox = app.store.table("outbox")
    return report, outbox


FIRST, SECOND = "weeklybonus-20261109t0500", "weeklybonus-20261116t0500"


def test_the_posted_record_has_the_designed_title_slug_content_and_meta(site):
    report, outbox = publish(site)
    assert report.posted == [FIRST, SECOND] and not report.failed
    first = site.created[0]
    assert first["slug"] == SLUG
    assert first["status"] == "private"
    assert first["title"] == "Weekly Bonus: 2026-11-02 00:00 to 2026-11-09 00:00"  # site wall time
    content = first["content"]
    assert "<table>" in content and "<th>Collaborator</th><th>Score</th><th>Amount</th><th>Paid</th>" in content
    assert "<tr><td>Alice Martin</td><td>3</td><td>30.00 USD</td><td>unpaid</td></tr>" in content
    assert "<tr><td>Bob &lt;Builder&gt; &amp; Co</td><td>1</td><td>10.00 USD</td><td>unpaid</td></tr>" in content
    assert "pool 40.00 USD" in content
    meta = json.loads(first["meta"]["siren_sync"])
    # DESIGN section 6's record, with the review decision and each obligation's payment (section 7)
    assert meta == {"id": FIRST, "distributor": "weeklyBonus", "period_start": "2026-11-02T00:00:00-05:00",
                    "period_end": "2026-11-09T00:00:00-05:00", "units": "USD", "revenue": "400.00", "pool": "40.00",
                    "status": "approved",
                    "obligations": [{"collaborator": "alice", "score": "3", "amount": "30.00", "status": "unpaid",
                                     "paid_at": None},
                                    {"collaborator": "bob", "score": "1", "amount": "10.00", "status": "unpaid",
                                     "paid_at": None}]}
    assert site.created[1]["slug"] == "siren-sync-weeklybonus-20261116t0500"
    assert json.loads(site.created[1]["meta"]["siren_sync"])["pool"] == "5.00"
    # each record was looked up by slug, in any status and with edit context, before its POST
    assert site.lookups[0] == {"slug": SLUG, "status": "any", "context": "edit"}
    assert outbox[FIRST]["status"] == "posted" and outbox[FIRST]["post_id"] == 100
    assert outbox[SECOND]["post_id"] == 101 and outbox[FIRST]["last_error"] is None


def test_publishing_again_posts_nothing(site):
    publish(site)
    report, _ = publish(site)
    assert (report.posted, report.found, report.failed) == ([], [], {})
    assert len(site.created) == 2


def test_a_record_the_site_already_has_is_not_posted_again(site):
    site.posts.append({"id": 77, "slug": SLUG, "status": "private"})
    report, outbox = publish(site)
    assert report.found == [FIRST] and report.posted == [SECOND]
    assert [b["slug"] for b in site.created] == ["siren-sync-weeklybonus-20261116t0500"]
    assert outbox[FIRST]["status"] == "posted" and outbox[FIRST]["post_id"] == 77


def test_a_crash_between_the_post_and_the_outbox_update_never_posts_twice(site, monkeypatch):
    real = Publisher._update

    def crash_on_posted(store, entry, **changes):
        if changes.get("status") == "posted":
            raise OSError("disk full")  # the process dies right after the site accepted the POST
        return real(store, entry, **changes)

    monkeypatch.setattr(Publisher, "_update", staticmethod(crash_on_posted))
    with pytest.raises(OSError):
        publish(site)
    assert len(site.created) == 1
    with open_app(site.config, readonly=True) as app:
        assert app.store.get("outbox", FIRST)["status"] == "posting"  # written ahead of the POST
    monkeypatch.setattr(Publisher, "_update", staticmethod(real))

    report, outbox = publish(site)  # the restarted worker
    assert report.found == [FIRST] and report.posted == [SECOND]
    assert [b["slug"] for b in site.created] == [SLUG, "siren-sync-weeklybonus-20261116t0500"]
    assert outbox[FIRST]["status"] == "posted" and outbox[FIRST]["post_id"] == 100


def test_an_entry_left_posting_without_a_post_is_posted_once(site):
    """A crash after the write-ahead but before the POST reached the site."""
    with open_app(site.config) as app, app.store.transaction() as tx:
        tx.put("outbox", FIRST, dict(app.store.get("outbox", FIRST), status="posting", attempts=1))
    report, outbox = publish(site)
    assert report.posted == [FIRST, SECOND]
    assert [b["slug"] for b in site.created].count(SLUG) == 1
    assert outbox[FIRST]["attempts"] == 2


REFUSALS = {
    "401": (
        401,
        wp_error("rest_cannot_create", "Sorry, you are not allowed to create posts as this user.", 401),
        "401 rest_cannot_create",
    ),
    "403": (403, wp_error("rest_forbidden", "Sorry, you are not allowed to do that.", 403), "403 rest_forbidden"),
    "404": (
        404,
        wp_error("rest_no_route", "No route was found matching the URL and request method.", 404),
        "404 rest_no_route",
    ),
}


@pytest.mark.parametrize("refusal", sorted(REFUSALS))
def test_a_refusal_keeps_the_record_queued_with_the_reason(site, refusal, caplog):
    status, body, reason = REFUSALS[refusal]
    site.refuse = (status, body)
    report, outbox = publish(site)
    assert report.posted == [] and list(report.failed) == [FIRST]  # stops at the first refusal
    assert reason in report.failed[FIRST] and "wp/v2/posts" in report.failed[FIRST]
    assert outbox[FIRST]["status"] == "queued" and reason in outbox[FIRST]["last_error"]
    assert outbox[SECOND]["status"] == "queued"
    assert site.created == []
    assert reason in caplog.text
    for text in (caplog.text, json.dumps(outbox)):
        assert PASSWORD not in text and PASSWORD.replace(" ", "") not in text

    site.refuse = None  # the admin fixed the credentials or the route
    report, outbox = publish(site)
    assert report.posted == [FIRST, SECOND]
    assert outbox[FIRST]["last_error"] is None


def test_a_wrong_application_password_is_reported_without_the_password(site, monkeypatch):
    monkeypatch.setenv("SIREN_WP_APP_PASSWORD", "wrong pass word here xxxx")
    code, out, err = site.run("publish")
    assert code == 1
    assert "failed 1" in out and f"{FIRST}: wp/v2/posts: 401 rest_forbidden_context" in out
    assert "wrong pass word" not in out + err and site.created == []


def test_check_shows_the_queued_record_and_why(site):
    site.refuse = REFUSALS["403"][:2]
    assert site.run("publish")[0] == 1
    code, out, err = site.run("check")
    assert code == 1
    assert "publish queue: 2 waiting of 2" in out
    assert f"  {FIRST}: wp/v2/posts: 403 rest_forbidden: Sorry, you are not allowed to do that." in out
    assert PASSWORD not in out + err


def test_429_with_retry_after_is_waited_out_and_posted_exactly_once(site):
    site.post_answers.append((429, wp_error("rest_too_many_requests", "Slow down.", 429), {"Retry-After": "2"}))
    sleeps = Sleeps()
    report, outbox = publish(site, sleeps)
    assert report.posted == [FIRST, SECOND] and not report.failed
    assert sleeps == [2.0]
    assert [b["slug"] for b in site.created].count(SLUG) == 1
    assert outbox[FIRST]["attempts"] == 1  # one publish attempt, its POST retried once


def test_a_503_post_is_not_retried_blindly_and_the_next_pass_checks_first(site):
    """A 503 after the POST may still have created the post: never re-POST in a hot loop."""
    site.post_answers.append((503, wp_error("internal_server_error", "Service Unavailable", 503), {}))
    sleeps = Sleeps()
    report, outbox = publish(site, sleeps)
    assert list(report.failed) == [FIRST] and "503" in report.failed[FIRST]
    assert sleeps == [] and site.created == []
    assert outbox[FIRST]["status"] == "posting" and "503" in outbox[FIRST]["last_error"]
    site.posts.append({"id": 55, "slug": SLUG, "status": "private"})  # the site did create it after all
    report, outbox = publish(site)
    assert report.found == [FIRST] and report.posted == [SECOND]
    assert outbox[FIRST]["post_id"] == 55
    assert [b["slug"] for b in site.created] == ["siren-sync-weeklybonus-20261116t0500"]


def test_publish_command_output_and_exit_status(site):
    code, out, err = site.run("publish")
    assert code == 0, err
    assert out.splitlines() == ["posted 2, already on the site 0, failed 0"]
    code, out, _ = site.run("publish")
    assert code == 0 and out.splitlines() == ["posted 0, already on the site 0, failed 0"]
    assert len(site.created) == 2
    assert site.created[0]["title"] == "Weekly Bonus: 2026-11-02 00:00 to 2026-11-09 00:00"
    assert "Bob &lt;Builder&gt; &amp; Co" in site.created[0]["content"]  # names from the config


def test_publish_command_without_credentials_is_a_usage_error(site, monkeypatch, tmp_path):
    path = tmp_path / "siren.yaml"
    path.write_text(
        path.read_text().replace(
            '  wordpress: {user: "${SIREN_WP_USER}", application_password: "${SIREN_WP_APP_PASSWORD}"}\n', ""
        )
    )
    code, _, err = site.run("publish")
    assert code == 2 and "application_password" in err


def test_a_site_that_drops_the_meta_is_told_once_how_to_keep_it(site, caplog):
    site.registered_meta = False
    with caplog.at_level(logging.WARNING, logger="siren_sync.publish"):
        report, _ = publish(site)
    assert report.posted == [FIRST, SECOND]
    warned = [r.getMessage() for r in caplog.records if "meta.siren_sync" in r.getMessage()]
    assert len(warned) == 1 and "register_post_meta('post', 'siren_sync'" in warned[0]


def test_a_site_that_keeps_the_meta_gets_no_warning(site, caplog):
    with caplog.at_level(logging.WARNING, logger="siren_sync.publish"):
        publish(site)
    assert not [r for r in caplog.records if "meta.siren_sync" in r.getMessage()]


# -- when a fulfillment completes, the records show the payments ------------------------------------

PAID_AT = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


def pay(site, only: tuple[str, ...] = (), excepted: tuple[str, ...] = ()) -> None:
    """Fulfil and complete everything payable (of `only`), as `fulfill` then `fulfillment complete` do."""
    from siren_sync.payouts import fulfillments

    with open_app(site.config) as app:
        made = fulfillments.plan(app.store, fulfillments.Selection(PAID_AT, collaborators=only),
                                 str(site.config.path.parent / "p.csv"), app.ledger.collaborators, {}, "", PAID_AT)
        fulfillments.create(app.store, made)
        fulfillments.complete(app.store, made.fulfillment.id, PAID_AT, excepted, PAID_AT)


def test_a_completed_fulfillment_updates_each_record_it_paid_exactly_once(site):
    publish(site)
    pay(site, only=("alice",))
    report, outbox = publish(site)
    assert report.revised == [FIRST, SECOND] and report.posted == [] and not report.failed
    assert [post_id for post_id, _ in site.updates] == [100, 101]
    post_id, body = site.updates[0]
    assert set(body) == {"title", "content", "meta"}  # slug and post status left as they are
    meta = json.loads(body["meta"]["siren_sync"])
    assert meta["obligations"] == [
        {"collaborator": "alice", "score": "3", "amount": "30.00", "status": "paid",
         "paid_at": "2026-11-20T10:00:00+00:00"},
        {"collaborator": "bob", "score": "1", "amount": "10.00", "status": "unpaid", "paid_at": None}]
    assert "<td>30.00 USD</td><td>paid 2026-11-20T10:00:00+00:00</td>" in body["content"]
    assert (outbox[FIRST]["revision"], outbox[FIRST]["revised"]) == (1, 1)
    report, _ = publish(site)
    assert (report.posted, report.revised, len(site.updates)) == ([], [], 2)  # nothing twice


def test_an_excepted_payout_asks_for_no_update_of_what_it_did_not_pay(site):
    publish(site)
    pay(site, only=("bob",), excepted=("bob",))
    report, _ = publish(site)
    assert report.revised == [] and site.updates == []


def test_a_failed_update_is_kept_with_its_reason_and_sent_on_the_next_pass(site):
    publish(site)
    pay(site)
    site.update_answers.append((503, wp_error("internal_server_error", "Service Unavailable", 503)))
    report, outbox = publish(site, Sleeps())
    assert list(report.failed) == [FIRST] and "503" in report.failed[FIRST]
    assert outbox[FIRST]["status"] == "posted" and "503" in outbox[FIRST]["last_error"]
    assert outbox[FIRST]["revised"] == 0 and site.updates == []
    report, outbox = publish(site)
    assert report.revised == [FIRST, SECOND] and outbox[FIRST]["last_error"] is None
    assert [post_id for post_id, _ in site.updates] == [100, 101]


def test_a_record_deleted_on_the_site_is_looked_up_again_then_updated(site):
    publish(site)
    pay(site)
    site.posts[0]["id"] = 300  # deleted and made again by hand under the same slug
    report, outbox = publish(site)
    assert list(report.failed) == [FIRST] and "404" in report.failed[FIRST]
    assert outbox[FIRST]["status"] == "queued" and "post_id" not in outbox[FIRST]
    report, outbox = publish(site)
    assert report.found == [FIRST] and report.revised == [FIRST, SECOND]
    assert outbox[FIRST]["post_id"] == 300 and [post_id for post_id, _ in site.updates] == [300, 101]
    assert len(site.created) == 2  # never posted twice


def test_a_record_not_posted_yet_is_posted_with_its_payments(site):
    pay(site)
    report, _ = publish(site)
    assert report.posted == [FIRST, SECOND] and report.revised == [] and site.updates == []
    meta = json.loads(site.created[0]["meta"]["siren_sync"])
    assert {o["status"] for o in meta["obligations"]} == {"paid"}


# -- a POST still in flight when the slug was looked up ----------------------------------------------

def _left_posting(site) -> None:
    """The outbox as a worker killed during its POST of FIRST leaves it."""
    with open_app(site.config) as app, app.store.transaction() as tx:
        tx.put("outbox", FIRST, dict(app.store.get("outbox", FIRST), status="posting", attempts=1))


def test_an_earlier_post_landing_after_the_lookup_leaves_the_site_one_record(site, caplog):
    """The killed worker's POST (or one that timed out) is carried out by the site only after the
    restarted worker looked the slug up; WordPress gives the second POST `<slug>-2`. That copy is
    deleted and the record the site already had is kept."""
    _left_posting(site)
    site.landing.append({"slug": SLUG, "status": "private", "title": "Weekly Bonus (the earlier POST)"})
    with caplog.at_level(logging.WARNING, logger="siren_sync.publish"):
        report, outbox = publish(site)
    assert [p["slug"] for p in site.posts] == [SLUG, "siren-sync-weeklybonus-20261116t0500"]
    assert site.deleted == [(101, {"force": "true"})]  # the copy, for good (not to the trash)
    assert report.found == [FIRST] and report.posted == [SECOND] and not report.failed
    assert outbox[FIRST]["status"] == "posted" and outbox[FIRST]["post_id"] == 100
    assert outbox[FIRST]["attempts"] == 2  # the killed worker's POST, then ours
    assert f"{SLUG}-2 (post 101)" in caplog.text and "deleted" in caplog.text
    report, _ = publish(site)  # nothing left to do
    assert (report.posted, report.found, site.deleted) == ([], [], [(101, {"force": "true"})])


def test_a_copy_the_site_refuses_to_delete_is_named_for_the_site_owner(site, caplog):
    _left_posting(site)
    site.landing.append({"slug": SLUG, "status": "private", "title": "Weekly Bonus (the earlier POST)"})
    site.posts.append({"id": 90, "slug": "unrelated", "status": "publish"})
    site.refuse_delete = (403, wp_error("rest_cannot_delete", "Sorry, you are not allowed to delete this post.", 403))
    report, outbox = publish(site)
    assert list(report.failed) == [FIRST]
    reason = report.failed[FIRST]
    assert f"{SLUG}-2 (post 102)" in reason and "delete it on the site" in reason and "403" in reason
    assert outbox[FIRST]["last_error"] == reason and reason in caplog.text
    report, outbox = publish(site)  # the next pass finds the record: it is never posted a third time
    assert report.found == [FIRST] and outbox[FIRST]["post_id"] == 101
    assert [b["slug"] for b in site.created].count(SLUG) == 1


def test_a_copy_already_gone_when_it_is_deleted_is_no_failure(site):
    """A DELETE retried after a 503 whose first try was carried out finds nothing: the copy is gone."""
    _left_posting(site)
    site.landing.append({"slug": SLUG, "status": "private", "title": "Weekly Bonus (the earlier POST)"})
    site.refuse_delete = (404, wp_error("rest_post_invalid_id", "Invalid post ID.", 404))
    report, outbox = publish(site)
    assert report.found == [FIRST] and not report.failed and outbox[FIRST]["post_id"] == 100


def test_a_post_answered_under_another_slug_with_none_under_ours_is_kept(site, caplog):
    """A site filter that rewrites slugs: the record is there (under the site's slug), not a copy."""
    site.post_answers.append((201, {"id": 300, "slug": "weekly-bonus-record", "meta": {"siren_sync": "{}"}}, {}))
    with caplog.at_level(logging.WARNING, logger="siren_sync.publish"):
        report, outbox = publish(site)
    assert report.posted == [FIRST, SECOND] and site.deleted == []
    assert outbox[FIRST]["post_id"] == 300
    assert "weekly-bonus-record" in caplog.text


def _left_posting_at(site, seconds_ago: float) -> None:
    """The outbox as a worker killed during its POST of FIRST `seconds_ago` (real time) leaves it."""
    at = site.wall.now - seconds_ago
    with open_app(site.config) as app, app.store.transaction() as tx:
        tx.put("outbox", FIRST, dict(app.store.get("outbox", FIRST), status="posting", attempts=1,
                                     attempted_at=datetime.fromtimestamp(at, UTC).isoformat()))


def test_a_record_whose_post_may_still_be_in_flight_waits_before_it_is_posted_again(site, caplog):
    """A worker killed during its POST 5 s ago: the site may not have carried it out yet, so the
    restarted worker looks the record up but does not post it again before PUBLISH_SETTLE; the
    others go on. When the late POST lands meanwhile, the lookup finds it: no copy at all."""
    from siren_sync.publish import PUBLISH_SETTLE

    _left_posting_at(site, 5)
    with caplog.at_level(logging.INFO, logger="siren_sync.publish"):
        report, outbox = publish(site)
    assert report.posted == [SECOND] and report.waiting == [FIRST] and not report.failed
    assert [b["slug"] for b in site.created] == ["siren-sync-weeklybonus-20261116t0500"]
    assert outbox[FIRST]["status"] == "posting" and outbox[FIRST]["attempts"] == 1
    assert f"{SLUG}: a POST of it, in flight 5 s ago, may still be carried out" in caplog.text
    site.posts.append({"id": 66, "slug": SLUG, "status": "private"})  # the late POST lands
    report, outbox = publish(site)
    assert report.found == [FIRST] and outbox[FIRST]["post_id"] == 66 and len(site.created) == 1
    assert PUBLISH_SETTLE == 30.0


def test_the_publish_command_says_which_record_waits_for_a_post_in_flight(site):
    _left_posting_at(site, 2)
    code, out, _ = site.run("publish")
    assert code == 0
    assert out.splitlines() == ["posted 1, already on the site 0, failed 0",
                                f"  {FIRST}: not posted again yet, a POST of it may still be carried out by the site"]


def test_a_record_whose_post_never_landed_is_posted_once_the_wait_is_over(site):
    _left_posting_at(site, 31)
    report, outbox = publish(site)
    assert report.posted == [FIRST, SECOND] and report.waiting == []
    assert outbox[FIRST]["status"] == "posted" and outbox[FIRST]["attempts"] == 2
    assert [b["slug"] for b in site.created].count(SLUG) == 1


# -- a POST that got no answer ---------------------------------------------------------------------

def test_a_post_that_timed_out_is_looked_up_and_not_posted_again_while_it_may_still_land(site, caplog):
    """The site carries the POST out after the worker stopped waiting (a busy host): the worker that
    timed out is alive and must not post the record again at once, or the site would hold a copy."""
    site.post_answers.append(requests.ReadTimeout("read timed out"))
    report, outbox = publish(site)
    assert list(report.failed) == [FIRST] and "no answer within 30s (read timeout)" in report.failed[FIRST]
    assert outbox[FIRST]["status"] == "posting" and outbox[FIRST]["attempts"] == 1
    assert outbox[FIRST]["attempted_at"] == datetime.fromtimestamp(site.wall.now, UTC).isoformat()  # the timeout
    assert "a POST of it may still be carried out by the site" in caplog.text

    site.wall.now += 29  # the next turns: looked up (nothing yet), not posted again; the others go on
    with caplog.at_level(logging.INFO, logger="siren_sync.publish"):
        report, outbox = publish(site)
    assert report.waiting == [FIRST] and report.posted == [SECOND] and not report.failed
    assert f"{SLUG}: a POST of it, in flight 29 s ago, may still be carried out" in caplog.text
    assert [q["slug"] for q in site.lookups] == [SLUG, SLUG, "siren-sync-weeklybonus-20261116t0500"]

    site._insert(site.unanswered[0])  # the site carries the timed-out POST out
    report, outbox = publish(site)
    assert report.found == [FIRST] and outbox[FIRST]["post_id"] == 101
    assert [b["slug"] for b in site.created] == ["siren-sync-weeklybonus-20261116t0500"]  # never posted again
    assert [p["slug"] for p in site.posts] == ["siren-sync-weeklybonus-20261116t0500", SLUG]


def test_a_post_that_timed_out_is_posted_again_a_settle_after_the_timeout_not_after_sending(site):
    site.post_answers.append(requests.ReadTimeout("read timed out"))  # sent at T, given up at T + 30
    publish(site)
    site.wall.now += 29  # T + 59: a settle after sending, not after the timeout
    report, _ = publish(site)
    assert report.waiting == [FIRST]
    site.wall.now += 1  # T + 60
    report, outbox = publish(site)
    assert report.posted == [FIRST] and outbox[FIRST]["attempts"] == 2
    assert [b["slug"] for b in site.created].count(SLUG) == 1


UNKNOWN = {
    "read timeout": requests.ReadTimeout("read timed out"),
    "connection reset": requests.ConnectionError("('Connection aborted.', ConnectionResetError(104, "
                                                 "'Connection reset by peer'))"),
    "502": (502, wp_error("bad_gateway", "Bad Gateway", 502), {}),
    "504": (504, wp_error("gateway_timeout", "Gateway Timeout", 504), {}),
}


@pytest.mark.parametrize("failure", sorted(UNKNOWN))
def test_a_post_whose_outcome_is_unknown_leaves_the_record_posting_and_waits(site, failure):
    site.post_answers.append(UNKNOWN[failure])
    publish(site)
    report, outbox = publish(site)  # the next turn
    assert report.waiting == [FIRST] and outbox[FIRST]["status"] == "posting"
    assert SLUG not in [b["slug"] for b in site.created]


def test_a_post_the_site_refused_leaves_nothing_in_flight_and_is_posted_on_the_next_turn(site):
    site.post_answers.append((400, wp_error("rest_invalid_param", "Invalid parameter(s): status", 400), {}))
    report, outbox = publish(site)
    assert outbox[FIRST]["status"] == "queued" and "400 rest_invalid_param" in outbox[FIRST]["last_error"]
    report, outbox = publish(site)
    assert report.posted == [FIRST, SECOND] and report.waiting == []


# -- a copy made after the record was posted ---------------------------------------------------------

def _posted_after_a_timeout(site) -> None:
    """FIRST's POST timed out; a settle later it was posted again (post 100) and answered."""
    site.post_answers.append(requests.ReadTimeout("read timed out"))
    publish(site)
    site.wall.now += 31
    report, outbox = publish(site)
    assert report.posted == [FIRST, SECOND] and outbox[FIRST]["attempts"] == 2
    site.lookups.clear()


def test_a_post_that_lands_after_the_record_was_posted_has_its_copy_deleted(site, caplog):
    """The timed-out POST is carried out more than a settle late, after the second one was answered:
    WordPress saves it as `<slug>-2`. The next turn's look at the record's slug and its variants
    finds it, sees it is the same record, and deletes it."""
    _posted_after_a_timeout(site)
    site._insert(site.unanswered[0])  # lands late: post 102, slug -2
    assert [p["slug"] for p in site.posts] == [SLUG, "siren-sync-weeklybonus-20261116t0500", f"{SLUG}-2"]
    site.wall.now += 60
    with caplog.at_level(logging.WARNING, logger="siren_sync.publish"):
        report, outbox = publish(site)
    assert not report.failed and site.deleted == [(102, {"force": "true"})]
    assert [p["slug"] for p in site.posts] == [SLUG, "siren-sync-weeklybonus-20261116t0500"]
    assert site.lookups == [{"slug": f"{SLUG},{SLUG}-2", "status": "any", "context": "edit", "per_page": "100"}]
    assert f"record {SLUG} is on the site (post 100)" in caplog.text and f"{SLUG}-2 (post 102)" in caplog.text
    assert outbox[FIRST]["post_id"] == 100


def test_copies_are_looked_for_only_a_while_after_a_record_that_had_more_than_one_post(site):
    """Records whose every POST was answered (one attempt) cost no request; the others one GET a
    turn, for COPY_WATCH settles after their last POST."""
    from siren_sync.publish import COPY_WATCH, PUBLISH_SETTLE

    _posted_after_a_timeout(site)
    site.wall.now += PUBLISH_SETTLE * COPY_WATCH - 1
    publish(site)
    assert [q["slug"] for q in site.lookups] == [f"{SLUG},{SLUG}-2"]  # FIRST only: SECOND had one POST
    site.wall.now += 1
    site._insert(site.unanswered[0])  # too late to be looked for: left (the README says so)
    publish(site)
    assert len(site.lookups) == 1 and site.deleted == []


def _copy_of_first(site, **changes) -> None:
    _posted_after_a_timeout(site)
    copy = site._insert(site.unanswered[0])
    copy.update(changes)


NOT_COPIES = {
    "another title": {"title": {"raw": "Weekly Bonus (edited)"}},
    "another distribution": {"meta": {"siren_sync": json.dumps({"id": SECOND})}},
    "meta that is not JSON": {"meta": {"siren_sync": "{not json"}},
    "another author": {"author": 8},
    "published": {"status": "publish"},
    "no raw title": {"title": {"rendered": "Weekly Bonus"}},
}


@pytest.mark.parametrize("change", sorted(NOT_COPIES))
def test_a_slug_variant_that_is_not_provably_a_copy_is_left_alone(site, change, caplog):
    _copy_of_first(site, **NOT_COPIES[change])
    with caplog.at_level(logging.WARNING, logger="siren_sync.publish"):
        report, _ = publish(site)
    assert site.deleted == [] and not report.failed
    assert f"post 102 ({SLUG}-2) is not provably a copy of record {SLUG} (post 100): left alone" in caplog.text


def test_on_a_site_without_the_meta_a_copy_is_known_by_its_content(site):
    site.registered_meta = False
    _copy_of_first(site)
    publish(site)
    assert site.deleted == [(102, {"force": "true"})]


def test_on_a_site_without_the_meta_other_content_is_no_copy(site, caplog):
    site.registered_meta = False
    _copy_of_first(site, content={"raw": "<p>someone else's</p>"})
    with caplog.at_level(logging.WARNING, logger="siren_sync.publish"):
        publish(site)
    assert site.deleted == [] and f"post 102 ({SLUG}-2) is not provably a copy" in caplog.text


def test_a_late_copy_the_site_refuses_to_delete_is_named_and_looked_for_again(site):
    _copy_of_first(site)
    site.refuse_delete = (403, wp_error("rest_cannot_delete", "Sorry, you are not allowed to delete this post.", 403))
    code, out, _ = site.run("publish")
    assert code == 1
    assert (f"  {FIRST}: the site holds {SLUG} (post 100) and a copy {SLUG}-2 (post 102), which could not be "
            "deleted: delete it on the site") in out
    assert PASSWORD not in out
    site.refuse_delete = None
    publish(site)
    assert site.deleted == [(102, {"force": "true"})]


# -- against the sandbox site (WordPress's slugs, meta and authors), over loopback ---------------------

def test_on_the_sandbox_a_post_held_past_its_timeout_is_waited_for_and_its_late_copy_deleted(
        tmp_path, monkeypatch, make_sandbox):
    """The site holds every write (a busy host) past the publisher's read timeout (0.5 s here). The
    record that timed out waits while the next one is sent; a settle later it is sent again, and
    that POST times out too. The site then carries the three POSTs out in the order they came: the
    record's second POST becomes `<slug>-2`, answered to nobody. The next turn finds both records
    and deletes that copy."""
    sb = make_sandbox(days=1, orders_per_day=1, lms=False)
    monkeypatch.setenv("SIREN_WP_USER", sb.credentials["wp_user"])
    monkeypatch.setenv("SIREN_WP_APP_PASSWORD", sb.credentials["wp_app_password"])
    config = load_config(_two_closed(tmp_path, sb.url))
    upstream = Upstream("publish", f"{sb.url}/wp-json", auth=(sb.credentials["wp_user"],
                        sb.credentials["wp_app_password"]), timeout=(5.0, 0.5), sleep=Sleeps())
    wall = Wall()
    second = "siren-sync-weeklybonus-20261116t0500"
    sb.faults.update({"hold_writes": True})
    report, _ = _publish(config, upstream, wall)
    assert list(report.failed) == [FIRST] and "no answer within 0.5s" in report.failed[FIRST]
    wall.now += 1
    report, _ = _publish(config, upstream, wall)
    assert report.waiting == [FIRST] and list(report.failed) == [SECOND]
    wall.now += 30
    report, outbox = _publish(config, upstream, wall)
    assert list(report.failed) == [FIRST] and outbox[FIRST]["attempts"] == 2
    assert sb.faults.as_dict()["held"] == 3 and sb.stats.posts_created == []
    sb.faults.update({"hold_writes": False})
    wait_until(lambda: sb.faults.as_dict()["held"] == 0, 10, 0.05, "the held POSTs carried out")
    assert [p["slug"] for p in sb.stats.posts_created] == [SLUG, second, f"{SLUG}-2"]

    report, outbox = _publish(config, upstream, wall)
    assert report.found == [FIRST, SECOND] and not report.failed
    posts = wp_session(sb).get(rest(sb, "wp/v2/posts"), params={"status": "any", "per_page": 100}).json()
    assert sorted(p["slug"] for p in posts if p["slug"].startswith("siren-sync-")) == [SLUG, second]
    assert outbox[FIRST]["post_id"] == sb.stats.posts_created[0]["id"]
