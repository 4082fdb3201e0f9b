"""Abortable playback: PCM out in short blocks through sounddevice, or into a WAV file.

The output stream runs for the whole session and its callback takes one block
at a time from a small bounded queue (silence when it is empty), so:

- `abort()` silences within one block from any thread: queued blocks are
  dropped, and `stream.abort()` (not `stop()`, which first plays out what the
  host API has buffered) throws away what PortAudio, ALSA and PulseAudio hold;
  the stream is started again at once.
- a phrase starts within about one block plus the device latency, because the
  stream is already running (no start-up per utterance).

Output targets: the default device (`None`), a device by index or by (part of)
its name, or a WAV file. The WAV sink writes exactly what would be played:
*paced* (real time, one block per block period, silence between utterances
included - the session's timeline, and `abort()` cuts it like a device) or
*unpaced* (as fast as it comes, utterances back to back, no idle silence - for
`backcoach say --out`).

A device that fails mid-session (the stream stops without being asked, or its
callback stops being called) is reported through `on_device_lost`; a watchdog
thread reopens it every `retry_s` and reports `on_device_restored` when audio
flows again. Meanwhile `play()` returns `PlayResult.NO_DEVICE` at once.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
import wave
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from voice.audio import (
    as_int16,
    describe_devices,
    find_device,
    list_devices,
    resample,
    sounddevice,
)
from voice.errors import AudioDeviceError, MissingRequirement

__all__ = [
    "BLOCK_MS",
    "OutputTarget",
    "PlayResult",
    "Player",
]

BLOCK_MS = 10.0
"""Default block length, milliseconds: the longest `abort()` can take to reach the stream."""

_STALL_S = 3.0
"""A running stream whose callback has not run for this long counts as lost, seconds."""

OutputTarget = str | int | Path | None
"""Default device (None), device index, device name (or part of it), or a `.wav` path."""


class PlayResult(str, Enum):
    COMPLETED = "completed"
    """Every sample was handed to the device (or written to the file)."""
    ABORTED = "aborted"
    """`abort()` cut it."""
    NO_DEVICE = "no_device"
    """The output device is gone; nothing was played."""


@dataclass
class _Block:
    samples: np.ndarray
    """float32 mono, at most one block long."""
    epoch: int
    """`Player._epoch` when queued; blocks from before an abort are dropped."""
    last: threading.Event | None = None
    """Set once this block (the last of a `play()`) has been output."""


class Player:
    """One output (device or WAV file) for a session; `play()` from one thread, `abort()` from any.

    Use as a context manager, or call `open()` and `close()`.
    """

    def __init__(
        self,
        output: OutputTarget = None,
        samplerate: int = 22050,
        block_ms: float = BLOCK_MS,
        on_played: Callable[[np.ndarray, int], None] | None = None,
        on_device_lost: Callable[[str], None] | None = None,
        on_device_restored: Callable[[], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        paced: bool = True,
        queue_blocks: int = 4,
        retry_s: float = 1.0,
    ) -> None:
        self.samplerate = samplerate
        """Output sample rate, hertz; `play()` resamples anything else."""
        self.blocksize = max(16, round(samplerate * block_ms / 1000))
        """Frames per block."""
        self.on_played = on_played
        """Called with each block actually output (float32 mono, rate); must not block."""
        self.on_device_lost = on_device_lost
        self.on_device_restored = on_device_restored
        self.on_error = on_error
        self.retry_s = retry_s
        """Seconds between attempts to reopen a lost device."""
        self.paced = paced
        """WAV sink only: write in real time with silence between utterances."""
        self.wav_path: Path | None = None
        self._target: str | int | None = None
        if isinstance(output, Path) or (
            isinstance(output, str) and output.lower().endswith(".wav")
        ):
            self.wav_path = Path(output)
        else:
            self._target = output
        self._queue: queue.Queue[_Block] = queue.Queue(maxsize=max(1, queue_blocks))
        self._epoch = 0
        self._paused = False
        self._carry: _Block | None = None
        self._carry_pos = 0
        self._stream: Any = None
        self._stream_lock = threading.RLock()
        self._device_index: int | None = None
        self._wav: wave.Wave_write | None = None
        self._wav_file: BinaryIO | None = None
        """The file under `_wav`, opened by us: `Wave_write.close()` leaves it open."""
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_callback = 0.0
        self._lost = False
        self._callback_error: str | None = None

    # ----- lifetime -----

    def open(self) -> Player:
        """Open the device (AudioDeviceError listing the devices if it is missing) or the file."""
        if self.wav_path is not None:
            path = self.wav_path
            # Folders are never created: a mistyped one would silently receive the file.
            if path.is_dir():
                raise AudioDeviceError(
                    f"cannot write {path}: it is a folder",
                    fix=f"give a file name such as {path / 'out.wav'}",
                )
            if not path.parent.exists():
                raise AudioDeviceError(
                    f"cannot write {path}: the folder {path.parent} does not exist",
                    fix=f"create it first (mkdir -p {path.parent}) or write into an existing one",
                )
            try:
                # Opened here, not by wave.open(name): a Wave_write whose own open fails
                # prints an "Exception ignored ... Wave_write" traceback when collected.
                file = path.open("wb")
            except OSError as error:
                raise AudioDeviceError(f"cannot write {path}: {error.strerror or error}") from error
            self._wav_file = file
            wav = wave.open(file, "wb")  # noqa: SIM115 - both closed in close()
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(self.samplerate)
            self._wav = wav
            writer = self._write_paced if self.paced else self._write_unpaced
            self._thread = threading.Thread(target=writer, name="wav-sink", daemon=True)
        else:
            self._device_index = find_device(self._target, "output")
            self._open_stream()
            self._thread = threading.Thread(target=self._watch, name="audio-watchdog", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._closing.set()
        self.abort()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        with self._stream_lock:
            self._close_stream()
        if self._wav is not None:
            self._wav.close()
            self._wav = None
        if self._wav_file is not None:
            self._wav_file.close()
            self._wav_file = None

    def __enter__(self) -> Player:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def device_name(self) -> str:
        if self.wav_path is not None:
            return str(self.wav_path)
        sd = sounddevice()
        return str(sd.query_devices(self._device_index)["name"])

    @property
    def lost(self) -> bool:
        """The device is gone and being retried."""
        return self._lost

    def output_latency_s(self) -> float:
        """What the device reports between a block leaving the callback and being heard."""
        with self._stream_lock:
            return float(self._stream.latency) if self._stream is not None else 0.0

    # ----- control -----

    @property
    def epoch(self) -> int:
        """Bumped by every `abort()`; pass a value read earlier to `play()` to lose no race."""
        return self._epoch

    def play(
        self, samples: np.ndarray, rate: int, gain: float = 1.0, epoch: int | None = None
    ) -> PlayResult:
        """Queue `samples` (int16 or float mono at `rate` Hz) and wait until all were output.

        `epoch`: the `Player.epoch` the caller saw when it decided to play; an
        `abort()` since then makes this return ABORTED without a sound.
        """
        if self._lost:
            return PlayResult.NO_DEVICE
        epoch = self._epoch if epoch is None else epoch
        pcm = resample(samples, rate, self.samplerate)
        if gain != 1.0:
            pcm = np.clip(pcm * np.float32(gain), -1.0, 1.0)
        if len(pcm) == 0:
            return PlayResult.COMPLETED
        done = threading.Event()
        starts = range(0, len(pcm), self.blocksize)
        for start in starts:
            chunk = pcm[start : start + self.blocksize]
            last = done if start == starts[-1] else None
            block = _Block(np.ascontiguousarray(chunk, dtype=np.float32), epoch, last)
            while True:
                if self._epoch != epoch or self._closing.is_set():
                    return PlayResult.ABORTED
                if self._lost:
                    return PlayResult.NO_DEVICE
                try:
                    self._queue.put(block, timeout=0.05)
                    break
                except queue.Full:
                    continue
        while not done.wait(0.01):
            if self._epoch != epoch or self._closing.is_set():
                return PlayResult.ABORTED
            if self._lost:
                return PlayResult.NO_DEVICE
        return PlayResult.COMPLETED if self._epoch == epoch else PlayResult.ABORTED

    def abort(self) -> None:
        """Silence now and drop everything queued; safe from any thread, never waits on play()."""
        self._epoch += 1
        self._paused = False
        self._drain()
        with self._stream_lock:
            stream = self._stream
            if stream is not None and stream.active:
                # abort() discards the host API's buffers; stop() would play them out
                stream.abort()
                try:
                    stream.start()
                except Exception as error:  # the device went away; the watchdog reopens it
                    self._report_error(f"output stream did not restart: {error}")

    def pause(self) -> None:
        """Hold the current utterance (silence from the next block); `resume()` continues it."""
        self._paused = True

    def resume(self) -> None:
        self._paused = False

    # ----- the audio path -----

    def _drain(self) -> None:
        self._carry = None
        with contextlib.suppress(queue.Empty):
            while True:
                self._queue.get_nowait()

    def _fill(self, out: np.ndarray) -> None:
        """Fill `out` (float32, one channel) from the queue; silence where there is nothing."""
        frames = len(out)
        pos = 0
        epoch = self._epoch
        while pos < frames and not self._paused:
            if self._carry is not None and self._carry.epoch != epoch:
                self._carry = None  # abort() ran while this block was half played
            if self._carry is None:
                try:
                    block = self._queue.get_nowait()
                except queue.Empty:
                    break
                if block.epoch != epoch:
                    continue
                self._carry, self._carry_pos = block, 0
            block = self._carry
            n = min(frames - pos, len(block.samples) - self._carry_pos)
            out[pos : pos + n] = block.samples[self._carry_pos : self._carry_pos + n]
            pos += n
            self._carry_pos += n
            if self._carry_pos >= len(block.samples):
                self._carry = None
                if block.last is not None:
                    block.last.set()
        out[pos:] = 0.0

    def _callback(self, outdata: np.ndarray, frames: int, _time: Any, _status: Any) -> None:
        self._last_callback = time.monotonic()
        channel = outdata[:, 0]
        self._fill(channel)
        if outdata.shape[1] > 1:
            outdata[:, 1:] = channel[:, None]
        self._emit(channel)

    def _emit(self, block: np.ndarray) -> None:
        if self.on_played is None:
            return
        try:
            self.on_played(block.copy(), self.samplerate)
        except Exception as error:  # never raise into PortAudio: it would stop the stream
            self._callback_error = f"on_played hook failed: {error!r}"

    # ----- the device -----

    def _open_stream(self) -> None:
        sd = sounddevice()
        try:
            stream = sd.OutputStream(
                samplerate=self.samplerate,
                blocksize=self.blocksize,
                device=self._device_index,
                channels=1,
                dtype="float32",
                latency="low",
                callback=self._callback,
            )
            stream.start()
        except sd.PortAudioError as error:
            raise AudioDeviceError(
                f"cannot open output device {self._device_index} ({error}); devices found: "
                f"{describe_devices(list_devices('output'))}",
                fix="check the device, or pass --output with another device or FILE.wav",
            ) from error
        with self._stream_lock:
            self._stream = stream
            self._last_callback = time.monotonic()

    def _close_stream(self) -> None:
        stream, self._stream = self._stream, None
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.abort()
            with contextlib.suppress(Exception):
                stream.close()

    def _healthy(self) -> str | None:
        """None when audio flows, else what is wrong."""
        with self._stream_lock:
            stream = self._stream
            if stream is None:
                return "the output stream is closed"
            if not stream.active:
                return "the output stream stopped by itself"
            if time.monotonic() - self._last_callback > _STALL_S:
                return f"no audio callback for {_STALL_S:.0f} s"
        return None

    def _watch(self) -> None:
        next_try = 0.0
        while not self._closing.wait(0.1):
            if self._callback_error is not None:
                message, self._callback_error = self._callback_error, None
                self._report_error(message)
            problem = self._healthy()
            if problem is None:
                continue
            if not self._lost:
                self._lost = True
                self._epoch += 1  # whatever was playing is gone
                self._drain()
                with self._stream_lock:
                    self._close_stream()
                if self.on_device_lost is not None:
                    self.on_device_lost(f"output device lost: {problem}; retrying")
            now = time.monotonic()
            if now < next_try:
                continue
            next_try = now + self.retry_s
            try:
                self._device_index = find_device(self._target, "output")
                self._open_stream()
            except MissingRequirement:
                continue
            self._lost = False
            if self.on_device_restored is not None:
                self.on_device_restored()

    def _report_error(self, message: str) -> None:
        if self.on_error is not None:
            self.on_error(message)

    # ----- the WAV sink -----

    def _write(self, block: np.ndarray) -> None:
        assert self._wav is not None
        self._wav.writeframes(as_int16(block).astype("<i2", copy=False).tobytes())
        self._emit(block)

    def _write_paced(self) -> None:
        period = self.blocksize / self.samplerate
        buffer = np.zeros(self.blocksize, dtype=np.float32)
        deadline = time.monotonic()
        while not self._closing.is_set():
            self._fill(buffer)
            self._write(buffer)
            deadline += period
            delay = deadline - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            elif delay < -0.5:  # fell far behind (suspended?): do not burst to catch up
                deadline = time.monotonic()

    def _write_unpaced(self) -> None:
        while not self._closing.is_set():
            try:
                block = self._queue.get(timeout=0.05)
            except queue.Empty:
                continue
            if block.epoch != self._epoch:
                continue
            self._write(block.samples)
            if block.last is not None:
                block.last.set()
