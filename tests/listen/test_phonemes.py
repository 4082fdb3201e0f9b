"""Words CMUdict lacks, sounded out by the real espeak-ng (installed as the TTS engine)."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from tests.support.coach_sim import grammar
from voice.listen.asr.matching import GrammarMatcher, Lexicon
from voice.listen.asr.phonemes import EspeakPhonemes, ipa_to_arpabet

needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng not installed (apt-get install espeak-ng)"
)


def test_ipa_maps_onto_arpabet() -> None:
    assert ipa_to_arpabet("pɹˈiː ˈɔːɹʃənz") == ("P", "R", "IY", "AO", "R", "SH", "AH", "N", "Z")
    assert ipa_to_arpabet("d\u200dʒˈʌd\u200dʒ") == ("JH", "AH", "JH")  # "judge", tie marks
    assert ipa_to_arpabet("tʃˈeɪmbən") == ("CH", "EY", "M", "B", "AH", "N")
    assert ipa_to_arpabet("wˈɔːɾɚ") == ("W", "AO", "T", "ER")


@needs_espeak
def test_an_invented_spelling_sounds_as_an_english_reader_would_say_it() -> None:
    sound = EspeakPhonemes()
    assert sound.available
    assert sound.phones("orsions") == ("AO", "R", "SH", "AH", "N", "Z")
    lexicon = Lexicon({}, sound.phones)
    assert lexicon.phones("orsions") == ("AO", "R", "SH", "AH", "N", "Z")
    assert Lexicon({}).phones("orsions")[:3] == ("AA", "R", "S")  # letter by letter


@needs_espeak
def test_whispers_invented_words_match_the_command_they_were() -> None:
    """Measured: espeak-ng "precautions" written "pre orsions"; spelled out it is no command."""
    sounded = GrammarMatcher.for_grammar(grammar(), Lexicon.bundled(EspeakPhonemes().phones))
    spelled = GrammarMatcher.for_grammar(grammar(), Lexicon.bundled())
    match = sounded.match("pre orsions")
    assert match is not None and match.intent == "ReadPrecautions" and not match.exact
    assert spelled.match("pre orsions") is None
    assert sounded.match("the orsions of the sandwind") is None  # other talk stays nothing


def test_without_espeak_ng_a_word_is_spelled_out(tmp_path: Path) -> None:
    missing = EspeakPhonemes(binary=str(tmp_path / "no-espeak-ng"))
    assert missing.phones("orsions") is None
    assert Lexicon({}, missing.phones).phones("stap") == ("S", "T", "AE", "P")


def test_a_hung_espeak_ng_holds_a_decision_up_no_longer_than_its_timeout(tmp_path: Path) -> None:
    import time

    hung = tmp_path / "espeak-ng"
    hung.write_text("#!/bin/sh\nsleep 5\n")
    hung.chmod(hung.stat().st_mode | stat.S_IEXEC)
    sound = EspeakPhonemes(binary=str(hung), timeout_s=0.2)
    started = time.perf_counter()
    assert sound.phones("orsions") is None
    assert time.perf_counter() - started < 1.0


@needs_espeak
def test_the_sessions_matcher_sounds_words_out() -> None:
    from voice.session.build import build_matcher

    match = build_matcher(grammar()).match("pre orsions")
    assert match is not None and match.intent == "ReadPrecautions"
