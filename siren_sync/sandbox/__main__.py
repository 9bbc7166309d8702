"""`python -m siren_sync.sandbox --port 0 --seed 1`: print the URL and credentials, then serve."""
from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from siren_sync.sandbox import DEFAULT_START, Sandbox


def _when(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m siren_sync.sandbox", description=__doc__)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0 picks a free port")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--start", type=_when, default=DEFAULT_START, help="the simulated clock's start (ISO)")
    p.add_argument("--days", type=int, default=None, help="activity after start (revealed by the clock)")
    p.add_argument("--history-days", type=int, default=None, help="activity before start (visible at once)")
    p.add_argument("--orders-per-day", type=float, default=40.0)
    p.add_argument("--orders", type=int, default=None, help="exact number of orders (benchmarks)")
    p.add_argument("--refunds", type=int, default=None)
    p.add_argument("--full-refunds", type=int, default=None)
    p.add_argument("--visitors", action="store_true", help="orders carry customer addresses and agents")
    p.add_argument("--subscriptions", action="store_true", help="WooCommerce Subscriptions and renewal orders")
    p.add_argument("--access-log", help="write the web server's access log here, as the clock moves")
    p.add_argument("--json", action="store_true", help="print one JSON line instead of KEY=value lines")
    args = p.parse_args(argv)
    sb = Sandbox(seed=args.seed, start=args.start, days=args.days, history_days=args.history_days,
                 orders_per_day=args.orders_per_day, orders=args.orders, refunds=args.refunds,
                 full_refunds=args.full_refunds, host=args.host, port=args.port, visitors=args.visitors,
                 subscriptions=args.subscriptions, access_log=args.access_log)
    sb.start()
    env = sb.env()
    if args.json:
        print(json.dumps({"url": sb.url, **sb.credentials, "now": sb.now.isoformat()}), flush=True)
    else:
        print(f"siren-sync sandbox at {sb.url}  (REST root {sb.api_root}, simulated now {sb.now.isoformat()})")
        for key, value in env.items():
            print(f"{key}={value!s}" if " " not in value else f"{key}='{value}'")
        print("control: GET|POST /wp-json/sandbox/v1/clock, /faults, /stats   (Ctrl-C stops)", flush=True)
    try:
        sb._thread.join()  # type: ignore[union-attr]
    except KeyboardInterrupt:
        pass
    finally:
        sb.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
