"""`backcoach routines [--json]`: the routines the coach knows."""

from __future__ import annotations

import argparse
import json
from typing import Any

from voice.coach.routines import Routine, Source, Step, load_book


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("routines", help="list the routines")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def _source(source: Source) -> dict[str, Any]:
    """Where a text comes from: article places, or added with the reason."""
    return {"source": list(source.refs) or "added", "added": source.added, "reason": source.reason}


def _step(number: int, step: Step) -> dict[str, Any]:
    return {"step": number, **_source(step.source), "added_fields": dict(step.added)}


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
        "section": routine.origin.refs[0] if routine.origin.refs else "added",
        "sources": [_step(i, s) for i, s in enumerate(routine.steps, start=1)],
        "added_steps": [i for i, s in enumerate(routine.steps, start=1) if s.source.added],
        "partner_sources": (
            [_source(src) for src in routine.partner.sources] if routine.partner else []
        ),
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
        added = s["added_steps"]
        note = f"; added steps: {', '.join(map(str, added))}" if added else ""
        print(f"{s['id']:<16} {s['name']} ({s['region']}{partner}); say: start {s['name']}{note}")
    return 0
