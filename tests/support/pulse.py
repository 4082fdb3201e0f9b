"""Real PulseAudio virtual devices for audio tests and benchmarks.

A null sink `bc_speaker` stands for the coach's loudspeaker (record its monitor to
hear what the coach played); a null sink `bc_mic` stands for the room: whatever
is played into it with paplay arrives at the default source `bc_mic.monitor`,
which is what the coach's microphone stream reads.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

SPEAKER_SINK = "bc_speaker"
MIC_SINK = "bc_mic"


def _pactl(*args: str) -> str:
    return subprocess.run(
        ["pactl", *args], check=True, capture_output=True, text=True, timeout=10
    ).stdout


def server_running() -> bool:
    if shutil.which("pactl") is None:
        return False
    return subprocess.run(["pactl", "info"], capture_output=True, timeout=10).returncode == 0


def missing_tools() -> list[str]:
    return [t for t in ("pulseaudio", "pactl", "paplay", "parecord") if shutil.which(t) is None]


@dataclass
class VirtualAudio:
    speaker_sink: str = SPEAKER_SINK
    mic_sink: str = MIC_SINK

    @property
    def speaker_monitor(self) -> str:
        return f"{self.speaker_sink}.monitor"

    @property
    def mic_source(self) -> str:
        return f"{self.mic_sink}.monitor"

    def play_into_mic(self, wav: Path, wait: bool = True) -> subprocess.Popen[bytes]:
        proc = subprocess.Popen(
            ["paplay", f"--device={self.mic_sink}", "--latency-msec=20", str(wav)]
        )
        if wait:
            proc.wait(timeout=60)
        return proc

    def start_recording(self, out: Path, source: str | None = None) -> subprocess.Popen[bytes]:
        """Record a monitor (default: the speaker's) into a 16 kHz mono WAV until stopped."""
        proc = subprocess.Popen(
            [
                "parecord",
                f"--device={source or self.speaker_monitor}",
                "--rate=16000",
                "--channels=1",
                "--format=s16le",
                "--latency-msec=10",
                "--file-format=wav",
                str(out),
            ]
        )
        time.sleep(0.3)  # parecord needs a moment to connect before the first sample counts
        return proc


def stop_recording(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    proc.wait(timeout=10)


def read_wav_mono(path: Path) -> tuple[np.ndarray, int]:
    """Samples as float32 in [-1, 1] and the rate in hertz."""
    with wave.open(str(path), "rb") as w:
        rate = w.getframerate()
        channels = w.getnchannels()
        frames = w.readframes(w.getnframes())
    data = np.frombuffer(frames, dtype=np.int16).astype(np.float32) / 32768.0
    if channels > 1:
        data = data.reshape(-1, channels).mean(axis=1)
    return data, rate


def start_virtual_audio() -> VirtualAudio:
    """Start PulseAudio (if needed) with the two null sinks and make them the defaults.

    Must run before the process under test opens PortAudio: ALSA's `default`
    device goes through PulseAudio only if the server was up when PortAudio
    initialised.
    """
    missing = missing_tools()
    if missing:
        raise RuntimeError(
            f"missing {', '.join(missing)}: apt-get install pulseaudio pulseaudio-utils"
        )
    os.environ.setdefault("PULSE_LATENCY_MSEC", "20")
    if not server_running():
        subprocess.run(
            ["pulseaudio", "-D", "--exit-idle-time=-1", "--log-target=stderr"],
            check=True,
            capture_output=True,
            timeout=20,
        )
        deadline = time.monotonic() + 10
        while not server_running():
            if time.monotonic() > deadline:
                raise RuntimeError("pulseaudio did not start within 10 s")
            time.sleep(0.1)
    # An idle null sink is suspended after a few seconds, and a suspended sink's
    # monitor delivers nothing for up to two seconds after audio starts again:
    # a virtual microphone must never fall asleep between tests.
    if "module-suspend-on-idle" in _pactl("list", "short", "modules"):
        _pactl("unload-module", "module-suspend-on-idle")
    sinks = _pactl("list", "short", "sinks")
    audio = VirtualAudio()
    for sink in (audio.speaker_sink, audio.mic_sink):
        if f"\t{sink}\t" not in sinks:
            # A fixed rate: a null sink that switches rate with its first stream makes
            # its monitor drop audio for readers opened at the old rate.
            _pactl(
                "load-module", "module-null-sink", f"sink_name={sink}", "rate=48000", "channels=2"
            )
    _pactl("set-default-sink", audio.speaker_sink)
    _pactl("set-default-source", audio.mic_source)
    return audio
