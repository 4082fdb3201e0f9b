"""What the coach waits for in each state: the answers the recognizer may take a near miss for."""

from __future__ import annotations

from voice.coach.grammar import SIGNAL_INTENTS, YES_NO_INTENTS
from voice.coach.plan import Run
from voice.coach.states import State

__all__ = ["ASKED_RATING", "ASKED_SIGNAL", "ASKED_YES_NO", "asked"]

ASKED_RATING = frozenset({"PainRating"})
"""What the coach waits for after "how strong was it?"."""
ASKED_YES_NO = YES_NO_INTENTS
"""What the coach waits for after a yes-or-no question: the screening, "did that
hurt?", "do you want to answer the safety question again?"."""
ASKED_SIGNAL = SIGNAL_INTENTS
"""What the coach waits for while a step waits to begin: "ready", or "now" for the
partner. Out of it those words mean nothing, and a "no" the engine wrote as "now"
is taken for the "no" (`voice.session.stop_path`)."""


def asked(state: State, run: Run | None) -> frozenset[str]:
    """The answers the coach waits for in `state`: a pain rating after "how strong
    was it?", yes or no after a yes-or-no question, "ready" or "now" while a step
    waits to begin (`voice.coach.run.signal` takes one then). The recognizer may
    take a near miss for one only then."""
    if state is State.PAIN_FOLLOWUP:
        return ASKED_RATING
    if state in (State.SCREENING, State.STOPPED, State.CONFIRM):
        return ASKED_YES_NO
    if run is not None and _awaits_signal(state, run):
        return ASKED_SIGNAL
    return frozenset()


def _awaits_signal(state: State, run: Run) -> bool:
    if state in (State.BRIEFING, State.WAITING):
        return True
    # The step's line is still being said; the signal it asks for may come already.
    return state is State.STEP and run.move.step.wait_for is not None and not run.signalled
