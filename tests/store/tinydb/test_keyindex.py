"""The key index of a TinyDB store: the 12-byte digests of every recorded key, as the first wave wrote them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from siren_sync.errors import StoreError
from siren_sync.store.names import KEY_BYTES, key_digest
from siren_sync.store.tinydb.keyindex import encode_keys, read_key_index

FIRST_WAVE = Path(__file__).resolve().parents[2] / "fixtures" / "first_wave" / "store" / "siren-sync.d"


def test_the_first_waves_key_index_is_the_digests_of_its_events_in_order():
    keys = [json.loads(line)["key"] for line in (FIRST_WAVE / "events" / "2026-11.jsonl").read_bytes().splitlines()]
    assert len(keys) == 243
    assert (FIRST_WAVE / "keys.bin").read_bytes() == encode_keys(key_digest(key) for key in keys)
    assert read_key_index(Path("root"), FIRST_WAVE / "keys.bin", len(keys) * KEY_BYTES) == {
        key_digest(key) for key in keys}


def test_only_the_committed_length_is_read(tmp_path: Path):
    path = tmp_path / "keys.bin"
    path.write_bytes(encode_keys([1, 2, 3]) + b"half a digest")
    assert read_key_index(tmp_path / "r.json", path, 2 * KEY_BYTES) == {1, 2}
    assert read_key_index(tmp_path / "r.json", tmp_path / "absent", 0) == set()
    with pytest.raises(StoreError, match="keys.bin is shorter than recorded"):
        read_key_index(tmp_path / "r.json", path, 5 * KEY_BYTES)
