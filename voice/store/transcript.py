"""JSON Lines transcript of a session: one event per line, flushed as it happens.

Each line is written and flushed before the runtime moves on, so a session that
is killed keeps every event logged before the kill.
"""

from __future__ import annotations

import json
from enum import Enum
from pathlib import Path
from typing import IO, Any

__all__ = ["Transcript"]


class Transcript:
    """Writes `{"t": seconds_since_start, "event": ..., ...}` lines."""

    def __init__(self, path: Path | None, start: float) -> None:
        self.start = start
        """Clock time (seconds) that `t` counts from."""
        self.events: list[dict[str, Any]] = []
        """Every event written, also kept in memory for the caller."""
        self._file: IO[str] | None = None
        if path is not None:
            try:
                self._file = path.open("a", encoding="utf-8")
            except OSError as error:
                from voice.errors import BadInput

                raise BadInput(f"cannot write the transcript {path}: {error}") from None

    def write(self, now: float, event: str, **fields: Any) -> None:
        line = {"t": round(now - self.start, 3), "event": event, **fields}
        self.events.append(line)
        if self._file is not None:
            self._file.write(json.dumps(line, default=_plain) + "\n")
            self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _plain(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else str(value)
