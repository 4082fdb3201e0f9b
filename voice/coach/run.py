"""The coach running a routine: starting it, its moves, holds and rests, pause, resume, jumps.

Handlers of `voice.coach.dialogue.Coach`, as functions of the coach and the
step's `out`: pure like the coach, they read and change its state and say
their sentences through `out`. The dispatch stays in `voice.coach.dialogue`.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from voice.coach import lines
from voice.coach.actions import CueKind, FlushSpeech, Persist, SayKind
from voice.coach.lines import GET_READY
from voice.coach.memory import Outcome, RoutineEnded, RoutineStarted
from voice.coach.plan import Run, get_ready_cues, hold_cues, plan_moves
from voice.coach.routines import Routine, Signal
from voice.coach.safety import Reminder, StartVerdict, cooldown_check, reminder, start_verdict
from voice.coach.states import IN_ROUTINE, State

if TYPE_CHECKING:
    from voice.coach.dialogue import Coach, Out

__all__ = [
    "begin_routine",
    "close_run",
    "jump",
    "partner_first",
    "pause",
    "resume",
    "signal",
    "speech_done",
    "start_routine",
    "waiting_prompt",
]


def start_routine(c: Coach, out: Out, now: float, routine_id: str) -> None:
    if routine_id not in c.book.routines:
        # "start the hug": two routines are hugs, so ask which
        named = tuple(r.name for r in c.book.routines.values() if routine_id in r.name.split())
        if routine_id and len(named) > 1:
            out.say(lines.which_routine(named), SayKind.PROMPT)
        else:
            out.say(lines.UNKNOWN_ROUTINE, SayKind.PROMPT)
        return
    routine = c.book.get(routine_id)
    region = routine.region.value
    check = start_verdict(c.memory.screening_condition, c.memory.locked_until.get(region, 0.0), now)
    if check.verdict is StartVerdict.ASK_SCREENING:
        c.state = State.SCREENING
        out.say(c.book.precautions.screening_question, SayKind.PROMPT)
        return
    if check.verdict is StartVerdict.SCREENING_LOCK:
        out.say(c._screening_lock_text(), SayKind.SAFETY)
        return
    if c.memory.no_routines_until > now:
        out.say(lines.no_routines_today(c.memory.strong_pain_rating), SayKind.SAFETY)
        return
    if check.verdict is StartVerdict.REGION_LOCKED:
        out.say(lines.region_locked(routine.region.spoken), SayKind.SAFETY)
        return
    if c._run is not None:
        close_run(c, out, now, Outcome.ABANDONED)
    cooldown = cooldown_check(c.memory.last_worked.get(region), routine.cooldown_min, now)
    if cooldown.verdict is StartVerdict.COOLDOWN:
        out.add(FlushSpeech())
        c._confirming_screening = False
        c._pending_routine = routine.id
        c.state = State.CONFIRM
        out.say(
            lines.cooldown_question(
                routine.region.spoken, cooldown.minutes_ago, cooldown.minutes_left
            ),
            SayKind.PROMPT,
        )
        return
    begin_routine(c, out, now, routine)


def begin_routine(c: Coach, out: Out, now: float, routine: Routine) -> None:
    region = routine.region.value
    out.add(FlushSpeech())
    runs = c.memory.runs_today.get(region, 0)
    due = reminder(runs, c.memory.frequency_limit, c.memory.days_used_last_week)
    if due is Reminder.TOO_OFTEN_TODAY:
        out.say(lines.too_often_today(runs + 1, routine.region.spoken), SayKind.SAFETY)
    elif due is Reminder.EVERY_DAY_THIS_WEEK:
        out.say(lines.EVERY_DAY_THIS_WEEK, SayKind.SAFETY)
    c.memory.runs_today[region] = runs + 1
    c._run = Run(routine, plan_moves(routine), now)
    out.add(Persist(RoutineStarted(now, routine.id, region)))
    c.state = State.BRIEFING
    out.say(lines.starting(routine.name, routine.intro), SayKind.INFO)
    partner_size = routine.partner.size if routine.partner else None
    needs = lines.briefing_needs(routine.equipment, partner_size, routine.position)
    last = out.say(needs, SayKind.INFO)
    if routine.partner:
        for line in routine.partner.instructions:
            last = out.say(line, SayKind.PARTNER)
    # When the first step asks for 'ready' itself, a second 'ready' would only tire the user.
    if c._run.moves[0].step.wait_for is not Signal.READY:
        c._run.briefed = False
        last = out.say(lines.SAY_READY, SayKind.PROMPT)
    c._await = last


def start_move(c: Coach, out: Out, now: float) -> None:
    run = c._run
    assert run is not None
    move = run.move
    run.signalled = False
    c.state = State.STEP
    c._clear_timers()
    if move.intro:
        out.say(move.intro, SayKind.INSTRUCTION)
    text = move.step.say if move.first_of_step else lines.SAME_AGAIN
    last = out.say(text, SayKind.INSTRUCTION)
    if move.step.breath:
        last = out.say(move.step.breath.spoken, SayKind.BREATH)
    c._await = last


def partner_first(c: Coach, out: Out) -> None:
    """In a partner routine, the partner is told to set the person down before anything else."""
    run = c._run
    if run is not None and run.routine.partner is not None and c.state in IN_ROUTINE:
        out.say(lines.PARTNER_LET_GO, SayKind.PARTNER)


def speech_done(c: Coach, out: Out, now: float) -> None:
    run = c._run
    if c.state is State.BRIEFING and run:
        if run.briefed or run.early_ready:
            run.briefed = True
            start_move(c, out, now)
        else:
            enter_waiting(c, out, now)
    elif c.state is State.STEP and run:
        step = run.move.step
        if step.wait_for and not run.signalled:
            enter_waiting(c, out, now)
        elif step.hold_s > 0:
            start_hold(c, out, now)
        else:
            move_done(c, out, now)
    elif c.state is State.REST and run:
        if run.index + 1 >= len(run.moves):
            complete(c, out, now)
        else:
            rest = run.move.step.rest_s * c.timing
            c._set_timer(now + rest, partial(next_move, c))


def enter_waiting(c: Coach, out: Out, now: float) -> None:
    c.state = State.WAITING
    c._reprompted = False
    c._set_timer(now + c.settings.reprompt_s * c.timing, partial(reprompt, c))


def waiting_prompt(c: Coach) -> str:
    run = c._run
    if run is None:
        return ""
    if run.briefed and run.move.step.wait_for is Signal.NOW and not run.signalled:
        return lines.SAY_NOW
    return lines.SAY_READY


def reprompt(c: Coach, out: Out, now: float) -> None:
    if c.state is State.WAITING and not c._reprompted:
        c._reprompted = True
        out.say(waiting_prompt(c), SayKind.PROMPT)
        # After one re-prompt the coach waits quietly: no timer.


def signal(c: Coach, out: Out, now: float, intent: str) -> None:
    run = c._run
    if run is not None and c.state is State.BRIEFING:
        # "ready" while the briefing is still being said: the partner's instructions
        # are not cut. When the coach would then ask for "ready", the first step
        # follows at once; when the first step asks for it itself, it is asked
        # after its instruction, which the person has not heard yet.
        if not run.briefed:
            run.early_ready = True
        return
    if (
        run is not None
        and c.state is State.STEP
        and run.move.step.wait_for is not None
        and not run.signalled
        and c._await is not None
    ):
        # The signal the step asks for, said while its line is still spoken: cut
        # the line and go on, as if the coach had finished it.
        out.add(FlushSpeech())
        c._await = None
        c.state = State.WAITING
    if c.state is not State.WAITING or run is None:
        if c.state in (State.IDLE, State.FINISHED):
            out.say(lines.SAY_START, SayKind.PROMPT)
        else:
            c._not_understood(out)
        return
    c._clear_timers()
    if not run.briefed:
        run.briefed = True
        start_move(c, out, now)
        return
    step = run.move.step
    wanted = step.wait_for
    if wanted is Signal.NOW and intent != "Now":
        out.say(lines.SAY_NOW_FOR_PARTNER, SayKind.PROMPT)
        c._set_timer(now + c.settings.reprompt_s * c.timing, partial(reprompt, c))
        return
    run.signalled = True
    if wanted is Signal.NOW:
        c.state = State.STEP
        c._await = out.say(step.partner_cue, SayKind.PARTNER)
    elif step.hold_s > 0:
        start_hold(c, out, now)
    else:
        move_done(c, out, now)


def start_hold(c: Coach, out: Out, now: float) -> None:
    run = c._run
    assert run is not None
    step = run.move.step
    c.state = State.HOLD
    run.hold_started = now
    run.worked = True
    out.cue(CueKind.HOLD_START)
    out.say(step.timed.start_line, SayKind.COUNT)  # 'Hold.', or 'Start rolling.'
    length = step.hold_s
    entries = c._cues(now, hold_cues(length, step.timed.halfway_line))
    entries.append((now + length, partial(end_hold, c)))
    c._set_schedule(entries)


def end_hold(c: Coach, out: Out, now: float) -> None:
    run = c._run
    assert run is not None
    c._clear_timers()
    out.cue(CueKind.HOLD_END)
    c.state = State.REST
    c._await = out.say(run.move.step.release, SayKind.INSTRUCTION)


def move_done(c: Coach, out: Out, now: float) -> None:
    run = c._run
    assert run is not None
    if run.index + 1 >= len(run.moves):
        complete(c, out, now)
    else:
        next_move(c, out, now)


def next_move(c: Coach, out: Out, now: float) -> None:
    run = c._run
    assert run is not None
    run.index += 1
    start_move(c, out, now)


def complete(c: Coach, out: Out, now: float) -> None:
    run = c._run
    assert run is not None
    routine = run.routine
    sides = sorted({m.side for m in run.moves if m.side})
    holds = sum(1 for m in run.moves if m.step.hold_s > 0)
    done = lines.finished(routine.name, len(routine.steps), holds, sides, routine.region.spoken)
    out.say(done, SayKind.INFO)
    close_run(c, out, now, Outcome.COMPLETED)
    c._finished_routine = routine
    c.state = State.FINISHED


def close_run(c: Coach, out: Out, now: float, outcome: Outcome) -> None:
    run = c._run
    if run is None:
        return
    if outcome is Outcome.ABANDONED and run.stopped:
        outcome = Outcome.STOPPED
    region = run.routine.region.value
    # A run cancelled while still getting into position has released nothing.
    worked = run.worked or outcome in (Outcome.COMPLETED, Outcome.PAIN)
    if worked:
        c.memory.last_worked[region] = now
    out.add(Persist(RoutineEnded(now, run.routine.id, region, outcome, run.index, worked)))
    c._run = None
    c._paused_from = None


def pause(c: Coach, out: Out) -> None:
    if c.state not in IN_ROUTINE or c.state is State.PAUSED:
        out.say(lines.NOTHING_TO_PAUSE if c.state is not State.PAUSED else lines.WE_ARE_PAUSED)
        return
    out.add(FlushSpeech())
    c._clear_timers()
    c._await = None
    c._paused_from = c.state
    c.state = State.PAUSED
    out.say(lines.PAUSED, SayKind.PROMPT)


def resume(c: Coach, out: Out, now: float) -> None:
    run = c._run
    if c.state is not State.PAUSED or run is None:
        out.say(lines.NOTHING_PAUSED if run is None else lines.NOT_PAUSED)
        return
    paused_from = c._paused_from
    c._paused_from = None
    if paused_from in (State.HOLD, State.REST) and run.move.step.hold_s > 0:
        # A hold is restarted whole after a short count, never continued mid-way.
        c.state = State.STEP
        run.signalled = True
        out.say(GET_READY, SayKind.COUNT)
        count = c.settings.get_ready_s * c.timing
        entries = c._cues(now, get_ready_cues(count))
        entries.append((now + count, partial(start_hold, c)))
        c._set_schedule(entries)
        return
    out.say(lines.RESUMING, SayKind.ACK)
    if paused_from is State.WAITING and run.move.step.wait_for and not run.signalled:
        start_move(c, out, now)
    elif paused_from is State.BRIEFING:
        c.state = State.BRIEFING
        c._await = out.say(lines.SAY_READY, SayKind.PROMPT)
    else:
        start_move(c, out, now)


def jump(c: Coach, out: Out, now: float, delta: int) -> None:
    run = c._run
    if run is None or c.state not in IN_ROUTINE:
        out.say(lines.NO_ROUTINE_TO_JUMP, SayKind.PROMPT)
        return
    out.add(FlushSpeech())
    c._clear_timers()
    c._await = None
    c._paused_from = None
    target = run.index + delta
    if target >= len(run.moves):
        complete(c, out, now)
        return
    run.index = max(0, target)
    out.say(lines.SKIPPING_AHEAD if delta > 0 else lines.GOING_BACK, SayKind.ACK)
    start_move(c, out, now)
