"""The one atomic writer: a failed write leaves the old file as it was and no temp file behind."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from siren_sync import files


@pytest.mark.parametrize("failing", ["write", "fsync"])
def test_a_full_disk_leaves_the_old_file_and_no_temp_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                           failing: str):
    target = tmp_path / "payouts.csv"
    target.write_bytes(b"old\n")

    def full(*_args: object) -> int:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, failing, full)
    with pytest.raises(OSError, match="No space left on device"):
        files.write_atomic(target, b"new\n" * 1000)
    monkeypatch.undo()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["payouts.csv"]
    assert target.read_bytes() == b"old\n"


def test_a_write_that_works_replaces_the_file(tmp_path: Path):
    target = tmp_path / "out.json"
    files.write_atomic(target, b"{}")
    assert target.read_bytes() == b"{}" and sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]
