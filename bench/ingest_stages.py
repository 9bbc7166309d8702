"""Where the order ingest's CPU goes: the transport, then each processing stage, timed apart.

`ingest_orders.py` gives the end-to-end figure; this one takes it apart on the same sandbox pages,
so a target can be checked against what each part costs. CPU is `time.process_time()`, the best of
three runs of each part (the sandbox runs in its own process).

    python bench/ingest_stages.py [--orders 20000]

Transport, per page of 100 orders: the worker's own client (`Upstream.page`: requests, the OAuth
1.0a signer of the `woocommerce` package, retries and `json.loads`); `json.loads` alone (the floor);
preparing and signing a request; `requests` sending an already signed URL; and urllib3, the
library under requests, sending the same URL. Processing, per order: the dedupe key, `parse_order`,
`order_events`, and recording the events (buffered by `LedgerContext`, written in store commits).
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402


def _best(run, repeat: int = 3) -> float:
    """The least CPU seconds of `repeat` calls of `run()`."""
    best = float("inf")
    for _ in range(repeat):
        c0 = time.process_time()
        run()
        best = min(best, time.process_time() - c0)
    return best


def _transport(source, pages: int) -> dict[str, float]:
    """CPU ms per page of each way of reading the first `pages` order pages."""
    import requests
    import urllib3

    from siren_sync.sources.woocommerce.orders import ORDERS
    from siren_sync.sources.woocommerce.walk import order_params

    params = order_params(source.statuses.current, None)
    session, url = source.http.session, f"{source.url}/wp-json/{ORDERS}"
    numbers = range(1, pages + 1)

    def prepared(n: int) -> requests.PreparedRequest:
        return session.prepare_request(requests.Request(
            "GET", url, params={**params, "page": n, "per_page": source.per_page}, auth=source.http.auth))

    bodies = [session.send(prepared(n), timeout=60).content for n in numbers]
    signed = [prepared(n).url for n in numbers]
    parts = urlsplit(url)
    pool = urllib3.HTTPConnectionPool(parts.hostname, parts.port, maxsize=1)
    targets = [f"{urlsplit(u).path}?{urlsplit(u).query}" for u in signed]
    costs = {
        "worker client (Upstream.page, json.loads included)":
            lambda: [source.http.page(ORDERS, params, n, source.per_page) for n in numbers],
        "json.loads alone (the floor)": lambda: [json.loads(b) for b in bodies],
        "prepare and sign (requests + woocommerce OAuth)": lambda: [prepared(n) for n in numbers],
        "requests, a signed URL (no signing, no decode)":
            lambda: [session.get(u, timeout=60).content for u in signed],
        "urllib3, the same URL": lambda: [pool.request("GET", t, headers={"Accept": "application/json"},
                                                       retries=False).data for t in targets],
    }
    result = {name: _best(run) / pages * 1000 for name, run in costs.items()}
    pool.close()
    return result


def _processing(sb, source, tmp: Path) -> tuple[dict[str, float], int]:
    """CPU µs per order of each processing stage over every order page of the sandbox."""
    from siren_sync.app import open_app
    from siren_sync.sources.woocommerce.orders import ORDERS, order_events, parse_order, version
    from siren_sync.sources.woocommerce.walk import order_params
    from siren_sync.sync import LedgerContext

    params, raw_pages, number = order_params(source.statuses.current, None), [], 1
    while True:
        page = source.http.page(ORDERS, params, number, source.per_page)
        raw_pages.append(page.items)
        if page.last:
            break
        number += 1
    orders = sum(map(len, raw_pages))
    stages: dict[str, float] = {}
    for run in range(3):
        config = _common.load(_common.write_config(tmp / f"run{run}", url=sb.url, creds=sb.credentials,
                                                   woocommerce=True))
        app = open_app(config, now=sb.now)
        ctx = LedgerContext(app, sb.now)
        c0 = time.process_time()
        versions = [[(raw, version(raw)[2]) for raw in items] for items in raw_pages]
        c1 = time.process_time()
        parsed = [[parse_order(raw, source.paid_statuses, modified) for raw, modified in page] for page in versions]
        c2 = time.process_time()
        events = [[e for order in page for e in order_events(order, {}, ctx.attribution)] for page in parsed]
        c3 = time.process_time()
        for page in events:
            ctx.commit(source.name, page, {"modified_gmt": None, "seen": []})
        ctx.flush()
        c4 = time.process_time()
        app.close()
        for name, seconds in (("dedupe key (version)", c1 - c0), ("parse_order", c2 - c1),
                              ("order_events", c3 - c2), ("record (LedgerContext + store commits)", c4 - c3)):
            stages[name] = min(stages.get(name, float("inf")), seconds / orders * 1e6)
    return stages, orders


def main(orders: int = 20_000, transport_pages: int = 50) -> dict:
    from siren_sync.sources.woocommerce import WooCommerceSource

    with _common.SandboxProcess(orders=orders) as sb, tempfile.TemporaryDirectory(prefix="bench-stages-") as tmp:
        config = _common.load(_common.write_config(Path(tmp), url=sb.url, creds=sb.credentials, woocommerce=True))
        source = WooCommerceSource.from_config(config)
        pages = min(transport_pages, max(1, orders // source.per_page))
        transport = _transport(source, pages)
        stages, read = _processing(sb, source, Path(tmp))
        source.close()
    floor = transport["json.loads alone (the floor)"]
    return {"bench": "ingest_stages", "orders": read, "transport_pages": pages,
            "transport_ms_per_page": {k: round(v, 3) for k, v in transport.items()},
            "transport_over_floor": {k: round(v / floor, 2) for k, v in transport.items()},
            "processing_us_per_order": {k: round(v, 1) for k, v in stages.items()}}


def cli(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--orders", "--size", type=int, default=20_000)
    p.add_argument("--pages", type=int, default=50, help="pages read by each transport (default 50)")
    a = p.parse_args(argv)
    r = main(a.orders, a.pages)
    rows = [(f"{name}", f"{ms:.3f} ms/page = {r['transport_over_floor'][name]:.2f}x the floor")
            for name, ms in r["transport_ms_per_page"].items()]
    rows += [(name, f"{us:.1f} µs/order") for name, us in r["processing_us_per_order"].items()]
    _common.report(f"where the ingest's CPU goes ({r['orders']} orders, transport over {r['transport_pages']} "
                   f"pages)", rows, r)
    return r


if __name__ == "__main__":
    cli()
