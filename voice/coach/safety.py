"""Local calendar helpers, kept out of the dialogue manager so it never reads a clock."""

from __future__ import annotations

import time

__all__ = ["local_day_end", "local_day_start"]


def local_day_start(t: float) -> float:
    """Epoch seconds of the local midnight that starts the day containing `t`."""
    lt = time.localtime(t)
    return time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday, 0, 0, 0, 0, 0, -1))


def local_day_end(t: float) -> float:
    """Epoch seconds of the local midnight that ends the day containing `t`."""
    lt = time.localtime(t)
    return time.mktime((lt.tm_year, lt.tm_mon, lt.tm_mday + 1, 0, 0, 0, 0, 0, -1))
