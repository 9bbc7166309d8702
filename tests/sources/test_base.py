"""What every source shares: the attribution lookups compare codes as people read them."""
from __future__ import annotations

from siren_sync.model import Collaborator
from siren_sync.sources.base import Attribution


def test_a_coupon_or_tracking_id_typed_another_way_finds_its_owner():
    """Before: `CAFÉ` typed with a combining accent on the shop did not find the configured `café`."""
    index = Attribution.of([Collaborator("jos\u00e9", coupons=("caf\u00e910",), tracking_ids=("jos\u00e9",))])
    assert index.by_coupon.get("cafe\u030110") == "jos\u00e9"  # what WooCommerce sends, lower-cased
    assert index.by_coupon.get("CAF\u00c910") == "jos\u00e9" and "cafe\u030110" in index.by_coupon
    assert index.by_coupon["caf\u00e910"] == "jos\u00e9"
    assert index.by_tracking_id.get("jose\u0301") == "jos\u00e9" and index.by_tracking_id.get("other") is None
    assert index.by_coupon.get(None) is None  # a lookup of nothing finds nothing
