"""The safety journal: what a corrupted database would lose comes back from it.

Real files: the database is wrecked by overwriting its bytes, the journal is
read back as written, torn by hand where a crash would tear it.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path

import pytest

from tests.store.test_store import BERLIN, pain_stop, run_routine, t
from voice.coach.memory import PainReported, ScreeningAnswered, SessionStarted, StopHeard
from voice.store import journal as journal_module
from voice.store.sqlite import DATABASE_NAME, JOURNAL_NAME, SqliteStore


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / DATABASE_NAME


def journal_lines(db_path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (db_path.parent / JOURNAL_NAME).read_text().splitlines()]


def wreck(db_path: Path, how: str) -> None:
    """Overwrite the database's bytes: all of them, or every page after the header page."""
    data = bytearray(db_path.read_bytes())
    start = 0 if how == "everything" else 4096
    data[start:] = b"\xff" * (len(data) - start)
    db_path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["everything", "pages"])
def test_a_pain_lock_and_the_advice_survive_a_corrupted_database(db_path: Path, how: str) -> None:
    store = SqliteStore(db_path, tz=BERLIN)
    store.record(SessionStarted(t(0, 8)))
    store.record(ScreeningAnswered(t(0, 8, 1), False))
    pain_stop(store, t(0, 9), rating=8, locked_until=t(1, 0))
    store.close()
    wreck(db_path, how)
    store = SqliteStore(db_path, tz=BERLIN)
    memory = store.snapshot(t(0, 12))
    assert memory.locked_until == {"thoracic": t(1, 0)}, "the region stays locked today"
    assert "8 out of 10" in memory.see_professional
    assert memory.screening is not None and memory.screening.has_condition is False
    assert len(store.notices) == 1
    notice = store.notices[0]
    assert "damaged" in notice and "moved to" in notice
    assert f"recovered from {db_path.parent / JOURNAL_NAME}" in notice
    assert "1 pain report (highest 8/10), 1 pain stop, 1 routine run" in notice
    assert "the screening answer (no)" in notice
    # The new database goes on: a later record and a later session see it all.
    store.record(StopHeard(t(0, 13), None, None, pain=False))
    store.close()
    with SqliteStore(db_path, tz=BERLIN) as again:
        assert again.notices == []
        assert again.snapshot(t(0, 14)).locked_until == {"thoracic": t(1, 0)}
        assert len(again.history(t(0, 14), 1).stops) == 2


def test_each_record_is_fsynced_to_the_journal_before_the_commit(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteStore(db_path)
    seen: list[tuple[int, int]] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        real_fsync(fd)
        lines = (db_path.parent / JOURNAL_NAME).read_text().count("\n")
        other = sqlite3.connect(db_path)  # what another process would see now
        (committed,) = other.execute("SELECT COUNT(*) FROM pain_events").fetchone()
        other.close()
        seen.append((lines, committed))

    monkeypatch.setattr(journal_module.os, "fsync", fsync)
    store.record(PainReported(t(0), "rotation", "thoracic", 2, 8, True, t(1, 0)))
    monkeypatch.undo()
    assert seen == [(1, 0)], "the line is on disk while the row is not yet committed"
    assert journal_lines(db_path)[0] == {
        "v": 1,
        "type": "PainReported",
        "at": t(0),
        "routine": "rotation",
        "region": "thoracic",
        "step": 2,
        "rating": 8,
        "red_flag_advice": True,
        "locked_until": t(1, 0),
    }
    store.close()


def test_a_torn_last_line_is_skipped_and_cleaned_up(db_path: Path) -> None:
    store = SqliteStore(db_path, tz=BERLIN)
    pain_stop(store, t(0, 9), rating=8, locked_until=t(1, 0))
    store.close()
    journal = db_path.parent / JOURNAL_NAME
    with journal.open("a") as file:
        file.write('{"v": 1, "type": "PainReported", "at": ')  # killed mid-write
    wreck(db_path, "everything")
    store = SqliteStore(db_path, tz=BERLIN)
    assert store.snapshot(t(0, 12)).locked_until == {"thoracic": t(1, 0)}
    store.record(StopHeard(t(0, 13), None, None, pain=True))
    store.close()
    lines = journal.read_text().splitlines()
    assert len(lines) == 5 and all(json.loads(line)["v"] == 1 for line in lines)


def test_an_append_after_a_torn_line_starts_a_new_line(db_path: Path) -> None:
    SqliteStore(db_path).close()
    journal = db_path.parent / JOURNAL_NAME
    with journal.open("a") as file:
        file.write('{"v": 1, "ty')
    store = SqliteStore(db_path)  # the open rewrites the journal without the torn part
    store.record(StopHeard(t(0), None, None, pain=True))
    store.close()
    assert [line["type"] for line in journal_lines(db_path)] == ["StopHeard"]


def test_the_journal_keeps_the_safety_window_and_the_screening_answer(db_path: Path) -> None:
    store = SqliteStore(db_path, tz=BERLIN)
    store.record(ScreeningAnswered(t(0, 8), False))
    pain_stop(store, t(0, 9), rating=8, locked_until=t(1, 0))
    pain_stop(store, t(1, 9), rating=3, routine="bed_edge", region="lumbar", locked_until=t(30, 0))
    run_routine(store, t(20, 9))
    store.close()
    store = SqliteStore(db_path, tz=BERLIN)  # opening prunes
    store.close()
    kept = journal_lines(db_path)
    assert [e["type"] for e in kept] == [
        "ScreeningAnswered",  # holds until reset, however old
        "PainReported",  # its lock runs past the newest line
        "RoutineStarted",
        "RoutineEnded",
    ]
    wreck(db_path, "everything")
    with SqliteStore(db_path, tz=BERLIN) as store:
        memory = store.snapshot(t(20, 12))
        assert memory.screening is not None
        assert memory.locked_until == {"lumbar": t(30, 0)}
        assert memory.see_professional == "", "the 8/10 is older than 7 days"


def test_a_profile_reset_is_replayed_too(db_path: Path) -> None:
    store = SqliteStore(db_path, tz=BERLIN)
    store.record(ScreeningAnswered(t(0, 8), True, "osteoporosis"))
    assert store.reset_profile(at=t(0, 9)) == 1
    store.close()
    wreck(db_path, "everything")
    with SqliteStore(db_path, tz=BERLIN) as store:
        assert store.snapshot(t(0, 10)).screening is None
        assert "the profile reset" in store.notices[0]


def test_a_database_from_before_the_journal_starts_one_from_its_rows(db_path: Path) -> None:
    store = SqliteStore(db_path, tz=BERLIN)
    store.record(ScreeningAnswered(t(0, 8), False))
    pain_stop(store, t(0, 9), rating=8, locked_until=t(1, 0))
    store.close()
    (db_path.parent / JOURNAL_NAME).unlink()  # as an older version left it
    SqliteStore(db_path, tz=BERLIN).close()
    assert [e["type"] for e in journal_lines(db_path)] == [
        "ScreeningAnswered",
        "RoutineStarted",
        "StopHeard",
        "PainReported",
        "RoutineEnded",
    ]
    wreck(db_path, "pages")
    with SqliteStore(db_path, tz=BERLIN) as store:
        memory = store.snapshot(t(0, 12))
        assert memory.locked_until == {"thoracic": t(1, 0)}
        assert "8 out of 10" in memory.see_professional


def test_a_store_keeps_appending_after_another_store_pruned_the_journal(db_path: Path) -> None:
    session = SqliteStore(db_path, tz=BERLIN)
    session.record(StopHeard(t(0, 9), None, None, pain=True))
    session.record(StopHeard(t(20, 9), None, None, pain=True))
    # e.g. `backcoach profile reset` in another terminal: its open drops the day-0 line.
    other = SqliteStore(db_path, tz=BERLIN)
    assert [e["at"] for e in journal_lines(db_path)] == [t(20, 9)]
    session.record(StopHeard(t(20, 10), None, None, pain=True))
    other.close()
    session.close()
    assert [e["at"] for e in journal_lines(db_path)] == [t(20, 9), t(20, 10)]
