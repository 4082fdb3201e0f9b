"""The coach's dialogue manager: pure, events in, actions out.

No threads, no I/O, no clock reads: every event carries `now` (seconds), and the
manager's next wakeup is `wakeup_at`. The runtime feeds `Tick` at that time
and `SpeechDone` when an utterance has been played, so a whole routine runs in
virtual time in tests.

This module holds the states and the dispatch; the rules and thresholds are in
`voice.coach.safety`, the sentences in `voice.coach.lines`, the moves in
`voice.coach.plan`. Stop and pain are handled before anything else in every
state, and the first action they return is `StopAll`.

It is over 600 lines because it is one state machine: its handlers share the
run's state and read best together; the rules, words and moves are elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum

from voice.coach import lines
from voice.coach.actions import (
    Action,
    AdjustSpeech,
    Cue,
    CueKind,
    DeviceLost,
    DeviceRestored,
    EndSession,
    Event,
    FlushSpeech,
    IntentHeard,
    Persist,
    Say,
    SayKind,
    SessionStart,
    SpeechDone,
    StateChanged,
    StopAll,
    Tick,
    Unrecognized,
)
from voice.coach.lines import GET_READY
from voice.coach.memory import (
    Outcome,
    PainReported,
    RoutineEnded,
    RoutineStarted,
    SafetyMemory,
    ScreeningAnswered,
    SessionEnded,
    SessionStarted,
    StopHeard,
)
from voice.coach.plan import Move, Run, get_ready_cues, hold_cues, plan_moves, seconds_left
from voice.coach.routines import Routine, RoutineBook, Signal
from voice.coach.safety import (
    Reminder,
    StartVerdict,
    cooldown_check,
    next_local_midnight,
    reminder,
    start_verdict,
    urgent,
)

__all__ = ["Coach", "CoachSettings", "Move", "State", "plan_moves"]


class State(str, Enum):
    IDLE = "idle"
    SCREENING = "screening"
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


_IN_ROUTINE = {State.BRIEFING, State.WAITING, State.STEP, State.HOLD, State.REST, State.PAUSED}


@dataclass(frozen=True)
class CoachSettings:
    reprompt_s: float = 8.0
    """Seconds of silence before the one re-prompt while waiting for a signal."""
    get_ready_s: float = 3.0
    """Seconds of the 'get ready' count before a resumed hold restarts."""
    rate_step: float = 1.15
    """Factor per 'slower'/'faster'."""
    volume_step: float = 1.25
    """Factor per 'louder'/'quieter'."""


@dataclass
class _Memory:
    """The session's working copy of the safety memory."""

    screening_condition: bool | None
    screening_reason: str
    last_worked: dict[str, float]
    locked_until: dict[str, float]
    runs_today: dict[str, int]
    days_used_last_week: int
    see_professional: str
    frequency_limit: int

    @classmethod
    def from_snapshot(cls, memory: SafetyMemory) -> _Memory:
        screening = memory.screening
        return cls(
            screening_condition=None if screening is None else screening.has_condition,
            screening_reason="" if screening is None else screening.reason,
            last_worked=dict(memory.last_worked),
            locked_until=dict(memory.locked_until),
            runs_today=dict(memory.runs_today),
            days_used_last_week=memory.days_used_last_week,
            see_professional=memory.see_professional,
            frequency_limit=memory.frequency_limit_per_day,
        )


@dataclass
class _Out:
    """Collects the actions of one step and numbers utterances."""

    coach: Coach
    actions: list[Action] = field(default_factory=list)

    def say(self, text: str, kind: SayKind = SayKind.INFO) -> int:
        self.coach._next_id += 1
        uid = self.coach._next_id
        self.actions.append(Say(text, uid, kind))
        if kind in (
            SayKind.INFO,
            SayKind.PROMPT,
            SayKind.INSTRUCTION,
            SayKind.PARTNER,
            SayKind.SAFETY,
        ):
            self.coach._last_spoken = text
        return uid

    def cue(self, kind: CueKind) -> int:
        self.coach._next_id += 1
        self.actions.append(Cue(kind, self.coach._next_id))
        return self.coach._next_id

    def add(self, action: Action) -> None:
        self.actions.append(action)


class Coach:
    """The dialogue manager. `step(event)` returns the actions to carry out, in order."""

    def __init__(
        self,
        book: RoutineBook,
        memory: SafetyMemory | None = None,
        settings: CoachSettings | None = None,
        day_end: Callable[[float], float] = next_local_midnight,
    ) -> None:
        self.book = book
        self.settings = settings or CoachSettings()
        self.memory = _Memory.from_snapshot(memory or SafetyMemory())
        self._day_end = day_end
        self.state = State.IDLE
        self._run: Run | None = None
        self._paused_from: State | None = None
        self._pending_routine: str | None = None
        self._stopped_routine: Routine | None = None
        self._stopped_step: int | None = None
        self._finished_routine: Routine | None = None
        self._await: int | None = None
        """Utterance whose end moves the dialogue on."""
        self._timer_at: float | None = None
        self._schedule: list[tuple[float, Callable[[_Out, float], None]]] = []
        self._reprompted = False
        self._rating_asked_twice = False
        self._next_id = 0
        self._last_spoken = ""
        self.rate = 1.0
        self.volume = 1.0
        self.timing = 1.0
        """Scale of rests, re-prompts and get-ready counts (slower/faster)."""
        self._global_handlers: dict[str, Callable[[_Out, IntentHeard], None]] = {
            "Help": lambda o, e: self._help(o),
            "Repeat": lambda o, e: self._repeat(o),
            "Slower": lambda o, e: self._adjust(
                o, rate=1 / self.settings.rate_step, word="Slower."
            ),
            "Faster": lambda o, e: self._adjust(o, rate=self.settings.rate_step, word="Faster."),
            "Louder": lambda o, e: self._adjust(
                o, volume=self.settings.volume_step, word="Louder."
            ),
            "Quieter": lambda o, e: self._adjust(
                o, volume=1 / self.settings.volume_step, word="Quieter."
            ),
            "ListRoutines": lambda o, e: self._list_routines(o),
            "ReadPrecautions": lambda o, e: self._read_precautions(o),
            "Status": lambda o, e: self._status(o, e.now),
            "EndSession": lambda o, e: self._end_session(o, e.now),
        }
        """Intents that work in (almost) every state; built once."""

    # ----- public -----

    @property
    def routine(self) -> Routine | None:
        return self._run.routine if self._run else None

    @property
    def wakeup_at(self) -> float | None:
        return self._timer_at

    def step(self, event: Event) -> list[Action]:
        out = _Out(self)
        before = self.state
        timer_before = self._timer_at
        if isinstance(event, IntentHeard) and event.intent in ("Stop", "PainStop"):
            # Safety first: silence before any other decision is made.
            out.add(StopAll(pain=event.intent == "PainStop"))
            self._clear_timers()
            self._await = None
            if event.intent == "PainStop":
                self._pain_stop(out, event.now)
            elif self.state is State.PAIN_FOLLOWUP:
                # Already in the pain protocol: keep it, only silence and ask again.
                out.say(lines.PAIN_HOW_STRONG, SayKind.PROMPT)
            else:
                self._stop(out, event.now)
        elif isinstance(event, SessionStart):
            self._session_start(out, event.now)
        elif isinstance(event, IntentHeard):
            self._intent(out, event)
        elif isinstance(event, Unrecognized):
            self._not_understood(out)
        elif isinstance(event, Tick):
            self._tick(out, event.now)
        elif isinstance(event, SpeechDone):
            if self._await is not None and event.utterance_id == self._await:
                self._await = None
                self._speech_done(out, event.now)
        elif isinstance(event, DeviceLost):
            self._device_lost(out, event.now)
        elif isinstance(event, DeviceRestored):
            out.say(lines.MIC_BACK, SayKind.INFO)
        return self._finish(out, before, timer_before)

    def finish(self, now: float) -> list[Action]:
        """The session is over (end of input): record what was left open."""
        out = _Out(self)
        before, timer_before = self.state, self._timer_at
        self._close_run(out, now, Outcome.ABANDONED)
        self._clear_timers()
        out.add(Persist(SessionEnded(now)))
        self.state = State.ENDED
        return self._finish(out, before, timer_before)

    # ----- plumbing -----

    def _finish(self, out: _Out, before: State, timer_before: float | None) -> list[Action]:
        if self.state != before:
            out.actions.insert(
                1 if out.actions and isinstance(out.actions[0], StopAll) else 0,
                StateChanged(self.state.value),
            )
        return out.actions

    def _set_timer(self, at: float, fire: Callable[[_Out, float], None]) -> None:
        self._schedule = [(at, fire)]
        self._timer_at = at

    def _set_schedule(self, entries: list[tuple[float, Callable[[_Out, float], None]]]) -> None:
        self._schedule = sorted(entries, key=lambda e: e[0])
        self._timer_at = self._schedule[0][0] if self._schedule else None

    @staticmethod
    def _cues(
        now: float, cues: list[tuple[float, str, SayKind]]
    ) -> list[tuple[float, Callable[[_Out, float], None]]]:
        """Scheduled lines (`voice.coach.plan` cues) as timer entries from `now`."""
        return [(now + at, _speak(text, kind)) for at, text, kind in cues]

    def _clear_timers(self) -> None:
        self._schedule = []
        self._timer_at = None

    def _tick(self, out: _Out, now: float) -> None:
        while self._schedule and self._schedule[0][0] <= now + 1e-9:
            _, fire = self._schedule.pop(0)
            fire(out, now)
        # A fired entry may have set a new schedule; keep the earliest time visible.
        self._timer_at = self._schedule[0][0] if self._schedule else None

    # ----- session -----

    def _session_start(self, out: _Out, now: float) -> None:
        out.add(Persist(SessionStarted(now)))
        out.say(lines.GREETING, SayKind.INFO)
        if self.memory.see_professional:
            out.say(lines.see_professional_before(self.memory.see_professional), SayKind.SAFETY)
        if self.memory.screening_condition is None:
            self.state = State.SCREENING
            out.say(self.book.precautions.screening_question, SayKind.PROMPT)
        elif self.memory.screening_condition:
            out.say(self._screening_lock_text(), SayKind.SAFETY)

    def _screening_lock_text(self) -> str:
        return lines.screening_lock(self.memory.screening_reason)

    def _screening_answer(self, out: _Out, now: float, yes: bool) -> None:
        self.memory.screening_condition = yes
        self.memory.screening_reason = lines.SCREENING_YES_REASON if yes else ""
        out.add(Persist(ScreeningAnswered(now, yes, self.memory.screening_reason)))
        self.state = State.IDLE
        if yes:
            out.say(self.book.precautions.screening_yes, SayKind.SAFETY)
        else:
            out.say(lines.SCREENING_THANKS)

    # ----- intents -----

    def _intent(self, out: _Out, event: IntentHeard) -> None:
        intent, now = event.intent, event.now
        global_handlers = self._global_handlers
        if self.state is State.ENDED:
            return
        if self.state is State.SCREENING:
            if intent in ("Yes", "No"):
                self._screening_answer(out, now, intent == "Yes")
            elif intent in global_handlers:
                global_handlers[intent](out, event)
            else:
                out.say(
                    lines.SCREENING_FIRST + self.book.precautions.screening_question,
                    SayKind.PROMPT,
                )
            return
        if self.state is State.STOPPED:
            if intent == "Yes":
                self._pain_stop(out, now, already_stopped=True)
                return
            if intent == "No":
                self._stop_was_not_pain(out)
                return
        if self.state is State.PAIN_FOLLOWUP:
            if intent == "PainRating":
                rating = event.slots.get("value")
                self._pain_rating(out, now, rating if isinstance(rating, int) else None)
                return
            if intent == "No":
                self._pain_rating(out, now, None)
                return
            if intent not in global_handlers:
                out.say(lines.PAIN_RATING_PROMPT, SayKind.PROMPT)
                return
        if self.state is State.CONFIRM:
            if intent == "Yes" and self._pending_routine:
                routine_id, self._pending_routine = self._pending_routine, None
                self._begin_routine(out, now, self.book.get(routine_id))
                return
            if intent == "No":
                self._pending_routine = None
                self.state = State.IDLE
                out.say(lines.LEAVE_IT)
                return
        if intent in global_handlers:
            global_handlers[intent](out, event)
        elif intent == "StartRoutine":
            self._start_routine(out, now, str(event.slots.get("routine", "")))
        elif intent == "Pause":
            self._pause(out)
        elif intent == "Resume":
            self._resume(out, now)
        elif intent == "Next":
            self._jump(out, now, +1)
        elif intent == "Previous":
            self._jump(out, now, -1)
        elif intent in ("Ready", "Now", "Yes"):
            self._signal(out, now, intent)
        else:
            self._not_understood(out)

    def _hint(self) -> str:
        if self.state is State.SCREENING:
            return lines.HINT_SCREENING
        if self.state is State.PAIN_FOLLOWUP:
            return lines.HINT_PAIN_RATING
        if self.state is State.STOPPED:
            return lines.HINT_STOPPED
        if self.state is State.CONFIRM:
            return lines.HINT_CONFIRM
        if self.state is State.WAITING and self._run:
            return self._waiting_prompt()
        if self.state is State.PAUSED:
            return lines.HINT_PAUSED
        if self.state in _IN_ROUTINE:
            return lines.HINT_IN_ROUTINE
        return lines.HINT_IDLE

    def _not_understood(self, out: _Out) -> None:
        if self.state is State.ENDED:
            return
        out.say(lines.not_understood(self._hint()), SayKind.PROMPT)

    def _help(self, out: _Out) -> None:
        if self.state in _IN_ROUTINE:
            text = lines.HELP_IN_ROUTINE
            if self.state is State.WAITING and self._run:
                text += " " + self._waiting_prompt()
        else:
            text = lines.HELP_IDLE
            if self.state in (State.SCREENING, State.STOPPED, State.PAIN_FOLLOWUP, State.CONFIRM):
                text += " " + self._hint()
        out.say(text, SayKind.INFO)

    def _repeat(self, out: _Out) -> None:
        if self._last_spoken:
            out.say(self._last_spoken, SayKind.INFO)
        else:
            out.say(lines.NOTHING_TO_REPEAT)

    def _adjust(self, out: _Out, rate: float = 1.0, volume: float = 1.0, word: str = "") -> None:
        self.rate = min(1.6, max(0.6, self.rate * rate))
        self.volume = min(2.0, max(0.25, self.volume * volume))
        if rate != 1.0:
            # Slower speech also gets more time between moves.
            self.timing = min(1.6, max(0.6, self.timing / rate))
        out.add(AdjustSpeech(self.rate, self.volume))
        out.say(word, SayKind.INFO)

    def _list_routines(self, out: _Out) -> None:
        entries = [
            lines.routine_entry(r.name, r.region.spoken, r.partner is not None)
            for r in self.book.routines.values()
        ]
        out.say(lines.routine_list(entries))

    def _read_precautions(self, out: _Out) -> None:
        for line in self.book.precautions.spoken():
            out.say(line, SayKind.SAFETY)

    def _status(self, out: _Out, now: float) -> None:
        run = self._run
        if run is None or self.state not in _IN_ROUTINE:
            out.say(lines.NO_ROUTINE_RUNNING)
            return
        move = run.move
        steps, paused = len(run.routine.steps), self.state is State.PAUSED
        left = self._seconds_left(now)
        out.say(lines.status(run.routine.name, move.step_index + 1, steps, move.side, left, paused))

    def _seconds_left(self, now: float) -> float:
        run = self._run
        assert run is not None
        return seconds_left(run, now, self.state is State.HOLD, self.timing)

    def _end_session(self, out: _Out, now: float) -> None:
        out.add(FlushSpeech())
        self._close_run(out, now, Outcome.ABANDONED)
        self._clear_timers()
        self._await = None
        out.say(lines.GOODBYE, SayKind.INFO)
        out.add(Persist(SessionEnded(now)))
        out.add(EndSession())
        self.state = State.ENDED

    # ----- starting a routine -----

    def _start_routine(self, out: _Out, now: float, routine_id: str) -> None:
        if routine_id not in self.book.routines:
            out.say(lines.UNKNOWN_ROUTINE, SayKind.PROMPT)
            return
        routine = self.book.get(routine_id)
        region = routine.region.value
        check = start_verdict(
            self.memory.screening_condition, self.memory.locked_until.get(region, 0.0), now
        )
        if check.verdict is StartVerdict.ASK_SCREENING:
            self.state = State.SCREENING
            out.say(self.book.precautions.screening_question, SayKind.PROMPT)
            return
        if check.verdict is StartVerdict.SCREENING_LOCK:
            out.say(self._screening_lock_text(), SayKind.SAFETY)
            return
        if check.verdict is StartVerdict.REGION_LOCKED:
            out.say(lines.region_locked(routine.region.spoken), SayKind.SAFETY)
            return
        if self._run is not None:
            self._close_run(out, now, Outcome.ABANDONED)
        cooldown = cooldown_check(self.memory.last_worked.get(region), routine.cooldown_min, now)
        if cooldown.verdict is StartVerdict.COOLDOWN:
            out.add(FlushSpeech())
            self._pending_routine = routine.id
            self.state = State.CONFIRM
            out.say(
                lines.cooldown_question(
                    routine.region.spoken, cooldown.minutes_ago, cooldown.minutes_left
                ),
                SayKind.PROMPT,
            )
            return
        self._begin_routine(out, now, routine)

    def _begin_routine(self, out: _Out, now: float, routine: Routine) -> None:
        region = routine.region.value
        out.add(FlushSpeech())
        runs = self.memory.runs_today.get(region, 0)
        due = reminder(runs, self.memory.frequency_limit, self.memory.days_used_last_week)
        if due is Reminder.TOO_OFTEN_TODAY:
            out.say(lines.too_often_today(runs + 1, routine.region.spoken), SayKind.SAFETY)
        elif due is Reminder.EVERY_DAY_THIS_WEEK:
            out.say(lines.EVERY_DAY_THIS_WEEK, SayKind.SAFETY)
        self.memory.runs_today[region] = runs + 1
        self._run = Run(routine, plan_moves(routine), now)
        out.add(Persist(RoutineStarted(now, routine.id, region)))
        self.state = State.BRIEFING
        out.say(lines.starting(routine.name, routine.intro), SayKind.INFO)
        partner_size = routine.partner.size if routine.partner else None
        needs = lines.briefing_needs(routine.equipment, partner_size, routine.position)
        last = out.say(needs, SayKind.INFO)
        if routine.partner:
            for line in routine.partner.instructions:
                last = out.say(line, SayKind.PARTNER)
        # When the first step asks for 'ready' itself, a second 'ready' would only tire the user.
        if self._run.moves[0].step.wait_for is not Signal.READY:
            self._run.briefed = False
            last = out.say(lines.SAY_READY, SayKind.PROMPT)
        self._await = last

    # ----- running moves -----

    def _start_move(self, out: _Out, now: float) -> None:
        run = self._run
        assert run is not None
        move = run.move
        run.signalled = False
        self.state = State.STEP
        self._clear_timers()
        if move.intro:
            out.say(move.intro, SayKind.INSTRUCTION)
        text = move.step.say if move.first_of_step else lines.SAME_AGAIN
        last = out.say(text, SayKind.INSTRUCTION)
        if move.step.breath:
            last = out.say(move.step.breath.spoken, SayKind.BREATH)
        self._await = last

    def _speech_done(self, out: _Out, now: float) -> None:
        run = self._run
        if self.state is State.BRIEFING and run:
            if run.briefed:
                self._start_move(out, now)
            else:
                self._enter_waiting(out, now)
        elif self.state is State.STEP and run:
            step = run.move.step
            if step.wait_for and not run.signalled:
                self._enter_waiting(out, now)
            elif step.hold_s > 0:
                self._start_hold(out, now)
            else:
                self._move_done(out, now)
        elif self.state is State.REST and run:
            if run.index + 1 >= len(run.moves):
                self._complete(out, now)
            else:
                rest = run.move.step.rest_s * self.timing
                self._set_timer(now + rest, self._next_move)

    def _enter_waiting(self, out: _Out, now: float) -> None:
        self.state = State.WAITING
        self._reprompted = False
        self._set_timer(now + self.settings.reprompt_s * self.timing, self._reprompt)

    def _waiting_prompt(self) -> str:
        run = self._run
        if run is None:
            return ""
        if run.briefed and run.move.step.wait_for is Signal.NOW and not run.signalled:
            return lines.SAY_NOW
        return lines.SAY_READY

    def _reprompt(self, out: _Out, now: float) -> None:
        if self.state is State.WAITING and not self._reprompted:
            self._reprompted = True
            out.say(self._waiting_prompt(), SayKind.PROMPT)
            # After one re-prompt the coach waits quietly: no timer.

    def _signal(self, out: _Out, now: float, intent: str) -> None:
        run = self._run
        if self.state is not State.WAITING or run is None:
            if self.state in (State.IDLE, State.FINISHED):
                out.say(lines.SAY_START, SayKind.PROMPT)
            else:
                self._not_understood(out)
            return
        self._clear_timers()
        if not run.briefed:
            run.briefed = True
            self._start_move(out, now)
            return
        step = run.move.step
        wanted = step.wait_for
        if wanted is Signal.NOW and intent != "Now":
            out.say(lines.SAY_NOW_FOR_PARTNER, SayKind.PROMPT)
            self._set_timer(now + self.settings.reprompt_s * self.timing, self._reprompt)
            return
        run.signalled = True
        if wanted is Signal.NOW:
            self.state = State.STEP
            self._await = out.say(step.partner_cue, SayKind.PARTNER)
        elif step.hold_s > 0:
            self._start_hold(out, now)
        else:
            self._move_done(out, now)

    def _start_hold(self, out: _Out, now: float) -> None:
        run = self._run
        assert run is not None
        step = run.move.step
        self.state = State.HOLD
        run.hold_started = now
        run.worked = True
        out.cue(CueKind.HOLD_START)
        out.say(step.timed.start_line, SayKind.COUNT)  # 'Hold.', or 'Start rolling.'
        length = step.hold_s
        entries = self._cues(now, hold_cues(length, step.timed.halfway_line))
        entries.append((now + length, self._end_hold))
        self._set_schedule(entries)

    def _end_hold(self, out: _Out, now: float) -> None:
        run = self._run
        assert run is not None
        self._clear_timers()
        out.cue(CueKind.HOLD_END)
        self.state = State.REST
        self._await = out.say(run.move.step.release, SayKind.INSTRUCTION)

    def _move_done(self, out: _Out, now: float) -> None:
        run = self._run
        assert run is not None
        if run.index + 1 >= len(run.moves):
            self._complete(out, now)
        else:
            self._next_move(out, now)

    def _next_move(self, out: _Out, now: float) -> None:
        run = self._run
        assert run is not None
        run.index += 1
        self._start_move(out, now)

    def _complete(self, out: _Out, now: float) -> None:
        run = self._run
        assert run is not None
        routine = run.routine
        sides = sorted({m.side for m in run.moves if m.side})
        holds = sum(1 for m in run.moves if m.step.hold_s > 0)
        done = lines.finished(routine.name, len(routine.steps), holds, sides, routine.region.spoken)
        out.say(done, SayKind.INFO)
        self._close_run(out, now, Outcome.COMPLETED)
        self._finished_routine = routine
        self.state = State.FINISHED

    def _close_run(self, out: _Out, now: float, outcome: Outcome) -> None:
        run = self._run
        if run is None:
            return
        if outcome is Outcome.ABANDONED and run.stopped:
            outcome = Outcome.STOPPED
        region = run.routine.region.value
        # A run cancelled while still getting into position has released nothing.
        worked = run.worked or outcome in (Outcome.COMPLETED, Outcome.PAIN)
        if worked:
            self.memory.last_worked[region] = now
        out.add(Persist(RoutineEnded(now, run.routine.id, region, outcome, run.index, worked)))
        self._run = None
        self._paused_from = None

    # ----- pause, resume, jumps -----

    def _pause(self, out: _Out) -> None:
        if self.state not in _IN_ROUTINE or self.state is State.PAUSED:
            out.say(
                lines.NOTHING_TO_PAUSE if self.state is not State.PAUSED else lines.WE_ARE_PAUSED
            )
            return
        out.add(FlushSpeech())
        self._clear_timers()
        self._await = None
        self._paused_from = self.state
        self.state = State.PAUSED
        out.say(lines.PAUSED, SayKind.PROMPT)

    def _resume(self, out: _Out, now: float) -> None:
        run = self._run
        if self.state is not State.PAUSED or run is None:
            out.say(lines.NOTHING_PAUSED if run is None else lines.NOT_PAUSED)
            return
        paused_from = self._paused_from
        self._paused_from = None
        if paused_from in (State.HOLD, State.REST) and run.move.step.hold_s > 0:
            # A hold is restarted whole after a short count, never continued mid-way.
            self.state = State.STEP
            run.signalled = True
            out.say(GET_READY, SayKind.COUNT)
            count = self.settings.get_ready_s * self.timing
            entries = self._cues(now, get_ready_cues(count))
            entries.append((now + count, self._start_hold))
            self._set_schedule(entries)
            return
        out.say(lines.RESUMING, SayKind.INFO)
        if paused_from is State.WAITING and run.move.step.wait_for and not run.signalled:
            self._start_move(out, now)
        elif paused_from is State.BRIEFING:
            self.state = State.BRIEFING
            self._await = out.say(lines.SAY_READY, SayKind.PROMPT)
        else:
            self._start_move(out, now)

    def _jump(self, out: _Out, now: float, delta: int) -> None:
        run = self._run
        if run is None or self.state not in _IN_ROUTINE:
            out.say(lines.NO_ROUTINE_TO_JUMP, SayKind.PROMPT)
            return
        out.add(FlushSpeech())
        self._clear_timers()
        self._await = None
        self._paused_from = None
        target = run.index + delta
        if target >= len(run.moves):
            self._complete(out, now)
            return
        run.index = max(0, target)
        out.say(lines.SKIPPING_AHEAD if delta > 0 else lines.GOING_BACK, SayKind.INFO)
        self._start_move(out, now)

    # ----- stop and pain -----

    def _stop(self, out: _Out, now: float) -> None:
        run = self._run
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
            if self.state in _IN_ROUTINE and self.state is not State.PAUSED:
                self._paused_from = self.state
        self._stopped_routine = run.routine if run else None
        self._stopped_step = run.move.step_index + 1 if run else None
        self.state = State.STOPPED
        out.say(lines.STOPPED, SayKind.PROMPT)

    def _stop_was_not_pain(self, out: _Out) -> None:
        if self._run is not None:
            self.state = State.PAUSED
            out.say(lines.NOT_PAIN_PAUSED, SayKind.PROMPT)
        elif self.memory.screening_condition is None:
            self.state = State.SCREENING
            out.say(lines.NOT_PAIN + self.book.precautions.screening_question, SayKind.PROMPT)
        else:
            self.state = State.IDLE
            out.say(lines.NOT_PAIN_IDLE, SayKind.PROMPT)

    def _pain_stop(self, out: _Out, now: float, already_stopped: bool = False) -> None:
        run = self._run
        routine = run.routine if run else self._stopped_routine
        if routine is None and self.state is State.FINISHED:
            # Pain right after a routine most likely comes from that routine.
            routine = self._finished_routine
        step = (run.move.step_index + 1) if run else self._stopped_step
        if not already_stopped:
            out.cue(CueKind.ALERT)
            out.add(Persist(StopHeard(now, routine.id if routine else None, step, pain=True)))
        if run is not None:
            self._close_run(out, now, Outcome.PAIN)
        self._stopped_routine, self._stopped_step = routine, step
        self._rating_asked_twice = False
        self.state = State.PAIN_FOLLOWUP
        out.say(self.book.precautions.pain_message, SayKind.SAFETY)
        out.say(lines.PAIN_HOW_STRONG, SayKind.PROMPT)

    def _pain_rating(self, out: _Out, now: float, rating: int | None) -> None:
        routine = self._stopped_routine
        region = routine.region if routine else None
        locked_until: float | None = None
        if region is not None:
            locked_until = self._day_end(now)
            self.memory.locked_until[region.value] = locked_until
        is_urgent = urgent(rating)
        out.add(
            Persist(
                PainReported(
                    now,
                    routine.id if routine else None,
                    region.value if region else None,
                    self._stopped_step,
                    rating,
                    is_urgent,
                    locked_until,
                )
            )
        )
        if is_urgent:
            self.memory.see_professional = lines.STRONG_PAIN_LAST_TIME
            out.say(self.book.precautions.urgent_advice, SayKind.SAFETY)
            for flag in self.book.precautions.red_flags:
                out.say(flag, SayKind.SAFETY)
        elif rating is not None:
            out.say(lines.pain_rated(rating), SayKind.SAFETY)
        else:
            out.say(lines.PAIN_NO_RATING, SayKind.SAFETY)
        if region is not None:
            out.say(lines.region_done_today(region.spoken), SayKind.SAFETY)
        self._stopped_routine, self._stopped_step = None, None
        self.state = State.IDLE

    # ----- devices -----

    def _device_lost(self, out: _Out, now: float) -> None:
        if self.state in _IN_ROUTINE and self.state is not State.PAUSED:
            self._pause(out)
        out.say(lines.MIC_LOST, SayKind.SAFETY)


def _speak(text: str, kind: SayKind) -> Callable[[_Out, float], None]:
    """A scheduled line (a count, a halfway cue)."""

    def fire(out: _Out, now: float) -> None:
        out.say(text, kind)

    return fire
