"""sources/access_log.py: the access log source, on log files written in tmp_path."""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone

import pytest

from siren_sync.model import Collaborator, Touch
from siren_sync.sources.access_log import MAX_QUARANTINE_PER_SYNC, AccessLogSource, file_id, parse_log_time
from siren_sync.sync import run_source
from tests.support.apps import open_test_app, run_once
from tests.support.payloads import FakeContext

ALICE = Collaborator(id="alice", tracking_ids=("alice",), posts=(12,))
BOB = Collaborator(id="bob", tracking_ids=("bobby",), wp_user_id=5)
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0"
T0 = datetime(2026, 11, 23, 10, 0, 0, tzinfo=timezone(timedelta(hours=1)))


def context():
    return FakeContext.of([ALICE, BOB])


def stamp(at: datetime) -> str:
    return at.strftime("%d/%b/%Y:%H:%M:%S %z")


def line(target="/?ref=alice", at=T0, ip="203.0.113.5", ua=FIREFOX, method="GET", status=200) -> str:
    return (f'{ip} - - [{stamp(at)}] "{method} {target} HTTP/1.1" {status} 5120 '
            f'"https://news.example/story" "{ua}"\n')


def fid(path):
    return file_id(str(path), os.stat(path).st_ino)


def write(path, *lines, mode="a"):
    with open(path, mode) as fh:
        fh.write("".join(lines))


def types(ctx):
    return sorted((e.type, e.collaborator) for e in ctx.events.values())


@pytest.fixture
def log_path(tmp_path):
    return tmp_path / "access.log"


def test_referred_visit_and_bound_post(log_path):
    first = line("/?ref=alice")
    write(log_path, first, line("/2026/11/my-post/", at=T0 + timedelta(seconds=5)),
          line("/about/", at=T0 + timedelta(seconds=6)),
          line("/?p=40&utm=x", at=T0 + timedelta(seconds=7), ip="198.51.100.9"))
    ctx = context()
    src = AccessLogSource(log_path, post_paths={"/2026/11/my-post/": 12, "/?p=40": 40}, post_authors={40: 5})
    report = src.sync(ctx)
    ref = ctx.events[f"access_log:referredSiteVisit:{fid(log_path)}:0"]
    assert ref.collaborator == "alice" and ref.at == T0 and ref.at.utcoffset() == timedelta(hours=1)
    post = ctx.events[f"access_log:boundPostUsed:{fid(log_path)}:{len(first)}"]
    assert post.collaborator == "alice" and post.type == "boundPostUsed"
    assert ("boundPostUsed", "bob") in types(ctx)  # /?p=40 written by WordPress user 5
    assert report.events == 3 and report.detail["lines"] == 4
    assert ctx.cursor("access_log")["offset"] == os.path.getsize(log_path)


def test_bots_assets_methods_and_errors_are_ignored(log_path):
    write(log_path,
          line("/?ref=alice", ua="Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
          line("/?ref=alice", ua="curl/8.4.0"),
          line("/?ref=alice", ua="python-requests/2.31"),
          line("/?ref=alice", ua="Mozilla/5.0 HeadlessChrome/119.0"),
          line("/wp-content/themes/x/style.css?ref=alice"),
          line("/app.js?ref=alice"), line("/logo.png?ref=alice"), line("/wp-json/wp/v2/posts?ref=alice"),
          line("/wp-admin/?ref=alice"), line("/xmlrpc.php?ref=alice"),
          line("/?ref=alice", method="POST"), line("/?ref=alice", status=404), line("/?ref=alice", status=500),
          line("/?ref=nobody"))
    ctx = context()
    report = AccessLogSource(log_path).sync(ctx)
    assert ctx.events == {} and not ctx.quarantined
    assert report.detail["ignored"] == 13 and report.detail["unattributed"] == 1


def test_same_visitor_counted_once_per_window(log_path):
    write(log_path,
          line("/?ref=alice", at=T0),
          line("/pricing/?ref=alice", at=T0 + timedelta(minutes=10)),  # same visitor: dropped
          line("/?ref=alice", at=T0 + timedelta(minutes=12), ip="192.0.2.77"),  # another visitor
          line("/?ref=alice", at=T0 + timedelta(minutes=12), ua=FIREFOX + " extra"),  # another browser
          line("/?ref=bobby", at=T0 + timedelta(minutes=13)),  # same visitor, other collaborator
          line("/?ref=alice", at=T0 + timedelta(minutes=31)))  # window over: counted again
    ctx = context()
    report = AccessLogSource(log_path).sync(ctx)
    assert types(ctx) == [("referredSiteVisit", "alice")] * 4 + [("referredSiteVisit", "bob")]
    assert report.detail["duplicates"] == 1


def test_a_repeat_after_another_collaborator_s_link_is_a_revisit(log_path):
    """alice, bob, alice again and bob again inside their windows: the repeats are recorded as revisits
    (programs' last touch), a reload with no other link between is dropped, and no bound post view is
    ever a revisit."""
    post = line("/2026/11/my-post/", at=T0 + timedelta(minutes=1))
    lines = [line("/?ref=alice", at=T0), post, line("/?ref=bobby", at=T0 + timedelta(minutes=5)),
             line("/?ref=alice", at=T0 + timedelta(minutes=10)),
             line("/?ref=alice", at=T0 + timedelta(minutes=12)),  # a reload: alice's was the last link
             line("/2026/11/my-post/", at=T0 + timedelta(minutes=13)),
             line("/?ref=bobby", at=T0 + timedelta(minutes=20))]
    write(log_path, *lines)
    ctx = context()
    report = AccessLogSource(log_path, post_paths={"/2026/11/my-post/": 12}).sync(ctx)
    assert types(ctx) == [("boundPostUsed", "alice"), ("referredSiteRevisit", "alice"), ("referredSiteRevisit", "bob"),
                          ("referredSiteVisit", "alice"), ("referredSiteVisit", "bob")]
    offset = sum(len(x) for x in lines[:3])
    revisit = ctx.events[f"access_log:referredSiteRevisit:{fid(log_path)}:{offset}"]
    visitor = ctx.visitor("203.0.113.5", FIREFOX)
    assert revisit.at == T0 + timedelta(minutes=10) and revisit.touch == Touch(visitor=visitor)
    assert report.detail["duplicates"] == 4 and report.detail["revisits"] == 2 and report.events == 5
    assert ctx.cursor("access_log")["last"] == {visitor[:16]: ["bob", int((T0 + timedelta(minutes=20)).timestamp())]}


def test_the_visitors_last_link_survives_between_syncs_and_is_pruned(log_path):
    write(log_path, line("/?ref=alice", at=T0), line("/?ref=bobby", at=T0 + timedelta(minutes=5)))
    ctx = context()
    src = AccessLogSource(log_path)
    src.sync(ctx)
    write(log_path, line("/?ref=alice", at=T0 + timedelta(minutes=20)))
    assert src.sync(ctx).detail["revisits"] == 1
    write(log_path, line("/?ref=bobby", at=T0 + timedelta(hours=2), ip="192.0.2.77"))
    src.sync(ctx)
    assert list(ctx.cursor("access_log")["last"]) == [ctx.visitor("192.0.2.77", FIREFOX)[:16]]


def test_a_cursor_written_before_revisits_resumes_as_before(log_path):
    """A cursor with no `last` (written by an older siren-sync): a repeat inside an open window is
    dropped, as it was, until the visitor's next counted visit."""
    write(log_path, line("/?ref=alice", at=T0), line("/?ref=bobby", at=T0 + timedelta(minutes=5)))
    ctx = context()
    src = AccessLogSource(log_path)
    src.sync(ctx)
    del ctx.cursors["access_log"]["last"]
    write(log_path, line("/?ref=alice", at=T0 + timedelta(minutes=20)))
    report = src.sync(ctx)
    assert report.events == 0 and report.detail["duplicates"] == 1


def test_window_survives_between_syncs_and_is_pruned(log_path):
    write(log_path, line("/?ref=alice", at=T0))
    ctx = context()
    src = AccessLogSource(log_path)
    src.sync(ctx)
    write(log_path, line("/?ref=alice", at=T0 + timedelta(minutes=20)))
    assert src.sync(ctx).events == 0
    write(log_path, line("/?ref=bobby", at=T0 + timedelta(hours=2)))
    assert src.sync(ctx).events == 1
    assert len(ctx.cursor("access_log")["window"]) == 1  # alice's window was pruned


def test_resume_at_offset_and_partial_line(log_path):
    write(log_path, line("/?ref=alice"))
    ctx = context()
    src = AccessLogSource(log_path)
    src.sync(ctx)
    size = os.path.getsize(log_path)
    partial = line("/?ref=bobby", at=T0 + timedelta(minutes=1))
    write(log_path, partial[:30])  # the server is still writing this line
    report = src.sync(ctx)
    assert report.events == 0 and ctx.cursor("access_log")["offset"] == size
    write(log_path, partial[30:])
    report = src.sync(ctx)
    assert report.events == 1 and report.detail["lines"] == 1  # only the new line was read
    assert f"access_log:referredSiteVisit:{fid(log_path)}:{size}" in ctx.events


def test_rotation_finishes_the_old_file_then_reads_the_new_one(log_path):
    write(log_path, line("/?ref=alice", at=T0))
    ctx = context()
    src = AccessLogSource(log_path)
    src.sync(ctx)
    write(log_path, line("/?ref=bobby", at=T0 + timedelta(minutes=1)))  # written before the rotation
    old_inode, old_id = os.stat(log_path).st_ino, fid(log_path)
    os.rename(log_path, str(log_path) + ".1")
    write(log_path, line("/?ref=alice", at=T0 + timedelta(hours=1), ip="192.0.2.1"), mode="w")
    report = src.sync(ctx)
    new_inode = os.stat(log_path).st_ino
    assert report.events == 2 and new_inode != old_inode
    assert any(k.startswith(f"access_log:referredSiteVisit:{old_id}:") and ctx.events[k].collaborator == "bob"
               for k in ctx.events)
    assert f"access_log:referredSiteVisit:{fid(log_path)}:0" in ctx.events
    assert ctx.cursor("access_log")["inode"] == new_inode
    assert src.sync(ctx).events == 0


def test_truncated_file_starts_over(log_path):
    write(log_path, line("/?ref=alice", at=T0), line("/?ref=alice", at=T0, ip="192.0.2.2"))
    ctx = context()
    src = AccessLogSource(log_path)
    src.sync(ctx)
    write(log_path, line("/?ref=bobby", at=T0 + timedelta(hours=3)), mode="w")  # copytruncate
    report = src.sync(ctx)
    assert report.events == 1 and report.detail.get("truncated")
    # Truncated and grown past the old offset before the next sync: the first line tells.
    size = os.path.getsize(log_path)
    write(log_path, *[line("/?ref=alice", at=T0 + timedelta(hours=5, minutes=i), ip=f"192.0.2.{i}")
                      for i in range(3)], mode="w")
    assert os.path.getsize(log_path) > size
    report = src.sync(ctx)
    assert report.events == 3 and report.detail.get("truncated")


def test_unparseable_line_is_quarantined_and_skipped(log_path):
    good = line("/?ref=alice")
    bad = "garbage line with ?ref=alice but no structure\n"
    write(log_path, good, bad, "another garbage line that mentions nothing\n",
          line("/?ref=bobby", at=T0 + timedelta(minutes=1)))
    ctx = context()
    report = AccessLogSource(log_path).sync(ctx)
    assert [(where, reason) for where, reason, _ in ctx.quarantined] == [
        (f"{log_path}:{len(good)}", "not a combined log line")]
    assert report.events == 2


def test_a_bad_line_is_quarantined_once_and_counted_in_the_report(log_path, tmp_path):
    """Through the ledger, as `siren-sync sync` runs it: the report says 1 quarantined (it said 0 while
    the source left the count to nobody) and the store keeps the line aside."""
    good = line("/?ref=alice")
    write(log_path, good, "garbage line with ?ref=alice but no structure\n")
    report, kept = run_once(tmp_path / "app", [ALICE, BOB], AccessLogSource(log_path))
    assert (report.events, report.quarantined) == (1, 1)
    assert list(kept) == [f"{log_path}:{len(good)}"]
    assert kept[f"{log_path}:{len(good)}"]["reason"] == "not a combined log line"


def test_quarantine_is_capped_per_sync_and_the_report_counts_what_was_kept(log_path, tmp_path, caplog):
    bad = [f"garbage {i} ?ref=alice\n" for i in range(MAX_QUARANTINE_PER_SYNC + 5)]
    write(log_path, line("/?ref=alice"), *bad)
    with open_test_app(tmp_path / "app", [ALICE, BOB]) as app:
        report = run_source(app, AccessLogSource(log_path), app.ledger.now)
        assert report.quarantined == MAX_QUARANTINE_PER_SYNC == len(app.store.table("quarantine"))
    assert f"more than {MAX_QUARANTINE_PER_SYNC} unparseable lines in this sync" in caplog.text


def test_commits_every_batch(log_path):
    write(log_path, *[line("/?ref=alice", at=T0 + timedelta(hours=i)) for i in range(5)])
    ctx = context()
    AccessLogSource(log_path, batch_events=2).sync(ctx)
    assert len(ctx.commits) == 3 and len(ctx.events) == 5


def test_log_time_parser_matches_strptime():
    for text in ("23/Nov/2026:10:00:00 +0100", "01/Jan/2026:00:00:59 -0530", "29/Feb/2028:23:59:59 +0000"):
        assert parse_log_time(text) == datetime.strptime(text, "%d/%b/%Y:%H:%M:%S %z")


def test_many_lines_stream_fast(log_path):
    """Smoke check of the streaming path (the timed figure lives in bench/)."""
    filler = line("/shop/item/", ip="192.0.2.200")
    with open(log_path, "w") as fh:
        for i in range(20_000):
            fh.write(filler)
            if i % 1000 == 0:
                fh.write(line("/?ref=alice", at=T0 + timedelta(hours=i)))
    ctx = context()
    started = time.perf_counter()
    report = AccessLogSource(log_path, post_paths={"/2026/11/my-post/": 12}).sync(ctx)
    elapsed = time.perf_counter() - started
    assert report.events == 20 and report.detail["lines"] == 20_020
    assert report.detail["lines"] / elapsed > 20_000  # loose: CI machines vary


def test_a_bad_time_is_quarantined(log_path):
    write(log_path, line("/?ref=alice").replace("Nov", "Foo"))
    ctx = context()
    AccessLogSource(log_path).sync(ctx)
    assert [(where, reason) for where, reason, _ in ctx.quarantined] == [(f"{log_path}:0", "bad time in log line")]


def test_percent_encoded_and_many_bound_paths(log_path):
    write(log_path, line("/blog/caf%C3%A9/"), line("/p/77", at=T0 + timedelta(seconds=1)),
          line("/p/999/", at=T0 + timedelta(seconds=2)))
    paths = {"/blog/caf%C3%A9/": 12, **{f"/p/{i}/": 12 for i in range(100)}}  # > 64: looked up per line
    for post_paths in (paths, {"/blog/caf%C3%A9/": 12, "/p/77/": 12}):
        ctx = context()
        AccessLogSource(log_path, post_paths=post_paths, visitor_window=0).sync(ctx)
        assert types(ctx) == [("boundPostUsed", "alice")] * 2


# -- visitors (programs): a keyed digest of address and agent, never the raw values -----------------------

def test_a_referred_visit_carries_its_visitors_digest_and_a_post_view_none(log_path):
    write(log_path, line("/?ref=alice"), line("/2026/11/my-post/", at=T0 + timedelta(seconds=5)))
    ctx = context()
    AccessLogSource(log_path, post_paths={"/2026/11/my-post/": 12}).sync(ctx)
    visits = {e.type: e for e in ctx.events.values()}
    assert visits["referredSiteVisit"].touch == Touch(visitor=ctx.visitor("203.0.113.5", FIREFOX))
    assert visits["boundPostUsed"].touch is None
    assert "203.0.113.5" not in repr(ctx.commits) and FIREFOX not in repr(ctx.commits)


def test_the_visitor_is_the_agent_as_sent_not_as_logged(log_path):
    """nginx writes `"` and non-ASCII bytes of a user agent as `\\xHH`; WooCommerce keeps the agent as sent."""
    sent = 'Mozilla/5.0 (Linux; "Café" build) Firefox/120.0'
    logged = 'Mozilla/5.0 (Linux; \\x22Caf\\xC3\\xA9\\x22 build) Firefox/120.0'
    write(log_path, line("/?ref=alice", ip="::ffff:203.0.113.5", ua=logged))
    ctx = context()
    AccessLogSource(log_path).sync(ctx)
    [visit] = ctx.events.values()
    assert visit.touch.visitor == ctx.visitor("203.0.113.5", sent)


# The agent as a browser sent it (a quote, a backslash, a non-ASCII letter, a tag, a tab, `%20`), as
# nginx and Apache log it, and as WooCommerce stored it (PHP 8.2 with WordPress's sanitize_text_field).
STORED = 'Mozilla/5.0 (X11; "Caf\u00e9" \\ build; x) Firefox/131.0'
LOGGED = {
    "nginx": r'Mozilla/5.0 (X11; \x22Caf\xC3\xA9\x22 \x5C build; <b>x</b>)\x09%20Firefox/131.0',
    "apache": r'Mozilla/5.0 (X11; \"Caf\xc3\xa9\" \\ build; <b>x</b>)\t%20Firefox/131.0',
}


@pytest.mark.parametrize("server", sorted(LOGGED))
def test_a_logged_agent_is_the_visitor_of_the_agent_woocommerce_stored(log_path, server):
    """Before: the logged agent was unescaped but kept its tag and `%20`, which WordPress removes
    from the order's `customer_user_agent`: the visit never matched the order."""
    write(log_path, line("/?ref=alice", ua=LOGGED[server]))
    ctx = context()
    AccessLogSource(log_path).sync(ctx)
    [visit] = ctx.events.values()
    assert visit.touch.visitor == ctx.visitor("203.0.113.5", STORED)


def test_an_agent_that_is_not_utf8_is_the_visitor_woocommerce_stores_with_no_agent(log_path):
    """WordPress stores '' for an agent that is not UTF-8 (so the order has no visitor to match)."""
    write(log_path, line("/?ref=alice", ua=r"Mozilla/5.0 (X11) Caf\xE9/1.0"))
    ctx = context()
    AccessLogSource(log_path).sync(ctx)
    [visit] = ctx.events.values()
    assert visit.touch.visitor == ctx.visitor("203.0.113.5", "")


def test_a_ref_given_twice_is_the_last_as_php_reads_it(log_path):
    """The site's PHP (`$_GET`) keeps the last `ref`, and so does the order's landing page;
    `ref[]=` makes it an array (no tracking id). Before: `ref[]=alice` left `bobby` counted."""
    write(log_path, line("/?ref=alice&utm_source=x&ref=bobby"),
          line("/?ref=bobby&ref[]=alice", ip="198.51.100.9"))
    ctx = context()
    AccessLogSource(log_path).sync(ctx)
    assert types(ctx) == [("referredSiteVisit", "bob")]


def test_visitor_windows_are_keyed_with_the_visitors_digest(log_path):
    write(log_path, line("/?ref=alice"))
    ctx = context()
    AccessLogSource(log_path).sync(ctx)
    visitor = ctx.visitor("203.0.113.5", FIREFOX)
    assert list(ctx.cursor("access_log")["window"]) == [f"{visitor[:16]}:alice:r"]
    other = FakeContext.of([ALICE, BOB], visitor_key=b"another-key-of-thirty-two-bytes!")
    AccessLogSource(log_path).sync(other)
    assert list(other.cursor("access_log")["window"]) != list(ctx.cursor("access_log")["window"])


def test_a_quarantined_line_keeps_its_place_not_the_visitor(log_path):
    bad_time = line("/?ref=alice", ip="198.51.100.77").replace("Nov", "Foo")
    garbage = f"198.51.100.77 garbage ?ref=alice {FIREFOX}\n"
    write(log_path, bad_time, garbage)
    ctx = context()
    AccessLogSource(log_path).sync(ctx)
    assert ctx.quarantined == [
        (f"{log_path}:0", "bad time in log line", {"bytes": len(bad_time), "time": stamp(T0).replace("Nov", "Foo")}),
        (f"{log_path}:{len(bad_time)}", "not a combined log line", {"bytes": len(garbage)})]
    assert "198.51.100.77" not in repr(ctx.quarantined) and "Firefox" not in repr(ctx.quarantined)


# Real visitors' agents (Cubot is an Android phone brand: "bot" is in its name) and real crawlers'.
PHONES = (
    "Mozilla/5.0 (Linux; Android 10; CUBOT X30) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 9; CUBOT_X20_PRO Build/PPR1.180610.011) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/74.0.3729.136 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; Cubot Note 20) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/141.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; Cubot_Note) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 "
    "Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 11; CUBOT_NOTE_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/118.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 12; KINGKONG 9 Build/SP1A.210812.016) AppleWebKit/537.36 (KHTML, like "
    "Gecko) Chrome/116.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 13; CUBOT P80) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 "
    "Mobile Safari/537.36",
    "Mozilla/5.0 (Linux; Android 12; CUBOT KINGKONG 7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Mobile Safari/537.36",
)
CRAWLERS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/41.0.2272.96 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "AdsBot-Google (+http://www.google.com/adsbot.html)",
    "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)",
    "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)",
    "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; PerplexityBot/1.0; "
    "+https://perplexity.ai/perplexitybot)",
    "Mozilla/5.0 (Linux; Android 5.0) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 "
    "(compatible; Bytespider; spider-feedback@bytedance.com)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)",
    "DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)",
    "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)",
    "Mozilla/5.0 (compatible; MJ12bot/v1.4.8; http://mj12bot.com/)",
    "Mozilla/5.0 (compatible; DotBot/1.2; +https://opensiteexplorer.org/dotbot; help@moz.com)",
    "Mozilla/5.0 (Linux; Android 7.0;) AppleWebKit/537.36 (KHTML, like Gecko) Mobile Safari/537.36 "
    "(compatible; PetalBot;+https://webmaster.petalsearch.com/site/petalbot)",
    "Mozilla/5.0 (compatible; Amazonbot/0.1; +https://developer.amazon.com/support/amazonbot)",
    "Twitterbot/1.0",
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "Mozilla/5.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "TelegramBot (like TwitterBot)",
    "Mozilla/5.0 (compatible; SeznamBot/4.0; +https://o-seznam.cz/napoveda/vyhledavani/en/seznambot-crawler/)",
    "Mozilla/5.0 (compatible; Yahoo! Slurp; http://help.yahoo.com/help/us/ysearch/slurp)",
    "Sogou web spider/4.0(+http://www.sogou.com/docs/help/webmasters.htm#07)",
    "Mozilla/5.0 (compatible; archive.org_bot +http://archive.org/details/archive.org_bot)",
    "CCBot/2.0 (https://commoncrawl.org/faq/)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/120.0.6099.0 Safari/537.36",
    "Mozilla/5.0 (compatible; DataForSeoBot/1.0; +https://dataforseo.com/dataforseo-bot)",
    "Mozilla/5.0 (compatible; BLEXBot/1.0; +http://webmeup-crawler.com/)",
    "Googlebot-Image/1.0",
    "Mozilla/5.0 (compatible; coccocbot-web/1.0; +http://help.coccoc.com/searchengine)",
    "Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
    "Mozilla/5.0 (compatible; Pinterestbot/1.0; +http://www.pinterest.com/bot.html)",
    "Mozilla/5.0 (compatible; botify; http://botify.com)",
    "curl/8.5.0",
    "Wget/1.21.4",
    "python-requests/2.32.3",
    "Go-http-client/2.0",
)


def test_a_cubot_phone_is_a_visitor_and_crawlers_are_still_bots(log_path):
    """Before: "bot" anywhere in the agent made it a bot, so every Cubot phone's visit was lost. Every
    crawler dropped then is dropped still (each of these was)."""
    write(log_path, *(line("/?ref=alice", ip=f"203.0.113.{i}", ua=ua) for i, ua in enumerate(PHONES + CRAWLERS)))
    ctx = context()
    report = AccessLogSource(log_path).sync(ctx)
    assert types(ctx) == [("referredSiteVisit", "alice")] * len(PHONES)
    assert report.detail["ignored"] == len(CRAWLERS)


def test_a_common_format_log_warns_once_a_sync_with_the_count_and_no_visitor(log_path, caplog):
    """Before: lines without a user agent field (the common log format) counted nothing, silently."""
    common = [f'203.0.113.{i} - - [{stamp(T0)}] "GET /?ref=alice HTTP/1.1" 200 5120\n' for i in range(3)]
    write(log_path, *common, line("/?ref=alice", ip="198.51.100.7"), line("/about/"))
    ctx = context()
    with caplog.at_level("WARNING", logger="siren_sync.sources.access_log"):
        report = AccessLogSource(log_path).sync(ctx)
    assert types(ctx) == [("referredSiteVisit", "alice")]  # the combined line still counts
    assert report.detail["no_user_agent"] == 3
    warned = [r.getMessage() for r in caplog.records]
    assert warned == [f"access_log: {log_path}: 3 lines that could have counted have no user agent field "
                      "(the common log format?) and count nothing: log in the combined format"]
    assert "203.0.113" not in caplog.text
    caplog.clear()
    write(log_path, line("/?ref=alice", at=T0 + timedelta(hours=1)))
    AccessLogSource(log_path).sync(ctx)  # nothing new without an agent: no warning
    assert caplog.records == []
