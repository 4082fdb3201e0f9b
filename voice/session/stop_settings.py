"""Settings of the stop path (`voice.session.stop_path`): its timing, and when a
transcript that is no command still counts as a stop (`StopFusion`, chosen on
speaker-disjoint folds of the human recordings by benchmarks/asr_eval.py)."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["StopFusion", "StopPathSettings"]


@dataclass(frozen=True)
class StopPathSettings:
    """Timing of the stop path (seconds of the caller's clock)."""

    release_s: float = 1.2
    """Seconds a pre-trigger duck waits for the recognizer to confirm a stop."""
    partial_window_s: float = 1.0
    """Seconds of audio a partial result is judged over (partials carry no timing)."""
    max_utterance_s: float = 4.0
    """Seconds of one utterance after which it is cut (ended and its result taken),
    unless a partial came or the stop model fired in the last `cut_quiet_s`.

    Under the coach's own voice the endpointer may never see the end of an
    utterance, and a recognizer reports one stop per utterance at most. Only an
    utterance this long is cut: cutting on a timer alone once fell in the middle
    of a user's "stop" and lost it."""
    cut_quiet_s: float = 1.0
    """Seconds without a partial or a stop-model trigger before a long utterance is cut."""
    confirm_s: float = 1.5
    """Seconds a stop/pain partial waits for its final before it is acted on as heard."""
    deaf_s: float = 10.0
    """Seconds after the recognizer failed during which a stop-model trigger alone is a
    stop: nothing could confirm it, and a stop must never wait for a broken engine."""


@dataclass(frozen=True)
class StopFusion:
    """When a transcript that is no command still counts as a stop (the module doc
    of `voice.session.stop_path`)."""

    model_probability: float = 0.5
    """0..1: the stop model's highest probability over the utterance must reach this."""
    min_similarity: float = 0.4
    """0..1: how much a word (or two) of the transcript must sound like "stop".
    Other words the model fires on ("up", "on", "go") score 0.25 at most; "start",
    "store", "stock", "step" 0.5 to 0.75."""
    max_words: int = 2
    """Longer transcripts are speech about something else, not a clipped "stop"."""
    answer_margin: float = 1.5
    """How far (log-probability) below the reading an answer word the engine also
    saw (`Hypothesis.answers`) may lie and still be taken, while the coach waits
    for that answer: "no" written "now" after "did that hurt?"."""
    answer_similarity: float = 0.5
    """0..1: how much the reading must also sound like that answer word ("now" and
    "no" 0.5, "knows" 0.67; "i'm", "okay", "you", which Whisper writes for
    silence and breath, 0)."""
    pain_reading_words: int = 2
    """Words a pain phrase among the engine's other readings of an utterance needs
    to stop the coach when its first reading is no command, with or without the
    stop model, which does not fire on a pain phrase (espeak-ng "that hurts"
    written "at first", "that hurts" behind it), and outranks a command among
    them. It stops as a stop, so the coach asks whether it hurt: the evidence is a
    second reading (a pain stop when the stop model fired too). One word is not
    enough without the stop model: "off" and "up" have "ouch" among their
    readings (with it, any stop or pain reading stops, over a command too). Stop phrases are
    left to the stop model: "stop on your spine" was a reading of "down on your
    spine". Measured: human-full has no such reading, clean or at 10 dB (10
    clips of each have a one-word one); of 300 snippets of the article read
    aloud by espeak-ng, as talk in the room, 1 more stopped ("no it hurts"
    behind "i'll answer for me"); espeak-ng pain phrases said alone that
    silenced 49 -> 53 of 120 (asr_eval), "that hurts" in 11 voices 11 -> 20
    of 33."""
