"""The coach's dialogue manager: pure, events in, actions out.

No threads, no I/O, no clock reads: every event carries `now` (seconds), and the
manager's next wakeup is `wakeup_at`. The runtime feeds `Tick` at that time
and `SpeechDone` when an utterance has been played, so a whole routine runs in
virtual time in tests.

This module holds the dispatch and the coach's state; the states are named in
`voice.coach.states`, a routine's run (start, moves, holds, pause, jumps) is in
`voice.coach.run`, the stop and pain protocol in `voice.coach.protocol`. The
rules and thresholds are in `voice.coach.safety`, the sentences in
`voice.coach.lines`, the moves in `voice.coach.plan`. Stop and pain are handled
before anything else in every state, and the first action they return is `StopAll`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

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
    HearingFailed,
    IntentHeard,
    Persist,
    Say,
    SayKind,
    SessionStart,
    SpeechDone,
    StateChanged,
    StopAll,
    StoreFailed,
    Tick,
    Unrecognized,
)
from voice.coach.asked import ASKED_RATING, ASKED_SIGNAL, ASKED_YES_NO, asked
from voice.coach.memory import (
    Outcome,
    SafetyMemory,
    ScreeningAnswered,
    SessionEnded,
    SessionStarted,
)
from voice.coach.plan import Move, Run, plan_moves, seconds_left
from voice.coach.protocol import pain_rating, pain_stop, stop, stop_was_not_pain
from voice.coach.routines import Routine, RoutineBook
from voice.coach.run import (
    begin_routine,
    close_run,
    jump,
    partner_first,
    pause,
    resume,
    signal,
    speech_done,
    start_routine,
    waiting_prompt,
)
from voice.coach.safety import clear_yes_or_no, next_local_midnight
from voice.coach.safety_words import Reading, read_safety
from voice.coach.states import IN_ROUTINE, State

__all__ = [
    "ASKED_RATING",
    "ASKED_SIGNAL",
    "ASKED_YES_NO",
    "Coach",
    "CoachSettings",
    "Move",
    "State",
    "plan_moves",
]


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
    no_routines_until: float = 0.0
    strong_pain_rating: int | None = None

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
            no_routines_until=memory.no_routines_until,
            strong_pain_rating=memory.strong_pain_rating,
        )


@dataclass
class Out:
    """Collects the actions of one step and numbers utterances."""

    coach: Coach
    actions: list[Action] = field(default_factory=list)

    def say(self, text: str, kind: SayKind = SayKind.INFO) -> int:
        self.coach._next_id += 1
        uid = self.coach._next_id
        self.actions.append(Say(text, uid, kind))
        # "repeat" gives the last instruction or question, never "Slower." or a count
        if kind not in (SayKind.ACK, SayKind.COUNT, SayKind.BREATH):
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
        self._confirming_screening = False
        """CONFIRM asks whether to answer the screening question again (not a cooldown)."""
        self._reading_first_precautions = False
        self._told_not_saving = False
        self._told_hearing_trouble = False
        self._stopped_routine: Routine | None = None
        self._stopped_step: int | None = None
        self._finished_routine: Routine | None = None
        self._await: int | None = None
        """Utterance whose end moves the dialogue on."""
        self._timer_at: float | None = None
        self._schedule: list[tuple[float, Callable[[Out, float], None]]] = []
        self._reprompted = False
        self._rating_asked_twice = False
        self._next_id = 0
        self._last_spoken = ""
        self.rate = 1.0
        self.volume = 1.0
        self.timing = 1.0
        """Scale of rests, re-prompts and get-ready counts (slower/faster)."""
        self._global_handlers: dict[str, Callable[[Out, IntentHeard], None]] = {
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
            "ChangeScreening": lambda o, e: self._change_screening(o),
        }
        """Intents that work in (almost) every state; built once."""

    # ----- public -----

    @property
    def routine(self) -> Routine | None:
        return self._run.routine if self._run else None

    @property
    def wakeup_at(self) -> float | None:
        return self._timer_at

    @property
    def asked(self) -> frozenset[str]:
        """The answers the coach waits for now (`voice.coach.asked`)."""
        return asked(self.state, self._run)

    def step(self, event: Event) -> list[Action]:
        out = Out(self)
        before = self.state
        timer_before = self._timer_at
        if isinstance(event, IntentHeard) and event.intent in ("Stop", "PainStop"):
            # Safety first: silence before any other decision is made.
            out.add(StopAll(pain=event.intent == "PainStop"))
            self._clear_timers()
            self._await = None
            if event.intent == "PainStop":
                pain_stop(self, out, event.now)
            elif self.state is State.PAIN_FOLLOWUP:
                # Already in the pain protocol: keep it, only silence and ask again.
                out.say(lines.PAIN_HOW_STRONG, SayKind.PROMPT)
            else:
                stop(self, out, event.now)
        elif isinstance(event, SessionStart):
            self._session_start(out, event.now, event.notices)
        elif isinstance(event, IntentHeard):
            self._intent(out, event)
        elif isinstance(event, Unrecognized):
            self._not_understood(out)
        elif isinstance(event, Tick):
            self._tick(out, event.now)
        elif isinstance(event, SpeechDone):
            if self._await is not None and event.utterance_id == self._await:
                self._await = None
                if self.state is State.PRECAUTIONS:
                    self.precautions_read(out, skipped=False)
                else:
                    speech_done(self, out, event.now)
        elif isinstance(event, DeviceLost):
            self._device_lost(out, event.now)
        elif isinstance(event, DeviceRestored):
            out.say(lines.MIC_BACK, SayKind.INFO)
        elif isinstance(event, HearingFailed) and not self._told_hearing_trouble:
            self._told_hearing_trouble = True
            out.say(lines.TROUBLE_HEARING, SayKind.SAFETY)
        elif isinstance(event, StoreFailed) and not self._told_not_saving:
            # once: the safety state lives on in this session's memory
            self._told_not_saving = True
            out.say(lines.NOT_SAVING, SayKind.SAFETY)
        return self._finish(out, before, timer_before)

    def finish(self, now: float) -> list[Action]:
        """The session is over (end of input): record what was left open."""
        out = Out(self)
        before, timer_before = self.state, self._timer_at
        if self._run is not None and self.state in IN_ROUTINE:
            out.add(FlushSpeech())
            partner_first(self, out)
            out.say(lines.COME_UP_SLOWLY, SayKind.SAFETY)
        close_run(self, out, now, Outcome.ABANDONED)
        self._clear_timers()
        out.add(Persist(SessionEnded(now)))
        self.state = State.ENDED
        return self._finish(out, before, timer_before)

    # ----- plumbing -----

    def _finish(self, out: Out, before: State, timer_before: float | None) -> list[Action]:
        if self.state != before:
            out.actions.insert(
                1 if out.actions and isinstance(out.actions[0], StopAll) else 0,
                StateChanged(self.state.value),
            )
        return out.actions

    def _set_timer(self, at: float, fire: Callable[[Out, float], None]) -> None:
        self._schedule = [(at, fire)]
        self._timer_at = at

    def _set_schedule(self, entries: list[tuple[float, Callable[[Out, float], None]]]) -> None:
        self._schedule = sorted(entries, key=lambda e: e[0])
        self._timer_at = self._schedule[0][0] if self._schedule else None

    @staticmethod
    def _cues(
        now: float, cues: list[tuple[float, str, SayKind]]
    ) -> list[tuple[float, Callable[[Out, float], None]]]:
        """Scheduled lines (`voice.coach.plan` cues) as timer entries from `now`."""
        return [(now + at, _speak(text, kind)) for at, text, kind in cues]

    def _clear_timers(self) -> None:
        self._schedule = []
        self._timer_at = None

    def _tick(self, out: Out, now: float) -> None:
        while self._schedule and self._schedule[0][0] <= now + 1e-9:
            _, fire = self._schedule.pop(0)
            fire(out, now)
        # A fired entry may have set a new schedule; keep the earliest time visible.
        self._timer_at = self._schedule[0][0] if self._schedule else None

    # ----- session -----

    def _session_start(self, out: Out, now: float, notices: tuple[str, ...] = ()) -> None:
        out.add(Persist(SessionStarted(now)))
        out.say(lines.GREETING, SayKind.INFO)
        for notice in notices:
            out.say(notice, SayKind.SAFETY)
        self._told_not_saving = lines.NOT_SAVING in notices
        if self.memory.see_professional:
            out.say(lines.see_professional_before(self.memory.see_professional), SayKind.SAFETY)
        if self.memory.screening_condition is None:
            self._reading_first_precautions = True
            self.state = State.SCREENING
            out.say(self.book.precautions.screening_question, SayKind.PROMPT)
        elif self.memory.screening_condition:
            out.say(self._screening_lock_text(), SayKind.SAFETY)

    def _screening_lock_text(self) -> str:
        return lines.screening_lock(self.memory.screening_reason)

    def _screening_answer(self, out: Out, now: float, yes: bool) -> None:
        self.memory.screening_condition = yes
        self.memory.screening_reason = lines.SCREENING_YES_REASON if yes else ""
        out.add(Persist(ScreeningAnswered(now, yes, self.memory.screening_reason)))
        self.state = State.IDLE
        if yes:
            out.say(self.book.precautions.screening_yes, SayKind.SAFETY)
        elif self._reading_first_precautions:
            # A first session (or one after a profile reset): the precautions are
            # read before the first routine; "skip" skips them.
            self._reading_first_precautions = False
            self.state = State.PRECAUTIONS
            out.say(lines.PRECAUTIONS_FIRST, SayKind.INFO)
            for line in self.book.precautions.spoken():
                out.say(line, SayKind.SAFETY)
            self._await = out.say(lines.PRECAUTIONS_DONE)
        else:
            out.say(lines.SCREENING_THANKS)

    def precautions_read(self, out: Out, skipped: bool) -> None:
        """The first session's precautions were read to the end, or skipped."""
        self._await = None
        self.state = State.IDLE
        if skipped:
            out.add(FlushSpeech())
            out.say(lines.PRECAUTIONS_SKIPPED, SayKind.ACK)

    def _change_screening(self, out: Out) -> None:
        if self.state not in (State.IDLE, State.FINISHED, State.SCREENING):
            # never from a routine, a stop or the pain questions: those come first
            out.say(lines.SCREENING_AFTER_ROUTINE, SayKind.PROMPT)
            return
        if self.memory.screening_condition is None:
            self.state = State.SCREENING
            out.say(
                lines.NO_SCREENING_YET + " " + self.book.precautions.screening_question,
                SayKind.PROMPT,
            )
            return
        self._confirming_screening = True
        self._pending_routine = None
        self.state = State.CONFIRM
        out.say(lines.CHANGE_SCREENING_CONFIRM, SayKind.PROMPT)

    # ----- intents -----

    def _intent(self, out: Out, event: IntentHeard) -> None:
        intent, now = event.intent, event.now
        global_handlers = self._global_handlers
        if self.state is State.ENDED:
            return
        if self.state is State.SCREENING:
            if intent in ("Yes", "No") and clear_yes_or_no(event.text) is None:
                # "okay", "sure" or "no pain" do not answer "do you have osteoporosis?"
                out.say(
                    lines.SCREENING_CLEAR_ANSWER + self.book.precautions.screening_question,
                    SayKind.PROMPT,
                )
            elif intent in ("Yes", "No"):
                self._screening_answer(out, now, intent == "Yes")
            elif intent in global_handlers:
                global_handlers[intent](out, event)
            else:
                out.say(
                    lines.SCREENING_FIRST + self.book.precautions.screening_question,
                    SayKind.PROMPT,
                )
            return
        if self.state is State.PRECAUTIONS:
            if intent == "Next":
                self.precautions_read(out, skipped=True)
                return
            if intent == "StartRoutine":
                # starting a routine is the user's own choice to skip the rest
                self.precautions_read(out, skipped=False)
                out.add(FlushSpeech())
                start_routine(self, out, now, str(event.slots.get("routine", "")))
                return
            if intent in global_handlers:
                global_handlers[intent](out, event)
            else:
                out.say(lines.not_understood(lines.HINT_PRECAUTIONS), SayKind.ACK)
            return
        if self.state is State.STOPPED:
            if intent == "Yes":
                pain_stop(self, out, now, already_stopped=True)
                return
            if intent == "No":
                stop_was_not_pain(self, out)
                return
        if self.state is State.PAIN_FOLLOWUP:
            if intent == "PainRating":
                rating = event.slots.get("value")
                pain_rating(self, out, now, rating if isinstance(rating, int) else None)
                return
            if intent == "No":
                # "no pain" / "it doesn't hurt" to "how strong?" is a zero; a bare
                # "no" declines to rate, and the region stays locked
                zero = read_safety(event.text) is Reading.NO_PAIN
                pain_rating(self, out, now, 0 if zero else None)
                return
            if intent not in global_handlers:
                out.say(lines.PAIN_RATING_PROMPT, SayKind.PROMPT)
                return
        if self.state is State.CONFIRM and self._confirming_screening:
            if intent in ("Yes", "No"):
                self._confirming_screening = False
                if intent == "Yes":
                    self.state = State.SCREENING
                    out.say(self.book.precautions.screening_question, SayKind.PROMPT)
                else:
                    self.state = State.IDLE
                    out.say(lines.SCREENING_KEPT, SayKind.ACK)
                return
            if intent not in global_handlers:
                out.say(lines.not_understood(lines.HINT_SCREENING), SayKind.ACK)
                return
        if self.state is State.CONFIRM:
            if intent == "Yes" and self._pending_routine:
                routine_id, self._pending_routine = self._pending_routine, None
                begin_routine(self, out, now, self.book.get(routine_id))
                return
            if intent == "No":
                self._pending_routine = None
                self.state = State.IDLE
                out.say(lines.LEAVE_IT, SayKind.ACK)
                return
        if intent in global_handlers:
            global_handlers[intent](out, event)
        elif intent == "StartRoutine":
            start_routine(self, out, now, str(event.slots.get("routine", "")))
        elif intent == "Pause":
            pause(self, out)
        elif intent == "Resume":
            resume(self, out, now)
        elif intent == "Next":
            jump(self, out, now, +1)
        elif intent == "Previous":
            jump(self, out, now, -1)
        elif intent in ("Ready", "Now", "Yes"):
            signal(self, out, now, intent)
        else:
            self._not_understood(out)

    def _hint(self) -> str:
        if self.state is State.SCREENING:
            return lines.HINT_SCREENING
        if self.state is State.PRECAUTIONS:
            return lines.HINT_PRECAUTIONS
        if self.state is State.PAIN_FOLLOWUP:
            return lines.HINT_PAIN_RATING
        if self.state is State.STOPPED:
            return lines.HINT_STOPPED
        if self.state is State.CONFIRM:
            return lines.HINT_CONFIRM
        if self.state is State.WAITING and self._run:
            return waiting_prompt(self)
        if self.state is State.PAUSED:
            return lines.HINT_PAUSED
        if self.state in IN_ROUTINE:
            return lines.HINT_IN_ROUTINE
        return lines.HINT_IDLE

    def _not_understood(self, out: Out) -> None:
        if self.state is State.ENDED:
            return
        out.say(lines.not_understood(self._hint()), SayKind.ACK)

    def _help(self, out: Out) -> None:
        if self.state in IN_ROUTINE:
            text = lines.HELP_IN_ROUTINE
            if self.state is State.WAITING and self._run:
                text += " " + waiting_prompt(self)
        else:
            text = lines.HELP_IDLE
            if self.state in (State.SCREENING, State.STOPPED, State.PAIN_FOLLOWUP, State.CONFIRM):
                text += " " + self._hint()
        out.say(text, SayKind.INFO)

    def _repeat(self, out: Out) -> None:
        if self._last_spoken:
            out.say(self._last_spoken, SayKind.INFO)
        else:
            out.say(lines.NOTHING_TO_REPEAT)

    def _adjust(self, out: Out, rate: float = 1.0, volume: float = 1.0, word: str = "") -> None:
        self.rate = min(1.6, max(0.6, self.rate * rate))
        self.volume = min(2.0, max(0.25, self.volume * volume))
        if rate != 1.0:
            # Slower speech also gets more time between moves.
            self.timing = min(1.6, max(0.6, self.timing / rate))
        out.add(AdjustSpeech(self.rate, self.volume))
        out.say(word, SayKind.ACK)

    def _list_routines(self, out: Out) -> None:
        entries = [
            lines.routine_entry(r.name, r.region.spoken, r.partner is not None)
            for r in self.book.routines.values()
        ]
        out.say(lines.routine_list(entries))

    def _read_precautions(self, out: Out) -> None:
        for line in self.book.precautions.spoken():
            out.say(line, SayKind.SAFETY)

    def _status(self, out: Out, now: float) -> None:
        run = self._run
        if run is None or self.state not in IN_ROUTINE:
            out.say(lines.NO_ROUTINE_RUNNING)
            return
        move = run.move
        steps, paused = len(run.routine.steps), self.state is State.PAUSED
        left = self._seconds_left(now)
        out.say(lines.status(run.routine.name, move.step_index + 1, steps, move.side, left, paused))

    def _seconds_left(self, now: float) -> float:
        run = self._run
        assert run is not None
        return seconds_left(run, now, self.state, self.timing, self.rate)

    def _end_session(self, out: Out, now: float) -> None:
        out.add(FlushSpeech())
        if self._run is not None and self.state in IN_ROUTINE:
            partner_first(self, out)
            out.say(lines.COME_UP_SLOWLY, SayKind.SAFETY)
        close_run(self, out, now, Outcome.ABANDONED)
        self._clear_timers()
        self._await = None
        out.say(lines.GOODBYE, SayKind.INFO)
        out.add(Persist(SessionEnded(now)))
        out.add(EndSession())
        self.state = State.ENDED

    # ----- devices -----

    def _device_lost(self, out: Out, now: float) -> None:
        if self.state in IN_ROUTINE and self.state is not State.PAUSED:
            pause(self, out)
        out.say(lines.MIC_LOST, SayKind.SAFETY)


def _speak(text: str, kind: SayKind) -> Callable[[Out, float], None]:
    """A scheduled line (a count, a halfway cue)."""

    def fire(out: Out, now: float) -> None:
        out.say(text, kind)

    return fire
