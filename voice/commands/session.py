"""`backcoach session`: a guided session, spoken or typed."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from voice.errors import BadInput
from voice.listen.asr.base import Engine


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "session", help="run a guided session (spoken, or typed with --text)"
    )
    parser.add_argument(
        "--text", action="store_true", help="type commands on stdin; no audio device needed"
    )
    parser.add_argument(
        "--fast", action="store_true", help="virtual clock: holds and waits elapse at once"
    )
    parser.add_argument("--transcript", type=Path, help="write every event as JSON Lines to FILE")
    parser.add_argument(
        "--engine",
        default="auto",
        choices=[e.value for e in Engine],
        help="speech recognizer (default: vosk if an English model is installed, else "
        "whisper if its model is, else pocketsphinx)",
    )
    parser.add_argument("--model", type=Path, help="vosk or Whisper model folder")
    parser.add_argument("--input", help="microphone name or index, or a WAV file to listen to")
    parser.add_argument("--output", help="speaker name or index, or a WAV file to speak into")
    parser.add_argument("--data-dir", type=Path, help="where the safety memory is kept")
    parser.add_argument("--routine", help="start this routine id right away")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from voice.session.build import SessionOptions, run_session

    options = SessionOptions(
        text=args.text,
        fast=args.fast,
        transcript=args.transcript,
        engine=args.engine,
        model=args.model,
        input=args.input,
        output=args.output,
        data_dir=args.data_dir,
        routine=args.routine,
    )
    if options.fast and not options.text and options.input is None:
        raise BadInput("--fast runs on a virtual clock and needs --text (typed input)")
    return run_session(options, stdin=sys.stdin, stdout=sys.stdout)
