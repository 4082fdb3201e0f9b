"""The safety rules' thresholds and verdicts, pure: what may start, what is locked, until when.

Times are epoch seconds; local days are in `tz` (None: the system zone),
correct across daylight-saving changes (days of 23 or 25 hours), which is why
days are never `86400` steps. The store computes its facts with the same
functions, so the pain lock and the store can never disagree on midnight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from enum import Enum

from voice.coach.memory import FREQUENCY_LIMIT_PER_DAY
from voice.coach.safety_words import Reading, clauses, read_safety

__all__ = [
    "FREQUENCY_LIMIT_PER_DAY",
    "PAIN_STOPS_SEE_PROFESSIONAL",
    "PROFESSIONAL_WINDOW_S",
    "RATING_SEE_PROFESSIONAL",
    "Reminder",
    "StartCheck",
    "StartVerdict",
    "clear_yes_or_no",
    "cooldown_check",
    "local_day_start",
    "next_local_midnight",
    "reminder",
    "start_verdict",
    "urgent",
]

RATING_SEE_PROFESSIONAL = 7
"""A pain rating (0-10) at or above this gets urgent advice and the red flags now,
and advice to see a professional at every start for 7 days."""
PAIN_STOPS_SEE_PROFESSIONAL = 2
"""Pain stops within 7 days that make advice to see a professional due."""
PROFESSIONAL_WINDOW_S = 7 * 24 * 3600.0
"""Seconds back from now in which ratings and pain stops count for that advice."""


def local_day_start(now: float, tz: tzinfo | None = None) -> float:
    """Epoch seconds of the local midnight that starts the day containing `now`."""
    local = datetime.fromtimestamp(now, tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def next_local_midnight(now: float, tz: tzinfo | None = None) -> float:
    """Epoch seconds of the local midnight that ends the day containing `now` (the pain lock)."""
    return local_day_start(local_day_start(now, tz) + 36 * 3600.0, tz)


class StartVerdict(str, Enum):
    ASK_SCREENING = "ask_screening"
    """The screening question was never answered."""
    SCREENING_LOCK = "screening_lock"
    """The user reported a condition: routines stay locked."""
    REGION_LOCKED = "region_locked"
    """A pain stop locked the region until midnight."""
    COOLDOWN = "cooldown"
    """The region was worked too recently: ask before starting."""
    OK = "ok"


@dataclass(frozen=True)
class StartCheck:
    verdict: StartVerdict
    minutes_ago: int = 0
    """COOLDOWN: minutes since the region was worked (at least 1)."""
    minutes_left: int = 0
    """COOLDOWN: minutes until it may release again (at least 1)."""


def start_verdict(screening_condition: bool | None, locked_until: float, now: float) -> StartCheck:
    """May a routine on a region start now? Screening first, then the pain lock."""
    if screening_condition is None:
        return StartCheck(StartVerdict.ASK_SCREENING)
    if screening_condition:
        return StartCheck(StartVerdict.SCREENING_LOCK)
    if locked_until > now:
        return StartCheck(StartVerdict.REGION_LOCKED)
    return StartCheck(StartVerdict.OK)


def cooldown_check(last_worked: float | None, cooldown_min: float, now: float) -> StartCheck:
    """COOLDOWN when the region was worked less than `cooldown_min` minutes ago, else OK."""
    ready_at = None if last_worked is None else last_worked + cooldown_min * 60.0
    if ready_at is not None and ready_at > now:
        minutes_ago = max(1, round((now - last_worked) / 60.0)) if last_worked is not None else 0
        minutes_left = max(1, round((ready_at - now) / 60.0))
        return StartCheck(StartVerdict.COOLDOWN, minutes_ago, minutes_left)
    return StartCheck(StartVerdict.OK)


class Reminder(str, Enum):
    NONE = "none"
    TOO_OFTEN_TODAY = "too_often_today"
    EVERY_DAY_THIS_WEEK = "every_day_this_week"


def reminder(runs_today: int, frequency_limit: int, days_used_last_week: int) -> Reminder:
    """The 'not too often' reminder due when a run starts."""
    if runs_today >= frequency_limit:
        return Reminder.TOO_OFTEN_TODAY
    if days_used_last_week >= 7:
        return Reminder.EVERY_DAY_THIS_WEEK
    return Reminder.NONE


CLEAR_YES = frozenset({"yes", "yeah", "yep", "yup", "correct"})
CLEAR_NO = frozenset({"no", "nope", "nah"})


def clear_yes_or_no(text: str) -> bool | None:
    """True / False for a clear yes / no, None otherwise ("okay", "sure", "no pain").

    The screening question decides whether routines may run at all, so an
    acknowledgement or an answer to another question never counts as one.
    """
    if read_safety(text) is not Reading.NONE:
        return None
    words = {word for clause in clauses(text) for word in clause}
    yes, no = bool(words & CLEAR_YES), bool(words & CLEAR_NO)
    if yes == no:
        return None
    return yes


def urgent(rating: int | None) -> bool:
    """A rating that gets urgent-care advice and the red flags at once."""
    return rating is not None and rating >= RATING_SEE_PROFESSIONAL
