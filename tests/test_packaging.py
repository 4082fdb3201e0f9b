"""A plain (non-editable) wheel carries grammars/ and routines/ and works from any folder."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from voice.coach.routines import ROUTINE_IDS

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if importlib.util.find_spec("hatchling") is None:
        pytest.fail("hatchling is missing: pip install -e '.[dev]'")
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-build-isolation",
            "--no-deps",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        timeout=300,
    )
    (path,) = out.glob("backcoach-*.whl")
    return path


def test_wheel_contains_data_and_model(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for routine in (*ROUTINE_IDS, "precautions"):
        assert f"voice/data/routines/{routine}.yaml" in names
    assert "voice/data/grammars/en/commands.yaml" in names
    assert "voice/data/microwakeword-stop/stop.tflite" in names
    assert "voice/data/microwakeword-stop/LICENSE" in names
    assert "voice/py.typed" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "backcoach = voice.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_runs_from_another_folder(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import voice, sys; print(voice.__file__); "
            "from voice.cli import main; sys.exit(main(['routines', '--json']))",
        ],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(str(site))  # not the source checkout
    assert len([json.loads(line) for line in lines[1:]]) == 6
    session = subprocess.run(
        [sys.executable, "-m", "voice", "session", "--text", "--fast"],
        input="no\nstart the foam roller\nready\n",
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert session.returncode == 0, session.stderr
    assert "Well done" in session.stdout
