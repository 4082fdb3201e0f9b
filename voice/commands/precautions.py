"""`backcoach precautions [--speak]`: the article's precautions and the red flags."""

from __future__ import annotations

import argparse
from typing import Any

from voice.coach.routines import load_book


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("precautions", help="print (or speak) the precautions")
    parser.add_argument("--speak", action="store_true", help="also read them aloud")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    lines = load_book().precautions.spoken()
    for line in lines:
        print(line)
    if args.speak:
        from voice.commands.say import speak_lines

        speak_lines(lines)
    return 0
