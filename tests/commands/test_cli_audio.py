"""Commands that speak, heard through a real PulseAudio sink."""

from __future__ import annotations

import subprocess
import sys
import time
import wave
from pathlib import Path

import numpy as np

from tests.support.audio_probe import MonitorProbe, PrivateSink
from tests.support.pulse import VirtualAudio


def test_precautions_speak_plays_the_precautions(virtual_audio: VirtualAudio) -> None:
    with PrivateSink() as sink, MonitorProbe(sink.monitor) as probe:
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "voice", "precautions", "--speak"],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            heard = probe.first_sound_after(started, timeout_s=20)
            assert heard is not None, "no sound reached the sink"
            time.sleep(1.0)
            assert probe.peak_between(heard, time.monotonic()) > 0.05
            assert proc.poll() is None  # still reading: the precautions take long to say
        finally:
            proc.terminate()
            out, _ = proc.communicate(timeout=10)
        assert "Chest pain." in out  # printed before it is spoken


def test_say_writes_real_speech(tmp_path: Path) -> None:
    out = tmp_path / "x.wav"
    result = subprocess.run(
        [sys.executable, "-m", "voice", "say", "Breathe out slowly", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    with wave.open(str(out)) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
        seconds = w.getnframes() / w.getframerate()
    assert 0.6 < seconds < 4.0
    assert np.sqrt(np.mean((samples / 32768.0) ** 2)) > 0.02


def test_typed_session_speaks_into_the_output_file(tmp_path: Path) -> None:
    out = tmp_path / "coach.wav"
    result = subprocess.run(
        [sys.executable, "-m", "voice", "session", "--text", "--output", str(out)],
        input="no\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "Coach: Hello" in result.stdout  # captions as well as speech
    with wave.open(str(out)) as w:
        samples = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16) / 32768.0
        rate = w.getframerate()
    # The greeting, the screening question and the answer are long lines of speech.
    assert len(samples) / rate > 5.0
    frames = samples[: len(samples) // 160 * 160].reshape(-1, 160)
    voiced = np.sqrt((frames**2).mean(axis=1)) > 0.02
    assert voiced.mean() > 0.3
