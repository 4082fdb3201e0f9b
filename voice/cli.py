"""`backcoach` command line: parses arguments, turns errors into messages and exit codes.

Each subcommand lives in `voice.commands.<name>` with `register(subparsers)` and
`run(args) -> int`; heavy libraries are imported inside `run`, so `--help` and
the typed session start fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from voice import __version__
from voice.errors import BackCoachError

__all__ = ["COMMAND_MODULES", "build_parser", "main"]

COMMAND_MODULES: tuple[str, ...] = (
    "voice.commands.session",
    "voice.commands.routines",
    "voice.commands.precautions",
    "voice.commands.history",
    "voice.commands.profile",
    "voice.commands.doctor",
    "voice.commands.say",
    "voice.commands.voices",
    "voice.commands.recognize",
    "voice.commands.model",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="backcoach",
        description="Offline, hands-free voice coach for back-release routines.",
    )
    parser.add_argument("--version", action="version", version=f"backcoach {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module_name in COMMAND_MODULES:
        importlib.import_module(module_name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except BackCoachError as error:
        print(f"backcoach: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("\nbackcoach: interrupted", file=sys.stderr)
        return 130
