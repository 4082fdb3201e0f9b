"""The typed session and the data commands, run as a user runs them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from voice.coach.routines import ROUTINE_IDS
from voice.paths import routines_dir

BACKCOACH = [sys.executable, "-m", "voice"]


def run_cli(
    args: list[str], stdin: str = "", env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*BACKCOACH, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        cwd=cwd,
    )


def read_events(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_scripted_typed_session_completes_a_routine_fast(tmp_path: Path) -> None:
    transcript = tmp_path / "t.jsonl"
    started = time.monotonic()
    result = run_cli(
        [
            "session",
            "--text",
            "--fast",
            "--transcript",
            str(transcript),
            "--data-dir",
            str(tmp_path / "data"),
        ],
        stdin="no\nstart rotation\nready\nend session\n",
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    assert "Hold." in result.stdout and "Well done" in result.stdout
    events = read_events(transcript)
    kinds = {e["event"] for e in events}
    assert {"say", "heard", "intent", "state", "cue"} <= kinds
    assert all(isinstance(e["t"], float | int) for e in events)
    states = [e["state"] for e in events if e["event"] == "state"]
    for state in (
        "screening",
        "idle",
        "briefing",
        "waiting",
        "step",
        "hold",
        "rest",
        "finished",
        "ended",
    ):
        assert state in states, state
    says = [e["text"] for e in events if e["event"] == "say"]
    # The standing rotation: two turns to each side, a short hold at the end of each.
    assert "Left side." in says and says.count("Hold.") == 4
    assert [e["cue"] for e in events if e["event"] == "cue"].count("hold_start") == 4
    # Virtual time: the holds elapsed on the clock, not in the wall time.
    assert max(float(e["t"]) for e in events) >= 20
    assert elapsed < 30  # process start included; the session itself is milliseconds


def test_scripted_pain_protocol_in_transcript(tmp_path: Path) -> None:
    transcript = tmp_path / "t.jsonl"
    data = tmp_path / "data"
    result = run_cli(
        ["session", "--text", "--fast", "--transcript", str(transcript), "--data-dir", str(data)],
        stdin="no\nstart hand extension\nstop\nyes\neight\nstart rotation\n",
    )
    assert result.returncode == 0, result.stderr
    events = read_events(transcript)
    stops = [e for e in events if e["event"] == "stop"]
    assert stops and stops[0]["pain"] is False
    stop_index = events.index(stops[0])
    intent_index = max(i for i, e in enumerate(events[:stop_index]) if e["event"] == "intent")
    assert events[intent_index]["intent"] == "Stop"
    pain = [e for e in events if e["event"] == "pain"]
    assert pain and pain[0]["rating"] == 8 and pain[0]["red_flag_advice"] is True
    assert "Chest pain." in result.stdout
    refused = "eight out of ten today, so we will not do any routine again today"
    assert refused in result.stdout.split("Coach: Chest pain.")[-1]
    # A later session the same day refuses every routine too, and says why.
    later = run_cli(
        ["session", "--text", "--fast", "--data-dir", str(data)], stdin="start foam roller\n"
    )
    assert later.returncode == 0, later.stderr
    assert refused in later.stdout and "Start rolling" not in later.stdout


def test_session_with_routine_option_and_eof(tmp_path: Path) -> None:
    result = run_cli(
        ["session", "--text", "--fast", "--routine", "hand_extension"], stdin="no\nready\n"
    )
    assert result.returncode == 0, result.stderr
    assert "Starting the hand extension" in result.stdout
    assert "Well done" in result.stdout
    bad = run_cli(["session", "--text", "--fast", "--routine", "neck_crack"])
    assert bad.returncode == 2 and "unknown routine 'neck_crack'" in bad.stderr


def test_typed_session_in_real_time_reads_lines_until_eof(tmp_path: Path) -> None:
    result = run_cli(["session", "--text"], stdin="no\nlist routines\nhelp\n")
    assert result.returncode == 0, result.stderr
    assert "I can guide you through" in result.stdout


def test_routines_and_precautions_commands() -> None:
    result = run_cli(["routines", "--json"])
    assert result.returncode == 0
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["id"] for r in rows} == set(ROUTINE_IDS)
    assert next(r for r in rows if r["id"] == "tight_hug")["partner"]
    text = run_cli(["routines"])
    assert "start spine rotation" in text.stdout
    precautions = run_cli(["precautions"])
    assert precautions.returncode == 0 and "Chest pain." in precautions.stdout


def test_broken_routine_file_exits_2_naming_file_and_field(tmp_path: Path) -> None:
    folder = tmp_path / "routines"
    shutil.copytree(routines_dir(), folder)
    path = folder / "rotation.yaml"
    path.write_text(path.read_text().replace("hold_s: 3", "hold_s: three", 1))
    result = run_cli(["session", "--text", "--fast"], env={"BACKCOACH_ROUTINES": str(folder)})
    assert result.returncode == 2
    assert "rotation.yaml" in result.stderr and "step 2" in result.stderr
    assert "'hold_s'" in result.stderr


def test_fast_without_text_is_refused() -> None:
    result = run_cli(["session", "--fast"])
    assert result.returncode == 2 and "--text" in result.stderr


def _history(data: Path) -> dict[str, object]:
    result = run_cli(["history", "--json", "--data-dir", str(data)])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_end_of_input_mid_routine_says_the_closing_line_and_records_the_end(
    tmp_path: Path,
) -> None:
    data, transcript = tmp_path / "data", tmp_path / "t.jsonl"
    result = run_cli(
        ["session", "--text", "--fast", "--data-dir", str(data), "--transcript", str(transcript)],
        stdin="no\nskip\nstart hug from behind\nready\n",
    )
    assert result.returncode == 0, result.stderr
    tail = result.stdout.split("Coach: Partner, lift now.")[-1]
    assert "Coach: Partner, set them down gently and let go." in result.stdout
    assert "Come back up slowly" in result.stdout
    assert tail  # the closing lines come after the last instruction
    events = read_events(transcript)
    assert events[-1].get("record") == "SessionEnded"


def test_ctrl_c_mid_routine_says_the_closing_line_records_the_end_and_exits_130(
    tmp_path: Path,
) -> None:
    import signal

    data, transcript = tmp_path / "data", tmp_path / "t.jsonl"
    proc = subprocess.Popen(
        [*BACKCOACH, "session", "--text", "--fast", "--data-dir", str(data),
         "--transcript", str(transcript)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        # Ctrl-C as a terminal delivers it: a test run started in the background by a
        # non-interactive shell ignores SIGINT, its children inherit that, and Python
        # then installs no KeyboardInterrupt handler at all.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    proc.stdin.write("no\nskip\nstart rotation\n")
    proc.stdin.flush()
    # wait until the coach waits for "ready" (it then blocks reading stdin)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if transcript.exists() and '"state": "waiting"' in transcript.read_text():
            break
        time.sleep(0.05)
    else:
        proc.kill()
        raise AssertionError("the session never reached the waiting state")
    proc.send_signal(signal.SIGINT)
    # stdin stays open until the process is gone, so only the Ctrl-C can end the
    # session (the end of input ends it too, with exit 0, and hid a lost Ctrl-C).
    proc.wait(timeout=30)
    out, err = proc.stdout.read(), proc.stderr.read()
    proc.stdin.close()
    assert proc.returncode == 130, err
    assert "Come back up slowly" in out
    events = read_events(transcript)
    records = [e.get("record") for e in events]
    assert "SessionEnded" in records and "RoutineEnded" in records
    sessions = _history(data)["sessions"]
    assert sessions and all(s["ended_at"] for s in sessions)  # type: ignore[index,union-attr]


def test_a_session_output_file_in_a_missing_folder_is_an_error_not_text_mode(
    tmp_path: Path,
) -> None:
    target = tmp_path / "missing" / "coach.wav"
    result = run_cli(
        ["session", "--engine", "pocketsphinx", "--output", str(target),
         "--data-dir", str(tmp_path / "data")],
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert f"the folder {target.parent} does not exist" in result.stderr
    assert "continuing in text mode" not in result.stdout
    assert not target.parent.exists()
