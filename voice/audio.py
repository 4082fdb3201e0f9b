"""Audio basics shared by listening and speaking: the rate, PCM conversions, the one
resampler (python-soxr), the sounddevice import and device lookup, device-lost errors."""

from __future__ import annotations

import contextlib
from typing import Any, Literal

import numpy as np
import soxr

from voice.errors import AudioDeviceError, MissingRequirement

__all__ = [
    "PULSE_LATENCY_MS",
    "SAMPLE_RATE",
    "Resampler",
    "as_float",
    "as_int16",
    "describe_devices",
    "device_lost_errors",
    "find_device",
    "list_devices",
    "resample",
    "sounddevice",
]

SAMPLE_RATE = 16000
"""Hertz: the rate of every audio source and the only rate recognizers accept."""

PULSE_LATENCY_MS = 40
"""PulseAudio buffer per stream, milliseconds (set through PULSE_LATENCY_MSEC before
PortAudio initialises). With 2 busy processes on 2 cores (benchmarks/stop_latency.py
--load 2, pocketsphinx, 10 tries each): 20 ms gave 16 ALSA playback underruns in 7.4 min
and stop p95 206 ms, 40 ms gave 3 in 8.2 min and stop p95 200 ms. A stop does not wait
for the buffer: `abort()` drops it."""

RESAMPLE_QUALITY = "HQ"
"""soxr's quality preset: high quality, linear phase; plenty for speech and cue tones."""

Direction = Literal["input", "output"]


# ----- PCM conversions -----


def as_int16(block: Any) -> np.ndarray:
    """A block of audio (int16 bytes, int16 samples, or float samples in [-1, 1]) as mono
    int16 samples; floats are scaled by 32768, rounded and clipped (the inverse of
    `as_float`)."""
    if isinstance(block, (bytes, bytearray, memoryview)):
        return np.frombuffer(bytes(block), dtype="<i2").astype(np.int16, copy=False)
    pcm = np.asarray(block)
    if pcm.dtype != np.int16:
        pcm = np.clip(np.round(pcm * 32768.0), -32768, 32767).astype(np.int16)
    return pcm.reshape(-1)


def as_float(block: Any) -> np.ndarray:
    """A block of audio (int16 bytes, int16 samples, or float samples) as mono float32
    samples in [-1, 1]; int16 is divided by 32768."""
    if isinstance(block, (bytes, bytearray, memoryview)):
        block = np.frombuffer(bytes(block), dtype="<i2")
    pcm = np.asarray(block)
    if pcm.dtype == np.int16:
        return (pcm.astype(np.float32) / 32768.0).reshape(-1)
    return pcm.astype(np.float32, copy=False).reshape(-1)


# ----- the resampler -----


def resample(samples: np.ndarray, rate: int, target: int) -> np.ndarray:
    """A whole signal (mono) from `rate` to `target` hertz as float32 (soxr, one call)."""
    pcm = as_float(samples)
    if rate == target or len(pcm) == 0:
        return pcm
    return np.asarray(soxr.resample(pcm, rate, target, quality=RESAMPLE_QUALITY), np.float32)


class Resampler:
    """Streaming resampler for mono float32 audio (soxr's `ResampleStream`).

    Keeps its filter state between blocks, so block edges leave no clicks and
    the blocks resampled one by one give the same as `resample()` on the whole.
    """

    def __init__(self, rate_in: int, rate_out: int = SAMPLE_RATE) -> None:
        if rate_in <= 0 or rate_out <= 0:
            raise ValueError(f"sample rates must be positive, got {rate_in} -> {rate_out}")
        self.rate_in = rate_in
        self.rate_out = rate_out
        self._stream: Any = None
        if rate_in != rate_out:
            self._stream = soxr.ResampleStream(
                rate_in, rate_out, 1, dtype="float32", quality=RESAMPLE_QUALITY
            )

    def process(self, samples: Any) -> np.ndarray:
        """Resample a block (int16 bytes or samples, or float samples); returns the
        output samples it completes."""
        pcm = as_float(samples)
        if self._stream is None:
            return pcm
        return np.asarray(self._stream.resample_chunk(pcm), np.float32)

    def flush(self) -> np.ndarray:
        """The output samples still due at the end of the input."""
        if self._stream is None:
            return np.zeros(0, dtype=np.float32)
        return np.asarray(
            self._stream.resample_chunk(np.zeros(0, np.float32), last=True), np.float32
        )


# ----- devices -----


def sounddevice() -> Any:
    """The sounddevice module, imported on first use (PortAudio is loaded then)."""
    try:
        import sounddevice as sd
    except OSError as error:  # the module imports, but libportaudio is missing
        raise MissingRequirement(
            f"audio needs the PortAudio library ({error})",
            fix="apt-get install libportaudio2  (macOS: brew install portaudio)",
        ) from error
    except ImportError as error:
        raise MissingRequirement(
            "audio needs sounddevice", fix="pip install sounddevice"
        ) from error
    return sd


def list_devices(direction: Direction) -> list[tuple[int, str]]:
    """(index, name) of every device with input (or output) channels."""
    key = f"max_{direction}_channels"
    return [
        (i, str(d["name"])) for i, d in enumerate(sounddevice().query_devices()) if int(d[key]) > 0
    ]


def describe_devices(devices: list[tuple[int, str]]) -> str:
    """'0: name, 1: name' for error messages ('none' when there are none)."""
    return ", ".join(f"{i}: {name}" for i, name in devices) or "none"


def find_device(target: str | int | None, direction: Direction) -> int | None:
    """PortAudio index of the input or output device named (exact, else part of the name,
    case-insensitive) or numbered. None is the system default: left to PortAudio for
    input (None), resolved for output (its default, else the first output).

    Raises AudioDeviceError listing the devices when nothing matches; an output name
    must match one device, an input name takes the first match.
    """
    if target is None and direction == "input":
        return None
    devices = list_devices(direction)
    option = "--input" if direction == "input" else "--output"
    if direction == "input":
        fix = f"pass {option} with one of the names or numbers above"
    else:
        fix = f"pass {option} with one of those numbers or names, or {option} FILE.wav"
    if target is None:
        default = sounddevice().default.device[1]
        if default is None or int(default) < 0:
            if not devices:
                raise AudioDeviceError("no audio output device found; devices found: none", fix=fix)
            return devices[0][0]
        return int(default)
    numbered = isinstance(target, int) or str(target).isdigit()
    if numbered and any(i == int(target) for i, _ in devices):
        return int(target)
    wanted = str(target).lower()
    exact = [i for i, name in devices if name.lower() == wanted]
    partial = [i for i, name in devices if wanted in name.lower()]
    if not numbered and (exact or len(partial) == 1 or (partial and direction == "input")):
        return (exact or partial)[0]
    if direction == "input":
        names = "; ".join(f"{i}: {name}" for i, name in devices) or "none"
        raise AudioDeviceError(f"no input device '{target}' (inputs: {names})", fix=fix)
    if numbered:
        problem = f"no output device number {int(target)}"
    else:
        problem = f"'{target}' {'matches several' if partial else 'matches no'} output device"
    raise AudioDeviceError(f"{problem}; devices found: {describe_devices(devices)}", fix=fix)


def device_lost_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean an audio device went away (ours and PortAudio's)."""
    errors: list[type[BaseException]] = [AudioDeviceError]  # InputLost is one
    with contextlib.suppress(MissingRequirement):
        errors.append(sounddevice().PortAudioError)
    return tuple(errors)
