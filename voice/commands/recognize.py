"""`backcoach recognize FILE.wav... [--engine] [--model DIR] [--json]`: speech files to intents."""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voice.errors import BadInput
from voice.listen.asr.base import Engine, Hypothesis, Recognizer

__all__ = ["FileResult", "recognize_pcm", "register", "run"]

BLOCK_S = 0.05
"""Seconds of audio per block fed to the recognizer, as a live microphone would."""
TAIL_SILENCE_S = 0.6
"""Seconds of silence appended so the endpointer sees the end of the last word."""


@dataclass(frozen=True)
class FileResult:
    """What one file was heard as."""

    text: str
    """Final recognized text (empty when nothing was accepted)."""
    safety_text: str
    """A stop or pain phrase heard in a partial result, else empty."""
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
        help="speech engine (default: vosk if an English model is installed, else pocketsphinx)",
    )
    parser.add_argument("--model", metavar="DIR", help="vosk model folder")
    parser.add_argument("--json", action="store_true", help="one JSON object per file per line")
    parser.set_defaults(func=run)


def recognize_pcm(recognizer: Recognizer, pcm: bytes) -> FileResult:
    """Feed a whole 16 kHz mono recording in live-sized blocks; collect the results."""
    started = time.perf_counter()
    recognizer.reset()
    block = int(BLOCK_S * 16000) * 2
    pcm = pcm + b"\0" * (int(TAIL_SILENCE_S * 16000) * 2)
    results: list[Hypothesis] = []
    for offset in range(0, len(pcm), block):
        results.extend(recognizer.accept(pcm[offset : offset + block]))
    results.extend(recognizer.finish())
    decode_ms = (time.perf_counter() - started) * 1000.0
    text = " ".join(h.text for h in results if h.final and h.text)
    partial_stop = next((h.text for h in results if not h.final and h.source == "stop-spotter"), "")
    return FileResult(text, partial_stop, decode_ms, tuple(results))


def run(args: argparse.Namespace) -> int:
    from voice.coach.grammar import load_grammar
    from voice.listen.audio_input import wav_to_pcm16k
    from voice.session.build import build_hearing

    grammar = load_grammar()
    # Built as the live session builds it: the recognizer and the one stop model.
    recognizer = build_hearing(Engine(args.engine), args.model, grammar.sentences())
    failed = 0
    for name in args.files:
        try:
            pcm = wav_to_pcm16k(Path(name))
        except BadInput as error:
            failed += 1
            print(f"backcoach: {error}", file=sys.stderr)
            continue
        result = recognize_pcm(recognizer, pcm)
        parse = grammar.parse(result.text) if result.text else None
        safety = None
        if parse is None or parse.intent not in ("Stop", "PainStop"):
            # The live session acts on a stop heard in a partial result at once.
            safety = grammar.spot_safety(result.text) or (
                grammar.spot_safety(result.safety_text) if result.safety_text else None
            )
        chosen = safety or parse
        text = result.text or (result.safety_text if safety else "")
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
    if failed:
        print(f"backcoach: {failed} of {len(args.files)} files could not be read", file=sys.stderr)
        return 2
    return 0
