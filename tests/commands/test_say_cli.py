"""`backcoach say`: what it refuses (--out, --rate) and what it accepts, with real espeak-ng."""

from __future__ import annotations

import subprocess
import sys
import wave
from pathlib import Path

import pytest

from voice.cli import main
from voice.commands.say import speak_lines
from voice.errors import AudioDeviceError
from voice.speak.tts import MAX_RATE_WPM, MIN_RATE_WPM


def say(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`backcoach say ...` in its own process, as a user runs it (stderr as printed)."""
    return subprocess.run(
        [sys.executable, "-m", "voice", "say", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


def seconds_of(path: Path) -> float:
    with wave.open(str(path)) as wav:
        return wav.getnframes() / wav.getframerate()


def test_out_in_a_missing_folder_is_refused_and_no_folder_is_created(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "dir" / "x.wav"
    result = say("hi", "--out", str(out))
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""  # no "wrote ..."
    assert f"the folder {out.parent} does not exist" in result.stderr
    assert f"mkdir -p {out.parent}" in result.stderr
    assert not (tmp_path / "missing").exists()


def test_out_naming_a_folder_is_refused_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "adir").mkdir()
    result = say("hi", "--out", "adir", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr == "backcoach: adir is a folder; give a file name such as adir/hi.wav\n"
    assert list((tmp_path / "adir").iterdir()) == []


def test_out_under_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes").write_text("a file, not a folder")
    result = say("hi", "--out", str(tmp_path / "notes" / "x.wav"))
    assert result.returncode == 2
    assert f"{tmp_path / 'notes'} is a file, not a folder" in result.stderr


@pytest.mark.parametrize("rate", ["-5", "5000", str(MIN_RATE_WPM - 1), str(MAX_RATE_WPM + 1), "x"])
def test_a_rate_outside_the_range_is_refused_while_parsing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, rate: str
) -> None:
    out = tmp_path / "x.wav"
    with pytest.raises(SystemExit) as exited:
        main(["say", "hi", "--out", str(out), "--rate", rate])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "argument --rate" in err
    assert f"words per minute from {MIN_RATE_WPM} to {MAX_RATE_WPM}" in err
    assert not out.exists()  # refused before anything was spoken


def test_the_ends_of_the_rate_range_are_spoken(tmp_path: Path) -> None:
    slow, fast = tmp_path / "slow.wav", tmp_path / "fast.wav"
    text = "Breathe in slowly and hold it"
    assert main(["say", text, "--out", str(slow), "--rate", str(MIN_RATE_WPM)]) == 0
    assert main(["say", text, "--out", str(fast), "--rate", str(MAX_RATE_WPM)]) == 0
    assert seconds_of(slow) > 2.5 * seconds_of(fast) > 0.5


def test_the_player_creates_no_folder_either(tmp_path: Path) -> None:
    # Other callers (the session's --output FILE.wav) reach the WAV sink without say's check.
    out = tmp_path / "missing" / "x.wav"
    with pytest.raises(AudioDeviceError, match="does not exist") as raised:
        speak_lines(["hi"], out)
    assert f"mkdir -p {out.parent}" in str(raised.value)
    assert not out.parent.exists()


def test_the_player_refuses_a_folder_without_a_traceback(tmp_path: Path) -> None:
    # The "Exception ignored ... Wave_write" traceback goes to stderr at garbage
    # collection, past any exception handler: only a separate process sees it.
    script = (
        "import sys; from pathlib import Path; from voice.commands.say import speak_lines\n"
        "try:\n    speak_lines(['hi'], Path(sys.argv[1]))\n"
        "except Exception as error:\n    print(error)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert f"cannot write {tmp_path}: it is a folder" in result.stdout
    assert f"give a file name such as {tmp_path / 'out.wav'}" in result.stdout
    assert result.stderr == ""
