"""Faults inside a session that must not end it: the store failing (a real full disk)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.coach_sim import T0, book, grammar
from voice.coach import lines
from voice.coach.dialogue import Coach
from voice.coach.memory import SafetyMemory, Screening, StopHeard
from voice.session.runner import CaptionOutput, SessionRunner, VirtualClock
from voice.store.sqlite import DATABASE_NAME, SqliteStore, StoreError
from voice.store.transcript import Transcript


def _full_store(path: Path) -> SqliteStore:
    """A real store whose database file can no longer grow: SQLite reports SQLITE_FULL."""
    store = SqliteStore(path)
    (pages,) = store._db.execute("PRAGMA page_count").fetchone()
    store._db.execute(f"PRAGMA max_page_count = {pages}")
    with pytest.raises(StoreError, match="full"):
        for i in range(10_000):  # fill the free room of its last pages
            store.record(StopHeard(T0 - 3600 + i, None, None, pain=False))
    return store


def test_a_full_disk_mid_session_is_told_once_and_safety_holds_in_memory(
    tmp_path: Path,
) -> None:
    store = _full_store(tmp_path / DATABASE_NAME)
    said: list[str] = []
    warnings: list[str] = []
    clock = VirtualClock(T0)
    coach = Coach(book(), SafetyMemory(screening=Screening(False, T0 - 1)))
    transcript_path = tmp_path / "t.jsonl"
    runner = SessionRunner(
        coach, grammar(), clock, Transcript(transcript_path, T0), store, warn=warnings.append
    )
    runner.outputs.append(CaptionOutput(said.append, runner.speech_done))
    runner.run_virtual(
        ["start hand extension", "ready", "it hurts", "eight", "start hand extension", "help"],
        clock,
    )
    assert said.count(lines.NOT_SAVING) == 1
    assert len(warnings) == 1 and "history is not being saved" in warnings[0]
    assert "full" in warnings[0] and "--data-dir" in warnings[0]
    # The session went on to its end, and the pain rating still refuses a new start.
    assert lines.no_routines_today(8) in said
    assert said[-1] == lines.HELP_IDLE or lines.HELP_IDLE in said
    # Every event is still in the transcript, with the failure beside it.
    text = transcript_path.read_text()
    assert '"pain"' in text and "store failed" in text
    store.close()
