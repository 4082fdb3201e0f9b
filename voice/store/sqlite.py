"""SQLite memory behind the safety rules: durable, private, migrated.

`SqliteStore` implements `voice.coach.memory.Store`. Every `record()` commits before it
returns (WAL journal, `synchronous=FULL`), so a session killed with SIGKILL loses
nothing it logged. The file is created mode 0600 before SQLite touches it. The
schema is the named migrations of `voice.store.migrations`. A file SQLite cannot
read is moved aside to `<name>.corrupt-<timestamp>`, a fresh one is started, and
`notices` says so.

Times are epoch seconds. Days are local days in the store's `tz` (None: the
system zone), so tests pass a zone and an explicit `now` and stay deterministic.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from datetime import datetime, tzinfo
from pathlib import Path

from voice.coach.lines import see_professional_reason
from voice.coach.memory import (
    FREQUENCY_LIMIT_PER_DAY,
    Outcome,
    PainReported,
    Record,
    RoutineEnded,
    RoutineStarted,
    SafetyMemory,
    Screening,
    ScreeningAnswered,
    SessionEnded,
    SessionStarted,
    StopHeard,
)
from voice.coach.safety import (
    PAIN_STOPS_SEE_PROFESSIONAL,
    PROFESSIONAL_WINDOW_S,
    RATING_SEE_PROFESSIONAL,
    local_day_start,
    next_local_midnight,
)
from voice.errors import BackCoachError, BadInput
from voice.store.migrations import MIGRATIONS, transaction
from voice.store.rows import History, PainRow, RunRow, SessionRow, StopRow

__all__ = [
    "DATABASE_NAME",
    "DATA_DIR_ENV",
    "DATA_DIR_HELP",
    "PAIN_STOPS_SEE_PROFESSIONAL",
    "PROFESSIONAL_WINDOW_S",
    "RATING_SEE_PROFESSIONAL",
    "SqliteStore",
    "StoreError",
    "default_data_dir",
    "open_store",
    "resolve_data_dir",
]

DATABASE_NAME = "backcoach.db"
DATA_DIR_ENV = "BACKCOACH_DATA"
DATA_DIR_HELP = (
    f"folder for the safety memory and history (default: ${DATA_DIR_ENV}, "
    "else the user data folder, e.g. ~/.local/share/backcoach)"
)

_CORRUPT_CODES = {11, 26}
"""SQLITE_CORRUPT and SQLITE_NOTADB: the file itself is bad, not the access to it."""


class StoreError(BackCoachError):
    """The safety memory could not be opened or written."""


# ----- data folder -----


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


def open_store(
    data_dir: Path | None = None,
    *,
    tz: tzinfo | None = None,
    frequency_limit_per_day: int = FREQUENCY_LIMIT_PER_DAY,
) -> SqliteStore:
    """Open (creating as needed) `<data dir>/backcoach.db`; a new folder is made 0700.

    `data_dir` None: `$BACKCOACH_DATA`, else the platform's user data folder.
    Raises `BadInput` when the folder cannot be created, `StoreError` when the
    database cannot be opened. Print `store.notices` to the user after opening.
    """
    folder = resolve_data_dir(data_dir)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as error:
        raise BadInput(
            f"cannot use data folder {folder}: {error.strerror or error}; "
            f"pass --data-dir DIR or set {DATA_DIR_ENV}"
        ) from error
    if not folder.is_dir():
        raise BadInput(f"data folder {folder} is not a folder")
    return SqliteStore(
        folder / DATABASE_NAME, tz=tz, frequency_limit_per_day=frequency_limit_per_day
    )


# ----- the file -----


def _is_corrupt(error: sqlite3.DatabaseError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)  # Python >= 3.11
    if code is not None:
        return (code & 0xFF) in _CORRUPT_CODES
    text = str(error)
    return "not a database" in text or "malformed" in text


def _create_private(path: Path) -> list[str]:
    """Create `path` empty with mode 0600 unless it exists; make an existing one 0600.

    Done with `os.open` before SQLite opens the file, so it is never readable by
    others even for a moment. SQLite gives the -wal and -shm files the same mode.
    Returns notices for the user.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
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


def _move_aside(path: Path) -> Path:
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


# ----- the store -----


class SqliteStore:
    """The durable `Store`: one SQLite file, one connection, one writer per session."""

    def __init__(
        self,
        path: Path,
        *,
        tz: tzinfo | None = None,
        frequency_limit_per_day: int = FREQUENCY_LIMIT_PER_DAY,
    ) -> None:
        self.path = Path(path)
        self.tz = tz
        """Zone whose midnights start a day; None for the system zone."""
        self.frequency_limit_per_day = frequency_limit_per_day
        """Runs per region per day before the frequency reminder."""
        self.notices: list[str] = []
        """Things the user must be told (moved-aside corrupt file, fixed permissions)."""
        self._session_id: int | None = None
        self._db = self._open()

    # --- opening ---

    def _open(self) -> sqlite3.Connection:
        try:
            return self._connect()
        except sqlite3.DatabaseError as error:
            if not _is_corrupt(error):
                raise StoreError(f"cannot open the safety memory {self.path}: {error}") from error
            moved = _move_aside(self.path)
            self.notices.append(
                f"The safety memory {self.path} was damaged ({error}). It was moved to "
                f"{moved} and a new, empty one was started: screening questions will be "
                "asked again and earlier sessions are not counted."
            )
        try:
            return self._connect()
        except sqlite3.DatabaseError as error:
            raise StoreError(f"cannot create the safety memory {self.path}: {error}") from error

    def _connect(self) -> sqlite3.Connection:
        self.notices += _create_private(self.path)
        # isolation_level=None: no implicit transactions; `transaction` is explicit.
        db = sqlite3.connect(self.path, isolation_level=None, timeout=5.0)
        try:
            db.execute("PRAGMA journal_mode = WAL")
            # FULL: a commit survives power loss too, not just a killed process.
            db.execute("PRAGMA synchronous = FULL")
            db.execute("PRAGMA foreign_keys = ON")
            problems = [row[0] for row in db.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise sqlite3.DatabaseError(
                    f"database disk image is malformed: {'; '.join(problems[:3])}"
                )
            MIGRATIONS.apply(db)
        except BaseException:
            db.close()
            raise
        return db

    @property
    def schema(self) -> list[str]:
        """Names of the migrations applied to this database, oldest first."""
        return MIGRATIONS.applied(self._db)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- writing ---

    def record(self, event: Record) -> None:
        """Persist `event`; committed when this returns. Raises `StoreError` if it cannot be."""
        try:
            with transaction(self._db):
                self._write(event)
        except sqlite3.Error as error:
            raise StoreError(
                f"could not save {type(event).__name__} to {self.path}: {error}"
            ) from error

    def _write(self, event: Record) -> None:
        db = self._db
        if isinstance(event, SessionStarted):
            cursor = db.execute("INSERT INTO sessions (started_at) VALUES (?)", (event.at,))
            self._session_id = cursor.lastrowid
        elif isinstance(event, SessionEnded):
            self._end_session(event.at)
        elif isinstance(event, ScreeningAnswered):
            db.execute(
                "INSERT INTO profile (answered_at, has_condition, reason) VALUES (?, ?, ?)",
                (event.at, event.has_condition, event.reason),
            )
        elif isinstance(event, RoutineStarted):
            db.execute(
                "INSERT INTO routine_runs (session_id, routine, region, started_at)"
                " VALUES (?, ?, ?, ?)",
                (self._session_id, event.routine, event.region, event.at),
            )
        elif isinstance(event, RoutineEnded):
            self._end_run(event)
        elif isinstance(event, StopHeard):
            db.execute(
                "INSERT INTO stops (session_id, at, routine, region, step, pain)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (
                    self._session_id,
                    event.at,
                    event.routine,
                    self._region_of(event.routine),
                    event.step,
                    event.pain,
                ),
            )
        elif isinstance(event, PainReported):
            db.execute(
                "INSERT INTO pain_events (session_id, at, routine, region, step, rating,"
                " red_flag_advice, locked_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self._session_id,
                    event.at,
                    event.routine,
                    event.region or self._region_of(event.routine),
                    event.step,
                    event.rating,
                    event.red_flag_advice,
                    event.locked_until,
                ),
            )
        else:
            raise TypeError(f"not a memory record: {event!r}")

    def _end_session(self, at: float) -> None:
        if self._session_id is None:
            # An end without a start (the start was in another store): keep it anyway.
            self._db.execute("INSERT INTO sessions (started_at, ended_at) VALUES (?, ?)", (at, at))
        else:
            self._db.execute(
                "UPDATE sessions SET ended_at = ? WHERE id = ?", (at, self._session_id)
            )
        self._session_id = None

    def _end_run(self, event: RoutineEnded) -> None:
        row = self._db.execute(
            "SELECT id FROM routine_runs WHERE routine = ? AND ended_at IS NULL"
            " AND session_id IS ? ORDER BY id DESC LIMIT 1",
            (event.routine, self._session_id),
        ).fetchone()
        if row is None:
            # No matching start: record the run as starting when it ended rather than drop it.
            self._db.execute(
                "INSERT INTO routine_runs (session_id, routine, region, started_at, ended_at,"
                " outcome, steps_done, worked) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self._session_id,
                    event.routine,
                    event.region,
                    event.at,
                    event.at,
                    Outcome(event.outcome).value,
                    event.steps_done,
                    int(event.worked),
                ),
            )
            return
        self._db.execute(
            "UPDATE routine_runs SET ended_at = ?, outcome = ?, steps_done = ?, region = ?,"
            " worked = ? WHERE id = ?",
            (
                event.at,
                Outcome(event.outcome).value,
                event.steps_done,
                event.region,
                int(event.worked),
                row[0],
            ),
        )

    def _region_of(self, routine: str | None) -> str | None:
        """The region of the latest run of `routine` (a routine works one region)."""
        if routine is None:
            return None
        row = self._db.execute(
            "SELECT region FROM routine_runs WHERE routine = ? ORDER BY id DESC LIMIT 1",
            (routine,),
        ).fetchone()
        return None if row is None else str(row[0])

    def reset_profile(self) -> int:
        """Forget the screening answers (pain history stays); how many were removed."""
        with transaction(self._db):
            return self._db.execute("DELETE FROM profile").rowcount

    # --- reading: the snapshot ---

    def snapshot(self, now: float) -> SafetyMemory:
        """What the dialogue manager needs at session start; see each helper for its rule.

        Rows timed after `now` count like earlier ones: a `--fast` session runs
        its virtual clock ahead of the wall clock, and its runs must still count.
        """
        return SafetyMemory(
            screening=self.screening(),
            last_worked=self._last_worked(),
            locked_until=self._locked_until(now),
            runs_today=self._runs_since(local_day_start(now, self.tz)),
            days_used_last_week=self._days_used_last_week(now),
            see_professional=self._see_professional(now),
            frequency_limit_per_day=self.frequency_limit_per_day,
        )

    def screening(self) -> Screening | None:
        """The latest screening answer, or None (never answered, or reset)."""
        row = self._db.execute(
            "SELECT has_condition, answered_at, reason FROM profile"
            " ORDER BY answered_at DESC, id DESC LIMIT 1"
        ).fetchone()
        return None if row is None else Screening(bool(row[0]), row[1], row[2])

    def _last_worked(self) -> dict[str, float]:
        """Region -> latest end of a run that worked it; a killed run counts at its start."""
        rows = self._db.execute(
            "SELECT region, MAX(COALESCE(ended_at, started_at)) FROM routine_runs"
            " WHERE worked IS NULL OR worked = 1 GROUP BY region"
        )
        return {region: at for region, at in rows}

    def _locked_until(self, now: float) -> dict[str, float]:
        """Region -> end of its pain lock, for locks still running at `now`.

        The lock the coach set (`PainReported.locked_until`) and, as a fallback
        for a session killed before the rating was asked, the next local midnight
        after any pain stop or pain-ended run on that region: the later wins.
        """
        locks: dict[str, float] = {}

        def extend(region: str | None, until: float | None) -> None:
            if region and until is not None and until > now:
                locks[region] = max(locks.get(region, until), until)

        for region, until in self._db.execute(
            "SELECT region, locked_until FROM pain_events WHERE locked_until > ?", (now,)
        ):
            extend(region, until)
        day_ago = now - 25 * 3600.0  # a pain older than a day cannot lock past today
        for region, at in self._db.execute(
            "SELECT region, at FROM stops WHERE pain AND at > ?"
            " UNION ALL SELECT region, ended_at FROM routine_runs"
            " WHERE outcome = ? AND ended_at > ?",
            (day_ago, Outcome.PAIN.value, day_ago),
        ):
            extend(region, next_local_midnight(at, self.tz))
        return locks

    def _runs_since(self, since: float) -> dict[str, int]:
        rows = self._db.execute(
            "SELECT region, COUNT(*) FROM routine_runs WHERE started_at >= ? GROUP BY region",
            (since,),
        )
        return {region: count for region, count in rows}

    def _week_start(self, now: float) -> float:
        """Midnight starting the 7-day window that ends with today (today + 6 days back)."""
        start = local_day_start(now, self.tz)
        for _ in range(6):
            start = local_day_start(start - 1.0, self.tz)
        return start

    def _days_used_last_week(self, now: float) -> int:
        """Distinct local days, among today and the 6 before, with a routine run started."""
        rows = self._db.execute(
            "SELECT started_at FROM routine_runs WHERE started_at >= ?", (self._week_start(now),)
        )
        return len({local_day_start(at, self.tz) for (at,) in rows})

    def _see_professional(self, now: float) -> str:
        """Why advice to see a professional is due, or "": within the last 7 days
        (168 h before `now`), a pain rating >= 7, or at least 2 pain stops.

        The reason is one or two spoken sentences ("You rated your pain 8 out of
        10 in the last 7 days."), said at every session start while it holds.

        Pain stops are counted as the largest of: stops marked pain, pain reports,
        runs ended by pain, because the coach may log one, two or all three for
        the same stop and one stop must not count twice.
        """
        since = now - PROFESSIONAL_WINDOW_S
        (worst,) = self._db.execute(
            "SELECT MAX(rating) FROM pain_events WHERE at >= ?", (since,)
        ).fetchone()
        counts = self._db.execute(
            "SELECT (SELECT COUNT(*) FROM stops WHERE pain AND at >= :since),"
            " (SELECT COUNT(*) FROM pain_events WHERE at >= :since),"
            " (SELECT COUNT(*) FROM routine_runs WHERE outcome = :pain AND ended_at >= :since)",
            {"since": since, "pain": Outcome.PAIN.value},
        ).fetchone()
        # The words and the thresholds are the coach's (voice.coach.lines, .safety).
        return see_professional_reason(worst, max(counts))

    # --- reading: history ---

    def history(self, now: float, days: int = 7) -> History:
        """Sessions, runs, pain reports and stops of today and the `days - 1` days before."""
        if days < 1:
            raise BadInput(f"days must be 1 or more, not {days}")
        since = local_day_start(now, self.tz)
        for _ in range(days - 1):
            since = local_day_start(since - 1.0, self.tz)
        return History(
            since=since,
            until=now,
            screening=self.screening(),
            sessions=tuple(self.sessions(since)),
            runs=tuple(self.runs(since)),
            pains=tuple(self.pains(since)),
            stops=tuple(self.stops(since)),
        )

    def sessions(self, since: float) -> list[SessionRow]:
        rows = self._db.execute(
            "SELECT id, started_at, ended_at FROM sessions WHERE started_at >= ? ORDER BY id",
            (since,),
        )
        return [SessionRow(*row) for row in rows]

    def runs(self, since: float) -> list[RunRow]:
        rows = self._db.execute(
            "SELECT id, session_id, routine, region, started_at, ended_at, outcome, steps_done"
            " FROM routine_runs WHERE started_at >= ? ORDER BY started_at, id",
            (since,),
        )
        return [
            RunRow(
                id=id_,
                session_id=session_id,
                routine=routine,
                region=region,
                started_at=started_at,
                ended_at=ended_at,
                outcome=Outcome(outcome) if outcome else None,
                steps_done=steps_done,
            )
            for id_, session_id, routine, region, started_at, ended_at, outcome, steps_done in rows
        ]

    def pains(self, since: float) -> list[PainRow]:
        rows = self._db.execute(
            "SELECT id, session_id, at, routine, region, step, rating, red_flag_advice,"
            " locked_until FROM pain_events WHERE at >= ? ORDER BY at, id",
            (since,),
        )
        return [
            PainRow(
                id=id_,
                session_id=session_id,
                at=at,
                routine=routine,
                region=region,
                step=step,
                rating=rating,
                red_flag_advice=bool(advice),
                locked_until=locked_until,
            )
            for id_, session_id, at, routine, region, step, rating, advice, locked_until in rows
        ]

    def stops(self, since: float) -> list[StopRow]:
        rows = self._db.execute(
            "SELECT id, session_id, at, routine, region, step, pain FROM stops"
            " WHERE at >= ? ORDER BY at, id",
            (since,),
        )
        return [
            StopRow(
                id=id_,
                session_id=session_id,
                at=at,
                routine=routine,
                region=region,
                step=step,
                pain=bool(pain),
            )
            for id_, session_id, at, routine, region, step, pain in rows
        ]
