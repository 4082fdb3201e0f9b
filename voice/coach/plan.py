"""A routine as moves: one step on one side for one repetition, the run in progress, and
the lines timed within a hold and before a restarted one."""

from __future__ import annotations

from dataclasses import dataclass

from voice.coach.actions import SayKind
from voice.coach.lines import SAME_AGAIN, move_intro
from voice.coach.routines import Routine, Step
from voice.text import number_to_words

__all__ = ["Cue", "Move", "Run", "get_ready_cues", "hold_cues", "plan_moves", "seconds_left"]

Cue = tuple[float, str, SayKind]
"""A timed line: seconds after the start, the line, how it is spoken."""


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
    early_ready: bool = False
    """'ready' came while the briefing was still being said."""
    stopped: bool = False
    """A plain stop happened during this run (outcome 'stopped' unless it completes)."""

    @property
    def move(self) -> Move:
        return self.moves[self.index]


SPEECH_WORDS_PER_MINUTE = 165
"""The speaker's default rate (`voice.speak.tts.SpeechSettings.rate_wpm`), for estimates."""


def speaking_s(text: str, rate: float = 1.0) -> float:
    """About how long the coach takes to say `text` at `rate` times the default speed."""
    return len(text.split()) * 60.0 / (SPEECH_WORDS_PER_MINUTE * rate)


def _move_lines(move: Move, spoken_so_far: str) -> list[str]:
    """What is still to be said of `move`: 'none' of it yet, the 'instruction' said
    (holding: the release is left), or 'all' of it (resting)."""
    step = move.step
    release = [step.release] if step.hold_s > 0 else []
    if spoken_so_far == "all":
        return []
    if spoken_so_far == "instruction":
        return release
    said = step.say if move.first_of_step else SAME_AGAIN
    breath = [step.breath.spoken] if step.breath else []
    cue = [step.partner_cue] if step.partner_cue else []
    return [move.intro, said, *breath, *cue, *release]


def seconds_left(run: Run, now: float, state: str, timing: float, rate: float = 1.0) -> float:
    """Seconds left: holds, rests and the coach's own speaking time.

    `state`: the coach's state value ("hold": the current move's hold is running,
    "rest": it is over); `rate`: speech speed relative to the default.
    """
    total = 0.0
    for i, move in enumerate(run.moves[run.index :], start=run.index):
        hold = move.step.hold_s
        spoken = "none"
        if i == run.index and state == "hold":
            hold = max(0.0, hold - (now - run.hold_started))
            spoken = "instruction"
        elif i == run.index and state == "rest":
            hold, spoken = 0.0, "all"
        rest = move.step.rest_s * timing if i < len(run.moves) - 1 else 0.0
        talk = sum(speaking_s(line, rate) for line in _move_lines(move, spoken) if line)
        total += hold + rest + talk
    return total


def hold_cues(length: float, halfway_line: str) -> list[Cue]:
    """The lines within a hold of `length` seconds: `halfway_line` at half time when it
    is 10 s or longer, then three, two, one before the end (none in its first second or
    right after halfway)."""
    cues: list[Cue] = []
    halfway = length >= 10
    if halfway:
        cues.append((length / 2, halfway_line, SayKind.BREATH))
    for k in (3, 2, 1):
        at = length - k
        if at < 1 or (halfway and at <= length / 2 + 1):
            continue
        cues.append((at, number_to_words(k), SayKind.COUNT))
    return cues


def get_ready_cues(count_s: float) -> list[Cue]:
    """Three, two, one over the `count_s` seconds before a hold restarted after a pause."""
    return [
        (count_s * (i + 1) / 4, number_to_words(k), SayKind.COUNT) for i, k in enumerate((3, 2, 1))
    ]
