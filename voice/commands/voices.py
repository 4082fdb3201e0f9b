"""`backcoach voices`: the text-to-speech voices installed (ids for `--voice`)."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("voices", help="list the installed text-to-speech voices")
    parser.add_argument("--english", action="store_true", help="only English voices")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from voice.speak.tts import list_voices

    for voice in list_voices():
        languages = ",".join(voice.languages)
        if args.english and not any(lang.startswith("en") for lang in voice.languages):
            continue
        gender = voice.gender or ""
        print(f"{voice.id}\t{voice.name}\t{languages}\t{gender}".rstrip())
    return 0
