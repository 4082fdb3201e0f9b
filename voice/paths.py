"""Where the shipped data lives, installed or in a source checkout."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_dir", "grammar_dir", "routines_dir", "stop_model_config"]

_PACKAGE = Path(__file__).resolve().parent


def data_dir(name: str) -> Path:
    """The shipped data folder `name` (grammars, routines).

    A wheel carries it inside the package (`voice/data/<name>`, mapped by
    pyproject's force-include); a source checkout (editable install, tests) keeps
    it at the repository root next to the package.
    """
    for candidate in (_PACKAGE / "data" / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"data folder '{name}' is missing from the installation ({_PACKAGE})")


def grammar_dir(language: str = "en") -> Path:
    return data_dir("grammars") / language


def routines_dir() -> Path:
    """The shipped routines, or the folder named by BACKCOACH_ROUTINES (your own routines)."""
    override = os.environ.get("BACKCOACH_ROUTINES")
    return Path(override) if override else data_dir("routines")


def stop_model_config() -> Path:
    """microWakeWord 'stop' model config (Apache-2.0, Kevin Ahrendt; see its LICENSE)."""
    return _PACKAGE / "data" / "microwakeword-stop" / "stop.json"
