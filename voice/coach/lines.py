"""Fixed lines the coach says on the beat of a hold; synthesized once so counts are on time."""

from __future__ import annotations

from voice.coach.routines import Breath
from voice.text import number_to_words

__all__ = ["COUNTS", "GET_READY", "HALFWAY", "HOLD", "RELAX", "TIMED_PHRASES"]

HOLD = "Hold."
HALFWAY = "Halfway. Keep breathing."
GET_READY = "Get ready."
RELAX = "Relax."
COUNTS = tuple(number_to_words(n) for n in range(21))
"""Numbers as the coach says them in a count ('three', 'two', 'one')."""

TIMED_PHRASES: tuple[str, ...] = (
    *COUNTS,
    HOLD,
    HALFWAY,
    GET_READY,
    RELAX,
    *(b.spoken for b in Breath),
)
"""Every line spoken at a fixed moment of a hold, exactly as the dialogue manager says it."""
