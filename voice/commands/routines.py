"""`backcoach routines [--json]`: the routines the coach knows."""

from __future__ import annotations

import argparse
import json
from typing import Any

from voice.coach.routines import Routine, load_book


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("routines", help="list the routines")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def routine_summary(routine: Routine) -> dict[str, Any]:
    return {
        "id": routine.id,
        "name": routine.name,
        "aliases": list(routine.aliases),
        "region": routine.region.value,
        "position": routine.position,
        "equipment": list(routine.equipment),
        "partner": routine.partner.size if routine.partner else None,
        "cooldown_min": routine.cooldown_min,
        "steps": len(routine.steps),
        "hold_s_total": sum(s.hold_s * s.reps * max(1, len(s.sides)) for s in routine.steps),
    }


def run(args: argparse.Namespace) -> int:
    book = load_book()
    summaries = [routine_summary(r) for r in book.routines.values()]
    if args.json:
        for summary in summaries:
            print(json.dumps(summary))
        return 0
    for s in summaries:
        partner = f", partner {s['partner']}" if s["partner"] else ""
        print(f"{s['id']:<16} {s['name']} ({s['region']}{partner}); say: start {s['name']}")
    return 0
