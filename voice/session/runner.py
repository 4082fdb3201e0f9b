"""Session runtime: drives the pure dialogue manager with input, a clock and outputs.

One thread owns the `Coach`; everything else (typed lines, recognizer results,
playback completions, device events) arrives through one queue. The safety fast
path runs on the thread that hears a stop or pain phrase: it silences the output
*before* the event is queued, so a busy dialogue loop can never delay it.
"""

from __future__ import annotations

import queue
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from typing import Protocol

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
    Log,
    Persist,
    Say,
    SessionStart,
    SpeechDone,
    StateChanged,
    StopAll,
    StoreFailed,
    Tick,
    Unrecognized,
)
from voice.coach.dialogue import Coach, State
from voice.coach.grammar import SAFETY_INTENTS, Grammar, Parse
from voice.coach.memory import PainReported, Store
from voice.errors import BackCoachError
from voice.store.transcript import Transcript

__all__ = [
    "CaptionOutput",
    "Clock",
    "Output",
    "RealClock",
    "SessionRunner",
    "VirtualClock",
]

# States in which the coach waits for the user; in virtual time, input is read
# before a re-prompt timer may fire.
_USER_TURN = {
    State.IDLE,
    State.SCREENING,
    State.CONFIRM,
    State.WAITING,
    State.PAUSED,
    State.STOPPED,
    State.PAIN_FOLLOWUP,
    State.FINISHED,
}


class Clock(Protocol):
    def now(self) -> float: ...


class RealClock:
    def now(self) -> float:
        return time.time()


class VirtualClock:
    """Time that moves only when the runner advances it (`--fast`, tests)."""

    def __init__(self, start: float) -> None:
        self.t = start

    def now(self) -> float:
        return self.t


class Output(Protocol):
    """Where speech and cues go. `on_done(uid)` must be called once each utterance has played."""

    def say(self, text: str, utterance_id: int) -> None: ...

    def cue(self, kind: CueKind, utterance_id: int) -> None: ...

    def stop_all(self) -> None: ...

    def adjust(self, rate: float, volume: float) -> None: ...

    def close(self) -> None: ...


class CaptionOutput:
    """Text only: prints each line and reports it done at once."""

    def __init__(self, print_line: Callable[[str], None], on_done: Callable[[int], None]) -> None:
        self._print = print_line
        self._on_done = on_done

    def say(self, text: str, utterance_id: int) -> None:
        self._print(text)
        self._on_done(utterance_id)

    def cue(self, kind: CueKind, utterance_id: int) -> None:
        self._on_done(utterance_id)

    def stop_all(self) -> None:
        pass

    def adjust(self, rate: float, volume: float) -> None:
        pass

    def close(self) -> None:
        pass


@dataclass(frozen=True)
class _Heard:
    text: str
    source: str
    parse: Parse | None


class SessionRunner:
    """Feeds events to the coach and carries out its actions."""

    def __init__(
        self,
        coach: Coach,
        grammar: Grammar,
        clock: Clock,
        transcript: Transcript,
        store: Store,
        captions: Callable[[str], None] | None = None,
        notices: Iterable[str] = (),
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self.coach = coach
        self.grammar = grammar
        self.clock = clock
        self.transcript = transcript
        self.store = store
        self.captions = captions
        """Prints each spoken line (accessibility); None when the output prints already."""
        self.outputs: list[Output] = []
        self.ended = False
        self.notices = tuple(notices)
        """Spoken after the greeting (the safety memory was recovered, cannot be saved)."""
        self.warn = warn
        """Prints a problem for the user (stderr); None: the transcript only."""
        self._store_error: str | None = None
        self.pending_start: str | None = None
        """Routine name to start as soon as the coach is free (after any screening question)."""
        self.asked: frozenset[str] = coach.asked
        """The answers the coach waits for, published for the listener thread (one
        reference, swapped whole after each step)."""
        self._queue: queue.Queue[Event | _Heard | None] = queue.Queue()

    # ----- inputs (any thread) -----

    def hear(self, text: str, source: str = "typed") -> None:
        """A typed line: parsed here; a stop or pain line silences at once."""
        parse = self.grammar.parse(text)
        if parse is not None and parse.intent in SAFETY_INTENTS:
            self.silence()
        self.heard(text, source, parse)

    def heard(self, text: str, source: str, parse: Parse | None) -> None:
        """A final recognition result, parsed by the stop path (which silenced if needed)."""
        self._queue.put(_Heard(text, source, parse))

    def safety_partial(self, text: str) -> None:
        """The stop path heard a stop or pain phrase in a partial result: silence now."""
        self.silence()

    def silence(self) -> None:
        """The safety fast path: every output stops now, on the caller's thread."""
        for output in self.outputs:
            output.stop_all()

    def speech_done(self, utterance_id: int) -> None:
        self._queue.put(SpeechDone(self.clock.now(), utterance_id))

    def hearing_failed(self, detail: str) -> None:
        """The recognizer raised (it starts afresh; the stop model still stops)."""
        self._queue.put(HearingFailed(self.clock.now(), detail))

    def device_lost(self, detail: str) -> None:
        self._queue.put(DeviceLost(self.clock.now(), detail))

    def device_restored(self) -> None:
        self._queue.put(DeviceRestored(self.clock.now()))

    def close_input(self) -> None:
        """End of input: the session ends once queued events are handled."""
        self._queue.put(None)

    # ----- the loop (owner thread) -----

    def store_failure_told(self, detail: str) -> None:
        """The user was told already (at start) that nothing is saved: no second notice."""
        self._store_error = detail

    def start(self) -> None:
        self._dispatch(SessionStart(self.clock.now(), self.notices))

    def run_realtime(self) -> None:
        """Until end of session or end of input, with the wall clock."""
        self.start()
        while not self.ended:
            wakeup = self.coach.wakeup_at
            timeout = None if wakeup is None else max(0.0, wakeup - self.clock.now())
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                self._dispatch(Tick(self.clock.now()))
                continue
            if item is None:
                break
            self._handle(item)
        self.finish()

    def run_virtual(self, lines: Iterable[str], clock: VirtualClock) -> None:
        """Virtual time: holds elapse at once; input is read when it is the user's turn."""
        source: Iterator[str] = iter(lines)
        self.start()
        while not self.ended:
            self._drain()
            if self.ended:
                break
            wakeup = self.coach.wakeup_at
            if wakeup is not None and self.coach.state not in _USER_TURN:
                clock.t = max(clock.t, wakeup)
                self._dispatch(Tick(clock.t))
                continue
            line = next(source, None)
            if line is None:
                break
            self.hear(line.rstrip("\n"), "typed")
        self._drain()
        self.finish()

    def finish(self) -> None:
        if not self.ended:
            self._apply(self.coach.finish(self.clock.now()))
            self.ended = True

    def _drain(self) -> None:
        while not self.ended:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if item is None:
                continue
            self._handle(item)

    def _handle(self, item: Event | _Heard) -> None:
        if isinstance(item, _Heard):
            now = self.clock.now()
            self.transcript.write(now, "heard", text=item.text, source=item.source)
            if item.parse is None:
                self._dispatch(Unrecognized(now, item.text))
            else:
                self.transcript.write(
                    now, "intent", intent=item.parse.intent, slots=item.parse.slots
                )
                self._dispatch(IntentHeard(now, item.parse.intent, item.parse.slots, item.text))
        else:
            self._dispatch(item)

    def _dispatch(self, event: Event) -> None:
        self._apply(self.coach.step(event))  # only the owner thread gets here
        self.asked = self.coach.asked
        if self.pending_start and self.coach.state in (State.IDLE, State.FINISHED):
            name, self.pending_start = self.pending_start, None
            self.hear(f"start {name}", "option")

    def _apply(self, actions: list[Action]) -> None:
        now = self.clock.now()
        for action in actions:
            if isinstance(action, StopAll):
                self.silence()
                self.transcript.write(now, "stop", pain=action.pain)
            elif isinstance(action, FlushSpeech):
                self.silence()  # same silencing, but no "stop" in the transcript
            elif isinstance(action, Say):
                self.transcript.write(
                    now, "say", text=action.text, id=action.utterance_id, kind=action.kind.value
                )
                if self.captions:
                    self.captions(action.text)
                for output in self.outputs:
                    output.say(action.text, action.utterance_id)
            elif isinstance(action, Cue):
                self.transcript.write(now, "cue", cue=action.kind.value, id=action.utterance_id)
                for output in self.outputs:
                    output.cue(action.kind, action.utterance_id)
            elif isinstance(action, StateChanged):
                self.transcript.write(now, "state", state=action.state)
            elif isinstance(action, AdjustSpeech):
                for output in self.outputs:
                    output.adjust(action.rate, action.volume)
                self.transcript.write(
                    now, "log", message="speech adjusted", rate=action.rate, volume=action.volume
                )
            elif isinstance(action, Persist):
                self._persist(now, action)
            elif isinstance(action, Log):
                self.transcript.write(now, "log", message=action.message, **action.data)
            elif isinstance(action, EndSession):
                self.ended = True

    def _persist(self, now: float, action: Persist) -> None:
        record = action.record
        fields = asdict(record)
        if isinstance(record, PainReported):
            self.transcript.write(now, "pain", **fields)
        else:
            self.transcript.write(now, "log", record=type(record).__name__, **fields)
        # After the transcript line, so a failing store never hides the event.
        try:
            self.store.record(record)
        except BackCoachError as error:  # StoreError: disk full, read-only, ...
            # The coach keeps its safety state in memory for the session; the
            # user is told once, and the session goes on.
            self.transcript.write(now, "log", message="store failed", detail=str(error))
            if self._store_error is None:
                self._store_error = str(error)
                if self.warn is not None:
                    self.warn(f"history is not being saved: {error}")
                self._queue.put(StoreFailed(now, str(error)))
