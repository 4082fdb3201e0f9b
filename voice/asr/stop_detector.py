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
from voice.asr.base import BYTES_PER_SAMPLE, SAMPLE_RATE
from voice.errors import MissingRequirement

__all__ = ["StopDetector", "StopTrigger"]

_FEATURE_STEP_S = 0.010
"""Seconds of audio per microWakeWord feature window (its `feature_step_size`)."""


@dataclass(frozen=True)
class StopTrigger:
    """The stop model's probability crossed the threshold."""

    time_s: float
    """Seconds of audio time (since the last reset) when it crossed."""
    probability: float
    """0..1, the model's smoothed probability at that moment."""


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
        self._samples = 0
        self._steps = 0
        self._last_trigger_s = -1e9
        self.last_probability = 0.0
        """0..1, the most recent smoothed probability (for meters and benchmarks)."""

    @property
    def time_s(self) -> float:
        """Seconds of audio fed since the last reset."""
        return self._samples / SAMPLE_RATE

    def accept(self, pcm: bytes) -> list[StopTrigger]:
        """Feed audio; returns the triggers it caused (usually none)."""
        self._samples += len(pcm) // BYTES_PER_SAMPLE
        triggers: list[StopTrigger] = []
        for features in self._features.process_streaming(pcm):
            self._steps += 1
            probability = self._model.process_streaming_prob(features)
            if probability is None:
                continue
            self.last_probability = probability
            now = self._steps * _FEATURE_STEP_S
            if probability > self.threshold and now - self._last_trigger_s >= self.refractory_s:
                self._last_trigger_s = now
                triggers.append(StopTrigger(time_s=now, probability=probability))
        return triggers

    def reset(self) -> None:
        """Forget past audio and restart audio time at zero."""
        self._model.reset()
        self._features = self._features_type()
        self._samples = 0
        self._steps = 0
        self._last_trigger_s = -1e9
        self.last_probability = 0.0
