"""The coach's dialogue states, shared by the dispatch and its handler modules."""

from __future__ import annotations

from enum import Enum

__all__ = ["IN_ROUTINE", "State"]


class State(str, Enum):
    IDLE = "idle"
    SCREENING = "screening"
    PRECAUTIONS = "precautions"
    """Reading the precautions aloud at a first session (or after a profile reset)."""
    CONFIRM = "confirm"
    BRIEFING = "briefing"
    WAITING = "waiting"
    STEP = "step"
    HOLD = "hold"
    REST = "rest"
    PAUSED = "paused"
    STOPPED = "stopped"
    PAIN_FOLLOWUP = "pain_followup"
    FINISHED = "finished"
    ENDED = "ended"


IN_ROUTINE = {State.BRIEFING, State.WAITING, State.STEP, State.HOLD, State.REST, State.PAUSED}
"""The states inside a running routine (paused included)."""
