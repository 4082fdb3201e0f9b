"""The shipped microWakeWord "stop" model as a pre-trigger for the safety fast path.

Measured on the shared human set it hears every "stop", but also fires on many
other short words (no, go, down), so a trigger means "duck the speech and let the
recognizer confirm", never "stop" on its own.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from voice import paths
from voice.errors import MissingRequirement
from voice.listen.asr.base import BYTES_PER_SAMPLE, SAMPLE_RATE

__all__ = ["StopDetector", "StopScore", "StopThreshold", "StopTrigger"]

_FEATURE_STEP_S = 0.010
"""Seconds of audio per microWakeWord feature window (its `feature_step_size`)."""


@dataclass(frozen=True)
class StopTrigger:
    """The stop model's probability crossed the threshold."""

    time_s: float
    """Seconds of audio time (since the last reset) when it crossed."""
    probability: float
    """0..1, the model's smoothed probability at that moment."""


@dataclass(frozen=True)
class StopScore:
    """The stop model's smoothed probability after one feature step."""

    time_s: float
    """Seconds of audio time of the step (since the detector's last reset)."""
    probability: float
    """0..1."""


class StopThreshold:
    """Turns a stream of scores into triggers: a crossing, then a refractory pause.

    Several users can share one model and still count at their own threshold
    (the live pre-trigger at 0.3, pocketsphinx's stop confirmation at 0.5).
    """

    def __init__(self, threshold: float, refractory_s: float = 1.0) -> None:
        self.threshold = threshold
        """0..1 probability that counts as a trigger."""
        self.refractory_s = refractory_s
        """Seconds after a trigger in which another is suppressed (one word, one trigger)."""
        self._last_trigger_s = -1e9

    def crossings(self, scores: list[StopScore]) -> list[StopTrigger]:
        triggers: list[StopTrigger] = []
        for score in scores:
            if (
                score.probability > self.threshold
                and score.time_s - self._last_trigger_s >= self.refractory_s
            ):
                self._last_trigger_s = score.time_s
                triggers.append(StopTrigger(time_s=score.time_s, probability=score.probability))
        return triggers

    def reset(self) -> None:
        self._last_trigger_s = -1e9


class StopDetector:
    """Streaming microWakeWord stop detector over 16 kHz mono int16 audio."""

    def __init__(
        self,
        config: Path | None = None,
        threshold: float = 0.5,
        refractory_s: float = 1.0,
    ) -> None:
        """Load the model.

        `threshold` is the probability (0..1) that counts as a trigger; the
        model's own cutoff is 0.5. `refractory_s` is how long (seconds) after a
        trigger another one is suppressed, so one word gives one trigger.
        """
        if importlib.util.find_spec("pymicro_wakeword") is None:
            raise MissingRequirement(
                "the stop detector needs pymicro-wakeword",
                fix="pip install pymicro-wakeword",
            )
        from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures

        self._config = config or paths.stop_model_config()
        self._model = MicroWakeWord.from_config(self._config)
        self._features_type = MicroWakeWordFeatures
        self._features = MicroWakeWordFeatures()
        self.threshold = threshold
        self.refractory_s = refractory_s
        self._triggers = StopThreshold(threshold, refractory_s)
        self._samples = 0
        self._steps = 0
        self.last_probability = 0.0
        """0..1, the most recent smoothed probability (for meters and benchmarks)."""

    @property
    def time_s(self) -> float:
        """Seconds of audio fed since the last reset."""
        return self._samples / SAMPLE_RATE

    def scores(self, pcm: bytes) -> list[StopScore]:
        """Feed audio; returns the model's probability at each feature step it completed.

        Run the model once per block and hand the scores to every user
        (`StopThreshold.crossings`).
        """
        self._samples += len(pcm) // BYTES_PER_SAMPLE
        scores: list[StopScore] = []
        for features in self._features.process_streaming(pcm):
            self._steps += 1
            probability = self._model.process_streaming_prob(features)
            if probability is None:
                continue
            self.last_probability = probability
            scores.append(StopScore(self._steps * _FEATURE_STEP_S, probability))
        return scores

    def accept(self, pcm: bytes) -> list[StopTrigger]:
        """Feed audio; returns the triggers at `threshold` it caused (usually none)."""
        return self._triggers.crossings(self.scores(pcm))

    def reset(self) -> None:
        """Forget past audio and restart audio time at zero."""
        self._model.reset()
        self._features = self._features_type()
        self._samples = 0
        self._steps = 0
        self._triggers.reset()
        self.last_probability = 0.0
