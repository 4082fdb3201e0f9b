"""Audio input: WAV files of any rate/channels to 16 kHz mono; the virtual microphone."""

from __future__ import annotations

import importlib.util
import threading
import time
import wave
from pathlib import Path

import numpy as np
import pytest

from tests.support.asr_helpers import human_clips
from voice.audio import SAMPLE_RATE, Resampler, resample
from voice.errors import AudioDeviceError, BadInput
from voice.listen.audio_input import (
    InputLost,
    MicrophoneSource,
    WavSource,
    read_wav,
    wav_to_pcm16k,
)


def write_wav(path: Path, samples: np.ndarray, rate: int, width: int = 2) -> Path:
    """samples: float in [-1, 1], shape (n,) or (n, channels)."""
    data = samples if samples.ndim == 2 else samples[:, None]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(data.shape[1])
        w.setsampwidth(width)
        w.setframerate(rate)
        if width == 2:
            w.writeframes((data * 32767).astype("<i2").tobytes())
        elif width == 1:
            w.writeframes((data * 127 + 128).astype(np.uint8).tobytes())
        else:
            ints = (data * (2**23 - 1)).astype("<i4").reshape(-1)
            w.writeframes(b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints))
    return path


@pytest.mark.parametrize(
    ("rate", "channels", "width"),
    [
        (8000, 1, 2),
        (16000, 1, 2),
        (22050, 2, 2),
        (44100, 1, 2),
        (48000, 2, 2),
        (16000, 1, 1),
        (32000, 1, 3),
    ],
)
def test_wav_any_rate_and_channels_become_16k_mono(tmp_path, rate, channels, width) -> None:
    t = np.arange(int(rate * 0.5)) / rate
    tone = 0.5 * np.sin(2 * np.pi * 440 * t)
    samples = np.stack([tone] * channels, axis=1) if channels > 1 else tone
    path = write_wav(tmp_path / "x.wav", samples, rate, width)
    pcm = wav_to_pcm16k(path)
    out = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768
    assert abs(len(out) - 8000) <= 1  # 0.5 s at 16 kHz
    reference = 0.5 * np.sin(2 * np.pi * 440 * np.arange(len(out)) / 16000)
    tolerance = 0.02 if width > 1 else 0.05
    assert np.abs(out[300:-300] - reference[300:-300]).max() < tolerance


def test_resampler_blocks_match_one_shot() -> None:
    x = np.random.default_rng(0).normal(0, 0.1, 44100).astype(np.float32)
    whole = Resampler(44100)
    one = np.concatenate([whole.process(x), whole.flush()])
    parts = Resampler(44100)
    blocks = [parts.process(x[i : i + 777]) for i in range(0, len(x), 777)] + [parts.flush()]
    assert np.allclose(one, np.concatenate(blocks), atol=1e-5)


def _tone_frequency_and_rms(samples: np.ndarray, rate: int) -> tuple[float, float]:
    window = samples * np.hanning(len(samples))
    spectrum = np.abs(np.fft.rfft(window))
    peak = int(np.argmax(spectrum))
    return peak * rate / len(samples), float(np.sqrt(np.mean(samples**2)))


def test_soxr_keeps_a_1khz_tone_48k_to_16k_and_20ms_blocks_match_one_call() -> None:
    rate = 48000
    t = np.arange(rate) / rate  # 1 s
    tone = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    one = resample(tone, rate, SAMPLE_RATE)
    assert len(one) == SAMPLE_RATE
    frequency, rms = _tone_frequency_and_rms(one[800:-800], SAMPLE_RATE)
    assert frequency == pytest.approx(1000, abs=2)
    assert rms == pytest.approx(0.5 / np.sqrt(2), rel=0.01)

    stream = Resampler(rate)
    block = int(0.02 * rate)  # the live path's 20 ms blocks
    parts = [stream.process(tone[i : i + block]) for i in range(0, len(tone), block)]
    streamed = np.concatenate([*parts, stream.flush()])
    assert len(streamed) == len(one)
    assert np.allclose(streamed, one, atol=1e-4)
    frequency, rms = _tone_frequency_and_rms(streamed[800:-800], SAMPLE_RATE)
    assert frequency == pytest.approx(1000, abs=2)
    assert rms == pytest.approx(0.5 / np.sqrt(2), rel=0.01)


def test_same_rate_is_passed_through() -> None:
    x = np.random.default_rng(1).normal(0, 0.1, 320).astype(np.float32)
    assert np.array_equal(Resampler(SAMPLE_RATE).process(x), x)
    assert np.array_equal(resample(x, SAMPLE_RATE, SAMPLE_RATE), x)


def test_wav_source_blocks_and_pacing(tmp_path) -> None:
    path = write_wav(tmp_path / "x.wav", np.zeros(4800), 48000)  # 0.1 s
    with WavSource(path, block_s=0.02) as source:
        blocks = list(source)
    assert sum(len(b) for b in blocks) == 3200 and len(blocks[0]) == 640
    start = time.monotonic()
    list(WavSource(path, block_s=0.02, realtime=True))
    assert time.monotonic() - start >= 0.07


@pytest.mark.parametrize("content", [b"", b"hello, not audio", b"RIFF\0\0\0\0WAVEjunk"])
def test_bad_files_raise_bad_input(tmp_path, content) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(BadInput, match=r"bad\.wav"):
        read_wav(path)
    with pytest.raises(BadInput, match="no such file"):
        read_wav(tmp_path / "missing.wav")


def test_unknown_device_lists_the_inputs(virtual_audio) -> None:
    with pytest.raises(AudioDeviceError, match="no input device 'no-such-mic'"):
        MicrophoneSource("no-such-mic")


def test_input_lost_is_a_device_error() -> None:
    assert issubclass(InputLost, AudioDeviceError)


@pytest.mark.audio
def test_virtual_microphone_hears_speech(virtual_audio) -> None:
    if importlib.util.find_spec("pocketsphinx") is None:
        pytest.skip("pocketsphinx is not installed (pip install pocketsphinx)")
    from voice.listen.asr.sphinx_engine import SphinxRecognizer

    recognizer = SphinxRecognizer(["stop", "yes", "no", "next", "pause", "go on"])
    clip = human_clips("yes")[0]
    heard: list[str] = []
    captured = bytearray()
    with MicrophoneSource("pulse", block_s=0.05) as mic:
        player = threading.Timer(0.5, virtual_audio.play_into_mic, args=(clip,))
        player.start()
        deadline = time.monotonic() + 4.0
        for block in mic:
            captured += block
            heard += [h.text for h in recognizer.accept(block) if h.final and h.text]
            if time.monotonic() > deadline:
                break
        player.join()
    heard += [h.text for h in recognizer.finish() if h.text]
    level = np.abs(np.frombuffer(bytes(captured), dtype="<i2")).max()
    assert level > 1000, "the microphone stream carried no speech"
    assert "yes" in heard, heard


@pytest.mark.audio
def test_a_stream_that_stops_delivering_raises_input_lost(virtual_audio) -> None:
    # Stands in for an unplugged microphone: the real PortAudio stream stops
    # calling back, and the iterator must turn that into InputLost, not hang.
    with MicrophoneSource("pulse", block_s=0.05, lost_after_s=0.5) as mic:
        started = time.monotonic()
        with pytest.raises(InputLost):
            for count, _block in enumerate(mic):
                if count == 5:
                    mic._stream.abort()
        assert time.monotonic() - started < 5.0
