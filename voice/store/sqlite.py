"""SQLite memory behind the safety rules: durable, private, migrated, and recoverable.

`SqliteStore` implements `voice.coach.memory.Store`. Every `record()` commits before it
returns (WAL journal, `synchronous=FULL`), so a session killed with SIGKILL loses
nothing it logged, and raises `StoreError` (never a raw sqlite3 or OS error) when
it cannot: a read-only file or folder, a full disk. The file is created mode 0600
before SQLite touches it. The schema is the named migrations of
`voice.store.migrations`.

Each record is also appended to the safety journal beside the database
(`voice.store.journal`), fsynced before the commit. A file SQLite cannot read is
moved aside to `<name>.corrupt-<timestamp>`, a fresh one is started, the journal
is replayed into it (pain locks, advice, screening), and `notices` says so.

Three ways to open (`open_store`): a session's writable store; the same, kept in
memory only when the folder or file cannot be written (`writable` False, one
notice, `record()` raises `StoreError` saying what to fix); and `read_only=True`
for `history` and `profile show`, which reads the file through `mode=ro`, never
creates, migrates, chmods or moves it, and raises `StoreDamaged` for a damaged one.

Times are epoch seconds. Days are local days in the store's `tz` (None: the
system zone), so tests pass a zone and an explicit `now` and stay deterministic.
"""

from __future__ import annotations

import sqlite3
import time
from datetime import tzinfo
from pathlib import Path

from voice.coach.memory import (
    FREQUENCY_LIMIT_PER_DAY,
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
from voice.coach.safety import (
    PAIN_STOPS_SEE_PROFESSIONAL,
    PROFESSIONAL_WINDOW_S,
    RATING_SEE_PROFESSIONAL,
)
from voice.errors import BackCoachError, BadInput
from voice.store.files import (
    DATA_DIR_ENV,
    DATA_DIR_HELP,
    DATABASE_NAME,
    JOURNAL_NAME,
    check_data_dir,
    create_private,
    default_data_dir,
    is_corrupt,
    is_unwritable,
    private_mode_notice,
    read_only_uri,
    resolve_data_dir,
    unwritable_reason,
)
from voice.store.files import move_aside as _move_aside
from voice.store.journal import (
    JournalEntry,
    SafetyJournal,
    describe_entries,
    entries_from_history,
    entry_of,
    event_of,
    prune_entries,
    read_journal,
    rewrite_journal,
)
from voice.store.migrations import MIGRATIONS, transaction
from voice.store.reads import SafetyReads

__all__ = [
    "DATABASE_NAME",
    "DATA_DIR_ENV",
    "DATA_DIR_HELP",
    "JOURNAL_NAME",
    "PAIN_STOPS_SEE_PROFESSIONAL",
    "PROFESSIONAL_WINDOW_S",
    "RATING_SEE_PROFESSIONAL",
    "SqliteStore",
    "StoreDamaged",
    "StoreError",
    "default_data_dir",
    "open_store",
    "resolve_data_dir",
]


class StoreError(BackCoachError):
    """The safety memory could not be opened or written; the message says what to fix."""


class StoreDamaged(StoreError):
    """A read-only open found the database damaged and left it as it is."""


def open_store(
    data_dir: Path | None = None,
    *,
    tz: tzinfo | None = None,
    frequency_limit_per_day: int = FREQUENCY_LIMIT_PER_DAY,
    read_only: bool = False,
) -> SqliteStore:
    """Open `<data dir>/backcoach.db`; print `store.notices` to the user after opening.

    `data_dir` None: `$BACKCOACH_DATA`, else the platform's user data folder.
    Raises `BadInput` when the folder is a file or cannot be used at all.

    Writable (a session, `profile reset`): the folder is made 0700 and the file
    created as needed. When either cannot be written the store is memory-only
    (`writable` False, one notice, `record()` raises `StoreError`); it still reads
    what it can. Raises `StoreError` when the database cannot be opened at all.

    `read_only` (`history`, `profile show`): nothing is created, migrated,
    chmodded or moved. A missing folder or file gives an empty store with
    `exists` False; a damaged file raises `StoreDamaged`.
    """
    folder = resolve_data_dir(data_dir)
    check_data_dir(folder)
    if not read_only:
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as error:
            if not is_unwritable(error, folder / DATABASE_NAME):
                raise BadInput(
                    f"cannot use data folder {folder}: {error.strerror or error}; "
                    f"pass --data-dir DIR or set {DATA_DIR_ENV}"
                ) from error
            # Cannot create it: the store says so and runs in memory only.
    return SqliteStore(
        folder / DATABASE_NAME,
        tz=tz,
        frequency_limit_per_day=frequency_limit_per_day,
        read_only=read_only,
    )


def _check(db: sqlite3.Connection) -> None:
    """Raise the `DatabaseError` of a damaged file (read errors, or a failing quick check)."""
    problems = [row[0] for row in db.execute("PRAGMA quick_check")]
    if problems != ["ok"]:
        raise sqlite3.DatabaseError(f"database disk image is malformed: {'; '.join(problems[:3])}")


def _newest(db: sqlite3.Connection) -> float:
    """The latest time in the database (0 when it is empty)."""
    (newest,) = db.execute(
        "SELECT MAX(t) FROM (SELECT MAX(started_at) AS t FROM sessions"
        " UNION ALL SELECT MAX(ended_at) FROM sessions"
        " UNION ALL SELECT MAX(COALESCE(ended_at, started_at)) FROM routine_runs"
        " UNION ALL SELECT MAX(at) FROM stops UNION ALL SELECT MAX(at) FROM pain_events"
        " UNION ALL SELECT MAX(answered_at) FROM profile)"
    ).fetchone()
    return float(newest or 0.0)


def _memory_database() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:", isolation_level=None)
    MIGRATIONS.apply(db)
    return db


# ----- the store -----


class SqliteStore(SafetyReads):
    """The durable `Store`: one SQLite file, one connection, one writer per session."""

    def __init__(
        self,
        path: Path,
        *,
        tz: tzinfo | None = None,
        frequency_limit_per_day: int = FREQUENCY_LIMIT_PER_DAY,
        read_only: bool = False,
    ) -> None:
        self.path = Path(path)
        self.journal_path = self.path.with_name(
            JOURNAL_NAME if self.path.name == DATABASE_NAME else self.path.name + ".safety.jsonl"
        )
        """The safety journal beside the database (`voice.store.journal`)."""
        self.tz = tz
        """Zone whose midnights start a day; None for the system zone."""
        self.frequency_limit_per_day = frequency_limit_per_day
        """Runs per region per day before the frequency reminder."""
        self.read_only = read_only
        """Opened for reading only (`history`, `profile show`)."""
        self.notices: list[str] = []
        """Things the user must be told (moved-aside corrupt file, fixed permissions)."""
        self.exists = True
        self.damaged = False
        """The file was damaged and moved aside at opening (see `notices`)."""
        self.recovered = 0
        """Safety events replayed from the journal into the new file."""
        """False when there was no database to read (a read-only open of a new folder)."""
        self.cannot_save = f"{self.path} was opened read-only" if read_only else ""
        """Why `record()` fails, with the fix; "" while the store can save."""
        self._session_id: int | None = None
        self._journal: SafetyJournal | None = None
        self._db = self._open()

    @property
    def writable(self) -> bool:
        """Does `record()` save? False for a read-only or memory-only store."""
        return not self.cannot_save

    # --- opening ---

    def _open(self) -> sqlite3.Connection:
        if self.read_only:
            return self._open_read_only()
        try:
            return self._open_writable()
        except (sqlite3.Error, OSError) as error:
            if self._journal is not None:
                self._journal.close()
                self._journal = None
            if not is_unwritable(error, self.path):
                raise StoreError(f"cannot open the safety memory {self.path}: {error}") from error
            return self._open_memory_only(error)

    def _open_writable(self) -> sqlite3.Connection:
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            self._db = self._connect()
        except sqlite3.DatabaseError as error:
            if not is_corrupt(error):
                raise
            return self._start_over(error)
        try:
            # Under the database's write lock, so no other store appends meanwhile.
            with transaction(self._db):
                self._tidy_journal()
            self._journal = SafetyJournal(self.journal_path)
        except BaseException:
            self._db.close()
            raise
        return self._db

    def _tidy_journal(self) -> None:
        """Prune the journal, drop a torn line; start one for a database older than journals."""
        if not self.journal_path.exists():
            since = _newest(self._db) - PROFESSIONAL_WINDOW_S
            rewrite_journal(self.journal_path, entries_from_history(self._rows_since(since)))
            return
        entries, bad = read_journal(self.journal_path)
        kept = prune_entries(entries, PROFESSIONAL_WINDOW_S)
        if kept != entries or bad:
            rewrite_journal(self.journal_path, kept)

    def _start_over(self, error: sqlite3.DatabaseError) -> sqlite3.Connection:
        """Move the damaged file aside, start a new one, replay the journal into it."""
        entries = prune_entries(read_journal(self.journal_path)[0], PROFESSIONAL_WINDOW_S)
        moved = _move_aside(self.path)
        self.damaged, self.recovered = True, len(entries)
        self._db = self._connect()
        try:
            self._replay(entries)
            rewrite_journal(self.journal_path, entries)  # drops torn and unreadable lines
            self._journal = SafetyJournal(self.journal_path)
        except BaseException:
            self._db.close()
            raise
        if entries:
            self.notices.append(
                f"The safety memory {self.path} was damaged ({error}). It was moved to "
                f"{moved} and a new one was started; recovered from {self.journal_path}: "
                f"{describe_entries(entries)}."
            )
        else:
            self.notices.append(
                f"The safety memory {self.path} was damaged ({error}). It was moved to "
                f"{moved} and a new, empty one was started: screening questions will be "
                "asked again and earlier sessions are not counted."
            )
        return self._db

    def _replay(self, entries: list[JournalEntry]) -> None:
        with transaction(self._db):
            for entry in entries:
                event, region = event_of(entry)
                if event is None:
                    self._db.execute("DELETE FROM profile")
                else:
                    self._write(event, region)
        self._session_id = None

    def _open_memory_only(self, error: BaseException) -> sqlite3.Connection:
        """The session goes on; nothing it does is saved, and one notice says how to fix it."""
        self.cannot_save = self._cannot_save_text(error)
        try:
            db = self._open_read_only()
            read = " Earlier sessions were read." if self.exists else ""
        except (StoreError, sqlite3.Error, OSError) as read_error:
            db = _memory_database()
            read = f" Nothing earlier could be read ({read_error})."
        self.notices = [
            f"{self.cannot_save}. This session is not remembered: its pain locks and "
            f"advice hold only until it ends.{read}"
        ]
        return db

    def _cannot_save_text(self, error: BaseException) -> str:
        text = str(error)
        if "disk is full" in text or getattr(error, "errno", None) == 28:
            return (
                f"cannot save to {self.path}: the disk is full; free some space "
                "or pass --data-dir DIR"
            )
        folder = self.path.parent
        if not folder.exists():
            why = getattr(error, "strerror", None) or text
            return (
                f"cannot save to {self.path}: cannot create the folder {folder} ({why}); "
                "make its parent writable or pass --data-dir DIR"
            )
        reason = unwritable_reason(self.path)
        if reason:
            what = "the folder" if reason.startswith("the folder") else "the file"
            return (
                f"cannot save to {self.path}: read-only ({reason}); make {what} writable "
                "or pass --data-dir DIR"
            )
        return (
            f"cannot save to {self.path}: read-only ({text}); make the folder and the file "
            "writable or pass --data-dir DIR"
        )

    def _connect(self) -> sqlite3.Connection:
        self.notices += create_private(self.path)
        # isolation_level=None: no implicit transactions; `transaction` is explicit.
        db = sqlite3.connect(self.path, isolation_level=None, timeout=5.0)
        try:
            db.execute("PRAGMA journal_mode = WAL")
            # FULL: a commit survives power loss too, not just a killed process.
            db.execute("PRAGMA synchronous = FULL")
            db.execute("PRAGMA foreign_keys = ON")
            _check(db)
            MIGRATIONS.apply(db)
            # SQLite opens a file it may not write read-only without a word: try a write.
            (version,) = db.execute("PRAGMA user_version").fetchone()
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(f"PRAGMA user_version = {int(version)}")
            finally:
                if db.in_transaction:
                    db.execute("ROLLBACK")
        except BaseException:
            db.close()
            raise
        return db

    def _open_read_only(self) -> sqlite3.Connection:
        """A private in-memory copy of the file, read through `mode=ro` and migrated as a copy."""
        if not self.path.exists():
            self.exists = False
            return _memory_database()
        if not self.path.is_file():
            raise StoreError(f"cannot read the safety memory {self.path}: it is not a file")
        self.notices += private_mode_notice(self.path)
        try:
            source = self._connect_read_only()
        except sqlite3.DatabaseError as error:
            if is_corrupt(error):
                raise StoreDamaged(self._damaged_text(error)) from error
            raise StoreError(f"cannot read the safety memory {self.path}: {error}") from error
        try:
            db = sqlite3.connect(":memory:", isolation_level=None)
            source.backup(db)
        except sqlite3.DatabaseError as error:
            raise StoreError(f"cannot read the safety memory {self.path}: {error}") from error
        finally:
            source.close()
        MIGRATIONS.apply(db)  # the copy's schema, never the file's
        return db

    def _connect_read_only(self) -> sqlite3.Connection:
        """The file through `mode=ro`; no -wal, -shm or journal is created or changed.

        Without a -wal file every commit is in the file itself and no session has
        it open, so it is read `immutable` (SQLite would otherwise make an empty
        -wal and -shm beside it). With one, `mode=ro` reads it too; when no -shm
        can be made (a read-only folder) the file alone is read.
        """
        has_wal = self.path.with_name(self.path.name + "-wal").exists()
        for immutable in (False, True) if has_wal else (True,):
            db = sqlite3.connect(
                read_only_uri(self.path, immutable=immutable), uri=True, isolation_level=None
            )
            try:
                _check(db)
            except sqlite3.OperationalError as error:
                db.close()
                if immutable or "unable to open" not in str(error):
                    raise
                continue
            except BaseException:
                db.close()
                raise
            return db
        raise AssertionError("unreachable: the immutable attempt returns or raises")

    def _damaged_text(self, error: sqlite3.DatabaseError) -> str:
        entries, _ = read_journal(self.journal_path)
        if entries:
            recover = f"recovering from {self.journal_path}: {describe_entries(entries)}"
        else:
            recover = (
                f"and there is no safety journal ({self.journal_path}) to recover "
                "pain locks, advice and screening answers from"
            )
        return (
            f"the safety memory {self.path} is damaged ({error}); it was left as it is. "
            f"The next `backcoach session` moves it aside to {self.path.name}.corrupt-<time> "
            f"and starts a new one, {recover}."
        )

    @property
    def schema(self) -> list[str]:
        """Names of the migrations applied to this database, oldest first."""
        return MIGRATIONS.applied(self._db)

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()
            self._journal = None
        self._db.close()

    def __enter__(self) -> SqliteStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- writing ---

    def record(self, event: Record) -> None:
        """Persist `event`: in the journal (fsynced), then committed, when this returns.

        Raises `StoreError` when it cannot be saved: a memory-only or read-only store
        (`cannot_save` is the message), a full disk, a file that became read-only.
        The store stays usable: `snapshot()` still reads, a later record may succeed.
        """
        if self.cannot_save:
            raise StoreError(self.cannot_save)
        try:
            with transaction(self._db):
                region = self._write(event)
                if self._journal is not None:
                    self._journal.append(entry_of(event, region))
        except (sqlite3.Error, OSError) as error:
            raise StoreError(self._save_failed(type(event).__name__, error)) from error

    def _save_failed(self, what: str, error: BaseException) -> str:
        text = f"could not save {what} to {self.path}: {error}"
        if "disk is full" in str(error) or getattr(error, "errno", None) == 28:
            return text + "; free some disk space or pass --data-dir DIR"
        if is_unwritable(error, self.path):
            return text + "; make the folder and the file writable or pass --data-dir DIR"
        return text

    def _write(self, event: Record, region: str | None = None) -> str | None:
        """Insert or update the rows of `event`; the region it was stored with.

        `region`: a stop's or pain report's region as already resolved (a replay).
        """
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
            return event.region
        elif isinstance(event, RoutineEnded):
            self._end_run(event)
            return event.region
        elif isinstance(event, StopHeard):
            region = region or self._region_of(event.routine)
            db.execute(
                "INSERT INTO stops (session_id, at, routine, region, step, pain)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (self._session_id, event.at, event.routine, region, event.step, event.pain),
            )
            return region
        elif isinstance(event, PainReported):
            region = event.region or region or self._region_of(event.routine)
            db.execute(
                "INSERT INTO pain_events (session_id, at, routine, region, step, rating,"
                " red_flag_advice, locked_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    self._session_id,
                    event.at,
                    event.routine,
                    region,
                    event.step,
                    event.rating,
                    event.red_flag_advice,
                    event.locked_until,
                ),
            )
            return region
        else:
            raise TypeError(f"not a memory record: {event!r}")
        return None

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

    def reset_profile(self, at: float | None = None) -> int:
        """Forget the screening answers (pain history stays); how many were removed.

        `at`: when, for the journal (default now). Raises `StoreError` like `record`.
        """
        if self.cannot_save:
            raise StoreError(self.cannot_save)
        try:
            with transaction(self._db):
                removed = self._db.execute("DELETE FROM profile").rowcount
                if self._journal is not None:
                    self._journal.append(entry_of(None, at=time.time() if at is None else at))
        except (sqlite3.Error, OSError) as error:
            raise StoreError(self._save_failed("the profile reset", error)) from error
        return removed
