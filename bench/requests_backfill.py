"""Benchmark 6: requests of a first backfill, and every refund in its exact period.

A sandbox shop (in this process: only requests and bytes are measured here, not CPU) with
`--orders` orders and `--refunds` refunds, `--full` of them full, all in the year before now. A
first `sync` of the woocommerce source (monthly and weekly distributors, America/New_York) reads it
all. Compared with reading the orders alone (ceil(orders / 100) pages), the backfill may make at
most 1.25x the requests. Then every refund the generator made is looked up in the ledger: its event
must be in the period (of each distributor) that contains the refund's real creation time.

    python bench/requests_backfill.py [--orders 20000] [--refunds 1300] [--full 1000]

Targets: requests <= 1.25x the order pages; every refund in its exact period (asserted).
"""
from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common  # noqa: E402


def main(orders: int = 20_000, refunds: int = 1300, full: int = 1000, seed: int = 1, strict: bool = False) -> dict:
    """`strict`: assert that every refund is in its exact period (the smoke test does)."""
    from siren_sync.app import open_app
    from siren_sync.sandbox import Sandbox
    from siren_sync.sandbox.site import from_ts
    from siren_sync.sources.woocommerce import WooCommerceSource
    from siren_sync.sync import run_source
    from siren_sync.values import iso

    with Sandbox(seed=seed, orders=orders, refunds=refunds - full, full_refunds=full) as sb, \
            tempfile.TemporaryDirectory(prefix="bench-requests-") as tmp:
        truth = {r.id: (r.order_id, r.created, r.amount) for r in sb.site.refunds.values()}
        full_truth = sum(1 for o in sb.site.orders.values() if o.refunds and o.refunded >= o.total)
        config = _common.load(_common.write_config(Path(tmp), url=sb.url, creds=sb.credentials, woocommerce=True,
                                                   weekly=True))
        app = open_app(config, now=sb.now)
        source = WooCommerceSource.from_config(config)
        with sb.stats.lock:
            sb.stats.reset()
        w0 = time.perf_counter()
        rep = run_source(app, source, sb.now)
        wall = time.perf_counter() - w0
        stats = sb.stats.as_dict()
        client_requests = source.http.requests
        # every refund's event, by key, with the periods it was placed in
        placed: dict[int, dict] = {}
        for bucket in app.store.buckets():
            for record in app.store.events(bucket):
                key = record["key"]
                if key.startswith("woocommerce:refund:"):
                    placed[int(key.rsplit(":", 1)[1])] = record
        wrong, missing = [], []
        ledger = app.ledger
        for rid, (oid, created, _amount) in truth.items():
            record = placed.get(rid)
            if record is None:
                missing.append(rid)
                continue
            at = from_ts(created)
            for key in ledger.distributors:
                period = ledger.calendar(key).period_containing(at)
                want = iso(period[0]) if period else None
                got = (record.get("periods") or {}).get(key)
                if got != want:
                    wrong.append({"refund": rid, "order": oid, "distributor": key, "created": iso(at),
                                  "placed_in": got, "truth": want, "event_at": record["at"]})
        app.close()
        source.close()
    server_requests = sum(stats["requests"].values())
    by_route = stats["requests"]
    order_pages_alone = math.ceil(orders / 100)
    ratio = server_requests / order_pages_alone
    result = {"bench": "requests_backfill", "orders": orders, "orders_read": rep.records,
              "refunds": len(truth), "full_refunds": full_truth, "requests": server_requests,
              "client_requests": client_requests, "requests_by_route": by_route,
              "order_pages_alone": order_pages_alone, "requests_over_orders_alone": round(ratio, 3),
              "requests_per_order": round(server_requests / orders, 4),
              "bytes_read": stats["bytes_sent"], "bytes_per_order": round(stats["bytes_sent"] / orders, 1),
              "refund_events": len(placed), "refunds_missing": len(missing), "refunds_misplaced": len(wrong),
              "misplaced_examples": wrong[:5], "wall_s": round(wall, 2),
              "targets": {"requests<=1.25x": ratio <= 1.25, "refunds_exact": not wrong and not missing}}
    if strict:
        assert not missing and not wrong, f"{len(missing)} refunds missing, {len(wrong)} misplaced: {wrong[:3]}"
    return result


def cli(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--orders", "--size", type=int, default=20_000)
    p.add_argument("--refunds", type=int, default=1300, help="all refunds, full ones included")
    p.add_argument("--full", type=int, default=1000, help="how many of the refunds are full")
    a = p.parse_args(argv)
    r = main(a.orders, a.refunds, a.full)
    t = r["targets"]
    _common.report("first backfill: requests and refund periods", [
        ("shop", f"{r['orders']:,} orders ({r['orders_read']:,} read), {r['refunds']:,} refunds "
                 f"({r['full_refunds']:,} orders fully refunded)"),
        ("requests", f"{r['requests']} ({r['requests_by_route']}); client counted {r['client_requests']}"),
        ("vs order pages alone", f"{r['requests']} / {r['order_pages_alone']} = {r['requests_over_orders_alone']}x "
                                 f"[target <= 1.25x: {_common.verdict(t['requests<=1.25x'])}]"),
        ("per order", f"{r['requests_per_order']} requests, {r['bytes_per_order']:,} bytes "
                      f"({r['bytes_read'] / 2**20:.1f} MiB in all)"),
        ("refund periods", f"{r['refund_events']:,} refund events, {r['refunds_missing']} missing, "
                           f"{r['refunds_misplaced']} in a wrong period "
                           f"[{_common.verdict(t['refunds_exact'])}]"),
        ("wall", f"{r['wall_s']} s (sandbox in-process; not a speed figure)"),
    ], r)
    if r["misplaced_examples"]:
        print("  misplaced:", r["misplaced_examples"])
    return r


if __name__ == "__main__":
    cli()
