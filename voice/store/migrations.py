"""The store's schema as named migrations, each applied once per database.

Every schema change is a function registered on `MIGRATIONS` under its name,
recorded in `_migrations` once applied (cf. sqlite-utils' `migrations.py`);
`PRAGMA user_version` follows the count. `voice.store.sqlite` applies them when it
opens a database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timezone

__all__ = ["MIGRATIONS", "Migration", "MigrationFn", "Migrations", "transaction"]


MigrationFn = Callable[[sqlite3.Connection], None]


@dataclass(frozen=True)
class Migration:
    name: str
    """Recorded in `_migrations` once applied: never rename one that has shipped."""
    fn: MigrationFn


class Migrations:
    """An ordered set of named schema changes, each applied once per database."""

    table = "_migrations"

    def __init__(self) -> None:
        self.migrations: list[Migration] = []

    def __call__(self, fn: MigrationFn) -> MigrationFn:
        """Register `fn` under its function name (decorator)."""
        self.migrations.append(Migration(fn.__name__, fn))
        return fn

    def ensure_table(self, db: sqlite3.Connection) -> None:
        db.execute(
            f"CREATE TABLE IF NOT EXISTS {self.table} ("
            " id INTEGER PRIMARY KEY,"
            " name TEXT NOT NULL UNIQUE,"
            " applied_at TEXT NOT NULL)"
        )

    def applied(self, db: sqlite3.Connection) -> list[str]:
        self.ensure_table(db)
        return [row[0] for row in db.execute(f"SELECT name FROM {self.table} ORDER BY id")]

    def pending(self, db: sqlite3.Connection) -> list[Migration]:
        done = set(self.applied(db))
        return [m for m in self.migrations if m.name not in done]

    def apply(self, db: sqlite3.Connection, *, stop_before: str | None = None) -> list[str]:
        """Apply pending migrations in order, each atomically with its record; names applied."""
        names = []
        for migration in self.pending(db):
            if migration.name == stop_before:
                break
            with transaction(db):
                migration.fn(db)
                db.execute(
                    f"INSERT INTO {self.table} (name, applied_at) VALUES (?, ?)",
                    (migration.name, datetime.now(timezone.utc).isoformat()),
                )
                # user_version lets sqlite3-shell users see the schema level at a glance.
                db.execute(f"PRAGMA user_version = {len(self.applied(db))}")
            names.append(migration.name)
        return names


MIGRATIONS = Migrations()


@MIGRATIONS
def m001_initial(db: sqlite3.Connection) -> None:
    """Schema version 1, as first shipped."""
    db.execute(
        "CREATE TABLE profile ("
        " id INTEGER PRIMARY KEY,"
        " answered_at REAL NOT NULL,"
        " has_condition INTEGER NOT NULL,"
        " reason TEXT NOT NULL DEFAULT '')"
    )
    db.execute(
        "CREATE TABLE sessions (id INTEGER PRIMARY KEY, started_at REAL NOT NULL, ended_at REAL)"
    )
    db.execute(
        "CREATE TABLE routine_runs ("
        " id INTEGER PRIMARY KEY,"
        " session_id INTEGER REFERENCES sessions(id),"
        " routine TEXT NOT NULL,"
        " region TEXT NOT NULL,"
        " started_at REAL NOT NULL,"
        " ended_at REAL,"
        " outcome TEXT,"
        " steps_done INTEGER NOT NULL DEFAULT 0)"
    )
    db.execute(
        "CREATE TABLE pain_events ("
        " id INTEGER PRIMARY KEY,"
        " session_id INTEGER REFERENCES sessions(id),"
        " at REAL NOT NULL,"
        " routine TEXT,"
        " region TEXT,"
        " step INTEGER,"
        " rating INTEGER CHECK (rating BETWEEN 0 AND 10),"
        " red_flag_advice INTEGER NOT NULL DEFAULT 0)"
    )
    db.execute(
        "CREATE TABLE stops ("
        " id INTEGER PRIMARY KEY,"
        " session_id INTEGER REFERENCES sessions(id),"
        " at REAL NOT NULL,"
        " routine TEXT,"
        " step INTEGER,"
        " pain INTEGER NOT NULL)"
    )


@MIGRATIONS
def m002_pain_lock(db: sqlite3.Connection) -> None:
    """Pain reports keep the lock the coach set; stops keep the region they interrupted."""
    db.execute("ALTER TABLE pain_events ADD COLUMN locked_until REAL")
    db.execute("ALTER TABLE stops ADD COLUMN region TEXT")
    # Backfill: a v1 stop's region is the region of the routine it interrupted.
    db.execute(
        "UPDATE stops SET region = (SELECT r.region FROM routine_runs r"
        " WHERE r.routine = stops.routine ORDER BY r.id DESC LIMIT 1)"
        " WHERE routine IS NOT NULL"
    )


@MIGRATIONS
def m003_time_indexes(db: sqlite3.Connection) -> None:
    """Every snapshot and history query filters on time."""
    db.execute("CREATE INDEX routine_runs_started_at ON routine_runs(started_at)")
    db.execute("CREATE INDEX pain_events_at ON pain_events(at)")
    db.execute("CREATE INDEX stops_at ON stops(at)")
    db.execute("CREATE INDEX sessions_started_at ON sessions(started_at)")


@MIGRATIONS
def m004_run_worked(db: sqlite3.Connection) -> None:
    """Runs cancelled while getting into position released nothing and start no cooldown.

    NULL (older rows, runs cut off by a crash) counts as worked: the safe side.
    """
    db.execute("ALTER TABLE routine_runs ADD COLUMN worked INTEGER")


@contextmanager
def transaction(db: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception, a failed COMMIT included.

    The error that ended the transaction is the one raised: SQLite rolls back by
    itself after some (SQLITE_FULL), and a second ROLLBACK must not replace it
    with "no transaction is active". The connection is never left inside it.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        yield
        db.execute("COMMIT")
    except BaseException:
        _rollback(db)
        raise


def _rollback(db: sqlite3.Connection) -> None:
    if db.in_transaction:
        with suppress(sqlite3.Error):  # the first error is the one to report
            db.execute("ROLLBACK")
