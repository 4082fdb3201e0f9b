"""The one room for the stop decision: partials, finals and stop-model triggers in, decisions out.

Pure: no threads, no I/O, no clock. The listener passes `now` (seconds, any
monotonic clock) with every input and carries out what comes back:

- `Duck` / `Release`: the stop model fired while the coach speaks (and the echo
  check does not call it the coach's own "stop"): pause the speech at once;
  release it after `release_s`, or when a final with another command comes.
- `Silence(pain, ...)`: a stop or pain phrase was heard (in a partial, spotted
  once; or in a final, parsed once): every output stops now, on the caller's
  thread, before the dialogue runs.
- `Hear(text, parse)`: a final result for the dialogue, already parsed.
- `Settle`: a stop stands, so the lines it cut are no longer awaited.
- `Ignore` (judged to be the coach's own voice), `Rejected` (the engine dropped
  a result), `Restart` (reset the recognizer, not the stop model).

The rules (each was a bug once):

- a stop/pain partial silences at once and waits for its final; if the final
  is empty or rejected, or none comes within `confirm_s` (`tick`), the partial
  is acted on as heard;
- a stop partial is not taken back by another command in the final (the
  coach's echo once turned a user's stop into "the tight hug please"); a pain
  partial from the grammar alone can be ("now" shows "ow" on its way);
- a long utterance is cut (`should_cut`) only when no partial and no trigger
  came in the last `cut_quiet_s`; from a cut one only stop or pain is taken;
- results the echo check calls the coach's own voice are ignored (a partial
  one also restarts the recognizer, so a real stop later is reported).

Whether a result is a stop, a pain stop or another command is decided in one
function, `verdict`, pure and shared with `backcoach recognize` and the
benchmarks. It fuses:

- the engine's text mapped onto the grammar by `GrammarMatcher` (exact, a stop
  or pain phrase inside, or the nearest sentence by sound);
- the stop model: its highest probability over the utterance's audio
  (`Hypothesis.stop_probability`, or the triggers seen during it);
- the text's closeness to "stop": Whisper writes a clipped "stop" as "stock",
  "step", "start" or "store". Such a short transcript that is no command, heard
  while the stop model fired, is a stop; "go", "no" and "down", on which the
  model also fires, sound nothing like "stop" and are commands or nothing;
- the engine's other readings of an utterance whose first is no command: a
  pain phrase of two words or more among them stops as a stop (the coach asks
  whether it hurt), with or without the stop model, which does not fire on
  "that hurts"; a one-word one, or a stop phrase, only when the model fired.
  Either outranks a command reading before it.

While the coach waits for an answer (`asked`: yes or no, a rating), an answer
word the engine nearly wrote (`Hypothesis.answers`: Whisper's "no" behind the
"now" it wrote) is taken when it lies within `answer_margin` and the reading
sounds like it too; never over a stop, a pain or an answer already heard. While
it waits for nothing in particular, a yes or no is taken so over a signal the
engine wrote ("now"), which means nothing unless a step waits for one.

Its settings (`StopFusion`) were chosen on speaker-disjoint folds of the human
recordings (benchmarks/asr_eval.py), never on single clips.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from voice.coach.grammar import SAFETY_INTENTS, SIGNAL_INTENTS, YES_NO_INTENTS, Grammar, Parse
from voice.listen.asr.matching import GrammarMatcher, is_wordless
from voice.session.stop_settings import StopFusion, StopPathSettings

__all__ = [
    "Decision",
    "Duck",
    "EchoCheck",
    "Hear",
    "Ignore",
    "Rejected",
    "Release",
    "Restart",
    "Settle",
    "Silence",
    "StopFusion",
    "StopPath",
    "StopPathSettings",
    "TriggerSeen",
    "Verdict",
    "VerdictKind",
    "verdict",
]


# ----- decisions -----


@dataclass(frozen=True)
class Duck:
    """Pause the coach's speech now (the stop model fired); `Release` continues it."""


@dataclass(frozen=True)
class Release:
    """Continue the paused speech where it stopped."""


@dataclass(frozen=True)
class Silence:
    """Every output stops now (the safety fast path)."""

    pain: bool
    """A pain phrase ("ouch", "that hurts"), not only a stop."""
    text: str = ""
    """What was heard."""
    partial: bool = False
    """From a partial result (its final is still to come)."""


@dataclass(frozen=True)
class Settle:
    """A stop stands: the lines it cut are no longer awaited by the dialogue."""


@dataclass(frozen=True)
class Hear:
    """A result for the dialogue."""

    text: str
    parse: Parse | None
    """The grammar's parse of `text` (done here, once)."""
    confirmed: bool = False
    """A stop/pain partial acted on as heard (no final took it back)."""


@dataclass(frozen=True)
class Ignore:
    """A result judged to be the coach's own voice."""

    text: str
    reason: str


@dataclass(frozen=True)
class Rejected:
    """The engine dropped a final result; why."""

    reason: str


@dataclass(frozen=True)
class Restart:
    """Reset the recognizer (not the stop model): start a fresh utterance."""


Decision = Duck | Release | Silence | Settle | Hear | Ignore | Rejected | Restart


# ----- inputs -----


class Result(Protocol):
    """What the stop path reads of a recognition result (`voice.listen.asr.base.Hypothesis`)."""

    @property
    def text(self) -> str: ...

    @property
    def final(self) -> bool: ...

    @property
    def start_s(self) -> float: ...

    @property
    def end_s(self) -> float: ...

    @property
    def rejected(self) -> str: ...

    @property
    def stop_probability(self) -> float | None: ...

    @property
    def dropped_text(self) -> str: ...


class Trigger(Protocol):
    """A stop-model trigger (`voice.listen.asr.stop_detector.StopTrigger`)."""

    @property
    def time_s(self) -> float: ...

    @property
    def probability(self) -> float: ...


EchoCheck = Callable[[str, float, float, bool], "str | None"]
"""`(text, start, end, safety) -> reason` when the text heard between `start`
and `end` (the caller's clock) is the coach's own voice, else None."""


@dataclass(frozen=True)
class TriggerSeen:
    """A stop-model trigger kept for the verdict on the utterance's final."""

    time_s: float
    """Seconds of the detector's audio time."""
    probability: float
    """0..1."""
    at: float
    """The caller's clock when it arrived, seconds."""


class VerdictKind(str, Enum):
    STOP = "stop"
    PAIN = "pain"
    COMMAND = "command"
    NONE = "none"
    """Nothing the grammar knows."""


@dataclass(frozen=True)
class Verdict:
    """What a final result is."""

    kind: VerdictKind
    parse: Parse | None

    @property
    def safety(self) -> bool:
        return self.kind in (VerdictKind.STOP, VerdictKind.PAIN)


@dataclass(frozen=True)
class _Pending:
    text: str
    spot: Parse
    """The safety phrase spotted in it."""
    at: float


def verdict(
    text: str,
    stop_probability: float | None,
    grammar: Grammar,
    matcher: GrammarMatcher | None,
    fusion: StopFusion,
    asked: frozenset[str] = frozenset(),
) -> Verdict:
    """What an engine's text is, fused with the stop model (pure; see module doc).

    `stop_probability`: 0..1, the stop model's highest probability over the
    utterance, None when unknown; `asked`: the answers the coach waits for
    (`GrammarMatcher.match`). Without a matcher the grammar's exact parse decides.
    """
    text = text.strip()
    if matcher is None:
        return _verdict_of(grammar.parse(text))
    match = matcher.match(text, asked=asked)
    words = matcher.words(text)
    fused = (
        bool(words)
        and len(words) <= fusion.max_words
        and stop_probability is not None
        and stop_probability >= fusion.model_probability
        and matcher.best_similarity(text, "stop") >= fusion.min_similarity
    )
    if match is not None and not (fused and match.intent in asked and not match.exact):
        # The matched sentence carries the slots ("start the foam roller" -> routine).
        parse = grammar.parse(match.sentence) or Parse(match.intent, {}, match.sentence)
        return _verdict_of(parse)
    if fused:
        # Also over an answer's near miss: a clipped stop is never taken for a rating.
        return Verdict(VerdictKind.STOP, Parse("Stop", {}, " ".join(words)))
    return Verdict(VerdictKind.NONE, None)


def _verdict_of(parse: Parse | None) -> Verdict:
    if parse is None:
        return Verdict(VerdictKind.NONE, None)
    if parse.intent == "Stop":
        return Verdict(VerdictKind.STOP, parse)
    if parse.intent == "PainStop":
        return Verdict(VerdictKind.PAIN, parse)
    return Verdict(VerdictKind.COMMAND, parse)


class StopPath:
    """Every stop and pain decision of the live session (see module doc)."""

    def __init__(
        self,
        grammar: Grammar,
        settings: StopPathSettings | None = None,
        echo: EchoCheck | None = None,
        coach_says: Callable[[str, float], bool] | None = None,
        matcher: GrammarMatcher | None = None,
        fusion: StopFusion | None = None,
        asked: Callable[[], frozenset[str]] | None = None,
    ) -> None:
        self.grammar = grammar
        self.settings = settings or StopPathSettings()
        self.matcher = matcher
        """Maps open-vocabulary text onto the grammar; None: the exact parse only."""
        self.fusion = fusion or StopFusion()
        self._echo: EchoCheck = echo or (lambda text, start, end, safety: None)
        self._coach_says = coach_says or (lambda word, now: False)
        """`(word, now)`: the coach is saying `word`, or said it a moment ago."""
        self._asked = asked or frozenset
        """The answers the dialogue waits for now (read at each final: it changes)."""
        self._duck_until: float | None = None
        self._pending: _Pending | None = None
        self._last_partial_at = -math.inf
        self._last_trigger_at = -math.inf
        self._deaf_until = -math.inf
        self._triggers: list[TriggerSeen] = []
        """Stop-model triggers since the last final (the utterance in progress)."""

    # ----- state, for the listener and tests -----

    @property
    def ducked(self) -> bool:
        return self._duck_until is not None

    @property
    def pending(self) -> str | None:
        """The stop/pain partial waiting for its final, if any."""
        return self._pending.text if self._pending is not None else None

    # ----- inputs -----

    def recognizer_failed(self, now: float) -> None:
        """The recognizer raised and is starting afresh: for `deaf_s` the stop model decides."""
        self._deaf_until = now + self.settings.deaf_s

    def trigger(self, trigger: Trigger, now: float, speaking: bool) -> list[Decision]:
        """The stop model fired; `speaking`: the coach has speech playing or queued."""
        self._last_trigger_at = now
        self._triggers.append(TriggerSeen(trigger.time_s, trigger.probability, now))
        deaf = now < self._deaf_until
        if not deaf and (not speaking or self._duck_until is not None):
            return []
        # Pausing is harmless and undone in a moment, so the pre-trigger is only held
        # back when the coach itself is saying "stop": a quiet user's stop under the
        # coach's voice must still silence it at once.
        if self._coach_says("stop", now) and self._echo("stop", now - 0.6, now, True) is not None:
            return []
        if deaf:
            stop = Parse("Stop", {}, "stop")
            return [Silence(False, "stop"), Hear("stop", stop, confirmed=True)]
        self._duck_until = now + self.settings.release_s
        return [Duck()]

    def results(
        self, hyps: Sequence[Result], now: float, audio_s: float, *, cut: bool = False
    ) -> list[Decision]:
        """Recognition results; `audio_s`: audio fed since the recognizer's last reset.

        `cut`: the results of an utterance cut for length: only stop or pain counts.
        """
        # From an utterance cut for length (here or by the engine) only stop or pain counts.
        hyps = [h for h in hyps if not (cut or getattr(h, "cut", False)) or self._verdict(h).safety]
        out: list[Decision] = []
        for hyp in hyps:
            text = hyp.text.strip()
            if not text and self._dropped_stop(hyp):
                text = hyp.dropped_text.strip()
            if not text:
                if hyp.final:
                    if getattr(hyp, "rejected", ""):
                        out.append(Rejected(hyp.rejected))
                    if self._pending is not None:
                        out += self._confirm()  # nothing else was said: the partial stands
                continue
            if not hyp.final:
                decisions, restart = self._partial(hyp, text, now, audio_s)
                out += decisions
                if restart:
                    return out
                continue
            out += self._final(hyp, text, now, audio_s)
        return out

    def _dropped_stop(self, hyp: Result) -> bool:
        """The engine dropped a stop or pain phrase as doubtful, and the stop model fired."""
        dropped = getattr(hyp, "dropped_text", "")
        probability = getattr(hyp, "stop_probability", None)
        if not dropped or probability is None or probability < self.fusion.model_probability:
            return False
        return self.grammar.spot_safety(dropped) is not None

    def tick(self, now: float) -> list[Decision]:
        """Time passes: a duck with no stop is released; a partial with no final is confirmed."""
        out: list[Decision] = []
        if self._duck_until is not None and now >= self._duck_until:
            self._duck_until = None
            out.append(Release())
        pending = self._pending
        if pending is not None and now - pending.at > self.settings.confirm_s:
            out += self._confirm()
        return out

    def should_cut(self, utterance_s: float, now: float) -> bool:
        """The utterance in progress is too long and no word is being heard: cut it."""
        quiet = self.settings.cut_quiet_s
        return (
            utterance_s > self.settings.max_utterance_s
            and now - self._last_partial_at > quiet
            and now - self._last_trigger_at > quiet
        )

    # ----- the rules -----

    def _partial(
        self, hyp: Result, text: str, now: float, audio_s: float
    ) -> tuple[list[Decision], bool]:
        self._last_partial_at = now
        spot = self.grammar.spot_safety(text)
        if spot is None:
            # An open-vocabulary partial ("stock", while the stop model fired: Whisper's
            # peek carries the model's reading) is weighed as a final would be; a
            # grammar engine's partial is a prefix ("start" of "start rotation") and
            # only a stop phrase spotted in it counts, as before the fusion.
            if getattr(hyp, "stop_probability", None) is None:
                return [], False
            fused = self._verdict(hyp, text)
            if not fused.safety or fused.parse is None:
                return [], False
            spot = fused.parse
        start, end = self._span(hyp, now, audio_s)
        reason = self._echo(text, start, end, True)
        if reason is not None:
            # Start afresh, so a real stop later in this stretch is reported.
            self._triggers.clear()
            return [Ignore(text, reason), Restart()], True
        out: list[Decision] = [Silence(spot.intent == "PainStop", text, partial=True)]
        if self._pending is None:
            self._pending = _Pending(text, spot, now)
        self._duck_until = None
        out.append(Release())  # un-pause: the stop has emptied the speaker
        return out, False

    def _final(self, hyp: Result, text: str, now: float, audio_s: float) -> list[Decision]:
        verdict = self._verdict(hyp, text)
        self._triggers.clear()
        start, end = self._span(hyp, now, audio_s)
        reason = self._echo(text, start, end, verdict.safety)
        if reason is not None:
            return [Ignore(text, reason)]
        if verdict.kind is VerdictKind.NONE and is_wordless(text):
            # A click or a breath ("t", "tch"): nothing to answer; as an empty final,
            # it leaves a stop or pain partial standing.
            return [Rejected(f"no word in {text!r}"), *self._confirm()]
        pending = self._pending
        if pending is not None and not verdict.safety and pending.spot.intent == "Stop":
            # A stop partial (the spotter and the stop model agreed) silenced the
            # coach: another command in the same breath does not take it back.
            # A pain partial from the grammar alone still can ("now" shows "ow"
            # on its way), since a pain stop locks the region for the day.
            return self._confirm()
        self._pending = None
        out: list[Decision] = []
        if verdict.safety:
            out += [Settle(), Silence(verdict.kind is VerdictKind.PAIN, text)]
        out.append(Hear(text, verdict.parse))
        if self._duck_until is not None and not verdict.safety:
            self._duck_until = None
            out.append(Release())
        return out

    def _verdict(self, hyp: Result, text: str | None = None) -> Verdict:
        """Is this result a stop, a pain stop, another command, or nothing? (`verdict`)

        The stop model's probability is the engine's own reading over the
        utterance when it has one, else the highest trigger seen since the last final.
        """
        probability = getattr(hyp, "stop_probability", None)
        if probability is None and self._triggers:
            probability = max(t.probability for t in self._triggers)
        heard = hyp.text if text is None else text
        asked = self._asked()
        found = verdict(heard, probability, self.grammar, self.matcher, self.fusion, asked)
        answer = self._asked_answer(hyp, heard, found, asked)
        if answer is not None:
            return answer
        if found.kind is VerdictKind.PAIN:
            return found
        if found.kind is VerdictKind.COMMAND:
            return self._unasked_answer(hyp, heard, found, asked) or found
        # The engine's other readings of the same audio, most likely first, matched
        # without the fusion (it weighed the first). A stop may turn out to be a pain
        # stop ("stop methods" / "stop that hurts"). Nothing turns into a stop or pain
        # by another reading unless the stop model fired too ("off" and "up" have
        # "ouch" among their readings, measured on human-full), or that reading is a
        # pain phrase of a few words, on which the model never fires: then a stop,
        # and the coach asks whether it hurt. Such a safety reading outranks a command
        # reading before it: stopping on a "next step" costs a question, going on
        # over a "that hurts" costs the user.
        fired = probability is not None and probability >= self.fusion.model_probability
        others = [
            (other, verdict(other, None, self.grammar, self.matcher, self.fusion, asked))
            for other in getattr(hyp, "alternatives", ())
        ]
        if found.kind is VerdictKind.STOP:
            return next((again for _, again in others if again.kind is VerdictKind.PAIN), found)
        for other, again in others:
            if (
                again.kind is VerdictKind.PAIN
                and len(GrammarMatcher.words(other)) >= self.fusion.pain_reading_words
            ):
                return again if fired else Verdict(VerdictKind.STOP, Parse("Stop", {}, heard))
        if fired:
            safe = next((again for _, again in others if again.safety), None)
            if safe is not None:
                return safe
        return next((again for _, again in others if again.kind is VerdictKind.COMMAND), found)

    def _unasked_answer(
        self, hyp: Result, heard: str, found: Verdict, asked: frozenset[str]
    ) -> Verdict | None:
        """A yes or no the engine saw behind a signal it wrote ("now"), while the coach
        waits for nothing in particular: a signal counts only while a step waits for
        one. Whisper writes "no" as "now" (10 of 147 human-full "no" clips, 1 other
        clip of 1,536). Over a reading that is no command too, the engine's "no"
        gained nothing on clean clips and turned 3 more of 419 other words into a
        "no" at 10 dB SNR."""
        if asked or found.parse is None or found.parse.intent not in SIGNAL_INTENTS:
            return None
        return self._asked_answer(hyp, heard, found, YES_NO_INTENTS)

    def _asked_answer(
        self, hyp: Result, heard: str, found: Verdict, asked: frozenset[str]
    ) -> Verdict | None:
        """The answer the coach waits for, when the engine saw it too and the reading
        `heard` is no stop, no pain and no answer asked for ("now" to "did that hurt?")."""
        if not asked or found.safety or (found.parse is not None and found.parse.intent in asked):
            return None
        if self.matcher is None:
            return None
        for word, gap in getattr(hyp, "answers", ()):
            if gap < -self.fusion.answer_margin:
                break  # nearest first
            if self.matcher.similarity(heard, word) < self.fusion.answer_similarity:
                continue
            again = verdict(word, None, self.grammar, self.matcher, self.fusion, asked)
            if again.kind is VerdictKind.COMMAND and again.parse and again.parse.intent in asked:
                return again
        return None

    def _confirm(self) -> list[Decision]:
        """A stop/pain partial silenced the coach and no final said otherwise: act on it.

        The recognizer sometimes rejects the final of a real "that hurts" it saw
        in a partial, or hears another command in the final of a stop; the coach
        must not go on with the routine as if nothing was said.
        """
        pending, self._pending = self._pending, None
        if pending is None:
            return []
        # A fused partial ("stock") has no parse of its own: its spot is the stop.
        heard = _verdict_of(self.grammar.parse(pending.text) or pending.spot)
        out: list[Decision] = [Settle()]
        if heard.parse is not None and heard.parse.intent in SAFETY_INTENTS:
            out.append(Silence(heard.kind is VerdictKind.PAIN, pending.text))
        out.append(Hear(pending.text, heard.parse, confirmed=True))
        return out

    def _span(self, hyp: Result, now: float, audio_s: float) -> tuple[float, float]:
        """The result's audio-time span on the caller's clock (with a little slack)."""
        start = getattr(hyp, "start_s", None)
        end = getattr(hyp, "end_s", None)
        if start is None or end is None or end < start:
            return now - self.settings.partial_window_s, now
        offset = now - audio_s
        return start + offset - 0.1, end + offset + 0.1
