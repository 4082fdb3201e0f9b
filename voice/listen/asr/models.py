"""vosk model resolution, download, listing.

Resolution order: `--model DIR`, env `BACKCOACH_VOSK_MODEL`, then vosk's own
model folders (`vosk.MODEL_DIRS`: `$VOSK_MODEL_PATH`, /usr/share/vosk,
~/AppData/Local/vosk, ~/.cache/vosk) for the default model name. Downloads go
to ~/.cache/vosk, where vosk itself looks.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path

from voice.errors import BadInput, MissingRequirement

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MODEL",
    "ENV_MODEL",
    "InstalledModel",
    "download",
    "download_dir",
    "fetch",
    "find_model",
    "is_model_dir",
    "list_models",
    "model_dirs",
]

DEFAULT_MODEL = "vosk-model-small-en-us-0.15"
DEFAULT_BASE_URL = "https://alphacephei.com/vosk/models/"
ENV_MODEL = "BACKCOACH_VOSK_MODEL"
_CHUNK = 64 * 1024
"""Bytes read per step while downloading."""


@dataclass(frozen=True)
class InstalledModel:
    """A vosk model folder found on disk."""

    name: str
    """Folder name, e.g. vosk-model-small-en-us-0.15."""
    path: Path
    """Absolute path of the folder."""
    size_bytes: int
    """Total size of its files, bytes."""


def model_dirs() -> list[Path]:
    """Folders searched for models, in vosk's own order (mirrors `vosk.MODEL_DIRS`)."""
    dirs: list[Path] = []
    env = os.environ.get("VOSK_MODEL_PATH")
    if env:
        dirs.append(Path(env))
    dirs += [Path("/usr/share/vosk"), Path.home() / "AppData/Local/vosk", download_dir()]
    return dirs


def download_dir() -> Path:
    """Where `download` puts models: vosk's cache folder ~/.cache/vosk."""
    return Path.home() / ".cache" / "vosk"


def is_model_dir(path: Path) -> bool:
    """True when `path` looks like a vosk model (acoustic model and config present)."""
    return (path / "am").is_dir() and (path / "conf").is_dir()


def find_model(model: Path | str | None = None, name: str = DEFAULT_MODEL) -> Path | None:
    """The model to use, or None when none is installed.

    An explicit `model` (a folder) or `BACKCOACH_VOSK_MODEL` must be valid:
    a wrong path is an error, not a silent fallback.
    """
    explicit = model if model is not None else os.environ.get(ENV_MODEL) or None
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not is_model_dir(path):
            source = "--model" if model is not None else ENV_MODEL
            raise BadInput(f"{source}: {path} is not a vosk model folder (it needs am/ and conf/)")
        return path.resolve()
    for folder in model_dirs():
        candidate = folder / name
        if is_model_dir(candidate):
            return candidate.resolve()
    return None


def list_models() -> list[InstalledModel]:
    """Every vosk model folder in the searched folders."""
    found: list[InstalledModel] = []
    for folder in model_dirs():
        if not folder.is_dir():
            continue
        for child in sorted(folder.iterdir()):
            if child.is_dir() and is_model_dir(child):
                size = sum(f.stat().st_size for f in child.rglob("*") if f.is_file())
                found.append(InstalledModel(child.name, child.resolve(), size))
    return found


def download(
    name: str = DEFAULT_MODEL,
    base_url: str = DEFAULT_BASE_URL,
    dest: Path | None = None,
    progress: bool = True,
) -> Path:
    """Download `<base_url><name>.zip`, check it is a model, move it into `dest/name`.

    Everything happens in a temporary folder inside `dest`; only a complete,
    valid model is renamed into place, so an interrupted or corrupt download
    leaves nothing behind.
    """
    if "/" in name or "\\" in name or name.startswith("."):
        raise BadInput(f"model name '{name}' must be a plain name like {DEFAULT_MODEL}")
    dest = dest or download_dir()
    target = dest / name
    if is_model_dir(target):
        return target
    dest.mkdir(parents=True, exist_ok=True)
    url = base_url.rstrip("/") + f"/{name}.zip"
    with tempfile.TemporaryDirectory(prefix=f".{name}-", dir=dest) as tmp:
        archive = Path(tmp) / f"{name}.zip"
        fetch(url, archive, progress)
        unpacked = Path(tmp) / "unpacked"
        try:
            with zipfile.ZipFile(archive) as zf:
                _check_members(zf, url)
                zf.extractall(unpacked)
        except zipfile.BadZipFile as error:
            raise BadInput(f"{url} is not a zip archive: {error}") from error
        model = _model_root(unpacked, name)
        if model is None:
            raise BadInput(f"{url} does not contain a vosk model (no folder with am/ and conf/)")
        if target.exists():  # a broken leftover folder of the same name
            shutil.rmtree(target)
        os.replace(model, target)
    return target


def fetch(url: str, out: Path, progress: bool) -> None:
    from tqdm import tqdm

    try:
        response = urllib.request.urlopen(url, timeout=30)
    except urllib.error.HTTPError as error:
        raise BadInput(f"cannot download {url}: HTTP {error.code} {error.reason}") from error
    except (urllib.error.URLError, OSError) as error:
        raise MissingRequirement(
            f"cannot reach {url}: {getattr(error, 'reason', error)}",
            fix="connect to the internet, or download the zip elsewhere and pass "
            "--model DIR (or --url BASE for a mirror)",
        ) from error
    with response:
        total = int(response.headers.get("Content-Length") or 0) or None
        with (
            out.open("wb") as sink,
            tqdm(
                total=total,
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                desc=out.name,
                disable=not progress,
                file=sys.stderr,
            ) as bar,
        ):
            received = 0
            while chunk := response.read(_CHUNK):
                sink.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if total is not None and received != total:
        raise BadInput(f"download of {url} stopped after {received} of {total} bytes")


def _check_members(zf: zipfile.ZipFile, url: str) -> None:
    for member in zf.namelist():
        path = Path(member)
        if path.is_absolute() or ".." in path.parts:
            raise BadInput(f"{url}: archive member '{member}' points outside the archive")


def _model_root(unpacked: Path, name: str) -> Path | None:
    for candidate in (unpacked / name, unpacked, *sorted(unpacked.iterdir())):
        if candidate.is_dir() and is_model_dir(candidate):
            return candidate
    return None
