"""Audio basics shared by listening and speaking: the rate, PCM conversions, devices."""

from __future__ import annotations

from typing import Any

import numpy as np

from voice.errors import AudioDeviceError

__all__ = ["SAMPLE_RATE", "as_int16", "device_lost_errors"]

SAMPLE_RATE = 16000
"""Hertz: the rate of every audio source and the only rate recognizers accept."""


def as_int16(block: Any) -> np.ndarray:
    """A block of audio (int16 bytes, or float samples in [-1, 1]) as mono int16 samples."""
    if isinstance(block, (bytes, bytearray, memoryview)):
        return np.frombuffer(bytes(block), dtype=np.int16)
    pcm = np.asarray(block)
    if pcm.dtype != np.int16:
        pcm = np.clip(pcm * 32768.0, -32768, 32767).astype(np.int16)
    return pcm.reshape(-1)


def device_lost_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean an audio device went away (ours and PortAudio's)."""
    errors: list[type[BaseException]] = [AudioDeviceError]  # InputLost is one
    try:
        import sounddevice

        errors.append(sounddevice.PortAudioError)
    except (ImportError, OSError):
        pass
    return tuple(errors)
