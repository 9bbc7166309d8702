"""Reading a segment of the event ledger: its committed lines only, in order."""
from __future__ import annotations

from pathlib import Path

import pytest

from siren_sync.errors import StoreError
from siren_sync.store.tinydb.segments import read_segment

LINES = b'{"key":"a"}\n{"key":"b"}\n'


def test_only_the_committed_lines_are_read(tmp_path: Path):
    path = tmp_path / "2026-11.jsonl"
    path.write_bytes(LINES + b'{"key":"half')
    assert list(read_segment(tmp_path / "r.json", path, len(LINES))) == [{"key": "a"}, {"key": "b"}]
    assert list(read_segment(tmp_path / "r.json", path, 12)) == [{"key": "a"}]
    assert list(read_segment(tmp_path / "r.json", path, 0)) == []


@pytest.mark.parametrize("content, length, problem", [
    (LINES, 15, "line 2 crosses the committed length"),
    (b'{"key":"a"}', 11, "line 1 crosses the committed length"),
    (b'{"key":"a"}\nnot json\n', 21, "line 2 is not JSON"),
    (LINES, len(LINES) + 1, "is shorter than recorded"),
    (LINES[:-3], len(LINES), "is shorter than recorded"),  # its last line cut short
    (None, 12, "No such file or directory"),
])
def test_a_segment_that_disagrees_with_its_length_cannot_be_read(tmp_path: Path, content, length: int, problem: str):
    path = tmp_path / "2026-11.jsonl"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(StoreError, match=f"store {tmp_path / 'r.json'} cannot be read: .*2026-11.jsonl.*{problem}"):
        list(read_segment(tmp_path / "r.json", path, length))
