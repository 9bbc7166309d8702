"""Benchmark 3: access log ingest (AccessLogSource -> ledger -> store) of a generated combined log.

The log is generated first (seeded, streamed to a temp file, not timed): about 5% of lines carry
`?ref=<tracking id>` (a few unknown ids), ~3% view a bound post, ~15% come from bots, ~40% are
assets (css, js, images, /wp-content/, /wp-json/), the rest ordinary pages; some POSTs, 304s and 404s.
Visitors repeat, so the visitor window drops some repeats.

    python bench/access_log.py [--lines 1000000] [--profile FILE]

Targets: >= 100,000 lines/s end to end; peak RSS < 200 MB.
"""
from __future__ import annotations

import argparse
import cProfile
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402

START = datetime(2026, 11, 2, 0, 0, tzinfo=timezone(timedelta(hours=-5)))
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Bound posts of the sandbox shop's collaborators (wp user ids 2..5), by URL path.
BOUND_POSTS = {"/2026/10/how-i-learned-python-in-30-days/": 30, "/2026/10/sql-window-functions-explained/": 31,
               "/2026/10/five-web-design-mistakes/": 32, "/2026/10/marketing-on-a-shoestring/": 33,
               "/2026/10/pandas-tips-for-analysts/": 34, "/?p=35": 35}
POST_AUTHORS = {30: 2, 31: 3, 32: 4, 33: 5, 34: 2, 35: 3}
PAGES = ["/", "/shop/", "/cart/", "/checkout/", "/my-account/", "/product/advanced-sql-course/",
         "/product/productivity-ebook/", "/courses/python-for-data-analysis/", "/blog/", "/about/",
         "/2026/09/an-unbound-post/", "/category/news/", "/?s=python", "/contact/"]
ASSETS = ["/wp-content/themes/storefront/style.css", "/wp-includes/js/jquery/jquery.min.js",
          "/wp-content/uploads/2026/10/hero.jpg", "/favicon.ico", "/wp-json/wp/v2/posts?per_page=3",
          "/wp-content/plugins/woocommerce/assets/css/woocommerce.css", "/robots.txt", "/sitemap.xml",
          "/wp-content/uploads/2026/09/logo.png", "/wp-content/fonts/inter.woff2"]
BROWSERS = ["Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0 "
            "Safari/537.36",
            "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 "
            "Safari/605.1.15",
            "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
            "Mobile/15E148",
            "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
            "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0 Mobile "
            "Safari/537.36"]
BOTS = ["Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
        "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "curl/8.5.0",
        "python-requests/2.32.3", "Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)"]
TRACKING = ["alice", "bruno", "chloe", "david", "alice", "bruno", "nobody", "Alice"]


class _Traffic:
    """Draws one request after another from one seeded stream (the same seed writes the same log)."""

    def __init__(self, seed: int, lines: int):
        rng = random.Random(seed)
        self.rand = rng.random
        self.mix = {"ref": 0, "bound": 0, "bot": 0, "asset": 0, "page": 0}
        self.ips = [f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
                    for _ in range(max(50, lines // 40))]
        self.bound = list(BOUND_POSTS)
        self.last_ref: tuple[str, str] | None = None

    def pick(self, items: list[str] | tuple[str, ...]) -> str:
        return items[int(self.rand() * len(items))]

    def line(self, stamp: str) -> str:
        """One combined-format line at `stamp`."""
        rand = self.rand
        ip = self.pick(self.ips)
        x = rand()
        ua = self.pick(BROWSERS)
        method, status = "GET", 200
        if x < 0.05:
            target, ip, ua = self.referred(ip, ua)
        elif x < 0.08:
            target = self.pick(self.bound)
            self.mix["bound"] += 1
        elif x < 0.48:
            target = self.pick(ASSETS)
            status = 304 if rand() < 0.3 else 200
            self.mix["asset"] += 1
        else:
            target, method, status = self.page()
        if rand() < 0.15:
            ua = self.pick(BOTS)
            self.mix["bot"] += 1
        size = 200 + int(rand() * 40000)
        referer = "-" if rand() < 0.6 else "https://www.google.com/"
        return f'{ip} - - [{stamp}] "{method} {target} HTTP/1.1" {status} {size} "{referer}" "{ua}"\n'

    def referred(self, ip: str, ua: str) -> tuple[str, str, str]:
        """A `?ref=` visit; now and then the same visitor as the last one clicks again soon."""
        if self.last_ref is not None and self.rand() < 0.2:
            ip, ua = self.last_ref
        self.last_ref = (ip, ua)
        target = f"{self.pick(PAGES)}?ref={self.pick(TRACKING)}"
        if self.rand() < 0.3:
            target += "&utm_source=newsletter"
        self.mix["ref"] += 1
        return target, ip, ua

    def page(self) -> tuple[str, str, int]:
        """An ordinary page: now and then a POST or a 404."""
        target = self.pick(PAGES)
        self.mix["page"] += 1
        if self.rand() < 0.05:
            return target, "POST", 200
        if self.rand() < 0.04:
            return target, "GET", 404
        return target, "GET", 200


def generate(path: Path, lines: int, seed: int = 5) -> dict:
    """Write `lines` combined-format lines to `path`; returns the mix actually generated."""
    traffic = _Traffic(seed, lines)
    t = START
    step = timedelta(seconds=max(1, 86400 * 7 // max(lines, 1)))  # a week of traffic
    stamp = ""
    with open(path, "w", buffering=1 << 20) as fh:
        for i in range(lines):
            if i % 3 == 0:
                t += step
                stamp = f"{t.day:02d}/{MONTHS[t.month - 1]}/{t.year}:{t:%H:%M:%S} -0500"
            fh.write(traffic.line(stamp))
    return traffic.mix


def main(lines: int = 1_000_000, profile: str | None = None) -> dict:
    from siren_sync.app import open_app
    from siren_sync.sources.access_log import AccessLogSource
    from siren_sync.sync import run_source

    with tempfile.TemporaryDirectory(prefix="bench-log-") as tmp:
        folder = Path(tmp)
        log_path = folder / "access.log"
        g0 = time.perf_counter()
        mix = generate(log_path, lines)
        gen_s = time.perf_counter() - g0
        size = log_path.stat().st_size
        config = _common.load(_common.write_config(folder, starts="2026-11-01", access_log=str(log_path)))
        app = open_app(config, now=START + timedelta(days=8))
        source = AccessLogSource(log_path, ref_param="ref", post_paths=BOUND_POSTS, post_authors=POST_AUTHORS,
                                 visitor_window=1800)
        rss_before = _common.peak_rss_mb()
        prof = cProfile.Profile() if profile else None
        w0, c0 = time.perf_counter(), time.process_time()
        if prof:
            prof.enable()
        rep = run_source(app, source, START + timedelta(days=8))
        if prof:
            prof.disable()
            prof.dump_stats(profile)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        peak = _common.peak_rss_mb()
        events = app.store.event_count()
        app.close()
    rate = rep.detail["lines"] / wall
    return {"bench": "access_log", "lines": rep.detail["lines"], "bytes": size, "mix": mix,
            "candidates": rep.detail["candidates"], "ignored": rep.detail["ignored"],
            "duplicates": rep.detail["duplicates"], "revisits": rep.detail["revisits"],
            "unattributed": rep.detail["unattributed"],
            "events": events, "quarantined": rep.quarantined, "commits": rep.pages, "generate_s": round(gen_s, 2),
            "wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "lines_per_s": round(rate, 0),
            "mb_per_s": round(size / 2**20 / wall, 1), "peak_rss_mb": round(peak, 1),
            "rss_before_mb": round(rss_before, 1),
            "targets": {"lines_per_s>=100000": rate >= 100_000, "peak_rss_mb<200": peak < 200}}


def cli(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--lines", "--size", type=int, default=1_000_000)
    p.add_argument("--profile", help="write a cProfile of the ingest to this file")
    a = p.parse_args(argv)
    r = main(a.lines, a.profile)
    t = r["targets"]
    _common.report("access log ingest", [
        ("lines / bytes", f"{r['lines']:,} / {r['bytes'] / 2**20:.1f} MiB (generated in {r['generate_s']} s)"),
        ("mix", r["mix"]),
        ("candidates / events", f"{r['candidates']:,} candidates, {r['events']:,} events recorded "
                                f"({r['duplicates']:,} repeat visits of which {r['revisits']:,} revisits, "
                                f"{r['unattributed']:,} unattributed, "
                                f"{r['quarantined']:,} quarantined, {r['commits']} commits)"),
        ("wall / CPU", f"{r['wall_s']} s / {r['cpu_s']} s"),
        ("throughput", f"{r['lines_per_s']:,.0f} lines/s, {r['mb_per_s']} MiB/s "
                       f"[target >= 100,000: {_common.verdict(t['lines_per_s>=100000'])}]"),
        ("peak RSS", f"{r['peak_rss_mb']} MB (before {r['rss_before_mb']} MB) "
                     f"[target < 200 MB: {_common.verdict(t['peak_rss_mb<200'])}]"),
    ], r)
    return r


if __name__ == "__main__":
    cli()
