"""WooCommerce orders -> sale, refund, cancellation and engagement events (DESIGN section 3, "The pool").

The money path: an orders walk that loses nothing. Each module answers one question:

- `orders`: where is an order parsed, and which events does it imply? (pure, the hot path)
- `walk`: which orders query comes next, and how far may the cursor move? (pure)
- `refunds`: when was each refund made (without a request, in bulk, or per order)?
- `statuses`: which order statuses are read (core, configured, the site's own from OPTIONS)?
- `check`: what `siren-sync check` says of the shop.
- `source`: `WooCommerceSource`, wiring them to the site and the ledger, page by page.

Modules import downward only, in the order `orders` <- `statuses`, `refunds`, `walk` <- `check`
<- `source`.
"""
from __future__ import annotations

from siren_sync.sources.woocommerce.orders import ORDERS, Order, Refund, order_events, parse_order
from siren_sync.sources.woocommerce.source import WooCommerceOAuth1, WooCommerceSource

__all__ = ["ORDERS", "Order", "Refund", "WooCommerceOAuth1", "WooCommerceSource", "order_events", "parse_order"]
