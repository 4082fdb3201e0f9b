"""Timestamped capture of a PulseAudio monitor, for latency tests and benchmarks.

parecord in tests/pulse.py writes a file with no clock. Here `parec` streams the
monitor as raw 16 kHz samples into a pipe with a 5 ms fragment, and a reader
thread stamps every chunk with the `time.monotonic()` at which it *arrived*.
That arrival time is an upper bound on when the sink played those samples: it
includes the capture path's own buffering (up to one fragment plus pipe and
scheduling delay). Every figure computed from it is therefore an upper bound
on the real latency, never an underestimate.

(PortAudio's ALSA `pulse` capture was tried first: at low latency it delivered
no blocks at all from an idle-then-running monitor, so it is not used here.)
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass, field

import numpy as np

RATE = 16000
"""Capture rate, hertz."""


@dataclass
class MonitorProbe:
    source: str
    """PulseAudio source to read, e.g. "bc_speaker.monitor"."""
    threshold: float = 0.01
    """|sample| above this (full scale 1.0, about -40 dBFS) counts as sound."""
    latency_ms: int = 5
    """Capture fragment asked of PulseAudio, milliseconds."""
    blocks: list[tuple[float, np.ndarray]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _proc: subprocess.Popen[bytes] | None = None
    _thread: threading.Thread | None = None

    def __enter__(self) -> MonitorProbe:
        self._proc = subprocess.Popen(
            [
                "parec",
                f"--device={self.source}",
                "--raw",
                f"--rate={RATE}",
                "--channels=1",
                "--format=s16le",
                f"--latency-msec={self.latency_ms}",
            ],
            stdout=subprocess.PIPE,
            stdin=subprocess.DEVNULL,
        )
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 5
        while not self.blocks and time.monotonic() < deadline:
            time.sleep(0.01)
        if not self.blocks:
            raise RuntimeError(
                f"no audio from {self.source}: is anything keeping the sink running?"
            )
        time.sleep(0.2)  # let the capture settle before anything is timed
        return self

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None:
            self._proc.terminate()
            self._proc.wait(timeout=5)
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        pending = b""
        while True:
            data = os.read(fd, 4096)
            if not data:
                return
            now = time.monotonic()
            data = pending + data
            usable = len(data) - len(data) % 2
            pending = data[usable:]
            block = np.frombuffer(data[:usable], dtype="<i2").astype(np.float32) / 32768.0
            with self._lock:
                self.blocks.append((now, block))

    def clear(self) -> None:
        with self._lock:
            self.blocks.clear()

    def _after(self, t0: float) -> list[tuple[float, np.ndarray]]:
        with self._lock:
            return [(t, b) for t, b in self.blocks if t >= t0]

    def first_sound_after(self, t0: float, timeout_s: float = 2.0) -> float | None:
        """Arrival time of the first chunk after `t0` holding sound (upper bound)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for t, block in self._after(t0):
                if len(block) and np.max(np.abs(block)) > self.threshold:
                    return t
            time.sleep(0.002)
        return None

    def silence_after(self, t0: float, hold_s: float = 0.1, timeout_s: float = 2.0) -> float | None:
        """Arrival time of the last chunk with sound after `t0`, once `hold_s` of silence followed.

        An upper bound on when the output fell silent; `t0` itself when nothing
        loud arrived after it.
        """
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            chunks = self._after(t0)
            last_loud = t0
            for t, block in chunks:
                if len(block) and np.max(np.abs(block)) > self.threshold:
                    last_loud = t
            if chunks and chunks[-1][0] - last_loud >= hold_s:
                return last_loud
            time.sleep(0.01)
        return None

    def peak_between(self, t0: float, t1: float) -> float:
        """Peak |sample| of chunks that arrived in [t0, t1]."""
        peaks = [float(np.max(np.abs(b))) for t, b in self._after(t0) if t <= t1 and len(b)]
        return max(peaks, default=0.0)

    def samples_between(self, t0: float, t1: float) -> np.ndarray:
        chunks = [b for t, b in self._after(t0) if t <= t1]
        return np.concatenate(chunks) if chunks else np.zeros(0, dtype=np.float32)


class PrivateSink:
    """A null sink of our own, made this process's default output via PULSE_SINK.

    The server is shared with whatever else runs on the machine (other test
    sessions play into `bc_speaker` too); timing assertions need a sink that
    only this process plays into. libpulse reads PULSE_SINK when a stream
    connects, so streams opened inside the `with` go to this sink.
    """

    def __init__(self, name: str | None = None) -> None:
        self.name = name or f"bc_tts_{os.getpid()}"
        self.monitor = f"{self.name}.monitor"
        self._module: str | None = None
        self._old: str | None = None

    def __enter__(self) -> PrivateSink:
        import subprocess

        self._module = subprocess.run(
            ["pactl", "load-module", "module-null-sink", f"sink_name={self.name}"],
            check=True,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        self._old = os.environ.get("PULSE_SINK")
        os.environ["PULSE_SINK"] = self.name
        return self

    def __exit__(self, *exc: object) -> None:
        import subprocess

        if self._old is None:
            os.environ.pop("PULSE_SINK", None)
        else:
            os.environ["PULSE_SINK"] = self._old
        if self._module:
            subprocess.run(
                ["pactl", "unload-module", self._module], capture_output=True, timeout=10
            )
