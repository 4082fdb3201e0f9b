"""vosk recognizer: the primary engine, restricted to the phrase list plus "[unk]".

Anything outside the phrases decodes as "[unk]", so room conversation gives no
text; words below the confidence threshold give no text either.
"""

from __future__ import annotations

import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voice.errors import BadInput, MissingRequirement
from voice.listen.asr.base import BYTES_PER_SAMPLE, SAMPLE_RATE, Hypothesis, Word, normalize_phrases

__all__ = [
    "UNKNOWN",
    "VocabularyReport",
    "VoskRecognizer",
    "VoskSettings",
    "check_vocabulary",
    "load_model",
]

UNKNOWN = "[unk]"


@dataclass(frozen=True)
class VoskSettings:
    """Tuning of the vosk recognizer."""

    min_confidence: float = 0.6
    """0..1: a final result with any word below this gives no text."""
    max_missing_fraction: float = 0.5
    """0..1: a model missing more than this share of the phrase words is refused
    (it is the wrong language or a damaged model)."""


@dataclass(frozen=True)
class VocabularyReport:
    """Which phrase words a vosk model knows."""

    words: frozenset[str]
    """Every distinct word of the phrase list."""
    missing: frozenset[str]
    """Words the model's lexicon lacks."""

    @property
    def missing_fraction(self) -> float:
        """0..1 share of the words that are missing."""
        return len(self.missing) / len(self.words) if self.words else 0.0


def _require_vosk() -> None:
    if importlib.util.find_spec("vosk") is None:
        raise MissingRequirement("the vosk engine needs the vosk package", fix="pip install vosk")


def load_model(model_dir: Path) -> Any:
    """A `vosk.Model` from a model folder, with a clear error when it is not one."""
    _require_vosk()
    import vosk

    vosk.SetLogLevel(-1)
    if not (model_dir / "am").is_dir() or not (model_dir / "conf").is_dir():
        raise BadInput(f"{model_dir} is not a vosk model folder (it needs am/ and conf/)")
    try:
        return vosk.Model(str(model_dir))
    except Exception as error:  # vosk raises a bare Exception
        raise BadInput(f"vosk could not load the model in {model_dir}: {error}") from error


def check_vocabulary(model: Any, phrases: list[str]) -> VocabularyReport:
    """Look every phrase word up in the model's lexicon (`vosk_model_find_word`)."""
    words = frozenset(word for phrase in phrases for word in phrase.split())
    find = getattr(model, "find_word", None) or model.vosk_model_find_word
    missing = frozenset(word for word in words if find(word) < 0)
    return VocabularyReport(words=words, missing=missing)


class VoskRecognizer:
    """Streaming, phrase-restricted recognizer on a vosk model."""

    name = "vosk"

    def __init__(
        self, model_dir: Path, phrases: list[str], settings: VoskSettings | None = None
    ) -> None:
        self.model_dir = model_dir
        self.settings = settings or VoskSettings()
        self._model = load_model(model_dir)
        self.vocabulary = VocabularyReport(frozenset(), frozenset())
        """The last phrase list's words checked against the model."""
        self.phrases: list[str] = []
        self.set_phrases(phrases)

    def set_phrases(self, phrases: list[str]) -> None:
        phrases = normalize_phrases(phrases)
        report = check_vocabulary(self._model, phrases)
        if report.missing_fraction > self.settings.max_missing_fraction:
            sample = ", ".join(sorted(report.missing)[:8])
            raise BadInput(
                f"the vosk model in {self.model_dir} lacks {len(report.missing)} of the "
                f"{len(report.words)} words of the commands (e.g. {sample}); it is probably "
                "not an English model. Install one with `backcoach model download` or pass "
                "--model DIR"
            )
        self.vocabulary = report
        # Phrases with an unknown word could never be matched; keep the rest.
        usable = [p for p in phrases if not set(p.split()) & report.missing]
        self.phrases = usable
        self._grammar = json.dumps([*usable, UNKNOWN], ensure_ascii=False)
        self.reset()

    def reset(self) -> None:
        import vosk

        recognizer = vosk.KaldiRecognizer(self._model, float(SAMPLE_RATE), self._grammar)
        recognizer.SetWords(True)
        recognizer.SetPartialWords(True)
        self._recognizer = recognizer
        self._samples = 0
        self._utt_start_s = 0.0
        self._utt_first_s: float | None = None
        self._last_partial = ""

    @property
    def time_s(self) -> float:
        """Seconds of audio fed since the last reset."""
        return self._samples / SAMPLE_RATE

    @property
    def utterance_s(self) -> float:
        return 0.0 if self._utt_first_s is None else self.time_s - self._utt_first_s

    def accept(self, pcm: bytes) -> list[Hypothesis]:
        self._samples += len(pcm) // BYTES_PER_SAMPLE
        if self._recognizer.AcceptWaveform(pcm):
            return self._final(json.loads(self._recognizer.Result()))
        return self._partial(json.loads(self._recognizer.PartialResult()))

    def finish(self) -> list[Hypothesis]:
        return self._final(json.loads(self._recognizer.FinalResult()))

    def _partial(self, result: dict[str, Any]) -> list[Hypothesis]:
        words = _words(result.get("partial_result", []))
        if words and self._utt_first_s is None:
            self._utt_first_s = words[0].start_s  # "[unk]" too: the utterance has begun
        text = " ".join(w.word for w in words if w.word != UNKNOWN)
        if not text or text == self._last_partial:
            return []
        self._last_partial = text
        start = words[0].start_s if words else self._utt_start_s
        return [Hypothesis(text=text, final=False, start_s=start, end_s=self.time_s, words=words)]

    def _final(self, result: dict[str, Any]) -> list[Hypothesis]:
        self._last_partial = ""
        self._utt_first_s = None
        words = _words(result.get("result", []))
        heard = " ".join(w.word for w in words)
        if not words:
            return []
        confidence = min(w.confidence for w in words)
        text, rejected = heard, ""
        if UNKNOWN in heard.split():
            text, rejected = "", heard
        elif confidence < self.settings.min_confidence:
            text, rejected = "", f"low confidence {confidence:.2f}: {heard}"
        return [
            Hypothesis(
                text=text,
                final=True,
                start_s=words[0].start_s,
                end_s=words[-1].end_s,
                words=words,
                confidence=confidence,
                rejected=rejected,
                source="grammar",
            )
        ]


def _words(items: list[dict[str, Any]]) -> tuple[Word, ...]:
    return tuple(
        Word(
            word=str(item["word"]),
            start_s=float(item.get("start", 0.0)),
            end_s=float(item.get("end", 0.0)),
            confidence=float(item.get("conf", 1.0)),
        )
        for item in items
    )
