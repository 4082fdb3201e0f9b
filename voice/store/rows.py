"""What the store holds, as rows: the one set of row types, read by `voice.store.sqlite`
and reported by `voice.store.history`.

A row is a record of `voice.coach.memory` as stored: with its id, the session it
happened in, and the ends a killed session never wrote left as None (a run's
`ended_at`, `outcome`). Times are epoch seconds.
Rows are not the records: a record is one event as it happens, a row is what is
stored (ids, a run's start and end in one row, a stop's region looked up).
"""

from __future__ import annotations

from dataclasses import dataclass

from voice.coach.memory import Outcome, Screening

__all__ = ["History", "PainRow", "RunRow", "SessionRow", "StopRow"]


@dataclass(frozen=True)
class SessionRow:
    id: int
    started_at: float
    """Epoch seconds."""
    ended_at: float | None
    """Epoch seconds; None when the session never ended cleanly (killed, crashed)."""


@dataclass(frozen=True)
class RunRow:
    """One routine run."""

    id: int
    session_id: int | None
    routine: str
    """Routine id, e.g. `rotation`."""
    region: str
    """Spinal region value, e.g. `thoracic`."""
    started_at: float
    """Epoch seconds."""
    ended_at: float | None
    """Epoch seconds; None when the run never ended (session killed mid-routine)."""
    outcome: Outcome | None
    """None when the run never ended."""
    steps_done: int = 0
    """Steps finished before the end."""


@dataclass(frozen=True)
class PainRow:
    id: int
    session_id: int | None
    at: float
    """Epoch seconds."""
    routine: str | None
    region: str | None
    step: int | None
    rating: int | None
    """0-10; None when the user gave no rating."""
    red_flag_advice: bool
    """True when the coach advised seeing a professional right then."""
    locked_until: float | None
    """Epoch seconds until which the region was locked."""


@dataclass(frozen=True)
class StopRow:
    id: int
    session_id: int | None
    at: float
    """Epoch seconds."""
    routine: str | None
    region: str | None
    step: int | None
    pain: bool
    """True for a pain stop ("stop, pain", "ouch")."""


@dataclass(frozen=True)
class History:
    """Everything remembered within a window of days."""

    since: float
    """Epoch seconds: start of the window (a local midnight)."""
    until: float
    """Epoch seconds: when the history was read."""
    screening: Screening | None = None
    """The latest screening answer, whenever it was given."""
    sessions: tuple[SessionRow, ...] = ()
    runs: tuple[RunRow, ...] = ()
    pains: tuple[PainRow, ...] = ()
    stops: tuple[StopRow, ...] = ()
