"""The files a command writes for its user (payout files): `-` for stdout, or a regular file, whole.

A payout file is money: it must be whole when it appears, it must never be put where something
else was (a device, a link to another file, a folder), and a failure must leave nothing behind,
not even a hidden temp file holding names and emails. So a path is checked first (a usage error,
exit 2, before anything is recorded), then every file of a command is written to a fresh temp file
beside it and fsynced (`files.write_new`), and only then renamed into place, each at once; a
failure on the way removes every temp file and is one line (`OutputError`, exit 1). A file that is
replaced keeps its permissions.
"""
from __future__ import annotations

import os
import secrets
import stat
import sys
from collections.abc import Mapping
from pathlib import Path

from siren_sync.errors import OutputError, UsageError
from siren_sync.files import fsync_dir, write_new

STDOUT = "-"


def check_target(path: str) -> None:
    """Refuse (UsageError) a path that is not `-`, an existing regular file or a new file in a folder."""
    if path == STDOUT:
        return
    problem = _problem(path)
    if problem is not None:
        raise UsageError(f"output {path}: {problem} (siren-sync writes only a regular file, or - for "
                         f"standard output)")


def _problem(path: str) -> str | None:
    if not path.strip():
        return "is empty"
    if path.endswith(os.sep):
        return "ends with a folder separator; give a file name"
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return _folder_problem(Path(path).parent)
    except NotADirectoryError:
        return "a part of the path before the file name is not a folder"
    except OSError as exc:
        return f"cannot be looked at ({exc.strerror})"
    if stat.S_ISLNK(mode):
        return "is a symbolic link (never replaced; give the path it points to)"
    if stat.S_ISDIR(mode):
        return "is a folder; give a file name"
    if not stat.S_ISREG(mode):
        return f"is a {_kind(mode)}, not a regular file"
    return None


def _folder_problem(folder: Path) -> str | None:
    try:
        mode = os.stat(folder).st_mode
    except FileNotFoundError:
        return f"folder {folder} does not exist"
    except OSError as exc:
        return f"folder {folder} cannot be looked at ({exc.strerror})"
    return None if stat.S_ISDIR(mode) else f"{folder} is not a folder"


def _kind(mode: int) -> str:
    kinds = ((stat.S_ISCHR, "character device"), (stat.S_ISBLK, "block device"), (stat.S_ISFIFO, "FIFO (named pipe)"),
             (stat.S_ISSOCK, "socket"))
    return next((name for test, name in kinds if test(mode)), "special file")


def write_files(files: Mapping[str, bytes]) -> None:
    """Write each `path -> bytes` whole: every temp file written and fsynced before the first rename.

    Raises UsageError for a path of the wrong kind and OutputError when writing fails; either
    way no temp file is left, and no file was renamed into place unless every one was written.
    """
    for path in files:
        check_target(path)
    temps: list[tuple[Path, Path]] = []
    current = ""
    try:
        for current, data in files.items():
            if current != STDOUT:
                temps.append((_write_beside(Path(current), data), Path(current)))
        for temp, target in temps:
            current = str(target)
            check_target(current)  # it may have changed since the first look
            os.replace(temp, target)
    except OSError as exc:
        raise OutputError(f"cannot write {current}: {exc.strerror or exc}") from None
    finally:
        for temp, _ in temps:
            if temp.exists():
                temp.unlink()
    for folder in {target.parent for _, target in temps}:
        fsync_dir(folder)
    if STDOUT in files:
        _to_stdout(files[STDOUT])


def _write_beside(target: Path, data: bytes) -> Path:
    """A new hidden temp file in `target`'s folder holding `data` (the permissions of the file it
    will replace, if any)."""
    try:
        mode: int | None = stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        mode = None
    while True:
        temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        try:
            write_new(temp, data, mode)
            return temp
        except FileExistsError:
            continue


def _to_stdout(data: bytes) -> None:
    sys.stdout.flush()
    try:
        buffer = getattr(sys.stdout, "buffer", None)
        if buffer is not None:
            buffer.write(data)
            buffer.flush()
        else:
            sys.stdout.write(data.decode("utf-8"))
            sys.stdout.flush()
    except OSError as exc:  # a closed pipe
        raise OutputError(f"cannot write to standard output: {exc.strerror or exc}") from None
