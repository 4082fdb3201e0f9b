"""Grammar: enumeration, round trips, exclusivity, filler, and safety spotting."""

from __future__ import annotations

from collections import defaultdict

import pytest

from tests.support.coach_sim import book, grammar
from voice.coach.dialogue import Coach
from voice.coach.grammar import INTENTS, SAFETY_INTENTS


def test_every_intent_of_the_design_has_sentences() -> None:
    g = grammar()
    assert sorted(g.intent_names) == sorted(INTENTS)
    for intent in INTENTS:
        assert g.sentences([intent]), intent


def test_every_enumerated_sentence_parses_back_to_its_own_intent() -> None:
    g = grammar()
    wrong = []
    for intent in g.intent_names:
        for sentence in g.sentences([intent]):
            parse = g.parse(sentence)
            if parse is None or parse.intent != intent:
                wrong.append((intent, sentence, parse))
    assert wrong == []


def test_no_sentence_belongs_to_two_intents() -> None:
    owners: dict[str, set[str]] = defaultdict(set)
    g = grammar()
    for intent in g.intent_names:
        for sentence in g.sentences([intent]):
            owners[sentence].add(intent)
    assert {s: i for s, i in owners.items() if len(i) > 1} == {}


def test_no_other_sentence_contains_a_safety_phrase() -> None:
    # Otherwise the partial-result fast path would stop on an ordinary command.
    g = grammar()
    for intent in g.intent_names:
        if intent in SAFETY_INTENTS:
            continue
        for sentence in g.sentences([intent]):
            assert g.spot_safety(sentence) is None, (intent, sentence)


@pytest.mark.parametrize(
    ("text", "intent", "slots"),
    [
        ("stop", "Stop", {}),
        ("Stop stop!", "Stop", {}),
        ("cancel", "Stop", {}),
        ("stop, pain", "PainStop", {}),
        ("Ouch!", "PainStop", {}),
        ("ow", "PainStop", {}),
        ("it hurts", "PainStop", {}),
        ("that hurts", "PainStop", {}),
        ("start rotation", "StartRoutine", {"routine": "rotation"}),
        ("start the foam roller", "StartRoutine", {"routine": "foam_roller"}),
        ("begin spine rotation", "StartRoutine", {"routine": "rotation"}),
        ("let's do the bed stretch", "StartRoutine", {"routine": "bed_edge"}),
        ("do the tight hug please", "StartRoutine", {"routine": "tight_hug"}),
        ("start hug from behind", "StartRoutine", {"routine": "hug_from_behind"}),
        ("start hand extension", "StartRoutine", {"routine": "hand_extension"}),
        ("pause", "Pause", {}), ("wait", "Pause", {}), ("hold on", "Pause", {}),
        ("resume", "Resume", {}), ("continue", "Resume", {}), ("go on", "Resume", {}),
        ("next", "Next", {}), ("skip", "Next", {}),
        ("go back", "Previous", {}), ("previous", "Previous", {}),
        ("repeat", "Repeat", {}), ("say that again", "Repeat", {}),
        ("ready", "Ready", {}), ("partner ready", "Ready", {}), ("I'm ready", "Ready", {}),
        ("yes", "Yes", {}), ("okay", "Yes", {}),
        ("no", "No", {}), ("not yet", "No", {}),
        ("now", "Now", {}),
        ("slower", "Slower", {}), ("faster", "Faster", {}),
        ("louder", "Louder", {}), ("quieter", "Quieter", {}),
        ("list routines", "ListRoutines", {}), ("what can I do?", "ListRoutines", {}),
        ("read precautions", "ReadPrecautions", {}), ("safety tips", "ReadPrecautions", {}),
        ("help", "Help", {}), ("what can I say", "Help", {}),
        ("how long is left", "Status", {}),
        ("end session", "EndSession", {}), ("goodbye", "EndSession", {}),
        ("seven", "PainRating", {"value": 7}), ("7", "PainRating", {"value": 7}),
        ("about three out of ten", "PainRating", {"value": 3}),
        ("zero", "PainRating", {"value": 0}), ("10", "PainRating", {"value": 10}),
    ],
)  # fmt: skip
def test_phrasings(text: str, intent: str, slots: dict[str, object]) -> None:
    parse = grammar().parse(text)
    assert parse is not None, text
    assert (parse.intent, parse.slots) == (intent, slots)


@pytest.mark.parametrize(
    ("text", "intent"),
    [("okay next please", "Next"), ("um start the rotation please", "StartRoutine"),
     ("please pause", "Pause"), ("hey coach read the precautions", "ReadPrecautions"),
     ("uh ready", "Ready")],
)  # fmt: skip
def test_filler_is_tolerated(text: str, intent: str) -> None:
    parse = grammar().parse(text)
    assert parse is not None and parse.intent == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [("no stop stop", "Stop"), ("ouch that hurts", "PainStop"),
     ("i think we should stop now", "Stop"), ("wait wait stop it", "Stop"),
     ("stop that hurts", "PainStop"), ("something about pain here", "PainStop"),
     ("keep going ouch", "PainStop")],
)  # fmt: skip
def test_stop_and_pain_inside_longer_utterances(text: str, intent: str) -> None:
    parse = grammar().parse(text)
    assert parse is not None and parse.intent == intent
    spotted = grammar().spot_safety(text)
    assert spotted is not None and spotted.intent == intent


@pytest.mark.parametrize(
    "text", ["", "banana bread", "the weather is nice", "stopwatch", "painter"]
)
def test_unrelated_text_is_no_command(text: str) -> None:
    assert grammar().parse(text) is None


def test_routine_names_come_from_the_routine_files() -> None:
    sentences = set(grammar().sentences(["StartRoutine"]))
    for routine in book().routines.values():
        for name in routine.spoken_names:
            assert f"start {name}" in sentences


def test_every_intent_has_a_handler() -> None:
    # Meta-test: each intent changes what the coach says in some state, none crash.
    from tests.support.coach_sim import Sim

    for intent in INTENTS:
        sentence = grammar().sentences([intent])[0]
        sim = Sim.new()
        mark = sim.mark()
        sim.say(sentence)
        assert sim.log[mark:], intent
        assert isinstance(sim.coach, Coach)
