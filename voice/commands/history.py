"""`backcoach history`: what was done, stopped and felt, as a table, JSON, CSV or a plot."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from voice.errors import BadInput

__all__ = ["DEFAULT_DAYS", "check_plot_path", "register", "run"]

DEFAULT_DAYS = 7
"""Days shown when `--days` is not given: today and the 6 before."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from voice.store.sqlite import DATA_DIR_HELP

    parser = subparsers.add_parser(
        "history",
        help="show past sessions, routines, stops and pain ratings",
        description="Show past sessions, routines, stops and pain ratings "
        "(a table by default; JSON or CSV for export; a PNG plot).",
    )
    parser.add_argument(
        "--days",
        type=int,
        default=DEFAULT_DAYS,
        metavar="N",
        help=f"today and the N-1 days before (default {DEFAULT_DAYS})",
    )
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="one JSON object")
    output.add_argument("--csv", action="store_true", help="CSV, one row per record")
    parser.add_argument(
        "--plot",
        type=Path,
        metavar="FILE.png",
        help="also write sessions per day and pain ratings as a PNG (needs backcoach[plot])",
    )
    parser.add_argument("--data-dir", type=Path, metavar="DIR", help=DATA_DIR_HELP)
    parser.set_defaults(func=run)


def check_plot_path(path: Path) -> None:
    """Fail before any work when the plot cannot be written where asked."""
    if path.is_dir():
        raise BadInput(f"--plot {path}: is a folder; give a file name ending in .png")
    if path.suffix.lower() != ".png":
        raise BadInput(f"--plot {path}: the plot is a PNG file; give a name ending in .png")
    folder = path.parent
    if not folder.is_dir():
        raise BadInput(f"--plot {path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise BadInput(f"--plot {path}: folder {folder} is not writable")


def run(args: argparse.Namespace) -> int:
    from voice.store.history import (
        history_to_csv,
        history_to_json,
        history_to_table,
        plot_history,
        require_plotting,
    )
    from voice.store.sqlite import open_store

    if args.days < 1:
        raise BadInput(f"--days {args.days}: give a whole number of days, 1 or more")
    if args.plot is not None:
        check_plot_path(args.plot)
        require_plotting()  # before any output, so a missing extra is the only message
    # Read-only: never creates, migrates, chmods or moves the file; a damaged one
    # raises StoreDamaged (exit 1) and is left for the next session to recover.
    store = open_store(args.data_dir, read_only=True)
    try:
        for notice in store.notices:
            print(f"backcoach: {notice}", file=sys.stderr)
        history = store.history(time.time(), args.days)
    finally:
        store.close()
    if not store.exists:
        missing = f"No history yet: {store.path} does not exist; the first session creates it."
        if not (args.json or args.csv):
            print(missing)
            return 0
        print(f"backcoach: {missing}", file=sys.stderr)  # stdout stays a valid document
    if args.json:
        sys.stdout.write(history_to_json(history))
    elif args.csv:
        sys.stdout.write(history_to_csv(history))
    else:
        sys.stdout.write(history_to_table(history))
    if args.plot is not None:
        plot_history(history, args.plot)
        # stderr, so stdout stays a clean JSON/CSV document when piped
        print(f"backcoach: wrote {args.plot}", file=sys.stderr)
    return 0
