"""Really read-only files and folders for tests, also when the tests run as root.

chmod does not stop root (CAP_DAC_OVERRIDE), so as root the immutable attribute
(`chattr +i`, needs CAP_LINUX_IMMUTABLE) is used instead: the kernel refuses the
write to root too, with EPERM, and `os.access` reports it. Each use checks that a
write really fails, and skips (saying why) where neither works.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

__all__ = ["read_only"]


def _chattr(flag: str, paths: list[Path]) -> bool:
    tool = shutil.which("chattr")
    if tool is None:
        return False
    result = subprocess.run([tool, flag, *map(str, paths)], capture_output=True, timeout=30)
    return result.returncode == 0


def _writes_fail(path: Path) -> bool:
    probe = path / ".write-probe" if path.is_dir() else path
    try:
        if path.is_dir():
            probe.write_bytes(b"")
            probe.unlink()
        else:
            with probe.open("ab"):
                pass
    except OSError:
        return True
    return False


@contextmanager
def read_only(*paths: Path) -> Iterator[None]:
    """Make `paths` (files and folders) unwritable for this process inside the block."""
    targets = list(paths)
    if os.name == "posix" and os.geteuid() == 0:
        if not _chattr("+i", targets):
            pytest.skip("running as root, and chattr +i is not available here: root ignores chmod")
        undo = lambda: _chattr("-i", targets)  # noqa: E731
    else:
        modes = {p: stat.S_IMODE(p.stat().st_mode) for p in targets}
        for p in targets:
            os.chmod(p, 0o500 if p.is_dir() else 0o400)

        def undo() -> bool:
            for p, mode in modes.items():
                os.chmod(p, mode)
            return True

    try:
        if not all(_writes_fail(p) for p in targets):
            pytest.skip("could not make the test folder read-only on this file system")
        yield
    finally:
        undo()
