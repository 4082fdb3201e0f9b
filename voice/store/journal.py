"""The safety journal: an append-only copy of every record, to rebuild a damaged database.

`backcoach.safety.jsonl` beside the database holds one JSON object per line, one
line per `voice.coach.memory` record (and one per `profile reset`), in the order
they happened. `SqliteStore.record` appends the line and fsyncs it before the
SQLite commit, so the journal always holds at least what the database holds.
When the database has to be moved aside, the journal is replayed into the new one:
today's pain locks, the advice to see a professional, the screening answer and
the week's runs survive a corrupted file.

Bounded: at every writable open, lines older than `PROFESSIONAL_WINDOW_S` before
the newest line are dropped, except the latest screening answer (it holds until
reset) and pain reports whose lock runs past the newest line. A torn last line
(a crash mid-write) is skipped on reading and removed by that rewrite.
Lines carry `"v": 1`; a line this version cannot read is skipped, never fatal.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from voice.coach.memory import (
    Outcome,
    PainReported,
    Record,
    RoutineEnded,
    RoutineStarted,
    ScreeningAnswered,
    SessionEnded,
    SessionStarted,
    StopHeard,
)
from voice.store.rows import History

__all__ = [
    "PROFILE_RESET",
    "JournalEntry",
    "SafetyJournal",
    "describe_entries",
    "entries_from_history",
    "entry_of",
    "event_of",
    "prune_entries",
    "read_journal",
    "rewrite_journal",
]

JournalEntry = dict[str, Any]
"""`{"v": 1, "type": <record class name>, **record fields, "region": ...}`."""

VERSION = 1
PROFILE_RESET = "ProfileReset"
"""The entry `profile reset` leaves: replay forgets the screening answers before it."""

_TYPES: dict[str, type[Record]] = {
    cls.__name__: cls
    for cls in (
        SessionStarted,
        SessionEnded,
        ScreeningAnswered,
        RoutineStarted,
        RoutineEnded,
        StopHeard,
        PainReported,
    )
}
_SCREENING = {ScreeningAnswered.__name__, PROFILE_RESET}


# ----- entries <-> records -----


def entry_of(event: Record | None, region: str | None = None, *, at: float = 0.0) -> JournalEntry:
    """The line for `event` as stored (`region`: the one the store resolved for it).

    `event` None: a profile reset at `at`.
    """
    if event is None:
        return {"v": VERSION, "type": PROFILE_RESET, "at": at}
    entry: JournalEntry = {"v": VERSION, "type": type(event).__name__, **asdict(event)}
    if isinstance(event, RoutineEnded):
        entry["outcome"] = Outcome(event.outcome).value
    if isinstance(event, StopHeard | PainReported):
        entry["region"] = region
    return entry


def event_of(entry: JournalEntry) -> tuple[Record | None, str | None]:
    """The record of a line and its region; (None, None) for a profile reset.

    Raises `ValueError` (or `KeyError`, `TypeError`) for a line that is not a record.
    """
    kind = entry["type"]
    if kind == PROFILE_RESET:
        return None, None
    cls = _TYPES[kind]
    values = {f.name: entry[f.name] for f in fields(cls) if f.name in entry}
    if cls is RoutineEnded:
        values["outcome"] = Outcome(values["outcome"])
    region = entry.get("region")
    return cls(**values), region if isinstance(region, str) else None


def entries_from_history(history: History) -> list[JournalEntry]:
    """Lines rebuilt from stored rows: for a database that was written before the journal."""
    timed: list[tuple[float, int, JournalEntry]] = []

    def add(at: float, event: Record, region: str | None = None) -> None:
        timed.append((at, len(timed), entry_of(event, region)))

    if history.screening is not None:
        s = history.screening
        add(s.at, ScreeningAnswered(s.at, s.has_condition, s.reason))
    for session in history.sessions:
        add(session.started_at, SessionStarted(session.started_at))
        if session.ended_at is not None:
            add(session.ended_at, SessionEnded(session.ended_at))
    for run in history.runs:
        add(run.started_at, RoutineStarted(run.started_at, run.routine, run.region))
        if run.ended_at is not None and run.outcome is not None:
            ended = RoutineEnded(run.ended_at, run.routine, run.region, run.outcome, run.steps_done)
            add(run.ended_at, ended)
    for stop in history.stops:
        add(stop.at, StopHeard(stop.at, stop.routine, stop.step, stop.pain), stop.region)
    for p in history.pains:
        pain = PainReported(
            p.at, p.routine, p.region, p.step, p.rating, p.red_flag_advice, p.locked_until
        )
        add(p.at, pain, p.region)
    return [entry for _, _, entry in sorted(timed, key=lambda item: (item[0], item[1]))]


def describe_entries(entries: list[JournalEntry]) -> str:
    """What a replay brings back, for the notice: "1 pain report (highest 8/10), ..."."""
    pains = [e for e in entries if e.get("type") == PainReported.__name__]
    stops = [e for e in entries if e.get("type") == StopHeard.__name__ and e.get("pain")]
    runs = [e for e in entries if e.get("type") == RoutineStarted.__name__]
    screening = [e for e in entries if e.get("type") in _SCREENING]
    parts = []
    if pains:
        ratings = [e["rating"] for e in pains if isinstance(e.get("rating"), int)]
        highest = f" (highest {max(ratings)}/10)" if ratings else ""
        parts.append(f"{_plural(len(pains), 'pain report')}{highest}")
    if stops:
        parts.append(_plural(len(stops), "pain stop"))
    if runs:
        parts.append(_plural(len(runs), "routine run"))
    if screening:
        last = screening[-1]
        if last["type"] == PROFILE_RESET:
            parts.append("the profile reset")
        else:
            parts.append(f"the screening answer ({'yes' if last.get('has_condition') else 'no'})")
    return ", ".join(parts) or "no safety events"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# ----- the file -----


def read_journal(path: Path) -> tuple[list[JournalEntry], int]:
    """The readable lines of the journal at `path` (none if it is missing) and how many were not.

    A torn last line, a line from a newer version, a line that is not JSON: skipped.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return [], 0
    entries: list[JournalEntry] = []
    bad = 0
    for line in data.split(b"\n"):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
            if not isinstance(entry, dict) or entry.get("v") != VERSION:
                raise ValueError("not a version 1 entry")
            event_of(entry)  # readable as a record, or a profile reset
            float(entry["at"])
        except (ValueError, KeyError, TypeError):
            bad += 1
            continue
        entries.append(entry)
    return entries, bad


def prune_entries(entries: list[JournalEntry], window_s: float) -> list[JournalEntry]:
    """The entries a replay still needs: see the module docstring."""
    if not entries:
        return []
    newest = max(float(e["at"]) for e in entries)
    since = newest - window_s
    last_screening = max(
        (i for i, e in enumerate(entries) if e["type"] in _SCREENING), default=None
    )
    kept = []
    for i, entry in enumerate(entries):
        lock = entry.get("locked_until")
        if (
            float(entry["at"]) >= since
            or i == last_screening
            or (isinstance(lock, int | float) and lock > newest)
        ):
            kept.append(entry)
    return kept


def _line(entry: JournalEntry) -> bytes:
    return (json.dumps(entry, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")


def _fsync_folder(folder: Path) -> None:
    """Make a created or renamed name in `folder` durable (POSIX; a no-op elsewhere)."""
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def rewrite_journal(path: Path, entries: list[JournalEntry]) -> None:
    """Replace the journal with `entries`, atomically (temporary file, fsync, rename)."""
    temporary = path.with_name(path.name + ".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        _write_all(fd, b"".join(_line(e) for e in entries))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(temporary, path)
    _fsync_folder(path.parent)


class SafetyJournal:
    """The open journal of one writable store: `append` returns once the line is on disk.

    Call `append` inside the database's write transaction: opening a store rewrites
    the journal under that same lock, and `append` follows such a rewrite.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        created = not path.exists()
        self._fd: int | None = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        if created:
            _fsync_folder(path.parent)
        size = os.fstat(self._fd).st_size
        self._torn = size > 0 and not _ends_with_newline(path)
        """A line may be unfinished: start the next one on a new line."""

    def append(self, entry: JournalEntry) -> None:
        """Write one line and fsync it; raises `OSError` (e.g. disk full) if it is not on disk."""
        if self._fd is None:
            raise OSError(f"the safety journal {self.path} is closed")
        self._reopen_if_replaced()
        data = _line(entry)
        if self._torn:
            data = b"\n" + data
        try:
            _write_all(self._fd, data)
            os.fsync(self._fd)
        except OSError:
            self._torn = True  # part of the line may be there
            raise
        self._torn = False

    def _reopen_if_replaced(self) -> None:
        """Another store's open pruned the journal (a new file): append to that one."""
        assert self._fd is not None
        try:
            replaced = os.stat(self.path).st_ino != os.fstat(self._fd).st_ino
        except FileNotFoundError:
            replaced = True
        if replaced:
            os.close(self._fd)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            self._torn = os.fstat(self._fd).st_size > 0 and not _ends_with_newline(self.path)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def _ends_with_newline(path: Path) -> bool:
    with path.open("rb") as file:
        file.seek(-1, os.SEEK_END)
        return file.read(1) == b"\n"
