"""Drives the pure Coach in virtual time, acknowledging speech at once (as captions do)."""

from __future__ import annotations

from dataclasses import dataclass, field

from voice.coach.actions import (
    Action,
    Cue,
    CueKind,
    IntentHeard,
    Persist,
    Say,
    SessionStart,
    SpeechDone,
    StopAll,
    Tick,
    Unrecognized,
)
from voice.coach.dialogue import Coach, CoachSettings, State
from voice.coach.grammar import Grammar, load_grammar
from voice.coach.memory import SafetyMemory
from voice.coach.routines import RoutineBook, load_book

_BOOK: RoutineBook | None = None
_GRAMMAR: Grammar | None = None

T0 = 1_800_000_000.0
"""Virtual epoch start (a fixed instant, so day boundaries are deterministic)."""


def book() -> RoutineBook:
    global _BOOK
    if _BOOK is None:
        _BOOK = load_book()
    return _BOOK


def grammar() -> Grammar:
    global _GRAMMAR
    if _GRAMMAR is None:
        _GRAMMAR = load_grammar(book())
    return _GRAMMAR


def day_end(t: float) -> float:
    """Days end at multiples of 86400 s after T0 in these tests."""
    return T0 + ((t - T0) // 86400 + 1) * 86400


@dataclass
class Sim:
    coach: Coach
    now: float = T0
    log: list[tuple[float, Action]] = field(default_factory=list)
    auto_speech: bool = True
    """Acknowledge every Say/Cue at once; False leaves speech 'playing' until `done()`."""
    pending: list[int] = field(default_factory=list)

    @classmethod
    def new(
        cls,
        memory: SafetyMemory | None = None,
        screened: bool = True,
        settings: CoachSettings | None = None,
        start: float = T0,
    ) -> Sim:
        from voice.coach.memory import Screening

        if memory is None:
            memory = SafetyMemory(screening=Screening(False, start - 1) if screened else None)
        sim = cls(Coach(book(), memory, settings, day_end=day_end), now=start)
        sim.feed(SessionStart(sim.now))
        return sim

    @property
    def state(self) -> State:
        return self.coach.state

    def feed(self, event: object) -> list[Action]:
        actions = self.coach.step(event)  # type: ignore[arg-type]
        self.log.extend((self.now, a) for a in actions)
        for action in actions:
            if isinstance(action, Say | Cue):
                self.pending.append(action.utterance_id)
        if self.auto_speech:
            self.done()
        return actions

    def done(self) -> None:
        """Everything queued finished playing."""
        while self.pending:
            uid = self.pending.pop(0)
            actions = self.coach.step(SpeechDone(self.now, uid))
            self.log.extend((self.now, a) for a in actions)
            for action in actions:
                if isinstance(action, Say | Cue):
                    self.pending.append(action.utterance_id)

    def say(self, text: str) -> list[Action]:
        parse = grammar().parse(text)
        if parse is None:
            return self.feed(Unrecognized(self.now, text))
        return self.feed(IntentHeard(self.now, parse.intent, parse.slots, text))

    def advance(self, seconds: float) -> None:
        """Let `seconds` of virtual time pass, firing every wakeup on the way."""
        end = self.now + seconds
        while self.coach.wakeup_at is not None and self.coach.wakeup_at <= end:
            self.now = max(self.now, self.coach.wakeup_at)
            self.feed(Tick(self.now))
        self.now = end

    def run_until_user_turn(self, limit_s: float = 600) -> None:
        """Fire wakeups until the coach waits for the user (or `limit_s` passes)."""
        end = self.now + limit_s
        while self.state in (State.STEP, State.HOLD, State.REST, State.BRIEFING):
            at = self.coach.wakeup_at
            if at is None or at > end:
                return
            self.now = max(self.now, at)
            self.feed(Tick(self.now))

    # ----- reading the log -----

    def said(self, since: int = 0) -> list[str]:
        return [a.text for _, a in self.log[since:] if isinstance(a, Say)]

    def said_with_time(self) -> list[tuple[float, str]]:
        return [(t, a.text) for t, a in self.log if isinstance(a, Say)]

    def cue_times(self, kind: CueKind) -> list[float]:
        return [t for t, a in self.log if isinstance(a, Cue) and a.kind is kind]

    def records(self) -> list[object]:
        return [a.record for _, a in self.log if isinstance(a, Persist)]

    def mark(self) -> int:
        return len(self.log)

    def stops(self) -> list[StopAll]:
        return [a for _, a in self.log if isinstance(a, StopAll)]
