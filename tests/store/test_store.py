"""The SQLite safety memory: durability, privacy, migrations, recovery, and every
snapshot field across simulated days (an explicit `now` and a fixed time zone)."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from voice.coach.memory import (
    FREQUENCY_LIMIT_PER_DAY,
    Outcome,
    PainReported,
    RoutineEnded,
    RoutineStarted,
    ScreeningAnswered,
    SessionEnded,
    SessionStarted,
    StopHeard,
)
from voice.errors import BadInput
from voice.store.migrations import MIGRATIONS
from voice.store.sqlite import (
    DATA_DIR_ENV,
    DATABASE_NAME,
    SqliteStore,
    StoreError,
    _move_aside,
    default_data_dir,
    open_store,
    resolve_data_dir,
)

WEEK = 7 * 24 * 3600.0
"""The see-a-professional window: 168 hours, whatever the clocks do."""
BERLIN = ZoneInfo("Europe/Berlin")
"""A zone with daylight saving: 2025-03-30 (day 6 below) lasts 23 hours."""


def t(day: int, hour: int = 9, minute: int = 0) -> float:
    """Epoch seconds of Berlin wall-clock time `hour:minute` on day `day` (0 = Mon 2025-03-24)."""
    return (datetime(2025, 3, 24, hour, minute, tzinfo=BERLIN) + timedelta(days=day)).timestamp()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / DATABASE_NAME


@pytest.fixture
def store(db_path: Path):
    s = SqliteStore(db_path, tz=BERLIN)
    yield s
    s.close()


def run_routine(
    store: SqliteStore,
    start: float,
    routine: str = "rotation",
    region: str = "thoracic",
    minutes: float = 5,
    outcome: Outcome = Outcome.COMPLETED,
) -> float:
    """Record one run; returns its end time."""
    end = start + minutes * 60
    store.record(RoutineStarted(start, routine, region))
    store.record(RoutineEnded(end, routine, region, outcome, steps_done=3))
    return end


def pain_stop(
    store: SqliteStore,
    at: float,
    rating: int | None,
    routine: str = "rotation",
    region: str = "thoracic",
    locked_until: float | None = None,
) -> None:
    """A pain stop as the coach logs it: the run, the stop, the report, the run's end."""
    store.record(RoutineStarted(at - 60, routine, region))
    store.record(StopHeard(at, routine, 2, pain=True))
    store.record(
        PainReported(
            at + 5, routine, region, 2, rating, rating is not None and rating >= 7, locked_until
        )
    )
    store.record(RoutineEnded(at + 10, routine, region, Outcome.PAIN, steps_done=1))


# ----- privacy -----


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_database_and_wal_are_private_even_with_a_permissive_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)  # SQLite on its own would create 0644 files under this umask
    try:
        store = open_store(tmp_path / "data")
        store.record(SessionStarted(t(0)))
        wal = store.path.with_name(store.path.name + "-wal")
        assert wal.exists(), "WAL mode is on, so a write leaves a -wal file while open"
        assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
        assert stat.S_IMODE(wal.stat().st_mode) == 0o600
        assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700
        assert store.notices == []
        store.close()
    finally:
        os.umask(old)


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_a_world_readable_database_is_made_private_and_the_user_told(db_path: Path) -> None:
    SqliteStore(db_path).close()
    os.chmod(db_path, 0o644)
    store = SqliteStore(db_path)
    assert stat.S_IMODE(db_path.stat().st_mode) == 0o600
    assert any("now private" in notice for notice in store.notices)
    store.close()


def test_wal_mode(store: SqliteStore) -> None:
    (mode,) = store._db.execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"


# ----- data folder -----


def test_data_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    assert default_data_dir().name.lower() == "backcoach"
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "env"))
    assert resolve_data_dir(None) == tmp_path / "env"
    assert resolve_data_dir(tmp_path / "arg") == tmp_path / "arg"
    store = open_store(None)
    assert store.path == tmp_path / "env" / DATABASE_NAME
    store.close()


def test_a_file_as_data_dir_is_bad_input(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    with pytest.raises(BadInput, match="data folder"):
        open_store(tmp_path / "file")


# ----- migrations -----

V1_SCHEMA = [
    # Frozen copy of schema version 1 as shipped: do not edit to match newer code.
    "CREATE TABLE _migrations (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " applied_at TEXT NOT NULL)",
    "CREATE TABLE profile (id INTEGER PRIMARY KEY, answered_at REAL NOT NULL,"
    " has_condition INTEGER NOT NULL, reason TEXT NOT NULL DEFAULT '')",
    "CREATE TABLE sessions (id INTEGER PRIMARY KEY, started_at REAL NOT NULL, ended_at REAL)",
    "CREATE TABLE routine_runs (id INTEGER PRIMARY KEY, session_id INTEGER REFERENCES"
    " sessions(id), routine TEXT NOT NULL, region TEXT NOT NULL, started_at REAL NOT NULL,"
    " ended_at REAL, outcome TEXT, steps_done INTEGER NOT NULL DEFAULT 0)",
    "CREATE TABLE pain_events (id INTEGER PRIMARY KEY, session_id INTEGER REFERENCES"
    " sessions(id), at REAL NOT NULL, routine TEXT, region TEXT, step INTEGER,"
    " rating INTEGER CHECK (rating BETWEEN 0 AND 10), red_flag_advice INTEGER NOT NULL"
    " DEFAULT 0)",
    "CREATE TABLE stops (id INTEGER PRIMARY KEY, session_id INTEGER REFERENCES sessions(id),"
    " at REAL NOT NULL, routine TEXT, step INTEGER, pain INTEGER NOT NULL)",
    "INSERT INTO _migrations (name, applied_at) VALUES ('m001_initial', '2025-01-01T00:00:00')",
    "PRAGMA user_version = 1",
]


def write_v1_file(path: Path) -> None:
    db = sqlite3.connect(path)
    for statement in V1_SCHEMA:
        db.execute(statement)
    db.execute(
        "INSERT INTO profile (answered_at, has_condition, reason) VALUES (?, 1, 'injury')", (t(0),)
    )
    db.execute("INSERT INTO sessions (started_at, ended_at) VALUES (?, ?)", (t(0), t(0, 10)))
    db.execute(
        "INSERT INTO routine_runs (session_id, routine, region, started_at, ended_at, outcome,"
        " steps_done) VALUES (1, 'bed_edge', 'lumbar', ?, ?, 'pain', 2)",
        (t(0, 9, 5), t(0, 9, 8)),
    )
    db.execute(
        "INSERT INTO stops (session_id, at, routine, step, pain) VALUES (1, ?, 'bed_edge', 2, 1)",
        (t(0, 9, 7),),
    )
    db.execute(
        "INSERT INTO pain_events (session_id, at, routine, region, step, rating,"
        " red_flag_advice) VALUES (1, ?, 'bed_edge', 'lumbar', 2, 8, 1)",
        (t(0, 9, 8),),
    )
    db.commit()
    db.close()


def test_migrates_a_version_1_file_and_keeps_its_data(db_path: Path) -> None:
    write_v1_file(db_path)
    store = SqliteStore(db_path, tz=BERLIN)
    assert store.schema == [m.name for m in MIGRATIONS.migrations]
    assert store.schema[0] == "m001_initial" and len(store.schema) >= 3
    (version,) = store._db.execute("PRAGMA user_version").fetchone()
    assert version == len(MIGRATIONS.migrations)
    memory = store.snapshot(t(0, 12))
    assert memory.screening is not None and memory.screening.reason == "injury"
    assert memory.last_worked == {"lumbar": t(0, 9, 8)}
    assert memory.locked_until == {"lumbar": t(1, 0)}
    assert "8 out of 10" in memory.see_professional
    history = store.history(t(0, 12), days=1)
    assert [s.region for s in history.stops] == ["lumbar"], "v1 stops get their region backfilled"
    assert history.pains[0].locked_until is None
    # New columns work after the migration.
    store.record(PainReported(t(0, 13), "bed_edge", "lumbar", 1, 4, False, t(2, 0)))
    assert store.snapshot(t(1, 12)).locked_until == {"lumbar": t(2, 0)}
    store.close()


def test_each_migration_is_applied_once(db_path: Path) -> None:
    SqliteStore(db_path).close()
    SqliteStore(db_path).close()
    db = sqlite3.connect(db_path)
    names = [row[0] for row in db.execute("SELECT name FROM _migrations ORDER BY id")]
    db.close()
    assert names == [m.name for m in MIGRATIONS.migrations]


def test_a_failing_migration_leaves_no_trace(db_path: Path) -> None:
    SqliteStore(db_path).close()
    db = sqlite3.connect(db_path, isolation_level=None)
    migrations = type(MIGRATIONS)()

    @migrations
    def m001_initial(db: sqlite3.Connection) -> None:  # already applied: skipped
        raise AssertionError("must not run again")

    @migrations
    def m900_broken(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE half_done (x)")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        migrations.apply(db)
    tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert "half_done" not in tables
    assert "m900_broken" not in migrations.applied(db)
    db.close()


# ----- corrupt files -----


def test_a_file_that_is_not_a_database_is_moved_aside(db_path: Path) -> None:
    db_path.write_bytes(b"these are not the bytes of an SQLite database\n" * 100)
    store = SqliteStore(db_path, tz=BERLIN)
    moved = list(db_path.parent.glob(f"{DATABASE_NAME}.corrupt-*"))
    assert len(moved) == 1
    assert moved[0].read_bytes().startswith(b"these are not the bytes")
    damaged = [notice for notice in store.notices if "damaged" in notice]
    assert len(damaged) == 1
    assert str(moved[0]) in damaged[0] and "new, empty one" in damaged[0]
    store.record(SessionStarted(t(0)))
    assert len(store.history(t(0), 1).sessions) == 1
    store.close()


def test_a_malformed_database_is_moved_aside(db_path: Path) -> None:
    store = SqliteStore(db_path)
    for i in range(300):  # enough rows for several b-tree pages
        store.record(StopHeard(t(0) + i, "rotation", i, pain=False))
    store.close()
    data = bytearray(db_path.read_bytes())
    page = 4096
    data[page : 3 * page] = b"\xff" * (2 * page)  # keep the header, wreck table pages
    db_path.write_bytes(bytes(data))
    store = SqliteStore(db_path)
    moved = list(db_path.parent.glob(f"{DATABASE_NAME}.corrupt-*"))
    assert len(moved) == 1 and moved[0].read_bytes()[page : page + 4] == b"\xff" * 4
    assert "malformed" in store.notices[0]
    assert "recovered" in store.notices[0], "the safety journal brought the rows back"
    assert len(store.history(t(0), 1).stops) == 300
    store.close()


def test_moving_aside_takes_the_wal_and_shm_along(db_path: Path) -> None:
    for suffix, content in (("", b"db"), ("-wal", b"log"), ("-shm", b"index")):
        db_path.with_name(db_path.name + suffix).write_bytes(content)
    target = _move_aside(db_path)
    assert not db_path.exists()
    assert not db_path.with_name(db_path.name + "-wal").exists()
    assert target.read_bytes() == b"db"
    assert target.with_name(target.name + "-wal").read_bytes() == b"log"
    assert target.with_name(target.name + "-shm").read_bytes() == b"index"


def test_a_second_corruption_gets_its_own_name(db_path: Path) -> None:
    for _ in range(2):
        db_path.write_bytes(b"garbage" * 1000)
        SqliteStore(db_path).close()
    assert len(list(db_path.parent.glob(f"{DATABASE_NAME}.corrupt-*"))) == 2


def test_an_unopenable_path_is_an_error_not_a_corruption(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(StoreError, match="cannot open"):
        SqliteStore(folder)
    assert folder.is_dir() and not list(tmp_path.glob("*.corrupt-*"))


# ----- across processes -----

WRITER = """
import sys
from pathlib import Path
from voice.coach.memory import *
from voice.store.sqlite import open_store

store = open_store(Path(sys.argv[1]))
store.record(SessionStarted(1000.0))
store.record(ScreeningAnswered(1001.0, False))
store.record(RoutineStarted(1010.0, "rotation", "thoracic"))
store.record(RoutineEnded(1100.0, "rotation", "thoracic", Outcome.COMPLETED, 5))
store.record(SessionEnded(1200.0))
store.close()
"""

READER = """
import dataclasses, json, sys
from datetime import timezone
from pathlib import Path
from voice.store.sqlite import open_store

store = open_store(Path(sys.argv[1]), tz=timezone.utc)
print(json.dumps(dataclasses.asdict(store.snapshot(float(sys.argv[2])))))
"""


def python(code: str, *args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code, *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_memory_persists_across_processes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    python(WRITER, data, cwd=tmp_path)
    memory = json.loads(python(READER, data, 1300.0, cwd=tmp_path).stdout)
    assert memory["screening"] == {"has_condition": False, "at": 1001.0, "reason": ""}
    assert memory["last_worked"] == {"thoracic": 1100.0}
    assert memory["runs_today"] == {"thoracic": 1}
    assert memory["days_used_last_week"] == 1


KILLED_WRITER = """
import sys, time
from pathlib import Path
from voice.coach.memory import *
from voice.store.sqlite import open_store

store = open_store(Path(sys.argv[1]))
store.record(SessionStarted(1000.0))
store.record(ScreeningAnswered(1001.0, True, "a recent injury"))
store.record(RoutineStarted(1010.0, "foam_roller", "thoracic"))
store.record(StopHeard(1020.0, "foam_roller", 3, True))
store.record(PainReported(1025.0, "foam_roller", "thoracic", 3, 9, True, 90000.0))
print("logged", flush=True)
time.sleep(120)  # killed here, mid-routine, without close()
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_every_record_survives_sigkill(tmp_path: Path) -> None:
    data = tmp_path / "data"
    process = subprocess.Popen(
        [sys.executable, "-c", KILLED_WRITER, str(data)],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "logged", process.stderr
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    store = open_store(data, tz=timezone.utc)
    history = store.history(2000.0, days=1)
    assert [s.ended_at for s in history.sessions] == [None]
    assert [(r.routine, r.outcome) for r in history.runs] == [("foam_roller", None)]
    assert [(s.step, s.pain, s.region) for s in history.stops] == [(3, True, "thoracic")]
    assert [(p.rating, p.red_flag_advice) for p in history.pains] == [(9, True)]
    memory = store.snapshot(2000.0)
    assert memory.screening is not None and memory.screening.reason == "a recent injury"
    assert memory.locked_until == {"thoracic": 90000.0}
    assert memory.last_worked == {"thoracic": 1010.0}, "an unfinished run counts from its start"
    store.close()


# ----- snapshot fields across simulated days -----


def test_screening_is_the_latest_answer_until_reset(db_path: Path) -> None:
    store = SqliteStore(db_path, tz=BERLIN)
    assert store.snapshot(t(0)).screening is None
    store.record(ScreeningAnswered(t(0), False))
    store.record(ScreeningAnswered(t(1), True, "osteoporosis"))
    pain_stop(store, t(1, 10), rating=3)
    store.close()
    store = SqliteStore(db_path, tz=BERLIN)  # a later session
    screening = store.snapshot(t(2)).screening
    assert screening is not None
    assert (screening.has_condition, screening.at, screening.reason) == (
        True,
        t(1),
        "osteoporosis",
    )
    assert store.reset_profile() == 2
    assert store.snapshot(t(2)).screening is None
    assert len(store.history(t(2), 7).pains) == 1, "reset keeps the pain history"
    store.close()


def test_last_worked_is_the_latest_end_per_region(store: SqliteStore) -> None:
    run_routine(store, t(0, 9), "rotation", "thoracic")
    lumbar_end = run_routine(store, t(0, 10), "bed_edge", "lumbar")
    thoracic_end = run_routine(store, t(1, 9), "foam_roller", "thoracic", minutes=12)
    assert store.snapshot(t(1, 12)).last_worked == {
        "thoracic": thoracic_end,
        "lumbar": lumbar_end,
    }


def test_runs_today_counts_from_local_midnight(db_path: Path) -> None:
    store = SqliteStore(db_path, tz=BERLIN)
    run_routine(store, t(0, 23, 30))
    assert store.snapshot(t(0, 23, 50)).runs_today == {"thoracic": 1}
    run_routine(store, t(1, 0, 30))
    run_routine(store, t(1, 8), "bed_edge", "lumbar")
    assert store.snapshot(t(1, 9)).runs_today == {"thoracic": 1, "lumbar": 1}
    assert store.snapshot(t(2, 9)).runs_today == {}
    store.close()
    # In UTC both thoracic runs (22:30 and 23:30 UTC) fall on one day: the zone matters.
    utc = SqliteStore(db_path, tz=timezone.utc)
    assert utc.snapshot(t(1, 0, 45)).runs_today["thoracic"] == 2
    utc.close()


def test_runs_today_on_a_23_hour_day(store: SqliteStore) -> None:
    # 2025-03-30 (day 6) loses an hour: 24 hours before 23:40 is still the day before.
    run_routine(store, t(5, 23, 50))
    run_routine(store, t(6, 23, 30))
    assert store.snapshot(t(6, 23, 40)).runs_today == {"thoracic": 1}


def test_frequency_limit_comes_from_the_constructor(db_path: Path) -> None:
    with SqliteStore(db_path) as default:
        assert default.snapshot(t(0)).frequency_limit_per_day == FREQUENCY_LIMIT_PER_DAY
    with SqliteStore(db_path, frequency_limit_per_day=3) as configured:
        assert configured.snapshot(t(0)).frequency_limit_per_day == 3


def test_days_used_last_week(store: SqliteStore) -> None:
    for day in range(7):
        run_routine(store, t(day, 8))
    run_routine(store, t(6, 18), "bed_edge", "lumbar")  # a second run on a day counts once
    assert store.snapshot(t(6, 20)).days_used_last_week == 7
    assert store.snapshot(t(7, 20)).days_used_last_week == 6  # day 0 left the window
    assert store.snapshot(t(12, 20)).days_used_last_week == 1
    assert store.snapshot(t(13, 20)).days_used_last_week == 0


def test_pain_lock_lasts_the_rest_of_the_day(store: SqliteStore) -> None:
    pain_stop(store, t(0, 9), rating=3, locked_until=t(1, 0))
    assert store.snapshot(t(0, 9, 1)).locked_until == {"thoracic": t(1, 0)}
    assert store.snapshot(t(0, 23, 59)).locked_until == {"thoracic": t(1, 0)}
    assert store.snapshot(t(1, 0, 1)).locked_until == {}


def test_a_longer_lock_set_by_the_coach_is_kept(store: SqliteStore) -> None:
    pain_stop(store, t(0, 9), rating=5, locked_until=t(2, 0))
    assert store.snapshot(t(1, 12)).locked_until == {"thoracic": t(2, 0)}


def test_a_pain_stop_locks_even_when_killed_before_the_rating(store: SqliteStore) -> None:
    store.record(RoutineStarted(t(0, 21), "bed_edge", "lumbar"))
    store.record(StopHeard(t(0, 21, 2), "bed_edge", 1, pain=True))
    assert store.snapshot(t(0, 21, 3)).locked_until == {"lumbar": t(1, 0)}
    assert store.snapshot(t(1, 0, 0)).locked_until == {}


def test_a_plain_stop_does_not_lock(store: SqliteStore) -> None:
    store.record(RoutineStarted(t(0, 9), "rotation", "thoracic"))
    store.record(StopHeard(t(0, 9, 2), "rotation", 1, pain=False))
    store.record(RoutineEnded(t(0, 9, 2), "rotation", "thoracic", Outcome.STOPPED))
    assert store.snapshot(t(0, 10)).locked_until == {}
    assert store.snapshot(t(0, 10)).see_professional == ""


def test_see_professional_after_a_rating_of_7(store: SqliteStore) -> None:
    pain_stop(store, t(0, 9), rating=6)
    assert store.snapshot(t(0, 10)).see_professional == "", "one stop rated 6 is not enough"
    pain_stop(store, t(2, 9), rating=7, routine="bed_edge", region="lumbar")
    advice = store.snapshot(t(3, 9)).see_professional
    assert "7 out of 10" in advice
    rated_at = t(2, 9) + 5  # when `pain_stop` logs the rating
    assert store.snapshot(rated_at + WEEK - 1).see_professional != ""
    assert store.snapshot(rated_at + WEEK + 1).see_professional == ""


def test_see_professional_after_two_pain_stops_within_7_days(store: SqliteStore) -> None:
    pain_stop(store, t(0, 9), rating=None)
    assert store.snapshot(t(0, 10)).see_professional == "", "one stop logged 3 ways counts once"
    pain_stop(store, t(6, 9), rating=2)
    advice = store.snapshot(t(6, 10)).see_professional
    assert "2 times" in advice and "out of 10" not in advice
    first_logged_last = t(0, 9) + 10  # the run's end, the latest of its three records
    assert store.snapshot(first_logged_last + WEEK - 1).see_professional != ""
    assert store.snapshot(first_logged_last + WEEK + 1).see_professional == ""


def test_see_professional_gives_both_reasons(store: SqliteStore) -> None:
    pain_stop(store, t(0, 9), rating=2)
    pain_stop(store, t(1, 9), rating=9)
    advice = store.snapshot(t(1, 10)).see_professional
    assert advice == (
        "You rated your pain 9 out of 10 in the last 7 days. "
        "You stopped for pain 2 times in the last 7 days."
    )


def test_fast_sessions_ahead_of_the_clock_still_count(store: SqliteStore) -> None:
    # A --fast session runs its virtual clock ahead; its rows must not be ignored.
    run_routine(store, t(0, 9, 30))
    memory = store.snapshot(t(0, 9))
    assert memory.runs_today == {"thoracic": 1}
    assert memory.last_worked == {"thoracic": t(0, 9, 35)}


# ----- records and history reads -----


def test_ends_without_starts_are_kept(store: SqliteStore) -> None:
    store.record(RoutineEnded(t(0, 9), "tight_hug", "thoracic", Outcome.STOPPED, 1))
    store.record(SessionEnded(t(0, 10)))
    history = store.history(t(0, 11), 1)
    assert [(r.routine, r.outcome, r.started_at) for r in history.runs] == [
        ("tight_hug", Outcome.STOPPED, t(0, 9))
    ]
    assert [(s.started_at, s.ended_at) for s in history.sessions] == [(t(0, 10), t(0, 10))]


def test_runs_belong_to_their_session(store: SqliteStore) -> None:
    store.record(SessionStarted(t(0, 9)))
    run_routine(store, t(0, 9, 1))
    store.record(SessionEnded(t(0, 9, 30)))
    store.record(SessionStarted(t(0, 18)))
    store.record(StopHeard(t(0, 18, 1), None, None, pain=False))
    history = store.history(t(0, 19), 1)
    first, second = (s.id for s in history.sessions)
    assert [r.session_id for r in history.runs] == [first]
    assert [s.session_id for s in history.stops] == [second]
    assert history.sessions[1].ended_at is None


def test_history_window_is_whole_local_days(store: SqliteStore) -> None:
    run_routine(store, t(0, 23, 59))
    run_routine(store, t(1, 0, 1))
    history = store.history(t(2, 12), days=2)
    assert history.since == t(1, 0)
    assert [r.started_at for r in history.runs] == [t(1, 0, 1)]
    with pytest.raises(BadInput):
        store.history(t(2, 12), days=0)


def test_pain_rating_outside_0_to_10_is_refused(store: SqliteStore) -> None:
    with pytest.raises(StoreError):
        store.record(PainReported(t(0), "rotation", "thoracic", 1, 11, False, None))
    assert store.history(t(0), 1).pains == ()
