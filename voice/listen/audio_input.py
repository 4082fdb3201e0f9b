"""Audio input as 16 kHz mono int16 blocks: microphone (sounddevice) or WAV file.

Both sources are context managers and iterate over `bytes` blocks of
`block_s` seconds. Other rates and channel counts are mixed down and resampled
here, so recognizers only ever see 16 kHz mono.
"""

from __future__ import annotations

import queue
import time
import wave
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from voice.audio import (
    SAMPLE_RATE,
    Resampler,
    as_float,
    as_int16,
    find_device,
    resample,
    sounddevice,
)
from voice.errors import AudioDeviceError, BadInput

__all__ = [
    "InputLost",
    "MicrophoneSource",
    "WavSource",
    "read_wav",
    "to_pcm16",
    "wav_to_pcm16k",
]


class InputLost(AudioDeviceError):
    """The input device stopped delivering audio (unplugged, server gone)."""


def to_pcm16(samples: np.ndarray) -> bytes:
    """float32 samples in [-1, 1] as little-endian int16 bytes: `as_int16` as bytes."""
    return as_int16(samples).astype("<i2", copy=False).tobytes()


def read_wav(path: Path | str) -> tuple[np.ndarray, int]:
    """Mono float32 samples in [-1, 1] and the file's rate (hertz).

    Accepts PCM WAV of 8, 16, 24 or 32 bits and any channel count (mixed down).
    """
    path = Path(path)
    try:
        with wave.open(str(path), "rb") as wav:
            rate = wav.getframerate()
            channels = wav.getnchannels()
            width = wav.getsampwidth()
            frames = wav.readframes(wav.getnframes())
    except FileNotFoundError as error:
        raise BadInput(f"{path}: no such file") from error
    except IsADirectoryError as error:
        raise BadInput(f"{path}: is a folder, not a WAV file") from error
    except (wave.Error, EOFError) as error:
        import shlex

        # wave's own messages are terse, and empty for a file shorter than a header
        # (a bare EOFError): look at the first bytes to say what the file is instead.
        try:
            with path.open("rb") as file:
                head = file.read(12)
        except OSError:
            head = b""
        magics = {b"ID3": "an MP3", b"\xff\xfb": "an MP3", b"OggS": "an Ogg", b"fLaC": "a FLAC"}
        looks_like = next((kind for magic, kind in magics.items() if head.startswith(magic)), None)
        if looks_like is None and head and all(32 <= b < 127 or b in b"\t\r\n" for b in head):
            looks_like = "a text"
        if not head:
            reason = "the file is empty (0 bytes)"
        elif not head.startswith(b"RIFF"):
            reason = "the file does not start with a RIFF header"
            if looks_like:
                reason += f" (it looks like {looks_like} file)"
        elif head[8:12] != b"WAVE":
            reason = "the file is RIFF but not WAVE"
        elif isinstance(error, EOFError):
            reason = "the WAV header is cut short"
        elif str(error).startswith("unknown format"):
            reason = f"its samples are not integer PCM ({error})"  # float or extensible WAV
        else:
            reason = str(error) or "the WAV header is damaged"
        convert = (
            f"; if it is audio in another format, convert it with sox: "
            f"sox {shlex.quote(str(path))} -r {SAMPLE_RATE} -c 1 -b 16 out.wav"
        )
        raise BadInput(f"{path}: not a PCM WAV file: {reason}{convert if head else ''}") from error
    except OSError as error:
        raise BadInput(f"{path}: cannot read ({error.strerror or error})") from error
    if rate <= 0 or channels <= 0:
        raise BadInput(f"{path}: WAV header has rate {rate} Hz and {channels} channels")
    data = _decode(frames, width, path)
    usable = len(data) - len(data) % channels
    data = data[:usable].reshape(-1, channels).mean(axis=1)
    return data.astype(np.float32), rate


def _decode(frames: bytes, width: int, path: Path) -> np.ndarray:
    if width == 1:
        return (np.frombuffer(frames, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    if width == 2:
        return as_float(frames)
    if width == 3:
        raw = np.frombuffer(frames[: len(frames) - len(frames) % 3], dtype=np.uint8)
        raw = raw.reshape(-1, 3).astype(np.int32)
        value = raw[:, 0] | (raw[:, 1] << 8) | (raw[:, 2] << 16)
        value = np.where(value >= 1 << 23, value - (1 << 24), value)
        return value.astype(np.float32) / float(1 << 23)
    if width == 4:
        return np.frombuffer(frames, dtype="<i4").astype(np.float32) / float(1 << 31)
    raise BadInput(f"{path}: {8 * width}-bit samples are not supported (use 16-bit PCM)")


def wav_to_pcm16k(path: Path | str) -> bytes:
    """A whole WAV file as 16 kHz mono int16 bytes."""
    samples, rate = read_wav(path)
    return to_pcm16(resample(samples, rate, SAMPLE_RATE))


class WavSource:
    """A WAV file as 16 kHz mono blocks, optionally paced like a live microphone."""

    def __init__(
        self,
        path: Path | str,
        block_s: float = 0.05,
        realtime: bool = False,
        tail_silence_s: float = 0.0,
    ) -> None:
        self.path = Path(path)
        self.block_s = block_s
        """Seconds per block."""
        self.realtime = realtime
        """Sleep so blocks arrive at the pace of real time."""
        self.tail_silence_s = tail_silence_s
        """Seconds of silence appended, so endpointers see the utterance end."""
        self._pcm = wav_to_pcm16k(self.path)

    @property
    def duration_s(self) -> float:
        """Seconds of audio in the file."""
        return len(self._pcm) / 2 / SAMPLE_RATE

    def __enter__(self) -> WavSource:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    def __iter__(self) -> Iterator[bytes]:
        size = int(self.block_s * SAMPLE_RATE) * 2
        pcm = self._pcm + b"\0" * (int(self.tail_silence_s * SAMPLE_RATE) * 2)
        start = time.monotonic()
        for index, offset in enumerate(range(0, len(pcm), size)):
            if self.realtime:
                delay = start + index * self.block_s - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield pcm[offset : offset + size]


class MicrophoneSource:
    """Live microphone as 16 kHz mono blocks.

    Opens the device at 16 kHz when it allows, else at its own rate and
    resamples. Raises `InputLost` from the iterator when the device stops
    delivering audio for `lost_after_s` seconds or the stream dies.
    """

    def __init__(
        self,
        device: str | int | None = None,
        block_s: float = 0.05,
        lost_after_s: float = 2.0,
        queue_s: float = 5.0,
    ) -> None:
        self.device = find_device(device, "input")
        self.block_s = block_s
        """Seconds per block."""
        self.lost_after_s = lost_after_s
        """Seconds without audio after which the device counts as lost."""
        self._queue: queue.Queue[bytes] = queue.Queue(maxsize=max(4, int(queue_s / block_s)))
        self._stream: Any = None
        self._resampler: Resampler | None = None
        self.overflows = 0
        """Blocks dropped because the consumer fell behind or PortAudio overflowed."""
        self.device_rate = SAMPLE_RATE
        """Hertz the device actually runs at."""

    def __enter__(self) -> MicrophoneSource:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:
        sd = sounddevice()
        try:
            self._stream = self._open(sd, SAMPLE_RATE)
        except sd.PortAudioError:
            # The device refuses 16 kHz: run it at its own rate and resample.
            info = sd.query_devices(self.device, "input")
            rate = int(info["default_samplerate"])
            try:
                self._stream = self._open(sd, rate)
            except sd.PortAudioError as error:
                raise AudioDeviceError(
                    f"cannot open the input device ({error})",
                    fix="check `backcoach doctor` and pick a device with --input",
                ) from error
            self._resampler = Resampler(rate)
        self.device_rate = int(self._stream.samplerate)
        self._stream.start()

    def _open(self, sd: Any, rate: int) -> Any:
        return sd.RawInputStream(
            samplerate=rate,
            channels=1,
            dtype="int16",
            device=self.device,
            blocksize=int(rate * self.block_s),
            # The stop path waits for captured audio: ask for the device's shortest buffer.
            latency="low",
            callback=self._callback,
        )

    def _callback(self, indata: Any, frames: int, time_info: Any, status: Any) -> None:
        if status.input_overflow:
            self.overflows += 1
        try:
            self._queue.put_nowait(bytes(indata))
        except queue.Full:
            self.overflows += 1

    def close(self) -> None:
        if self._stream is not None:
            try:
                self._stream.abort()
                self._stream.close()
            except Exception:  # a lost device may fail to close; nothing more to do
                pass
            self._stream = None

    def __iter__(self) -> Iterator[bytes]:
        if self._stream is None:
            raise RuntimeError("MicrophoneSource is not open: use it in a with block")
        while True:
            try:
                block = self._queue.get(timeout=self.lost_after_s)
            except queue.Empty:
                raise InputLost(
                    f"the microphone delivered no audio for {self.lost_after_s:g} s",
                    fix="check that the microphone is plugged in and not muted",
                ) from None
            if self._stream is None:
                return
            if not self._stream.active and self._queue.empty():
                raise InputLost(
                    "the microphone stream stopped",
                    fix="check that the microphone is plugged in",
                )
            if self._resampler is not None:
                block = to_pcm16(self._resampler.process(block))
            yield block
