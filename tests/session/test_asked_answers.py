"""A near miss of an answer counts only while the coach waits for it (real grammar,
CMUdict, dialogue, runner and SQLite store)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.coach_sim import T0, book, grammar
from voice.coach.dialogue import ASKED_RATING, ASKED_SIGNAL, ASKED_YES_NO, Coach
from voice.coach.memory import SafetyMemory, Screening
from voice.listen.asr.base import Hypothesis
from voice.listen.asr.matching import GrammarMatcher, Lexicon
from voice.session.runner import CaptionOutput, SessionRunner, VirtualClock
from voice.session.stop_path import Hear, StopPath
from voice.store.sqlite import DATABASE_NAME, SqliteStore
from voice.store.transcript import Transcript


@pytest.fixture(scope="module")
def matcher() -> GrammarMatcher:
    return GrammarMatcher.for_grammar(grammar(), Lexicon.bundled())


def final(text: str) -> Hypothesis:
    return Hypothesis(text, True, 0.0, 0.6)


def heard(path: StopPath, text: str) -> Hear:
    return next(d for d in path.results([final(text)], 10.0, 1.0) if isinstance(d, Hear))


def test_the_stop_path_asks_what_the_coach_waits_for_at_each_final(matcher) -> None:
    waiting: list[frozenset[str]] = [frozenset()]
    path = StopPath(grammar(), matcher=matcher, asked=lambda: waiting[0])
    assert heard(path, "free").parse is None  # "free" means nothing out of the blue
    waiting[0] = ASKED_RATING
    rating = heard(path, "free").parse
    assert rating is not None and rating.intent == "PainRating" and rating.slots == {"value": 3}
    assert heard(path, "right").parse is None  # everyday words stay what they are


def test_the_alternatives_are_matched_as_answers_too(matcher) -> None:
    path = StopPath(grammar(), matcher=matcher, asked=lambda: ASKED_RATING)
    hyp = Hypothesis("sandman", True, 0.0, 0.6, alternatives=("salmon",))
    parse = next(d for d in path.results([hyp], 10.0, 1.0) if isinstance(d, Hear)).parse
    assert parse is not None and parse.slots == {"value": 7}


def _answered(matcher: GrammarMatcher, hyp: Hypothesis, asked: frozenset[str]) -> Hear:
    path = StopPath(grammar(), matcher=matcher, asked=lambda: asked)
    return next(d for d in path.results([hyp], 10.0, 1.0) if isinstance(d, Hear))


def test_an_answer_the_engine_also_saw_is_taken_unless_a_signal_is_awaited(matcher) -> None:
    # Whisper writes some speakers' "no" as "now"; "no" lies 0.03 to 1.8 below it.
    hyp = Hypothesis("now", True, 0.0, 0.6, answers=(("no", -1.2), ("yes", -2.9)))
    answer = _answered(matcher, hyp, ASKED_YES_NO).parse
    assert answer is not None and answer.intent == "No"
    signal = _answered(matcher, hyp, ASKED_SIGNAL).parse
    assert signal is not None and signal.intent == "Now"  # the partner's cue stays one
    # Waiting for nothing in particular (holding a stretch), "now" means nothing: "no".
    unasked = _answered(matcher, hyp, frozenset()).parse
    assert unasked is not None and unasked.intent == "No"
    far = Hypothesis("now", True, 0.0, 0.6, answers=(("no", -3.5),))
    assert _answered(matcher, far, ASKED_YES_NO).parse.intent == "Now"  # type: ignore[union-attr]
    assert _answered(matcher, far, frozenset()).parse.intent == "Now"  # type: ignore[union-attr]


def test_unasked_an_answer_never_replaces_another_command(matcher) -> None:
    for text, intent in (("next", "Next"), ("go back", "Previous"), ("ready", "Ready")):
        hyp = Hypothesis(text, True, 0.0, 0.6, answers=(("no", -0.1), ("yes", -0.2)))
        asked = ASKED_SIGNAL if intent == "Ready" else frozenset()
        parse = _answered(matcher, hyp, asked).parse
        assert parse is not None and parse.intent == intent, text
    # Nor a reading that is no command: in noise Whisper writes "go" with "no" close.
    hyp = Hypothesis("knows", True, 0.0, 0.6, answers=(("no", -0.2),))
    assert _answered(matcher, hyp, frozenset()).parse is None
    assert _answered(matcher, hyp, ASKED_YES_NO).parse.intent == "No"  # type: ignore[union-attr]


def test_an_answer_never_replaces_a_stop_a_pain_or_an_answer_heard(matcher) -> None:
    for text, intent in (("stop", "Stop"), ("ouch", "PainStop"), ("yes", "Yes")):
        hyp = Hypothesis(text, True, 0.0, 0.6, answers=(("no", -0.1),))
        parse = _answered(matcher, hyp, ASKED_YES_NO).parse
        assert parse is not None and parse.intent == intent, text


def test_an_answer_counts_only_for_a_reading_that_sounds_like_it(matcher) -> None:
    # Whisper writes "i'm" and "okay" for silence and breath, with "no" close behind.
    hyp = Hypothesis("i'm", True, 0.0, 0.6, answers=(("no", -0.3),))
    assert _answered(matcher, hyp, ASKED_YES_NO).parse is None
    hyp = Hypothesis("knows", True, 0.0, 0.6, answers=(("no", -0.4),))
    answer = _answered(matcher, hyp, ASKED_YES_NO).parse
    assert answer is not None and answer.intent == "No"


def test_the_coach_asks_for_a_rating_only_after_a_pain_stop(tmp_path: Path, matcher) -> None:
    """Through the runner: "it hurts" typed, then Whisper's "free" for a spoken "three"."""
    store = SqliteStore(tmp_path / DATABASE_NAME)
    clock = VirtualClock(T0)
    coach = Coach(book(), SafetyMemory(screening=Screening(False, T0 - 1)))
    runner = SessionRunner(coach, grammar(), clock, Transcript(tmp_path / "t.jsonl", T0), store)
    said: list[str] = []
    runner.outputs.append(CaptionOutput(said.append, runner.speech_done))
    path = StopPath(grammar(), matcher=matcher, asked=lambda: runner.asked)
    seen: list[frozenset[str]] = []

    def lines() -> Iterator[str]:
        seen.append(runner.asked)
        yield "start hand extension"
        yield "ready"
        seen.append(runner.asked)
        yield "it hurts"
        seen.append(runner.asked)
        hear = heard(path, "free")  # spoken, heard by the listener thread's stop path
        runner.heard(hear.text, "speech", hear.parse)

    runner.run_virtual(lines(), clock)
    assert seen == [frozenset(), frozenset(), ASKED_RATING]
    assert runner.asked == frozenset()
    assert [row.rating for row in store.pains(since=T0 - 1)] == [3]
    store.close()
