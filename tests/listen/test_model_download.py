"""`backcoach model download|list|path` against a loopback HTTP server (no internet here)."""

from __future__ import annotations

import argparse
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.loopback import serve
from voice.commands import model as model_command
from voice.errors import BadInput, MissingRequirement
from voice.listen.asr import models

NAME = "vosk-model-test-en-0.1"


def build_archive(folder: Path, name: str = NAME, valid: bool = True) -> Path:
    archive = folder / f"{name}.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        if valid:
            zf.writestr(f"{name}/am/final.mdl", b"\0" * 200_000)
            zf.writestr(f"{name}/conf/model.conf", "--sample-frequency=16000\n")
            zf.writestr(f"{name}/graph/words.txt", "stop 1\n")
        else:
            zf.writestr(f"{name}/README", "no model in here\n")
    return archive


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    with serve(root) as url:
        yield url + "models/", root


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("VOSK_MODEL_PATH", raising=False)
    monkeypatch.delenv(models.ENV_MODEL, raising=False)
    return home


def test_download_places_a_valid_model(server, home: Path) -> None:
    url, root = server
    (root / "models").mkdir()
    build_archive(root / "models")
    path = models.download(NAME, base_url=url)
    assert path == home / ".cache" / "vosk" / NAME
    assert models.is_model_dir(path)
    assert (path / "am" / "final.mdl").stat().st_size == 200_000
    # Only the model is left in the cache: no temp folder, no zip.
    assert [p.name for p in path.parent.iterdir()] == [NAME]
    assert models.find_model(name=NAME) == path.resolve()


def test_progress_bar_is_shown(server, home: Path, capsys) -> None:
    url, root = server
    (root / "models").mkdir()
    build_archive(root / "models")
    models.download(NAME, base_url=url)
    err = capsys.readouterr().err
    assert f"{NAME}.zip" in err and "100%" in err


def test_corrupt_archive_leaves_nothing(server, home: Path) -> None:
    url, root = server
    (root / "models").mkdir()
    (root / "models" / f"{NAME}.zip").write_bytes(b"PK\3\4 this is not a zip at all")
    with pytest.raises(BadInput, match="not a zip"):
        models.download(NAME, base_url=url)
    cache = home / ".cache" / "vosk"
    assert not any(cache.iterdir())


def test_archive_without_a_model_leaves_nothing(server, home: Path) -> None:
    url, root = server
    (root / "models").mkdir()
    build_archive(root / "models", valid=False)
    with pytest.raises(BadInput, match="does not contain a vosk model"):
        models.download(NAME, base_url=url)
    assert not any((home / ".cache" / "vosk").iterdir())


def test_missing_archive_is_a_clear_error(server, home: Path) -> None:
    url, _ = server
    with pytest.raises(BadInput, match="HTTP 404"):
        models.download(NAME, base_url=url)


def test_unreachable_server_names_the_fix(home: Path) -> None:
    with pytest.raises(MissingRequirement, match="cannot reach"):
        models.download(NAME, base_url="http://127.0.0.1:9/")


def test_commands_download_list_path(server, home: Path, capsys) -> None:
    url, root = server
    (root / "models").mkdir()
    build_archive(root / "models")

    def run(*argv: str) -> tuple[int, str]:
        parser = argparse.ArgumentParser()
        model_command.register(parser.add_subparsers())
        args = parser.parse_args(["model", *argv])
        code = model_command.run(args)
        return code, capsys.readouterr().out

    with pytest.raises(MissingRequirement, match="backcoach model download"):
        run("path", NAME)
    code, out = run("download", NAME, "--url", url)
    assert code == 0 and out.strip() == str(home / ".cache" / "vosk" / NAME)
    code, out = run("list")
    assert code == 0 and NAME in out
    code, out = run("path", NAME)
    assert code == 0 and out.strip().endswith(NAME)


def test_explicit_model_must_be_valid(tmp_path: Path, home: Path, monkeypatch) -> None:
    with pytest.raises(BadInput, match="--model"):
        models.find_model(tmp_path)
    monkeypatch.setenv(models.ENV_MODEL, str(tmp_path))
    with pytest.raises(BadInput, match=models.ENV_MODEL):
        models.find_model()
