"""The one small interface every speech recognizer implements, and its results.

Audio in: 16 kHz mono signed 16-bit little-endian PCM, in blocks of any size.
Results out: partial hypotheses while an utterance is going on (the safety fast
path acts on these) and one final hypothesis when it ends. Timestamps are audio
time, counted from the first sample fed after the last `reset()`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Protocol, runtime_checkable

from voice.audio import SAMPLE_RATE  # the one definition; re-exported here

__all__ = [
    "BYTES_PER_SAMPLE",
    "SAMPLE_RATE",
    "Engine",
    "Hypothesis",
    "Recognizer",
    "Word",
    "normalize_phrases",
]

BYTES_PER_SAMPLE = 2
"""Signed 16-bit samples."""


class Engine(str, Enum):
    """Speech recognition engine, as chosen on the command line."""

    AUTO = "auto"
    VOSK = "vosk"
    WHISPER = "whisper"
    POCKETSPHINX = "pocketsphinx"


@dataclass(frozen=True)
class Word:
    """One recognized word."""

    word: str
    """Lowercase word as spelled in the phrase list."""
    start_s: float
    """Seconds of audio time where the word starts."""
    end_s: float
    """Seconds of audio time where the word ends."""
    confidence: float
    """0..1; engines without a calibrated score report 1.0 for accepted words."""


@dataclass(frozen=True)
class Hypothesis:
    """A partial or final recognition result."""

    text: str
    """Recognized phrase (lowercase words, single spaces); empty when rejected."""
    final: bool
    """True once the utterance has ended; partial results may still change."""
    start_s: float
    """Seconds of audio time where the utterance (or first word) starts."""
    end_s: float
    """Seconds of audio time of the last audio this result covers."""
    words: tuple[Word, ...] = ()
    """Per-word timing and confidence, when the engine reports it."""
    confidence: float = 1.0
    """0..1, the lowest word confidence (1.0 when unknown)."""
    rejected: str = ""
    """When `text` is empty: what the engine heard and why it was dropped
    (e.g. "[unk]", "low confidence 0.41: stop"); for logs and benchmarks."""
    source: str = field(default="", compare=False)
    """Which part of the engine produced it (e.g. "grammar", "stop-spotter")."""
    stop_probability: float | None = None
    """0..1, the stop model's highest probability over the utterance's audio, for the
    stop fusion; None when the engine was not given the stop model's scores."""
    dropped_text: str = ""
    """With `rejected`: the text the engine dropped. For the stop fusion only: a
    dropped "stop" while the stop model fired is still a stop."""
    cut: bool = False
    """The engine ended the utterance at its length limit, not at a pause: only a stop
    or pain counts from it (over seconds of the coach's own voice, whole commands
    turn up)."""
    decode_s: float = field(default=0.0, compare=False)
    """Seconds of processing after the utterance's audio was complete (Whisper
    transcribes whole utterances); 0.0 for streaming engines."""
    alternatives: tuple[str, ...] = ()
    """Other readings of the same audio, most likely first (Whisper's beam, when its
    first reading is no phrase): the grammar match tries them when `text` matches
    nothing."""
    answers: tuple[tuple[str, float], ...] = ()
    """Answer words ("no", "seven") the audio may also be, with how far their
    log-probability lies below the reading's (<= 0), nearest first. Whisper's,
    for a one-word reading: "no" is often written "now". The session takes one
    only while the coach waits for that answer (`voice.session.stop_path`)."""


@runtime_checkable
class Recognizer(Protocol):
    """Streaming, phrase-restricted speech recognizer."""

    @property
    def name(self) -> str:
        """Engine name for logs and the `recognize --json` output."""
        ...

    @property
    def utterance_s(self) -> float:
        """Seconds of audio in the utterance in progress (0.0 between utterances)."""
        ...

    def accept(self, pcm: bytes) -> list[Hypothesis]:
        """Feed 16 kHz mono int16 audio; returns the results it completed (often none)."""
        ...

    def finish(self) -> list[Hypothesis]:
        """End of input: flush the utterance in progress as a final result."""
        ...

    def reset(self) -> None:
        """Forget the utterance in progress and restart audio time at zero."""
        ...

    def set_phrases(self, phrases: list[str]) -> None:
        """Restrict recognition to these phrases (the caller keeps safety phrases in)."""
        ...


def normalize_phrases(phrases: list[str]) -> list[str]:
    """Lowercase, single-spaced, de-duplicated phrases in their first order."""
    seen: dict[str, None] = {}
    for phrase in phrases:
        words = phrase.lower().split()
        if words:
            seen.setdefault(" ".join(words), None)
    if not seen:
        raise ValueError("the phrase list is empty: give at least one phrase to recognize")
    return list(seen)
