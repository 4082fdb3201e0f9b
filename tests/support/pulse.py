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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from voice.audio import PULSE_LATENCY_MS, SAMPLE_RATE

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
    loaded_modules: list[str] = field(default_factory=list)
    """PulseAudio modules this run loaded (its null sinks), unloaded by `stop_virtual_audio`."""
    restore: dict[str, str] = field(default_factory=dict)
    """What this run changed and must put back: default sink/source, suspend-on-idle."""
    started_server: bool = False

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

    def start_recording(
        self, out: Path, source: str | None = None, rate: int = SAMPLE_RATE
    ) -> subprocess.Popen[bytes]:
        """Record a monitor (default: the speaker's) into a mono WAV at `rate` until stopped."""
        proc = subprocess.Popen(
            [
                "parecord",
                f"--device={source or self.speaker_monitor}",
                f"--rate={rate}",
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


def start_virtual_audio(speaker_sink: str = SPEAKER_SINK, mic_sink: str = MIC_SINK) -> VirtualAudio:
    """Start PulseAudio (if needed) with the two null sinks and make them the defaults.

    Must run before the process under test opens PortAudio: ALSA's `default`
    device goes through PulseAudio only if the server was up when PortAudio
    initialised. `stop_virtual_audio` undoes every change it made.
    """
    missing = missing_tools()
    if missing:
        raise RuntimeError(
            f"missing {', '.join(missing)}: apt-get install pulseaudio pulseaudio-utils"
        )
    os.environ.setdefault("PULSE_LATENCY_MSEC", str(PULSE_LATENCY_MS))
    audio = VirtualAudio(speaker_sink, mic_sink)
    if not server_running():
        subprocess.run(
            ["pulseaudio", "-D", "--exit-idle-time=-1", "--log-target=stderr"],
            check=True,
            capture_output=True,
            timeout=20,
        )
        audio.started_server = True
        deadline = time.monotonic() + 10
        while not server_running():
            if time.monotonic() > deadline:
                raise RuntimeError("pulseaudio did not start within 10 s")
            time.sleep(0.1)
    info = _pactl("info")
    for line in info.splitlines():
        key, _, value = line.partition(": ")
        if key == "Default Sink" and value not in (speaker_sink, ""):
            audio.restore["sink"] = value
        elif key == "Default Source" and value not in (audio.mic_source, ""):
            audio.restore["source"] = value
    # An idle null sink is suspended after a few seconds, and a suspended sink's
    # monitor delivers nothing for up to two seconds after audio starts again:
    # a virtual microphone must never fall asleep between tests.
    if "module-suspend-on-idle" in _pactl("list", "short", "modules"):
        _pactl("unload-module", "module-suspend-on-idle")
        audio.restore["suspend-on-idle"] = "load"
    sinks = _pactl("list", "short", "sinks")
    for sink in (audio.speaker_sink, audio.mic_sink):
        if f"\t{sink}\t" not in sinks:
            # A fixed rate: a null sink that switches rate with its first stream makes
            # its monitor drop audio for readers opened at the old rate.
            index = _pactl(
                "load-module", "module-null-sink", f"sink_name={sink}", "rate=48000", "channels=2"
            ).strip()
            audio.loaded_modules.append(index)
    _pactl("set-default-sink", audio.speaker_sink)
    _pactl("set-default-source", audio.mic_source)
    return audio


def stop_virtual_audio(audio: VirtualAudio) -> None:
    """Unload the modules `start_virtual_audio` loaded and put back what it changed."""
    # A server this run started stays up (another test run may be using it); only
    # what this run added to it is taken away.
    if not server_running():
        return
    for index in reversed(audio.loaded_modules):
        subprocess.run(["pactl", "unload-module", index], capture_output=True, timeout=10)
    audio.loaded_modules.clear()
    if "sink" in audio.restore:
        subprocess.run(["pactl", "set-default-sink", audio.restore["sink"]], capture_output=True)
    if "source" in audio.restore:
        subprocess.run(
            ["pactl", "set-default-source", audio.restore["source"]], capture_output=True
        )
    if audio.restore.get("suspend-on-idle"):
        subprocess.run(
            ["pactl", "load-module", "module-suspend-on-idle"], capture_output=True, timeout=10
        )
