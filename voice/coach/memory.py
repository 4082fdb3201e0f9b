"""What the coach remembers for safety, and the store interface behind it.

The dialogue manager is pure: it reads a `SafetyMemory` snapshot taken when the
session starts and emits `Record` events; the runtime hands those to a `Store`
(SQLite, `voice.store.sqlite`; the protocol is here). Times are epoch seconds.
Records are events, not the store's rows (`voice.store.rows`: ids, optional ends).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol

__all__ = [
    "FREQUENCY_LIMIT_PER_DAY",
    "Outcome",
    "PainReported",
    "Record",
    "RoutineEnded",
    "RoutineStarted",
    "SafetyMemory",
    "Screening",
    "ScreeningAnswered",
    "SessionEnded",
    "SessionStarted",
    "StopHeard",
    "Store",
]

FREQUENCY_LIMIT_PER_DAY = 2
"""Default runs per spinal region per day before the coach reminds 'not too often'."""


class Outcome(str, Enum):
    COMPLETED = "completed"
    STOPPED = "stopped"
    PAIN = "pain"
    ABANDONED = "abandoned"


@dataclass(frozen=True)
class Screening:
    has_condition: bool
    """True if the user reported osteoarthritis, osteopenia or osteoporosis, injury or surgery."""
    at: float
    """Epoch seconds when answered."""
    reason: str = ""
    """What the user said yes to, spoken back when routines stay locked."""


@dataclass(frozen=True)
class SafetyMemory:
    """A snapshot of everything remembered, taken at session start."""

    screening: Screening | None = None
    last_worked: dict[str, float] = field(default_factory=dict)
    """Region value -> epoch seconds when a routine that worked it last ended (any outcome)."""
    locked_until: dict[str, float] = field(default_factory=dict)
    """Region value -> epoch seconds until which a pain stop locks it."""
    runs_today: dict[str, int] = field(default_factory=dict)
    """Region value -> routine runs started today (local day)."""
    days_used_last_week: int = 0
    """Distinct local days with at least one routine run among the last 7."""
    see_professional: str = ""
    """Non-empty when advice to see a professional is due at the next start; the reason."""
    frequency_limit_per_day: int = FREQUENCY_LIMIT_PER_DAY
    """Runs per region per day before the frequency reminder."""
    no_routines_until: float = 0.0
    """Epoch seconds until which no routine may start at all: a pain rated at or above
    `voice.coach.safety.RATING_SEE_PROFESSIONAL` today rests every region until midnight."""
    strong_pain_rating: int | None = None
    """The rating that set `no_routines_until` (said when a start is refused)."""


# Records: what happened, emitted by the dialogue manager, persisted by a Store.


@dataclass(frozen=True)
class SessionStarted:
    at: float


@dataclass(frozen=True)
class SessionEnded:
    at: float


@dataclass(frozen=True)
class ScreeningAnswered:
    at: float
    has_condition: bool
    reason: str = ""


@dataclass(frozen=True)
class RoutineStarted:
    at: float
    routine: str
    region: str


@dataclass(frozen=True)
class RoutineEnded:
    at: float
    routine: str
    region: str
    outcome: Outcome
    steps_done: int = 0
    worked: bool = True
    """False when the run ended before any hold or movement: it starts no cooldown."""


@dataclass(frozen=True)
class StopHeard:
    at: float
    routine: str | None
    step: int | None
    pain: bool


@dataclass(frozen=True)
class PainReported:
    at: float
    routine: str | None
    region: str | None
    step: int | None
    rating: int | None
    """0-10, None when the user gave no rating."""
    red_flag_advice: bool
    locked_until: float | None
    """Epoch seconds until which the region is locked."""


Record = (
    SessionStarted
    | SessionEnded
    | ScreeningAnswered
    | RoutineStarted
    | RoutineEnded
    | StopHeard
    | PainReported
)


class Store(Protocol):
    """Durable memory. `record` must have persisted the event when it returns."""

    def snapshot(self, now: float) -> SafetyMemory: ...

    def record(self, event: Record) -> None: ...

    def close(self) -> None: ...
