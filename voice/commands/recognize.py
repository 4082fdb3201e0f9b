"""`backcoach recognize FILE.wav... [--engine] [--model DIR] [--json]`: speech files to intents."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voice.audio import SAMPLE_RATE
from voice.errors import BadInput
from voice.listen.asr.base import Engine, Hypothesis, Recognizer

__all__ = ["FileResult", "decide", "recognize_pcm", "register", "run"]

BLOCK_S = 0.05
"""Seconds of audio per block fed to the recognizer, as a live microphone would."""
TAIL_SILENCE_S = 0.6
"""Seconds of silence appended so the endpointer sees the end of the last word."""


@dataclass(frozen=True)
class FileResult:
    """What one file was heard as."""

    text: str
    """Final recognized text (empty when nothing was accepted)."""
    decode_ms: float
    """Milliseconds of processing time for the whole file."""
    hypotheses: tuple[Hypothesis, ...]
    """Every partial and final result, in order."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "recognize", help="recognize spoken commands in WAV files (offline)"
    )
    parser.add_argument("files", nargs="+", metavar="FILE.wav", help="WAV files, any rate")
    parser.add_argument(
        "--engine",
        choices=[e.value for e in Engine],
        default=Engine.AUTO.value,
        help="speech engine (default: vosk if an English model is installed, else whisper "
        "if its model is, else pocketsphinx)",
    )
    parser.add_argument("--model", metavar="DIR", help="vosk or Whisper model folder")
    parser.add_argument("--json", action="store_true", help="one JSON object per file per line")
    parser.set_defaults(func=run)


def recognize_pcm(recognizer: Recognizer, pcm: bytes) -> FileResult:
    """Feed a whole 16 kHz mono recording in live-sized blocks; collect the results."""
    started = time.perf_counter()
    recognizer.reset()
    block = int(BLOCK_S * SAMPLE_RATE) * 2
    pcm = pcm + b"\0" * (int(TAIL_SILENCE_S * SAMPLE_RATE) * 2)
    results: list[Hypothesis] = []
    for offset in range(0, len(pcm), block):
        results.extend(recognizer.accept(pcm[offset : offset + block]))
    results.extend(recognizer.finish())
    decode_ms = (time.perf_counter() - started) * 1000.0
    text = " ".join(h.text for h in results if h.final and h.text)
    return FileResult(text, decode_ms, tuple(results))


def decide(
    results: tuple[Hypothesis, ...], grammar: Any, matcher: Any, fusion: Any = None
) -> tuple[str, Any, bool]:
    """(text, parse, silenced) the live session would act on for these results.

    Decided by the session's own `StopPath`; `silenced`: a stop or pain silenced
    the coach on the way (a stop heard in a partial result counts too).
    """
    from voice.session.stop_path import Hear, Silence, StopPath

    path = StopPath(grammar, matcher=matcher, fusion=fusion)
    end = results[-1].end_s if results else 0.0
    decisions = path.results(results, end, end) + path.tick(end + 3600.0)
    silenced = any(isinstance(d, Silence) for d in decisions)
    heard = [d for d in decisions if isinstance(d, Hear)]
    # A stop or pain anywhere in the file is what the session acts on first.
    for hear in heard:
        if hear.parse is not None and hear.parse.intent in ("Stop", "PainStop"):
            return hear.text, hear.parse, silenced
    for hear in reversed(heard):
        if hear.parse is not None:
            return hear.text, hear.parse, silenced
    return (heard[-1].text if heard else ""), None, silenced


def run(args: argparse.Namespace) -> int:
    from voice.coach.grammar import load_grammar
    from voice.listen.audio_input import wav_to_pcm16k
    from voice.session.build import build_hearing, build_matcher

    grammar = load_grammar()
    # Built as the live session builds it: the recognizer, the one stop model, the matcher.
    recognizer = build_hearing(Engine(args.engine), args.model, grammar.sentences())
    matcher = build_matcher(grammar)
    unreadable = failed = 0
    for name in args.files:
        try:
            pcm = wav_to_pcm16k(Path(name))
        except BadInput as error:
            unreadable += 1
            print(f"backcoach: {error}", file=sys.stderr)
            continue
        try:
            result = recognize_pcm(recognizer, pcm)
        except Exception as error:  # one bad file must not end the run: say which, go on
            failed += 1
            print(f"backcoach: {name}: the recognizer failed: {error!r}", file=sys.stderr)
            recognizer.reset()
            continue
        text, chosen, _ = decide(result.hypotheses, grammar, matcher)
        record = {
            "file": name,
            "text": text,
            "intent": chosen.intent if chosen else None,
            "slots": dict(chosen.slots) if chosen else {},
            "engine": recognizer.name,
            "decode_ms": round(result.decode_ms, 1),
        }
        if args.json:
            print(json.dumps(record, ensure_ascii=False), flush=True)
        else:
            intent = record["intent"] or "-"
            print(f"{name}: {text or '(nothing)'}  [{intent}]  {record['decode_ms']} ms")
    if unreadable:
        print(
            f"backcoach: {unreadable} of {len(args.files)} files could not be read", file=sys.stderr
        )
    if failed:
        print(
            f"backcoach: the recognizer failed on {failed} of {len(args.files)} files",
            file=sys.stderr,
        )
    return 2 if unreadable else 1 if failed else 0
