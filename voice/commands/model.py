"""`backcoach model download|list|path [NAME]`: the vosk speech model."""

from __future__ import annotations

import argparse
import json
from typing import Any

from voice.listen.asr.models import DEFAULT_BASE_URL, DEFAULT_MODEL

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("model", help="download or show the vosk speech model")
    parser.add_argument("action", choices=["download", "list", "path"])
    parser.add_argument("name", nargs="?", default=DEFAULT_MODEL, help=f"default {DEFAULT_MODEL}")
    parser.add_argument(
        "--url", default=DEFAULT_BASE_URL, metavar="BASE", help="download from this base URL"
    )
    parser.add_argument("--dir", metavar="DIR", help="download into DIR (default: vosk's cache)")
    parser.add_argument("--json", action="store_true", help="machine-readable `list` output")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from voice.errors import MissingRequirement
    from voice.listen.asr import models

    if args.action == "download":
        dest = Path(args.dir) if args.dir else None
        print(models.download(args.name, base_url=args.url, dest=dest))
        return 0
    if args.action == "list":
        found = models.list_models()
        if args.json:
            for m in found:
                print(json.dumps({"name": m.name, "path": str(m.path), "bytes": m.size_bytes}))
        elif not found:
            searched = ", ".join(str(d) for d in models.model_dirs())
            print(f"no vosk models installed (searched {searched})")
        for m in [] if args.json else found:
            print(f"{m.name:<36} {m.size_bytes / 1e6:7.1f} MB  {m.path}")
        return 0
    found_path = models.find_model(name=args.name)
    if found_path is None:
        raise MissingRequirement(
            f"vosk model {args.name} is not installed",
            fix=f"backcoach model download {args.name}",
        )
    print(found_path)
    return 0
