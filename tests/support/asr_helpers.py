"""Shared helpers for the speech tests: real human clips.

`vendored_clips` are the few recordings shipped in tests/data/speech (every
clone has them); `human_clips` is the larger ../shared/speech/human set for the
accuracy tests, which skip and name it when it is not beside the project.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from voice.listen.asr.base import Hypothesis, Recognizer

HUMAN = Path(__file__).resolve().parents[3] / "shared" / "speech" / "human"
VENDORED = Path(__file__).resolve().parents[1] / "data" / "speech"
BLOCK = 1600  # bytes: 50 ms of 16 kHz int16


def human_clips(label: str) -> list[Path]:
    if not (HUMAN / "manifest.csv").is_file():
        pytest.skip(f"human recordings missing: {HUMAN}/manifest.csv")
    with (HUMAN / "manifest.csv").open() as f:
        return [HUMAN / row["path"] for row in csv.DictReader(f) if row["label"] == label]


def vendored_clips(label: str) -> list[Path]:
    """The vendored recordings of `label` (stop, yes, no, go, _unknown_, _silence_)."""
    with (VENDORED / "manifest.csv").open() as f:
        return [VENDORED / row["path"] for row in csv.DictReader(f) if row["label"] == label]


def feed(
    recognizer: Recognizer, pcm: bytes, lead_s: float = 0.3, tail_s: float = 0.6
) -> list[Hypothesis]:
    """Feed like a live microphone: silence, the recording, silence, in 50 ms blocks."""
    recognizer.reset()
    pcm = b"\0" * int(lead_s * 16000) * 2 + pcm + b"\0" * int(tail_s * 16000) * 2
    results: list[Hypothesis] = []
    for offset in range(0, len(pcm), BLOCK):
        results.extend(recognizer.accept(pcm[offset : offset + BLOCK]))
    results.extend(recognizer.finish())
    return results


def heard_stop(results: list[Hypothesis]) -> bool:
    """A stop reached the safety path: a stop word in any partial or final text."""
    return any("stop" in h.text.split() for h in results)
