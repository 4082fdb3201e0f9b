"""Self-echo gate: the coach must not take its own voice for a command.

The coach knows exactly what it is playing: the text of each line (`speaking`)
and the PCM blocks handed to the speaker (`played`). The microphone hears that
voice back, delayed and scaled, plus whatever the user says. A recognized phrase
is judged *echo* when

1. the coach was audible at the microphone around the phrase: its reference
   signal, delayed by the measured echo path and scaled by the measured echo
   gain, predicts a level above the noise floor; and
2. the microphone showed no double talk: in fewer than `min_user_frames`
   20 ms frames of the phrase was the mic level above the predicted echo by the
   margin. The margin is `margin_db` when every word of the phrase occurs in
   the lines the coach is speaking (a "stop" heard while the coach reads "stop
   at once if ..."), and the smaller `margin_other_db` otherwise: a
   grammar-restricted decoder turns the coach's own speech into *any* command
   ("now" heard as "ow"), so a word the coach is not saying is weaker evidence
   of the user, not proof.

Everything else passes, so the user's "stop" over a reading still stops: it
adds energy that the echo path does not predict. With no echo at the
microphone (headphones, a quiet speaker, a far mic) nothing is gated at all;
until the echo path has been measured (about half a second of the coach's
speech) nothing is gated either: missing the user's stop is worse than a rare
false command in the first words of a session.

The gate is plain Python and numpy with times passed in (seconds on one
monotonic clock): no threads, no devices, no clock reads. The live session
feeds it from the speaker's `on_played` hook and the capture thread, under one
lock (`EchoGate` itself is not thread-safe).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from voice.text import normalize

__all__ = ["EchoGate", "EchoSettings", "Verdict", "content_words", "words_in_text"]

_FILLER = frozenset({"a", "an", "the", "it", "that", "this", "oh", "please", "and", "um", "uh"})


@dataclass(frozen=True)
class EchoSettings:
    frame_s: float = 0.02
    """Seconds per envelope frame (one playback block)."""
    max_delay_s: float = 0.6
    """Longest echo path searched (output plus input latency), seconds."""
    history_s: float = 12.0
    """Seconds of envelope kept for delay and coupling estimates."""
    tail_s: float = 0.8
    """Seconds after the last played sample during which the room may still echo."""
    margin_db: float = 6.0
    """Mic level above the predicted echo that counts as the user speaking, decibels,
    for a phrase made of words the coach is saying."""
    margin_other_db: float = 4.5
    """The same for a phrase with a word the coach is not saying, decibels."""
    min_user_frames: int = 4
    """Frames of double talk within a phrase that prove a user spoke (4 = 80 ms)."""
    delay_slack_frames: int = 2
    """Frames either side of the measured echo delay searched for the echo's peak
    (PulseAudio's adaptive resampling lets the delay drift by tens of ms)."""
    noise_floor: float = 0.002
    """Mic RMS (full scale 1.0) below which nothing is heard."""
    default_coupling: float = 1.0
    """Echo gain assumed before one has been measured (conservative: loud echo)."""
    text_memory_s: float = 4.0
    """Seconds a finished line still counts as 'being spoken' for word matching."""


@dataclass(frozen=True)
class Verdict:
    echo: bool
    """True: drop the phrase, it is the coach's own voice."""
    reason: str
    """Why, for the transcript log."""
    user_frames: int = 0
    """Frames with mic level above the predicted echo by the margin."""


def content_words(text: str) -> list[str]:
    """The words of `text` that carry meaning (fillers such as 'it', 'that' removed)."""
    return [w for w in normalize(text).split() if w not in _FILLER]


def words_in_text(phrase: str, texts: list[str]) -> bool:
    """Every content word of `phrase` occurs in one of `texts` (an empty phrase: False)."""
    words = content_words(phrase)
    if not words:
        return False
    vocabulary = {w for t in texts for w in normalize(t).split()}
    return all(w in vocabulary for w in words)


class EchoGate:
    """Holds the recent playback and microphone envelopes and judges phrases."""

    def __init__(self, settings: EchoSettings | None = None) -> None:
        self.settings = settings or EchoSettings()
        frames = int(self.settings.history_s / self.settings.frame_s)
        self._ref: deque[tuple[int, float]] = deque(maxlen=frames)
        """(frame index, RMS) of what the speaker played."""
        self._mic: deque[tuple[int, float]] = deque(maxlen=frames)
        """(frame index, RMS) of what the microphone heard."""
        self._lines: deque[tuple[float, str]] = deque(maxlen=8)
        """(time the line was last known to be playing, text)."""
        self._current: str | None = None
        self._last_played_t = -math.inf
        self.delay_frames = 0
        """Measured echo path, frames (0 until measured)."""
        self.coupling = self.settings.default_coupling
        """Measured mic RMS per unit of reference RMS (echo gain)."""
        self._measured = False

    # ----- inputs -----

    def speaking(self, text: str | None, now: float) -> None:
        """The line being played now (None between lines)."""
        if self._current is not None and text != self._current:
            self._lines.append((now, self._current))
        self._current = text
        if text is not None:
            self._lines.append((now, text))

    def played(self, pcm: np.ndarray, rate: int, now: float) -> None:
        """A block handed to the speaker at `now` (int16 or float samples, mono)."""
        rms = _rms(pcm)
        duration = len(pcm) / rate if rate else 0.0
        self._add(self._ref, now - duration, duration, rms)
        if rms > self.settings.noise_floor:
            self._last_played_t = now

    def heard(self, pcm: np.ndarray, rate: int, now: float) -> None:
        """A microphone block that ended at `now`."""
        duration = len(pcm) / rate if rate else 0.0
        self._add(self._mic, now - duration, duration, _rms(pcm))

    # ----- decisions -----

    def coach_audible(self, start: float, end: float) -> bool:
        """Could the coach's voice have reached the mic between `start` and `end`?"""
        if self._last_played_t + self.settings.tail_s < start or not self._measured:
            return False
        # False when the mic does not hear the speaker (headphones, muted, far away).
        return self.coupling * self._peak_ref() >= self.settings.noise_floor

    def judge(
        self, phrase: str, start: float, end: float, texts: list[str] | None = None, *, safety: bool
    ) -> Verdict:
        """Is `phrase`, heard between `start` and `end` (seconds), the coach's own voice?

        `texts` are the lines being spoken (default: those given to `speaking`);
        `safety` is kept for the log: stop and pain phrases are judged like the rest.
        """
        self.measure()
        if not self.coach_audible(start, end):
            return Verdict(False, "coach silent")
        spoken = texts if texts is not None else self.recent_texts(end)
        in_text = words_in_text(phrase, spoken)
        margin = self.settings.margin_db if in_text else self.settings.margin_other_db
        user = self.user_frames(start, end, margin)
        if user >= self.settings.min_user_frames:
            return Verdict(False, "double talk", user)
        what = "coach's words" if in_text else "coach's voice"
        kind = "safety phrase" if safety else "phrase"
        return Verdict(True, f"{kind} is an echo of the {what}", user)

    def recent_texts(self, now: float) -> list[str]:
        texts = [t for at, t in self._lines if now - at <= self.settings.text_memory_s]
        if self._current is not None:
            texts.append(self._current)
        return texts

    def user_frames(self, start: float, end: float, margin_db: float | None = None) -> int:
        """Frames in [start, end] where the mic exceeds the predicted echo by the margin."""
        f = self.settings.frame_s
        first, last = math.floor(start / f), math.ceil(end / f)
        ref = dict(self._ref)
        margin = self.settings.margin_db if margin_db is None else margin_db
        factor = 10 ** (margin / 20)
        count = 0
        for index, level in self._mic:
            if index < first or index > last or level < self.settings.noise_floor:
                continue
            echo = self.expected_echo(index, ref)
            if level > factor * echo + self.settings.noise_floor:
                count += 1
        return count

    def expected_echo(self, index: int, ref: dict[int, float] | None = None) -> float:
        """Mic RMS the coach alone would cause in frame `index`."""
        ref = ref if ref is not None else dict(self._ref)
        centre = index - self.delay_frames
        if self._measured:
            slack = self.settings.delay_slack_frames
            window = range(centre - slack, centre + slack + 1)
        else:  # delay unknown: the loudest frame the echo path could bring
            span = int(self.settings.max_delay_s / self.settings.frame_s)
            window = range(index - span, index + 1)
        peak = max((ref.get(i, 0.0) for i in window), default=0.0)
        return self.coupling * peak

    def measure(self) -> None:
        """Estimate the echo delay and gain from the envelopes (needs some played speech)."""
        ref = dict(self._ref)
        mic = dict(self._mic)
        if len(ref) < 20 or len(mic) < 20:
            return
        lo = max(min(ref), min(mic))
        hi = min(max(ref), max(mic))
        if hi - lo < 25:
            return
        r = np.array([ref.get(i, 0.0) for i in range(lo, hi + 1)], dtype=np.float64)
        m = np.array([mic.get(i, 0.0) for i in range(lo, hi + 1)], dtype=np.float64)
        active = r > self.settings.noise_floor
        if active.sum() < 15:
            return
        max_lag = int(self.settings.max_delay_s / self.settings.frame_s)
        best_lag, best_score = 0, -math.inf
        rc = r - r.mean()
        for lag in range(0, min(max_lag, len(r) // 2) + 1):
            a = rc[: len(rc) - lag]
            b = m[lag:] - m[lag:].mean()
            denom = math.sqrt(float((a * a).sum() * (b * b).sum())) or 1.0
            score = float((a * b).sum()) / denom
            if score > best_score:
                best_lag, best_score = lag, score
        shifted_ref = r[: len(r) - best_lag]
        shifted_mic = m[best_lag:]
        on = shifted_ref > max(self.settings.noise_floor, 0.1 * float(shifted_ref.max()))
        if on.sum() < 10:
            return
        ratios = shifted_mic[on] / shifted_ref[on]
        coupling = float(np.median(ratios))
        if best_score < 0.3:
            # No clear echo path: either no echo at all or too little played so far.
            if coupling * float(shifted_ref.max()) < self.settings.noise_floor:
                self.coupling, self._measured = coupling, True
            return
        self.delay_frames, self.coupling, self._measured = best_lag, coupling, True

    # ----- plumbing -----

    def _peak_ref(self) -> float:
        return max((level for _, level in self._ref), default=0.0)

    def _add(
        self, series: deque[tuple[int, float]], start: float, duration: float, rms: float
    ) -> None:
        f = self.settings.frame_s
        first = round(start / f)
        count = max(1, round(duration / f))
        for i in range(first, first + count):
            if series and series[-1][0] == i:
                series[-1] = (i, max(series[-1][1], rms))
            else:
                series.append((i, rms))


def _rms(pcm: np.ndarray) -> float:
    if pcm.size == 0:
        return 0.0
    data = pcm.astype(np.float64)
    if pcm.dtype == np.int16:
        data /= 32768.0
    return float(np.sqrt(np.mean(data * data)))
