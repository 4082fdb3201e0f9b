"""Error-tolerant matching of engine text onto the grammar (pure, the real grammar and CMUdict)."""

from __future__ import annotations

import pytest

from tests.support.coach_sim import grammar
from voice.listen.asr.matching import GrammarMatcher, Lexicon, collapse_repeats


@pytest.fixture(scope="module")
def matcher() -> GrammarMatcher:
    return GrammarMatcher.for_grammar(grammar(), Lexicon.bundled())


def test_repeats_collapse() -> None:
    assert collapse_repeats(["no", "no", "no", "no"]) == ["no"]
    assert collapse_repeats(["speed", "up", "speed", "up", "speed", "up"]) == ["speed", "up"]
    assert collapse_repeats(["stop", "that", "hurts"]) == ["stop", "that", "hurts"]


@pytest.mark.parametrize(
    ("looped", "meant"),
    [("what can i say what can i say what can i sa", "what can i say"),
     ("speed up speed up speed up speed", "speed up"),
     ("stop pain stop pain stop pain stop stop stop", "stop pain"),
     ("softer softer softer soft", "softer")],
)  # fmt: skip
def test_a_loop_cut_at_the_token_limit_collapses_to_its_unit(looped: str, meant: str) -> None:
    assert collapse_repeats(looped.split()) == meant.split()


def test_a_trailing_word_is_kept_when_nothing_repeated() -> None:
    """Only a loop loses its cut-off tail: "go back go" may be two commands."""
    assert collapse_repeats(["go", "back", "go"]) == ["go", "back", "go"]


def test_the_pain_cry_is_not_oh() -> None:
    lexicon = Lexicon.bundled()
    assert lexicon.phones("ow") == ("AW",)
    assert lexicon.phones("oh") == ("OW",)


def test_words_missing_from_the_dictionary_are_spelled_out() -> None:
    assert Lexicon({}).phones("stap") == ("S", "T", "AE", "P")


@pytest.mark.parametrize(
    ("heard", "intent", "sentence"),
    [
        # Whisper's near misses of grammar sentences (measured on held-out audio)
        ("Begin spying rotation.", "StartRoutine", "begin spine rotation"),
        ("Reaper cautions", "ReadPrecautions", "read precautions"),
        ("In session.", "EndSession", "end session"),
        ("Parker ready", "Ready", "partner ready"),
        ("flow down", "Slower", "slow down"),
        ("Stop that hurt.", "PainStop", "stop that hurts"),
        ("Pre-cussions", "ReadPrecautions", "precautions"),
    ],
)
def test_near_misses_find_their_sentence(
    matcher: GrammarMatcher, heard: str, intent: str, sentence: str
) -> None:
    match = matcher.match(heard)
    assert match is not None and (match.intent, match.sentence) == (intent, sentence)
    assert not match.exact and 0.0 < match.score < 1.0


def test_exact_sentences_match_exactly(matcher: GrammarMatcher) -> None:
    match = matcher.match("Start the foam roller!")
    assert match is not None and match.exact and match.score == 1.0
    assert match.intent == "StartRoutine"
    stutter = matcher.match("Speed up. Speed up. Speed up.")  # Whisper repeating itself
    assert stutter is not None and stutter.exact and stutter.intent == "Faster"


def test_a_stop_inside_other_words_is_spotted(matcher: GrammarMatcher) -> None:
    match = matcher.match("I said stop, please")
    assert match is not None and match.intent == "Stop"


@pytest.mark.parametrize(
    "heard",
    ["oh", "up", "on", "off", "go", "down", "left", "right", "bed", "bird", "marvin", "free",
     "I went to the shop yesterday and bought some bread", "what a lovely day", ""],
)  # fmt: skip
def test_other_words_and_talk_give_no_command(matcher: GrammarMatcher, heard: str) -> None:
    assert matcher.match(heard) is None


def test_spelling_counts_only_for_words_the_dictionary_lacks(matcher: GrammarMatcher) -> None:
    """By letters "slow it" is two edits from "stop it"; by sound it is no command.
    (Whisper's "slow it" for espeak-ng "slower" stopped the routine.)"""
    assert matcher._lexicon.knows("slow") and not matcher._lexicon.knows("cussions")
    assert matcher.match("slow it") is None
    spelled = matcher.match("Pre-cussions")  # "cussions": no sound, so its letters count
    assert spelled is not None and spelled.intent == "ReadPrecautions"


def test_ending_the_session_needs_a_nearer_miss(matcher: GrammarMatcher) -> None:
    assert matcher.match("and passion") is None  # heard in the live benchmark
    in_session = matcher.match("in session")
    assert in_session is not None and in_session.intent == "EndSession"


def test_pain_ratings_match_only_exactly_unless_asked_for(matcher: GrammarMatcher) -> None:
    seven = matcher.match("seven")
    assert seven is not None and seven.intent == "PainRating"
    assert matcher.match("free") is None  # no near misses: "one" and "on" are too alike
    assert matcher.match("salmon") is None


RATING = frozenset({"PainRating"})


@pytest.mark.parametrize(
    ("heard", "sentence"),
    [("free", "three"), ("free free free free free free", "three"), ("salmon", "seven"),
     ("then", "ten")],
)  # fmt: skip
def test_a_near_miss_of_a_rating_counts_when_one_was_asked_for(
    heard: str, sentence: str, matcher: GrammarMatcher
) -> None:
    """espeak-ng's "three" and "seven", as Whisper wrote them after "how strong was it?"."""
    match = matcher.match(heard, asked=RATING)
    assert match is not None and (match.intent, match.sentence) == ("PainRating", sentence)
    assert not match.exact


@pytest.mark.parametrize("heard", ["right", "fight", "done", "that's", "left arm", "tree"])
def test_everyday_words_are_no_rating_even_when_one_was_asked_for(
    heard: str, matcher: GrammarMatcher
) -> None:
    """By sound alone ("right" and "eight" differ by one letter, not by one sound),
    and against the bare number only (a filler such as "that's" is no answer)."""
    match = matcher.match(heard, asked=RATING)
    assert match is None or match.intent != "PainRating", match


def test_an_answer_asked_for_never_hides_a_sentence_or_a_stop(matcher: GrammarMatcher) -> None:
    repeat = matcher.match("repeat", asked=RATING)
    assert repeat is not None and repeat.intent == "Repeat"
    pain = matcher.match("stop that hurt", asked=RATING)
    assert pain is not None and pain.intent == "PainStop"
    stop = matcher.match("stock", asked=RATING)
    assert stop is not None and stop.intent == "Stop"


def test_an_answer_asked_for_wins_over_a_near_miss_of_another_command(
    matcher: GrammarMatcher,
) -> None:
    """ "satin" is a near miss of "status" and of "seven"; after "how strong was
    it?" the rating is what was meant."""
    status = matcher.match("satin")
    assert status is not None and status.intent == "Status" and not status.exact
    rating = matcher.match("satin", asked=RATING)
    assert rating is not None and rating.sentence == "seven"
