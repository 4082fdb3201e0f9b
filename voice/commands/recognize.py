"""`backcoach recognize FILE.wav... [--engine] [--model DIR] [--json]`: speech files to intents.

Every file is reported on its own, and one bad file never stops the others:

- not a readable PCM WAV: a line on stderr, no result;
- no audio (0 frames), or truncated to nothing: with `--json` the file's line has
  an "error" field (and empty text), else a line on stderr;
- truncated (the header promises more frames than the file holds): the frames
  that are there are recognized, and the file's line has a "warning" field
  (`--json`) or a line on stderr says how much of it was there.

Exit status: 2 when any file could not be read, held no audio or was truncated
(input to fix; the other files' results are still printed), else 1 when the
recognizer failed on a file, else 0.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import wave
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from voice.audio import SAMPLE_RATE, resample
from voice.errors import BadInput
from voice.listen.asr.base import Engine, Hypothesis, Recognizer

__all__ = [
    "FileResult",
    "Recording",
    "decide",
    "read_recording",
    "recognize_pcm",
    "register",
    "run",
]

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


@dataclass(frozen=True)
class Recording:
    """One input file as the recognizer gets it, and what is wrong with it."""

    pcm: bytes
    """16 kHz mono int16; empty when the file holds no audio."""
    problem: str = ""
    """What is wrong with the file ("no audio ...", "truncated: ..."); empty when it is whole."""
    truncated: bool = False
    """The header promises more frames than the file holds."""


def read_recording(path: Path) -> Recording:
    """`path` as 16 kHz mono PCM, checked against what its header promises.

    Raises BadInput when it is not a readable PCM WAV file. A truncated file
    keeps the frames it holds: a user expects the audio that is there to be heard.
    """
    from voice.listen.audio_input import read_wav, to_pcm16

    samples, rate = read_wav(path)
    with wave.open(str(path), "rb") as wav:  # read_wav parsed this header already
        promised = wav.getnframes()
    present = len(samples)
    pcm = to_pcm16(resample(samples, rate, SAMPLE_RATE))
    if promised == 0:
        return Recording(b"", "no audio: the WAV file holds 0 frames; nothing to recognize")
    if present >= promised:
        return Recording(pcm)
    if present == 0:
        return Recording(
            b"",
            f"truncated: none of the {promised} frames its header promises "
            f"({promised / rate:.2f} s) are in the file; nothing to recognize",
            truncated=True,
        )
    return Recording(
        pcm,
        f"truncated: only {present} of the {promised} frames its header promises are in "
        f"the file ({present / rate:.2f} of {promised / rate:.2f} s); recognized those",
        truncated=True,
    )


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "recognize",
        help="recognize spoken commands in WAV files (offline)",
        description="Recognize spoken commands in WAV files, offline, as a live session would.",
        epilog='A file that holds no audio gets an "error" in its --json line, a truncated '
        'one a "warning" (what is there is still recognized); without --json they go to '
        "stderr. Exit status: 2 if any file could not be read, held no audio or was "
        "truncated; else 1 if the recognizer failed on a file; else 0.",
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
    results: tuple[Hypothesis, ...],
    grammar: Any,
    matcher: Any,
    fusion: Any = None,
    asked: frozenset[str] = frozenset(),
) -> tuple[str, Any, bool]:
    """(text, parse, silenced) the live session would act on for these results.

    Decided by the session's own `StopPath`; `silenced`: a stop or pain silenced
    the coach on the way (a stop heard in a partial result counts too); `asked`:
    the answers the coach would be waiting for (none: it waits for nothing).
    """
    from voice.session.stop_path import Hear, Silence, StopPath

    path = StopPath(grammar, matcher=matcher, fusion=fusion, asked=lambda: asked)
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
    from voice.session.build import build_hearing, build_matcher

    grammar = load_grammar()
    # Built as the live session builds it: the recognizer, the one stop model, the matcher.
    recognizer = build_hearing(Engine(args.engine), args.model, grammar.sentences())
    matcher = build_matcher(grammar)
    unreadable = no_audio = truncated = failed = 0
    for name in args.files:
        try:
            recording = read_recording(Path(name))
        except BadInput as error:
            unreadable += 1
            print(f"backcoach: {error}", file=sys.stderr)
            continue
        if recording.truncated:
            truncated += 1
        elif recording.problem:
            no_audio += 1
        if recording.problem and not args.json:
            print(f"backcoach: {name}: {recording.problem}", file=sys.stderr)
        if not recording.pcm:  # nothing to hear: the file's line says why, text stays empty
            if args.json:
                record = {
                    **_record(name, "", None, recognizer.name, 0.0),
                    "error": recording.problem,
                }
                print(json.dumps(record, ensure_ascii=False), flush=True)
            continue
        try:
            result = recognize_pcm(recognizer, recording.pcm)
        except Exception as error:  # one bad file must not end the run: say which, go on
            failed += 1
            print(f"backcoach: {name}: the recognizer failed: {error!r}", file=sys.stderr)
            recognizer.reset()
            continue
        text, chosen, _ = decide(result.hypotheses, grammar, matcher)
        record = _record(name, text, chosen, recognizer.name, result.decode_ms)
        if recording.problem:
            record["warning"] = recording.problem
        if args.json:
            print(json.dumps(record, ensure_ascii=False), flush=True)
        else:
            intent = record["intent"] or "-"
            print(f"{name}: {text or '(nothing)'}  [{intent}]  {record['decode_ms']} ms")
    total = len(args.files)
    for count, what in (
        (unreadable, "could not be read"),
        (no_audio, "held no audio"),
        (truncated, "were truncated"),
    ):
        if count:
            print(f"backcoach: {count} of {total} files {what}", file=sys.stderr)
    if failed:
        print(f"backcoach: the recognizer failed on {failed} of {total} files", file=sys.stderr)
    return 2 if unreadable or no_audio or truncated else 1 if failed else 0


def _record(name: str, text: str, chosen: Any, engine: str, decode_ms: float) -> dict[str, Any]:
    """A file's result as its --json line holds it (the JSON Lines contract)."""
    return {
        "file": name,
        "text": text,
        "intent": chosen.intent if chosen else None,
        "slots": dict(chosen.slots) if chosen else {},
        "engine": engine,
        "decode_ms": round(decode_ms, 1),
    }
