"""Build the recognizer the user asked for; backends are imported only when chosen."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import TextIO

from voice.errors import MissingRequirement
from voice.listen.asr.base import Engine, Recognizer
from voice.listen.asr.models import DEFAULT_MODEL, find_model

__all__ = ["create_recognizer"]


def create_recognizer(
    engine: Engine | str = Engine.AUTO,
    model_dir: Path | str | None = None,
    phrases: list[str] | None = None,
    notice: TextIO | bool | None = True,
    *,
    shared_stop_model: bool = False,
) -> Recognizer:
    """A recognizer for `phrases`.

    `shared_stop_model`: the caller runs the one stop model and feeds its scores
    (`voice.listen.hearing.Hearing`); engines that use it then run none of their own.

    `auto` picks vosk when an English vosk model is found (`--model`,
    BACKCOACH_VOSK_MODEL, vosk's cache), else pocketsphinx with a one-line
    notice on `notice` (True: stderr as it is at call time; None/False: quiet).
    """
    engine = Engine(engine)
    if not phrases:
        raise ValueError("create_recognizer needs the phrases to recognize")
    if engine is Engine.AUTO:
        model = find_model(model_dir) if importlib.util.find_spec("vosk") else None
        if model is not None:
            return _vosk(model, phrases)
        if notice is True:
            notice = sys.stderr
        if notice:
            print(
                f"backcoach: no English vosk model found ({DEFAULT_MODEL}); using pocketsphinx "
                "(run `backcoach model download` for better recognition)",
                file=notice,
            )
        return _sphinx(phrases, shared_stop_model)
    if engine is Engine.VOSK:
        model = find_model(model_dir)
        if model is None:
            raise MissingRequirement(
                f"no vosk model found (looked for {DEFAULT_MODEL})",
                fix="backcoach model download   (or pass --model DIR)",
            )
        return _vosk(model, phrases)
    return _sphinx(phrases, shared_stop_model)


def _vosk(model: Path, phrases: list[str]) -> Recognizer:
    if importlib.util.find_spec("vosk") is None:
        raise MissingRequirement("the vosk engine needs the vosk package", fix="pip install vosk")
    from voice.listen.asr.vosk_engine import VoskRecognizer

    return VoskRecognizer(model, phrases)


def _sphinx(phrases: list[str], shared_stop_model: bool = False) -> Recognizer:
    if importlib.util.find_spec("pocketsphinx") is None:
        raise MissingRequirement(
            "no speech engine: pocketsphinx is not installed and no vosk model was found",
            fix="pip install pocketsphinx   (or: backcoach model download)",
        )
    from voice.listen.asr.sphinx_engine import SphinxRecognizer

    return SphinxRecognizer(phrases, own_stop_model=not shared_stop_model)
