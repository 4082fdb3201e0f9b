"""The safety memory's files on disk: the data folder, private modes, moving a bad file aside.

Everything here is plain file-system work with no SQL: `voice.store.sqlite` uses
it to decide where the database lives, whether it can be written, and what to do
with a damaged one. The names are re-exported by `voice.store.sqlite`.
"""

from __future__ import annotations

import errno
import os
import sqlite3
import stat
from datetime import datetime
from pathlib import Path

from voice.errors import BadInput

__all__ = [
    "DATABASE_NAME",
    "DATA_DIR_ENV",
    "DATA_DIR_HELP",
    "JOURNAL_NAME",
    "check_data_dir",
    "create_private",
    "default_data_dir",
    "is_corrupt",
    "is_unwritable",
    "move_aside",
    "private_mode_notice",
    "read_only_uri",
    "resolve_data_dir",
    "unwritable_reason",
]

DATABASE_NAME = "backcoach.db"
JOURNAL_NAME = "backcoach.safety.jsonl"
"""The append-only journal of safety events beside the database (`voice.store.journal`)."""
DATA_DIR_ENV = "BACKCOACH_DATA"
DATA_DIR_HELP = (
    f"folder for the safety memory and history (default: ${DATA_DIR_ENV}, "
    "else the user data folder, e.g. ~/.local/share/backcoach)"
)

_CORRUPT_CODES = {11, 26}
"""SQLITE_CORRUPT and SQLITE_NOTADB: the file itself is bad, not the access to it."""
_READONLY_CODES = {3, 8}
"""SQLITE_PERM and SQLITE_READONLY: the file may be read but not written."""
_SQLITE_CANTOPEN = 14
_SQLITE_FULL = 13
_UNWRITABLE_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOSPC}


# ----- the data folder -----


def default_data_dir() -> Path:
    """`$BACKCOACH_DATA` if set, else platformdirs' user data dir for `backcoach`."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    from platformdirs import user_data_dir

    return Path(user_data_dir("backcoach", appauthor=False))


def resolve_data_dir(data_dir: Path | None) -> Path:
    """`--data-dir` wins over the environment, which wins over the platform default."""
    return Path(data_dir).expanduser() if data_dir is not None else default_data_dir()


def check_data_dir(folder: Path) -> None:
    """`BadInput` when `folder`, or a folder above it, is an existing file.

    mkdir would say "File exists" or "Not a directory", which names neither the
    file nor the fix.
    """
    for candidate in (folder, *folder.parents):
        if candidate.is_dir():
            return
        if candidate.exists():
            where = str(folder) if candidate == folder else f"{folder}: {candidate}"
            raise BadInput(f"data folder {where} is a file, not a folder; pass --data-dir DIR")


# ----- errors -----


def _code(error: sqlite3.Error) -> int | None:
    code = getattr(error, "sqlite_errorcode", None)  # Python >= 3.11
    return None if code is None else code & 0xFF


def is_corrupt(error: sqlite3.DatabaseError) -> bool:
    code = _code(error)
    if code is not None:
        return code in _CORRUPT_CODES
    text = str(error)
    return "not a database" in text or "malformed" in text


def is_unwritable(error: BaseException, path: Path) -> bool:
    """Does `error` mean the database at `path` can be read but not written here?

    A read-only file or folder (SQLite reports it as read-only, or as unable to
    open the -wal file beside it), a permission refused, a read-only or full
    file system.
    """
    if isinstance(error, sqlite3.Error):
        code = _code(error)
        text = str(error)
        if code in _READONLY_CODES or "readonly database" in text:
            return True
        if code == _SQLITE_FULL or "disk is full" in text:
            return True
        if code == _SQLITE_CANTOPEN or "unable to open" in text:
            return unwritable_reason(path) != ""
        return False
    if isinstance(error, OSError):
        return error.errno in _UNWRITABLE_ERRNOS
    return False


def unwritable_reason(path: Path) -> str:
    """ "" when `path` (a file, maybe not there yet) looks writable, else what is read-only.

    `os.access` honours read-only mounts and immutable files, also for root.
    """
    folder = path.parent
    if not folder.exists():
        return ""
    if path.exists() and not os.access(path, os.W_OK):
        return f"{path} is read-only"
    if not os.access(folder, os.W_OK):
        return f"the folder {folder} is read-only"
    return ""


def read_only_uri(path: Path, *, immutable: bool = False) -> str:
    """An SQLite URI that opens `path` read-only, never creating or changing a file.

    `immutable` also skips the -shm file, so a WAL database in a read-only
    folder can be read; it does not see a -wal file that was never checkpointed.
    """
    uri = path.resolve().as_uri() + "?mode=ro"
    return uri + "&immutable=1" if immutable else uri


# ----- the file -----


def create_private(path: Path) -> list[str]:
    """Create `path` empty with mode 0600 unless it exists; make an existing one 0600.

    Done with `os.open` before SQLite opens the file, so it is never readable by
    others even for a moment. SQLite gives the -wal and -shm files the same mode.
    Returns notices for the user. Raises `IsADirectoryError` for a folder.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        if path.is_dir():
            raise IsADirectoryError(errno.EISDIR, "is a folder, not a file", str(path)) from None
    else:
        os.close(fd)
    if os.name != "posix":  # Windows has no group/other bits; the profile folder is private
        return []
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077 == 0:
        return []
    try:
        os.chmod(path, 0o600)
    except OSError as error:
        return [
            f"{path} is readable by other users (mode {mode:o}) and could not be fixed: {error}"
        ]
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        # e.g. a FAT or network file system that ignores chmod
        return [
            f"{path} is readable by other users (mode {mode:o}); this file system ignores chmod"
        ]
    return [f"{path} was readable by other users (mode {mode:o}); it is now private (600)"]


def private_mode_notice(path: Path) -> list[str]:
    """A read-only look at the mode: the notice `create_private` would fix, without fixing."""
    if os.name != "posix" or not path.exists():
        return []
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077 == 0:
        return []
    return [
        f"{path} is readable by other users (mode {mode:o}); the next session makes it "
        f"private, or run: chmod 600 {path}"
    ]


def move_aside(path: Path) -> Path:
    """Rename the database and its -wal/-shm files to `<name>.corrupt-<timestamp>[-wal]`."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    target = path.with_name(f"{path.name}.corrupt-{stamp}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}.corrupt-{stamp}-{n}")
    path.rename(target)
    # Keep the WAL beside its database so the pair can still be inspected, and
    # so the fresh database does not pick up the old log.
    for suffix in ("-wal", "-shm"):
        sidecar = path.with_name(path.name + suffix)
        if sidecar.exists():
            sidecar.rename(target.with_name(target.name + suffix))
    return target
