"""A routine as moves: one step on one side for one repetition, and the run in progress."""

from __future__ import annotations

from dataclasses import dataclass

from voice.coach.lines import move_intro
from voice.coach.routines import Routine, Step

__all__ = ["Move", "Run", "plan_moves", "seconds_left"]


@dataclass(frozen=True)
class Move:
    """One step on one side for one repetition: the unit of next/previous/status."""

    step_index: int
    step: Step
    rep: int
    """1-based repetition."""
    side: str | None
    intro: str
    """Spoken before the instruction: side and repetition announcements."""
    first_of_step: bool
    """True for the first rep of a side: the full instruction is spoken."""


def plan_moves(routine: Routine) -> list[Move]:
    moves: list[Move] = []
    for index, step in enumerate(routine.steps):
        sides: tuple[str | None, ...] = tuple(s.value for s in step.sides) or (None,)
        for side_number, side in enumerate(sides):
            for rep in range(1, step.reps + 1):
                intro = move_intro(side, side_number, rep, step.reps)
                moves.append(Move(index, step, rep, side, intro, rep == 1))
    return moves


@dataclass
class Run:
    """The routine in progress."""

    routine: Routine
    moves: list[Move]
    started_at: float
    index: int = 0
    hold_started: float = 0.0
    signalled: bool = False
    worked: bool = False
    """A hold or movement has been done: the region now needs its cooldown."""
    briefed: bool = True
    """False while the briefing waits for 'ready' (when the first step does not ask itself)."""
    stopped: bool = False
    """A plain stop happened during this run (outcome 'stopped' unless it completes)."""

    @property
    def move(self) -> Move:
        return self.moves[self.index]


def seconds_left(run: Run, now: float, holding: bool, timing: float) -> float:
    """Seconds of holds and rests left; `holding`: the current move's hold is running."""
    total = 0.0
    for i, move in enumerate(run.moves[run.index :], start=run.index):
        hold = move.step.hold_s
        if i == run.index and holding:
            hold = max(0.0, hold - (now - run.hold_started))
        rest = move.step.rest_s * timing if i < len(run.moves) - 1 else 0.0
        total += hold + rest
    return total
