"""A recognizer and the one stop model over the same audio: the model runs once per block.

The stop model's scores go two ways: counted at the live pre-trigger threshold
(`triggers`, for the stop path's duck) and handed to a recognizer that confirms
its "stop" with them (pocketsphinx), in that recognizer's own audio time.
`Hearing` is itself a `Recognizer`, so `backcoach recognize` decodes through
exactly what the live session listens with.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from voice.listen.asr.base import Hypothesis
from voice.listen.asr.stop_detector import StopDetector, StopThreshold, StopTrigger

__all__ = ["Hearing"]


class Hearing:
    """Feeds each block to the stop model once, then to the recognizer."""

    def __init__(
        self, recognizer: Any, detector: StopDetector | Any | None, pretrigger_threshold: float
    ) -> None:
        self.recognizer = recognizer
        """A `voice.listen.asr.base.Recognizer`."""
        self.detector = detector
        """The one `StopDetector`, or None when it is unavailable."""
        self._pretrigger = StopThreshold(pretrigger_threshold)
        feed = getattr(recognizer, "stop_scores", None)
        self._feed_recognizer = feed if callable(feed) else None
        self._offset_s = 0.0
        """Detector audio time at the recognizer's last reset, seconds."""

    @property
    def name(self) -> str:
        return str(self.recognizer.name)

    @property
    def utterance_s(self) -> float:
        return float(self.recognizer.utterance_s)

    @property
    def cuts_itself(self) -> bool:
        """The recognizer ends over-long utterances itself (the listener need not)."""
        return bool(getattr(self.recognizer, "cuts_itself", False))

    def stop_triggers(self, pcm: bytes) -> list[StopTrigger]:
        """Run the stop model on a block; its pre-trigger crossings (detector audio time).

        Call before `recognize` with the same block.
        """
        if self.detector is None:
            return []
        scores = self.detector.scores(pcm)
        if self._feed_recognizer is not None:
            offset = self._offset_s
            self._feed_recognizer([replace(s, time_s=s.time_s - offset) for s in scores])
        return self._pretrigger.crossings(scores)

    def recognize(self, pcm: bytes) -> list[Hypothesis]:
        return list(self.recognizer.accept(pcm))

    def accept(self, pcm: bytes) -> list[Hypothesis]:
        self.stop_triggers(pcm)
        return self.recognize(pcm)

    def finish(self) -> list[Hypothesis]:
        return list(self.recognizer.finish())

    def reset(self, detector: bool = True) -> None:
        """Restart the recognizer; `detector` restarts the stop model too."""
        self.recognizer.reset()
        if self.detector is not None:
            if detector:
                self.detector.reset()
                self._pretrigger.reset()
            self._offset_s = float(self.detector.time_s)

    def set_phrases(self, phrases: list[str]) -> None:
        self.recognizer.set_phrases(phrases)

    def close(self) -> None:
        """End the recognizer's process, where it has one."""
        close = getattr(self.recognizer, "close", None)
        if callable(close):
            close()
