"""The safety rules hold across separate `backcoach session` processes on one data dir.

Each test runs the real command twice (typed input, virtual clock) and checks
the outcome through the history the second run leaves, not through wording.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from voice.coach import lines
from voice.coach.routines import load_book


def backcoach(data_dir: Path, *args: str, stdin: str = "") -> str:
    result = subprocess.run(
        [sys.executable, "-m", "voice", *args, "--data-dir", str(data_dir)],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def session(data_dir: Path, *lines: str) -> str:
    """One typed `--fast` session; returns what the coach said."""
    return backcoach(
        data_dir, "session", "--text", "--fast", stdin="".join(f"{x}\n" for x in lines)
    )


def history(data_dir: Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(backcoach(data_dir, "history", "--json", "--days", "1"))
    return doc


@pytest.fixture(scope="module")
def screening_question() -> str:
    return load_book().precautions.screening_question


def test_screening_is_asked_once_until_reset(tmp_path: Path, screening_question: str) -> None:
    assert screening_question in session(tmp_path, "no", "end session")
    assert screening_question not in session(tmp_path, "end session")
    assert history(tmp_path)["screening"]["has_condition"] is False
    backcoach(tmp_path, "profile", "reset")
    assert screening_question in session(tmp_path, "end session")


def test_a_screening_yes_keeps_routines_locked_next_time(tmp_path: Path) -> None:
    session(tmp_path, "yes", "end session")
    # Were the answer forgotten, "no" would answer a new screening question and
    # the routine would start.
    session(tmp_path, "no", "start rotation", "end session")
    assert history(tmp_path)["runs"] == []
    assert "Cracking routines stay locked" in backcoach(tmp_path, "profile", "show")


def test_cooldown_holds_across_sessions(tmp_path: Path) -> None:
    session(tmp_path, "no", "start rotation", "ready", "end session")
    assert [r["outcome"] for r in history(tmp_path)["runs"]] == ["completed"]
    # Within the cooldown the coach asks first; "no" means the run does not start.
    session(tmp_path, "start rotation", "no", "end session")
    assert len(history(tmp_path)["runs"]) == 1


def test_a_run_cancelled_before_any_hold_starts_no_cooldown(tmp_path: Path) -> None:
    session(tmp_path, "no", "start rotation", "end session")
    session(tmp_path, "start rotation", "ready", "end session")
    assert [r["outcome"] for r in history(tmp_path)["runs"]] == ["abandoned", "completed"]


def test_a_pain_stop_locks_the_region_in_the_next_session(tmp_path: Path) -> None:
    session(tmp_path, "no", "start rotation", "stop, pain", "three", "end session")
    first = history(tmp_path)
    assert [r["outcome"] for r in first["runs"]] == ["pain"]
    assert [p["rating"] for p in first["pains"]] == [3]
    assert [s["pain"] for s in first["stops"]] == [True]
    # "yes" would get past the cooldown question; only the pain lock keeps it closed.
    session(tmp_path, "start rotation", "yes", "end session")
    assert len(history(tmp_path)["runs"]) == 1
    assert "Locked after pain: lumbar" in backcoach(tmp_path, "profile", "show")


def test_strong_pain_brings_advice_at_the_next_start(tmp_path: Path) -> None:
    first = session(tmp_path, "no", "start rotation", "stop, pain", "eight", "end session")
    assert "8 out of 10" not in first
    second = session(tmp_path, "end session")
    assert "You rated your pain 8 out of 10 in the last 7 days." in second


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_session_killed_mid_routine_loses_nothing_logged(tmp_path: Path) -> None:
    """Real time, typed input: kill -9 once the routine has started, then read the memory."""
    name = load_book().get("rotation").name
    process = subprocess.Popen(
        [sys.executable, "-m", "voice", "session", "--text", "--data-dir", str(tmp_path)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write("no\nstart rotation\n")
        process.stdin.flush()  # stdin stays open: the session waits for more
        # The coach logs the run before it announces it, so this line means it is logged.
        for line in process.stdout:
            if name in line:
                break
        else:
            pytest.fail(f"the session ended before starting the routine: {process.stderr}")
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    after = history(tmp_path)
    assert after["screening"]["has_condition"] is False
    assert [(r["routine"], r["outcome"]) for r in after["runs"]] == [("rotation", None)]
    assert [s["ended_at"] for s in after["sessions"]] == [None]


def test_a_pain_lock_survives_a_corrupted_database(tmp_path: Path) -> None:
    """An 8/10 today, then the file is wrecked: the next session still keeps the region locked."""
    session(tmp_path, "no", "start rotation", "stop, pain", "eight", "end session")
    db = tmp_path / "backcoach.db"
    db.write_bytes(b"\xff" * db.stat().st_size)  # every byte overwritten
    said = session(tmp_path, "start rotation", "yes", "end session")
    assert "recovered from" in said and "1 pain report (highest 8/10)" in said
    assert f"Coach: {lines.MEMORY_RECOVERED}" in said  # said aloud too, without the paths
    assert lines.no_routines_today(8) in said
    assert "You rated your pain 8 out of 10 in the last 7 days." in said
    after = history(tmp_path)
    assert [r["outcome"] for r in after["runs"]] == ["pain"], "the locked routine did not run"
    assert [p["rating"] for p in after["pains"]] == [8]


def test_a_session_on_a_read_only_data_folder_goes_on(tmp_path: Path) -> None:
    from tests.store.readonly import read_only

    with read_only(tmp_path):
        said = session(tmp_path, "no", "end session")  # exit 0, no PermissionError
    assert f"backcoach: cannot save to {tmp_path / 'backcoach.db'}: read-only" in said
    assert "make the folder writable or pass --data-dir DIR" in said
    assert said.count(f"Coach: {lines.NOT_SAVING}") == 1  # said once, aloud
    assert said.count("backcoach: ") == 1  # and printed once
    assert list(tmp_path.iterdir()) == []
