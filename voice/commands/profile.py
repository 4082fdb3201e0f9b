"""`backcoach profile show|reset`: the remembered screening answers and safety state."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

from voice.coach.memory import SafetyMemory

__all__ = ["describe", "register", "run"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from voice.store.sqlite import DATA_DIR_HELP

    parser = subparsers.add_parser(
        "profile",
        help="show or reset the remembered screening answers",
        description="show: screening answers, locked regions, reminders due. "
        "reset: forget the screening answers so the coach asks again "
        "(pain history is kept).",
    )
    parser.add_argument("action", choices=["show", "reset"], help="what to do")
    parser.add_argument("--data-dir", type=Path, metavar="DIR", help=DATA_DIR_HELP)
    parser.set_defaults(func=run)


def _when(at: float) -> str:
    return datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M")


def describe(store_path: Path, memory: SafetyMemory) -> str:
    """The `profile show` text for a snapshot."""
    lines = [f"Safety memory: {store_path}"]
    screening = memory.screening
    if screening is None:
        lines.append("Screening: not answered yet; the coach asks at the next session.")
    elif screening.has_condition:
        reason = f" ({screening.reason})" if screening.reason else ""
        lines.append(
            f"Screening: answered {_when(screening.at)}: yes{reason}. Cracking routines "
            "stay locked until `backcoach profile reset`."
        )
    else:
        lines.append(f"Screening: answered {_when(screening.at)}: no condition reported.")
    for region, until in sorted(memory.locked_until.items()):
        lines.append(f"Locked after pain: {region} until {_when(until)}.")
    for region, count in sorted(memory.runs_today.items()):
        limit = memory.frequency_limit_per_day
        lines.append(f"Today: {count} routine run(s) on {region} (reminder above {limit}).")
    lines.append(f"Days used in the last 7: {memory.days_used_last_week}.")
    if memory.see_professional:
        lines.append(
            f"Advice due: see a professional before the next session. {memory.see_professional}"
        )
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    from voice.store.sqlite import open_store

    # `show` only reads: the file is opened read-only and never created or changed.
    store = open_store(args.data_dir, read_only=args.action == "show")
    try:
        for notice in store.notices:
            print(f"backcoach: {notice}", file=sys.stderr)
        if not store.exists:
            print(f"No history yet: {store.path} does not exist; the first session creates it.")
        elif args.action == "reset":
            removed = store.reset_profile()
            print(
                f"Screening answers forgotten ({removed} removed); the coach asks again at "
                "the next session. Pain history is kept."
            )
        else:
            sys.stdout.write(describe(store.path, store.snapshot(time.time())))
    finally:
        store.close()
    return 0
