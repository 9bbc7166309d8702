"""Benchmark 1: order ingest end to end (sandbox over loopback -> WooCommerceSource -> ledger -> store).

The sandbox runs in its own process, so `time.process_time()` here is the worker's CPU only. The
floor is the cost of `json.loads` of the very same order pages (read again after the ingest with the
source's own query and client, so the floor's memory does not count in the ingest's peak). That
second read is timed too: "reading alone" is what the worker's HTTP client costs for the pages with
no order processed, the share of the ingest's CPU that belongs to the transport.

    python bench/ingest_orders.py [--orders 100000] [--refunds 0] [--visitors] [--profile FILE] [--store-url URL]

`--visitors`: the sandbox's orders carry their customer's address and user agent (each sale then
computes a visitor digest) and some WooCommerce order attribution meta, as a real shop's do.
`--store-url postgresql://...` records into a new namespace of that PostgreSQL database instead of a
TinyDB file (the namespace is deleted afterwards).

Targets: worker CPU <= 3x the json.loads floor; <= 0.2 ms of client CPU per order end to end (the
issue compares with connectors' 0.4 ms of client CPU per order; wall time, which on a 2-core machine
includes the sandbox server's own work, is reported beside it); peak RSS < 100 MB.
"""
from __future__ import annotations

import argparse
import cProfile
import json
import math
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402


def _reads(source, per_page: int) -> tuple[float, list[bytes]]:
    """Read every order page through the worker's own HTTP client (`Upstream.page`: requests, the
    OAuth signer, retries, `json.loads`) and nothing else; returns (CPU seconds, raw page bodies).

    This is the part of the ingest no processing design can remove while the pages come through
    this client: the reference that shows how much of the floor ratio is the transport's.
    """
    from siren_sync.sources.woocommerce.orders import ORDERS
    from siren_sync.sources.woocommerce.walk import order_params

    params = order_params(source.statuses.current, None)
    params["include_meta"] = ",".join(source.refs.meta_keys)  # as the walk asks (`WooCommerceSource._query`)
    raw_pages: list[bytes] = []
    number = 1
    c0 = time.process_time()
    while True:
        page = source.http.page(ORDERS, params, number, per_page)
        raw_pages.append(page.response.content)
        if page.last:
            break
        number += 1
    return time.process_time() - c0, raw_pages


def _floor(raw_pages: list[bytes]) -> tuple[float, int]:
    """The floor: `json.loads` of every page, best of three (the floor should be the floor)."""
    best = math.inf
    for _ in range(3):
        t0 = time.process_time()
        n = 0
        for body in raw_pages:
            n += len(json.loads(body))
        best = min(best, time.process_time() - t0)
    return best, n


def main(orders: int = 100_000, refunds: int = 0, full_refunds: int = 0, profile: str | None = None,
         trace: bool = False, visitors: bool = False, store_url: str | None = None) -> dict:
    from siren_sync.app import open_app
    from siren_sync.sources.woocommerce import WooCommerceSource
    from siren_sync.sync import run_source

    with _common.SandboxProcess(orders=orders, refunds=refunds, full_refunds=full_refunds, visitors=visitors) as sb, \
            tempfile.TemporaryDirectory(prefix="bench-ingest-") as tmp:
        config = _common.load(_common.write_config(Path(tmp), url=sb.url, creds=sb.credentials, woocommerce=True,
                                                   store_url=store_url))
        app = open_app(config, now=sb.now)
        source = WooCommerceSource.from_config(config)
        sb.reset_stats()
        rss_before = _common.peak_rss_mb()
        if trace:
            tracemalloc.start()
        prof = cProfile.Profile() if profile else None
        w0, c0 = time.perf_counter(), time.process_time()
        if prof:
            prof.enable()
        rep = run_source(app, source, sb.now, since=None)
        if prof:
            prof.disable()
            prof.dump_stats(profile)
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        traced_peak = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
        if trace:
            tracemalloc.stop()
        peak = _common.peak_rss_mb()
        stats = sb.stats()
        events = app.store.event_count()
        store_bytes = _common.store_bytes(config, Path(tmp) / "store")
        app.close()
        _common.drop_namespace(config)
        reads_cpu, raw_pages = _reads(source, source.per_page)
        floor_cpu, floor_orders = _floor(raw_pages)
        page_bytes = sum(map(len, raw_pages))
        del raw_pages
        source.close()
    n = rep.records
    result = {
        "bench": "ingest_orders", "store": _common.backend(config), "orders": orders, "visitors": visitors,
        "orders_read": n, "events": events,
        "requests": sum(v for k, v in stats["requests"].items() if "/sandbox/" not in k),
        "requests_by_route": {k: v for k, v in stats["requests"].items() if "/sandbox/" not in k},
        "wall_s": round(wall, 3), "cpu_s": round(cpu, 3), "orders_per_s": round(n / wall, 1),
        "wall_ms_per_order": round(wall / n * 1000, 4), "cpu_ms_per_order": round(cpu / n * 1000, 4),
        "floor_json_loads_s": round(floor_cpu, 4), "floor_ms_per_order": round(floor_cpu / floor_orders * 1000, 4),
        "cpu_over_floor": round(cpu / floor_cpu, 2), "page_bytes": page_bytes,
        "reads_only_s": round(reads_cpu, 3), "reads_only_ms_per_order": round(reads_cpu / floor_orders * 1000, 4),
        "reads_only_over_floor": round(reads_cpu / floor_cpu, 2),
        "peak_rss_mb": round(peak, 1), "rss_before_ingest_mb": round(rss_before, 1),
        "tracemalloc_peak_mb": round(traced_peak, 1) if traced_peak is not None else None,
        "store_bytes": store_bytes, "sandbox_startup_s": round(sb.startup_s, 1),
        "targets": {"cpu_over_floor<=3": cpu / floor_cpu <= 3, "cpu_ms_per_order<=0.2": cpu / n * 1000 <= 0.2,
                    "peak_rss_mb<100": peak < 100},
    }
    return result


def cli(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--orders", "--size", type=int, default=100_000)
    p.add_argument("--refunds", type=int, default=0)
    p.add_argument("--full-refunds", type=int, default=0)
    p.add_argument("--profile", help="write a cProfile of the ingest to this file")
    p.add_argument("--trace", action="store_true", help="also measure the tracemalloc peak (slower)")
    p.add_argument("--visitors", action="store_true", help="orders with customer addresses, agents, attribution")
    p.add_argument("--store-url", help="a PostgreSQL URL: record into a new namespace there, not a TinyDB file")
    a = p.parse_args(argv)
    r = main(a.orders, a.refunds, a.full_refunds, a.profile, a.trace, a.visitors, a.store_url)
    t = r["targets"]
    _common.report(f"order ingest end to end ({r['store']} store)", [
        ("orders read / events", f"{r['orders_read']} / {r['events']}"),
        ("requests", f"{r['requests']} {r['requests_by_route']}"),
        ("wall", f"{r['wall_s']} s  ({r['orders_per_s']} orders/s, {r['wall_ms_per_order']} ms/order)"),
        ("worker CPU", f"{r['cpu_s']} s  ({r['cpu_ms_per_order']} ms/order) "
                       f"[target <= 0.2 ms: {_common.verdict(t['cpu_ms_per_order<=0.2'])}]"),
        ("json.loads floor", f"{r['floor_json_loads_s']} s  ({r['floor_ms_per_order']} ms/order, "
                             f"{r['page_bytes'] / 2**20:.1f} MiB of pages)"),
        ("CPU / floor", f"{r['cpu_over_floor']}x [target <= 3x: {_common.verdict(t['cpu_over_floor<=3'])}]"),
        ("reading alone", f"{r['reads_only_s']} s  ({r['reads_only_ms_per_order']} ms/order, "
                          f"{r['reads_only_over_floor']}x the floor): the same pages through the worker's "
                          f"HTTP client, nothing else"),
        ("peak RSS", f"{r['peak_rss_mb']} MB (before ingest {r['rss_before_ingest_mb']} MB) "
                     f"[target < 100 MB: {_common.verdict(t['peak_rss_mb<100'])}]"),
        ("store", f"{r['store_bytes'] / 2**20:.1f} MiB"),
    ], r)
    return r


if __name__ == "__main__":
    cli()
