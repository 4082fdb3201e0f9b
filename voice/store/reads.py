"""The store's reads: the safety snapshot the coach starts from, and the history rows.

`SafetyReads` is the reading half of `voice.store.sqlite.SqliteStore`, kept apart so
each module stays one job: it only runs SELECTs on `self._db`, whichever way the
store was opened (a writable file, a read-only copy, memory only).
Times are epoch seconds; days are local days in `self.tz` (None: the system zone).
"""

from __future__ import annotations

import sqlite3
from datetime import tzinfo

from voice.coach.lines import see_professional_reason
from voice.coach.memory import Outcome, SafetyMemory, Screening
from voice.coach.safety import (
    PROFESSIONAL_WINDOW_S,
    RATING_SEE_PROFESSIONAL,
    local_day_start,
    next_local_midnight,
)
from voice.errors import BadInput
from voice.store.rows import History, PainRow, RunRow, SessionRow, StopRow

__all__ = ["SafetyReads"]


class SafetyReads:
    """Snapshot and history queries over an open connection."""

    _db: sqlite3.Connection
    tz: tzinfo | None
    frequency_limit_per_day: int

    def _rows_since(self, since: float) -> History:
        """Every row from `since` on and the latest screening answer (to start a journal)."""
        return self._history(since, since)

    def _history(self, since: float, until: float) -> History:
        return History(
            since=since,
            until=until,
            screening=self.screening(),
            sessions=tuple(self.sessions(since)),
            runs=tuple(self.runs(since)),
            pains=tuple(self.pains(since)),
            stops=tuple(self.stops(since)),
        )

    # --- reading: the snapshot ---

    def snapshot(self, now: float) -> SafetyMemory:
        """What the dialogue manager needs at session start; see each helper for its rule.

        Rows timed after `now` count like earlier ones: a `--fast` session runs
        its virtual clock ahead of the wall clock, and its runs must still count.
        """
        rest_until, strong_rating = self._strong_pain_today(now)
        return SafetyMemory(
            no_routines_until=rest_until,
            strong_pain_rating=strong_rating,
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

    def _strong_pain_today(self, now: float) -> tuple[float, int | None]:
        """(midnight ending today, the rating) after a pain rated 7 or more today, else
        (0.0, None): such a pain rests every region for the rest of the day."""
        rating, at = self._db.execute(
            "SELECT MAX(rating), MAX(at) FROM pain_events WHERE rating >= ? AND at >= ?",
            (RATING_SEE_PROFESSIONAL, local_day_start(now, self.tz)),
        ).fetchone()
        if rating is None:
            return 0.0, None
        until = next_local_midnight(at, self.tz)
        return (until, int(rating)) if until > now else (0.0, None)

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
        return self._history(since, now)

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
