"""The names a store accepts and the digest an event key is remembered by."""
from __future__ import annotations

import hashlib

import pytest

from siren_sync.store.names import KEY_BYTES, check_bucket, check_key, check_table, is_partition, key_digest


def test_an_event_key_is_remembered_by_96_bits_of_blake2b():
    assert KEY_BYTES == 12
    digest = hashlib.blake2b(b"woocommerce:sale:1000", digest_size=12).digest()
    assert key_digest("woocommerce:sale:1000") == int.from_bytes(digest, "little")
    assert key_digest("é") == int.from_bytes(hashlib.blake2b("é".encode(), digest_size=12).digest(), "little")
    assert key_digest("a") != key_digest("b")


def test_a_partition_is_a_table_whose_name_has_a_slash():
    assert is_partition("aggregates/d/2026-11-01") and not is_partition("cursors")


@pytest.mark.parametrize("check, value", [
    (check_table, ""), (check_table, "_meta"), (check_table, None), (check_table, 1),
    (check_key, ""), (check_key, None), (check_key, 1),
    (check_bucket, ""), (check_bucket, "../x"), (check_bucket, "a/b"), (check_bucket, ".hidden"),
    (check_bucket, "x" * 101), (check_bucket, "2026-11\n"), (check_bucket, None),
])
def test_bad_names_are_refused(check, value):
    with pytest.raises(ValueError, match="bad "):
        check(value)


@pytest.mark.parametrize("check, value", [
    (check_table, "cursors"), (check_table, "a/_b"), (check_key, "_x"),
    (check_bucket, "2026-11"), (check_bucket, "a.b_c-d"), (check_bucket, "x" * 100),
])
def test_good_names_pass(check, value):
    assert check(value) is None
