"""The stop fusion: the engine's text, the stop model and the closeness to "stop" (pure)."""

from __future__ import annotations

import pytest

from tests.support.coach_sim import grammar
from voice.listen.asr.base import Hypothesis
from voice.listen.asr.matching import GrammarMatcher, Lexicon
from voice.session.stop_path import (
    Hear,
    Rejected,
    Silence,
    StopFusion,
    StopPath,
    VerdictKind,
    verdict,
)

FUSION = StopFusion(model_probability=0.5, min_similarity=0.4, max_words=2)


@pytest.fixture(scope="module")
def matcher() -> GrammarMatcher:
    return GrammarMatcher.for_grammar(grammar(), Lexicon.bundled())


def kind(text: str, probability: float | None, matcher: GrammarMatcher) -> VerdictKind:
    return verdict(text, probability, grammar(), matcher, FUSION).kind


@pytest.mark.parametrize("word", ["stuff", "stap", "stuck stuff", "start", "store"])
def test_a_clipped_stop_heard_while_the_model_fired_is_a_stop(word: str, matcher) -> None:
    assert kind(word, 0.81, matcher) is VerdictKind.STOP


@pytest.mark.parametrize("word", ["stuff", "store"])
def test_without_the_stop_model_a_stop_like_word_is_nothing(word: str, matcher) -> None:
    assert kind(word, 0.1, matcher) is VerdictKind.NONE
    assert kind(word, None, matcher) is VerdictKind.NONE


def test_stap_is_stop_by_sound_alone(matcher) -> None:
    """The fronted "stop" of the Inland North: one vowel class from "stop" itself."""
    assert kind("stap", None, matcher) is VerdictKind.STOP


def test_start_alone_is_taken_for_stop_it(matcher) -> None:
    """A lone "start" (no routine) sounds nearest to "stop it": the safe side is to stop."""
    assert kind("start", None, matcher) is VerdictKind.STOP
    assert kind("start rotation", None, matcher) is VerdictKind.COMMAND


@pytest.mark.parametrize(
    ("word", "expected"),
    [("go", VerdictKind.NONE), ("down", VerdictKind.NONE), ("no", VerdictKind.COMMAND),
     ("up", VerdictKind.NONE), ("on", VerdictKind.NONE)],
)  # fmt: skip
def test_words_the_stop_model_also_fires_on_are_not_stops(word, expected, matcher) -> None:
    assert kind(word, 0.81, matcher) is expected


def test_another_command_wins_over_the_stop_model(matcher) -> None:
    v = verdict("start the foam roller", 0.81, grammar(), matcher, FUSION)
    assert v.kind is VerdictKind.COMMAND and v.parse is not None
    assert v.parse.slots == {"routine": "foam_roller"}


def test_long_talk_is_not_a_clipped_stop(matcher) -> None:
    assert kind("my sister stopped by to see the dog", 0.81, matcher) is VerdictKind.NONE
    assert kind("stuck stuff again", 0.81, matcher) is VerdictKind.NONE  # over max_words


def test_pain_near_misses_are_pain(matcher) -> None:
    assert kind("Stop that hurt.", None, matcher) is VerdictKind.PAIN
    assert kind("Ow!", None, matcher) is VerdictKind.PAIN
    assert kind("Oh.", None, matcher) is VerdictKind.NONE  # what Whisper writes for "up"


def test_without_a_matcher_the_exact_parse_decides() -> None:
    assert verdict("stuff", 0.81, grammar(), None, FUSION).kind is VerdictKind.NONE
    assert verdict("stop", None, grammar(), None, FUSION).kind is VerdictKind.STOP


def final(text: str, probability: float | None) -> Hypothesis:
    return Hypothesis(text, True, 0.0, 0.6, stop_probability=probability)


def test_the_stop_path_silences_a_fused_stop_final(matcher) -> None:
    path = StopPath(grammar(), matcher=matcher, fusion=FUSION)
    out = path.results([final("stuff", 0.81)], 10.0, 1.0)
    assert Silence(pain=False, text="stuff") in out
    hear = [d for d in out if isinstance(d, Hear)]
    assert hear and hear[0].parse is not None and hear[0].parse.intent == "Stop"


def test_the_stop_path_silences_a_fused_stop_partial_at_once(matcher) -> None:
    path = StopPath(grammar(), matcher=matcher, fusion=FUSION)
    partial = Hypothesis("stock", False, 0.0, 0.4, stop_probability=0.81)
    out = path.results([partial], 10.0, 0.4)
    assert out[0] == Silence(pain=False, text="stock", partial=True)
    # No final comes (the engine rejected it): the stop stands after confirm_s.
    later = path.tick(10.0 + path.settings.confirm_s + 0.1)
    hear = [d for d in later if isinstance(d, Hear)]
    assert hear and hear[0].confirmed and hear[0].parse.intent == "Stop"


def test_the_stop_path_uses_the_triggers_when_the_engine_gives_no_probability(matcher) -> None:
    from voice.listen.asr.stop_detector import StopTrigger

    path = StopPath(grammar(), matcher=matcher, fusion=FUSION)
    path.trigger(StopTrigger(0.3, 0.7), 10.0, speaking=False)
    out = path.results([final("stuff", None)], 10.3, 1.0)
    assert any(isinstance(d, Silence) for d in out)
    path2 = StopPath(grammar(), matcher=matcher, fusion=FUSION)
    assert not any(isinstance(d, Silence) for d in path2.results([final("stuff", None)], 10, 1))


def test_from_an_utterance_the_engine_cut_for_length_only_a_stop_counts(matcher) -> None:
    path = StopPath(grammar(), matcher=matcher, fusion=FUSION)
    long_next = Hypothesis("hold it there and say next when ready", True, 0.0, 4.0, cut=True)
    assert path.results([long_next], 10.0, 4.0) == []
    with_stop = Hypothesis("and now breathe out stop", True, 0.0, 4.0, cut=True)
    assert any(isinstance(d, Silence) for d in path.results([with_stop], 11.0, 4.0))


def test_a_stop_the_engine_dropped_as_doubtful_stands_when_the_stop_model_fired(matcher) -> None:
    dropped = Hypothesis(
        "", True, 0.0, 0.6, rejected="no speech 0.75: stop", dropped_text="stop",
        stop_probability=0.81,
    )  # fmt: skip
    out = StopPath(grammar(), matcher=matcher, fusion=FUSION).results([dropped], 10.0, 1.0)
    assert Silence(pain=False, text="stop") in out
    quiet_model = Hypothesis(
        "", True, 0.0, 0.6, rejected="no speech 0.75: stop", dropped_text="stop",
        stop_probability=0.1,
    )  # fmt: skip
    out = StopPath(grammar(), matcher=matcher, fusion=FUSION).results([quiet_model], 10.0, 1.0)
    assert not any(isinstance(d, Silence) for d in out)
    dropped_other = Hypothesis(
        "", True, 0.0, 0.6, rejected="no speech 0.75: next", dropped_text="next",
        stop_probability=0.81,
    )  # fmt: skip
    out = StopPath(grammar(), matcher=matcher, fusion=FUSION).results([dropped_other], 10.0, 1.0)
    assert not any(isinstance(d, Hear) for d in out)


def test_a_grammar_engines_partial_prefix_is_not_fused_into_a_stop(matcher) -> None:
    """pocketsphinx's partial "start" (of "start rotation") carries no stop-model reading."""
    path = StopPath(grammar(), matcher=matcher, fusion=FUSION)
    assert path.results([Hypothesis("start", False, 0.0, 0.3)], 10.0, 0.3) == []


def heard(out: list) -> list:
    return [d.parse.intent if d.parse else None for d in out if isinstance(d, Hear)]


def test_an_alternative_reading_is_matched_when_the_first_is_no_command(matcher) -> None:
    path = StopPath(grammar(), matcher=matcher, fusion=FUSION)
    hyp = Hypothesis("go matt", True, 0.0, 0.6, alternatives=("go map", "go back"))
    assert heard(path.results([hyp], 10.0, 1.0)) == ["Previous"]


def test_the_first_reading_wins_over_the_alternatives(matcher) -> None:
    path = StopPath(grammar(), matcher=matcher, fusion=FUSION)
    hyp = Hypothesis("pause", True, 0.0, 0.6, alternatives=("stop",))
    out = path.results([hyp], 10.0, 1.0)
    assert heard(out) == ["Pause"] and not any(isinstance(d, Silence) for d in out)


def test_a_pain_alternative_silences_like_a_pain_reading(matcher) -> None:
    path = StopPath(grammar(), matcher=matcher, fusion=FUSION)
    hyp = Hypothesis("stop my fur", True, 0.0, 0.6, alternatives=("stop that hurts",))
    out = path.results([hyp], 10.0, 1.0)
    assert Silence(pain=True, text="stop my fur") in out


def test_the_stop_model_is_not_fused_with_an_alternative(matcher) -> None:
    """The fusion weighed the first reading; "stuff" as a second reading is no stop."""
    path = StopPath(grammar(), matcher=matcher, fusion=FUSION)
    hyp = Hypothesis("the weather", True, 0.0, 0.6, stop_probability=0.9, alternatives=("stuff",))
    assert heard(path.results([hyp], 10.0, 1.0)) == [None]


def test_an_alternative_turns_nothing_into_a_stop_only_when_the_stop_model_fired(matcher):
    """ "off" and "up" have "ouch" among Whisper's readings: without the model, no stop."""
    quiet = Hypothesis("off", True, 0.0, 0.6, stop_probability=0.1, alternatives=("ouch",))
    path = StopPath(grammar(), matcher=matcher, fusion=FUSION)
    assert not any(isinstance(d, Silence) for d in path.results([quiet], 10.0, 1.0))
    fired = Hypothesis("off", True, 0.0, 0.6, stop_probability=0.8, alternatives=("ouch",))
    path = StopPath(grammar(), matcher=matcher, fusion=FUSION)
    assert Silence(pain=True, text="off") in path.results([fired], 10.0, 1.0)


@pytest.mark.parametrize("reading", ["that hurts", "it hurts", "that is painful"])
def test_a_pain_phrase_among_the_readings_stops_without_the_stop_model(
    reading: str, matcher
) -> None:
    """Whisper wrote espeak-ng's "that hurts" as "at first", "that hurts" behind it;
    the stop model does not fire on a pain phrase. Stopped as a stop: the coach asks
    whether it hurt rather than lock the region on a second reading."""
    hyp = Hypothesis("at first", True, 0.0, 0.6, stop_probability=0.05, alternatives=(reading,))
    out = StopPath(grammar(), matcher=matcher, fusion=FUSION).results([hyp], 10.0, 1.0)
    assert Silence(pain=False, text="at first") in out
    assert heard(out) == ["Stop"]


def test_a_pain_reading_outranks_a_command_reading_before_it(matcher) -> None:
    """Stopping on a "go back" costs a question; going on over a "that hurts" does not."""
    hyp = Hypothesis("at first", True, 0.0, 0.6, alternatives=("go back", "that hurts"))
    out = StopPath(grammar(), matcher=matcher, fusion=FUSION).results([hyp], 10.0, 1.0)
    assert heard(out) == ["Stop"] and Silence(pain=False, text="at first") in out


def test_with_the_stop_model_fired_a_pain_reading_is_a_pain_stop(matcher) -> None:
    hyp = Hypothesis("at first", True, 0.0, 0.6, stop_probability=0.9, alternatives=("it hurts",))
    out = StopPath(grammar(), matcher=matcher, fusion=FUSION).results([hyp], 10.0, 1.0)
    assert heard(out) == ["PainStop"] and Silence(pain=True, text="at first") in out


def test_a_command_reading_is_taken_when_no_pain_reading_is_behind_it(matcher) -> None:
    hyp = Hypothesis("at first", True, 0.0, 0.6, alternatives=("go back", "ouch"))
    out = StopPath(grammar(), matcher=matcher, fusion=FUSION).results([hyp], 10.0, 1.0)
    assert heard(out) == ["Previous"] and not any(isinstance(d, Silence) for d in out)


@pytest.mark.parametrize("reading", ["ouch", "stop"])
def test_with_the_stop_model_fired_a_one_word_safety_reading_outranks_a_command_reading(
    reading: str, matcher
) -> None:
    """The same rule as for a pain phrase of a few words: with the model fired, going on
    over an "ouch" costs the user more than a stop on a "go back" costs a question."""
    hyp = Hypothesis(
        "at first", True, 0.0, 0.6, stop_probability=0.9, alternatives=("go back", reading)
    )
    out = StopPath(grammar(), matcher=matcher, fusion=FUSION).results([hyp], 10.0, 1.0)
    assert heard(out) == [{"ouch": "PainStop", "stop": "Stop"}[reading]]
    assert any(isinstance(d, Silence) for d in out)


@pytest.mark.parametrize(
    ("first", "reading"),
    [("oh", "ouch ouch"), ("down on your spine", "stop on your spine"), ("off", "stop it")],
)
def test_a_one_word_pain_or_a_stop_among_the_readings_needs_the_stop_model(
    first: str, reading: str, matcher
) -> None:
    """`pain_reading_words` counts words with repeats collapsed ("ouch ouch" is one);
    a stop phrase behind the first reading is left to the stop model."""
    hyp = Hypothesis(first, True, 0.0, 0.6, stop_probability=0.1, alternatives=(reading,))
    path = StopPath(grammar(), matcher=matcher, fusion=FUSION)
    assert not any(isinstance(d, Silence) for d in path.results([hyp], 10.0, 1.0))


@pytest.mark.parametrize("noise", ["t", "tch", "hmm", "t t t"])
def test_a_click_written_as_a_letter_is_not_answered(noise: str, matcher) -> None:
    """The live benchmark's sync click came back as "t" and "tch": the coach said
    "sorry, I didn't catch that" over the user's next words."""
    out = StopPath(grammar(), matcher=matcher, fusion=FUSION).results([final(noise, 0.1)], 10, 1)
    assert not any(isinstance(d, Hear) for d in out)
    assert [type(d) for d in out] == [Rejected]


def test_a_wordless_final_leaves_a_pain_partial_standing(matcher) -> None:
    path = StopPath(grammar(), matcher=matcher, fusion=FUSION)
    ouch = Hypothesis("ouch", False, 0.0, 0.4)
    assert any(isinstance(d, Silence) for d in path.results([ouch], 10.0, 0.4))
    out = path.results([final("tch", 0.1)], 10.3, 1.0)
    hear = [d for d in out if isinstance(d, Hear)]
    assert hear and hear[0].confirmed and hear[0].parse.intent == "PainStop"


def test_a_clipped_stop_with_no_vowel_is_still_a_stop(matcher) -> None:
    """ "st" while the stop model fired is the fusion's stop, never a wordless noise."""
    out = StopPath(grammar(), matcher=matcher, fusion=FUSION).results([final("st", 0.81)], 10, 1)
    assert Silence(pain=False, text="st") in out


def test_a_clipped_stop_is_never_taken_for_a_rating_asked_for(matcher) -> None:
    """After "how strong was it?" a rating's near miss counts, but not over the fusion's stop."""
    from voice.coach.dialogue import ASKED_RATING

    asked = verdict("sicks", None, grammar(), matcher, FUSION, ASKED_RATING)
    assert asked.kind is VerdictKind.COMMAND and asked.parse.slots == {"value": 6}
    assert verdict("sicks", None, grammar(), matcher, FUSION).kind is VerdictKind.NONE
    for word in ("sticks", "steven", "stuff", "stap"):  # the first two: near "six", "seven"
        assert verdict(word, 0.81, grammar(), matcher, FUSION, ASKED_RATING).safety, word
