"""Cue tones made in code: start of a hold, end of a hold, alert.

Each cue is a short sequence of sine notes with raised-cosine fades, so no cue
starts or ends with a click, and the three are told apart by pitch direction
and rhythm (rising pair, falling pair, three fast high beeps), not by loudness.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from voice.coach.actions import CueKind

__all__ = ["CUE_PEAK", "FADE_S", "Note", "cue_notes", "cue_samples"]

FADE_S = 0.008
"""Fade-in and fade-out of every note, seconds."""

CUE_PEAK = 0.5
"""Peak amplitude of a cue, full scale = 1.0 (speech from espeak peaks near 0.5 too)."""


@dataclass(frozen=True)
class Note:
    freq_hz: float
    """Fundamental, hertz; 0 means a rest."""
    duration_s: float
    """Length including its fades, seconds."""


_CUES: dict[CueKind, tuple[Note, ...]] = {
    # rising fourth: "go"
    CueKind.HOLD_START: (Note(660.0, 0.11), Note(0.0, 0.03), Note(880.0, 0.16)),
    # falling fifth: "done, let go"
    CueKind.HOLD_END: (Note(880.0, 0.11), Note(0.0, 0.03), Note(587.0, 0.2)),
    # three short high beeps with a square-ish timbre: attention
    CueKind.ALERT: (
        Note(1320.0, 0.07),
        Note(0.0, 0.05),
        Note(1320.0, 0.07),
        Note(0.0, 0.05),
        Note(1320.0, 0.07),
    ),
}


def cue_notes(kind: CueKind) -> tuple[Note, ...]:
    """The notes of a cue (for documentation and tests)."""
    return _CUES[CueKind(kind)]


def _note(note: Note, rate: int, square_ish: bool) -> np.ndarray:
    n = round(note.duration_s * rate)
    if note.freq_hz <= 0:
        return np.zeros(n, dtype=np.float64)
    t = np.arange(n) / rate
    wave = np.sin(2 * np.pi * note.freq_hz * t)
    if square_ish:  # odd harmonics below Nyquist: brighter, more urgent
        for k in (3, 5):
            if note.freq_hz * k < rate / 2:
                wave += np.sin(2 * np.pi * note.freq_hz * k * t) / k
        wave /= np.max(np.abs(wave))
    fade = min(round(FADE_S * rate), n // 2)
    if fade > 0:
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, fade))
        wave[:fade] *= ramp
        wave[n - fade :] *= ramp[::-1]
    return wave


def cue_samples(kind: CueKind, rate: int) -> np.ndarray:
    """The cue as int16 mono PCM at `rate` hertz."""
    if rate < 8000:
        raise ValueError(f"sample rate {rate} Hz is too low for cue tones; use 8000 Hz or more")
    kind = CueKind(kind)
    square_ish = kind is CueKind.ALERT
    wave = np.concatenate([_note(n, rate, square_ish) for n in _CUES[kind]])
    return np.round(wave * CUE_PEAK * 32767).astype(np.int16)
