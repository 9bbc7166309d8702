"""The files a command writes for its user (output.py): `-` or a regular file, whole, or nothing."""
from __future__ import annotations

import errno
import os
import stat

import pytest

from siren_sync import files, output
from siren_sync.errors import OutputError, UsageError


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir())


def test_a_new_file_is_written_whole(tmp_path):
    target = tmp_path / "payouts.csv"
    output.write_files({str(target): b"a,b\n"})
    assert target.read_bytes() == b"a,b\n"
    assert leftovers(tmp_path) == ["payouts.csv"]


def test_a_regular_file_is_replaced_and_keeps_its_permissions(tmp_path):
    target = tmp_path / "payouts.csv"
    target.write_bytes(b"old\n")
    target.chmod(0o600)  # the user made it private: it stays private
    output.write_files({str(target): b"new\n"})
    assert target.read_bytes() == b"new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert leftovers(tmp_path) == ["payouts.csv"]


def test_dash_is_standard_output_and_no_file_is_made(tmp_path, capsysbinary, monkeypatch):
    monkeypatch.chdir(tmp_path)
    output.write_files({"-": "é,1\n".encode()})
    assert capsysbinary.readouterr().out == "é,1\n".encode()
    assert leftovers(tmp_path) == []


def make_fifo(path):
    os.mkfifo(path)
    return path


@pytest.mark.parametrize("kind, make, problem", [
    ("folder", lambda p: p.mkdir() or p, "is a folder"),
    ("symlink", lambda p: (p.symlink_to(p.parent / "real.csv"), p)[1], "is a symbolic link"),
    ("dangling symlink", lambda p: (p.symlink_to(p.parent / "nowhere.csv"), p)[1], "is a symbolic link"),
    ("fifo", make_fifo, r"is a FIFO \(named pipe\), not a regular file"),
    ("missing folder", lambda p: p.parent / "no" / "such" / "x.csv", "folder"),
    ("under a file", lambda p: p.parent / "real.csv" / "x.csv", "not a folder"),
])
def test_a_path_that_is_not_a_regular_file_is_refused_and_left_alone(tmp_path, kind, make, problem):
    (tmp_path / "real.csv").write_bytes(b"keep\n")
    target = make(tmp_path / "out.csv")
    before = leftovers(tmp_path)
    with pytest.raises(UsageError, match=problem) as refused:
        output.write_files({str(target): b"x\n"})
    assert "\n" not in str(refused.value) and refused.value.exit_code == 2
    assert leftovers(tmp_path) == before and (tmp_path / "real.csv").read_bytes() == b"keep\n"


def test_a_device_is_refused():
    with pytest.raises(UsageError, match="/dev/null: is a character device, not a regular file"):
        output.write_files({"/dev/null": b"x\n"})


@pytest.mark.parametrize("path, problem", [("", "is empty"), ("   ", "is empty"), ("out/", "folder separator")])
def test_paths_that_name_no_file(tmp_path, monkeypatch, path, problem):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match=problem):
        output.check_target(path)


def test_a_full_disk_leaves_no_temp_file_and_the_old_file_intact(tmp_path, monkeypatch):
    target = tmp_path / "payouts.csv"
    target.write_bytes(b"old\n")
    real_write = os.write

    def full(fd, data):
        if len(data) > 3:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(OutputError, match=r"^cannot write .*payouts.csv: No space left on device$") as failed:
        output.write_files({str(target): b"names and emails\n"})
    assert failed.value.exit_code == 1
    assert leftovers(tmp_path) == ["payouts.csv"] and target.read_bytes() == b"old\n"


def test_no_permission_is_one_line_and_leaves_nothing(tmp_path, monkeypatch):
    real_open = os.open

    def refuse(path, *args, **kwargs):
        if str(path).startswith(str(tmp_path)):
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    with pytest.raises(OutputError, match="^cannot write .*out.csv: Permission denied$"):
        output.write_files({str(tmp_path / "out.csv"): b"x\n"})
    assert leftovers(tmp_path) == []


def test_several_files_appear_only_if_every_one_was_written(tmp_path, monkeypatch):
    real_write = os.write

    def fail_second(fd, data):
        if bytes(data).startswith(b"EUR"):
            raise OSError(errno.EIO, "Input/output error")
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", fail_second)
    with pytest.raises(OutputError, match="Input/output error"):
        output.write_files({str(tmp_path / "p.USD.csv"): b"USD rows\n", str(tmp_path / "p.EUR.csv"): b"EUR rows\n"})
    assert leftovers(tmp_path) == []


def test_a_path_turned_into_a_link_before_the_rename_is_refused(tmp_path, monkeypatch):
    """The path is looked at again just before the rename (a link planted meanwhile is never replaced)."""
    target = tmp_path / "out.csv"
    real_new = files.write_new

    def plant(path, data, mode=None):
        real_new(path, data, mode)
        target.symlink_to(tmp_path / "elsewhere")

    monkeypatch.setattr(output, "write_new", plant)
    with pytest.raises(UsageError, match="symbolic link"):
        output.write_files({str(target): b"x\n"})
    assert leftovers(tmp_path) == ["out.csv"] and target.is_symlink()


def test_the_store_temp_file_does_not_survive_a_full_disk(tmp_path, monkeypatch):
    """files.write_atomic (the store's writer) removes its temp file when the write fails."""
    target = tmp_path / "root.json"
    target.write_bytes(b"{}")
    monkeypatch.setattr(os, "write", lambda fd, data: (_ for _ in ()).throw(OSError(errno.ENOSPC, "full")))
    with pytest.raises(OSError):
        files.write_atomic(target, b'{"a": 1}')
    assert leftovers(tmp_path) == ["root.json"] and target.read_bytes() == b"{}"
