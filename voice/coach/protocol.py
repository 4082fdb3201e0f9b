"""The coach's stop and pain protocol: a stop, "was it pain?", a pain stop, the pain rating.

Handlers of `voice.coach.dialogue.Coach`, as functions of the coach and the
step's `out`. The dispatch silences first (`StopAll`) and then calls these;
the thresholds are in `voice.coach.safety`, the sentences in `voice.coach.lines`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from voice.coach import lines
from voice.coach.actions import CueKind, Persist, SayKind
from voice.coach.memory import Outcome, PainReported, StopHeard
from voice.coach.run import close_run, partner_first
from voice.coach.safety import urgent
from voice.coach.states import IN_ROUTINE, State

if TYPE_CHECKING:
    from voice.coach.dialogue import Coach, Out

__all__ = ["pain_rating", "pain_stop", "stop", "stop_was_not_pain"]


def stop(c: Coach, out: Out, now: float) -> None:
    run = c._run
    partner_first(c, out)
    out.cue(CueKind.ALERT)
    out.add(
        Persist(
            StopHeard(
                now,
                run.routine.id if run else None,
                run.move.step_index + 1 if run else None,
                pain=False,
            )
        )
    )
    if run is not None:
        run.stopped = True
        if c.state in IN_ROUTINE and c.state is not State.PAUSED:
            c._paused_from = c.state
    c._stopped_routine = run.routine if run else None
    c._stopped_step = run.move.step_index + 1 if run else None
    c.state = State.STOPPED
    out.say(lines.STOPPED, SayKind.PROMPT)


def stop_was_not_pain(c: Coach, out: Out) -> None:
    if c._run is not None:
        c.state = State.PAUSED
        out.say(lines.NOT_PAIN_PAUSED, SayKind.PROMPT)
    elif c.memory.screening_condition is None:
        c.state = State.SCREENING
        out.say(lines.NOT_PAIN + c.book.precautions.screening_question, SayKind.PROMPT)
    else:
        c.state = State.IDLE
        out.say(lines.NOT_PAIN_IDLE, SayKind.PROMPT)


def pain_stop(c: Coach, out: Out, now: float, already_stopped: bool = False) -> None:
    run = c._run
    routine = run.routine if run else c._stopped_routine
    if routine is None and c.state is State.FINISHED:
        # Pain right after a routine most likely comes from that routine.
        routine = c._finished_routine
    step = (run.move.step_index + 1) if run else c._stopped_step
    partner_first(c, out)
    if not already_stopped:
        out.cue(CueKind.ALERT)
        out.add(Persist(StopHeard(now, routine.id if routine else None, step, pain=True)))
    if run is not None:
        close_run(c, out, now, Outcome.PAIN)
    c._stopped_routine, c._stopped_step = routine, step
    c._rating_asked_twice = False
    c.state = State.PAIN_FOLLOWUP
    out.say(c.book.precautions.pain_message, SayKind.SAFETY)
    out.say(lines.PAIN_HOW_STRONG, SayKind.PROMPT)


def pain_rating(c: Coach, out: Out, now: float, rating: int | None) -> None:
    routine = c._stopped_routine
    region = routine.region if routine else None
    locked_until: float | None = None
    if region is not None and rating != 0:
        # "zero" means it did not hurt after all: nothing to lock
        locked_until = c._day_end(now)
        c.memory.locked_until[region.value] = locked_until
    is_urgent = urgent(rating)
    if is_urgent:
        # strong pain rests every region until midnight, in later sessions too
        c.memory.no_routines_until = c._day_end(now)
        c.memory.strong_pain_rating = rating
    out.add(
        Persist(
            PainReported(
                now,
                routine.id if routine else None,
                region.value if region else None,
                c._stopped_step,
                rating,
                is_urgent,
                locked_until,
            )
        )
    )
    if is_urgent:
        c.memory.see_professional = lines.STRONG_PAIN_LAST_TIME
        out.say(c.book.precautions.urgent_advice, SayKind.SAFETY)
        for flag in c.book.precautions.red_flags:
            out.say(flag, SayKind.SAFETY)
    elif rating == 0:
        out.say(lines.PAIN_ZERO, SayKind.SAFETY)
    elif rating is not None:
        out.say(lines.pain_rated(rating), SayKind.SAFETY)
    else:
        out.say(lines.PAIN_NO_RATING, SayKind.SAFETY)
    if region is not None and rating != 0:
        out.say(lines.region_done_today(region.spoken), SayKind.SAFETY)
    c._stopped_routine, c._stopped_step = None, None
    c.state = State.IDLE
