"""History reports: table, JSON and CSV round trips, the PNG plot, and the CLI's errors."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from voice.cli import main
from voice.coach.memory import (
    Outcome,
    PainReported,
    RoutineEnded,
    RoutineStarted,
    Screening,
    ScreeningAnswered,
    SessionEnded,
    SessionStarted,
    StopHeard,
)
from voice.errors import BadInput, MissingRequirement
from voice.store.history import (
    CSV_COLUMNS,
    daily_summary,
    history_from_csv,
    history_from_json,
    history_to_csv,
    history_to_json,
    history_to_table,
    plot_history,
)
from voice.store.rows import History, PainRow, RunRow, SessionRow, StopRow
from voice.store.sqlite import DATABASE_NAME, open_store

BERLIN = ZoneInfo("Europe/Berlin")


def t(day: int, hour: int = 9, minute: int = 0) -> float:
    return (datetime(2025, 3, 24, hour, minute, tzinfo=BERLIN) + timedelta(days=day)).timestamp()


@pytest.fixture
def sample() -> History:
    return History(
        since=t(0, 0),
        until=t(2, 12) + 0.123456789,
        screening=Screening(True, t(0, 8) + 0.1, 'osteopenia, "mild"\nsince 2020 — über'),
        sessions=(SessionRow(1, t(0, 9), t(0, 9, 40)), SessionRow(2, t(2, 9), None)),
        runs=(
            RunRow(1, 1, "rotation", "lumbar", t(0, 9, 1), t(0, 9, 9), Outcome.COMPLETED, 6),
            RunRow(2, 1, "bed_edge", "thoracic", t(0, 9, 10), t(0, 9, 12), Outcome.PAIN, 1),
            RunRow(3, 2, "foam_roller", "thoracic", t(2, 9, 1), None, None, 0),
        ),
        pains=(
            PainRow(1, 1, t(0, 9, 12), "bed_edge", "thoracic", 2, 8, True, t(1, 0)),
            PainRow(2, None, t(2, 9, 5), None, None, None, None, False, None),
        ),
        stops=(
            StopRow(1, 1, t(0, 9, 11), "bed_edge", "thoracic", 2, True),
            StopRow(2, 2, t(2, 9, 3), None, None, None, False),
        ),
    )


def test_json_round_trip(sample: History) -> None:
    text = history_to_json(sample)
    assert history_from_json(text) == sample
    doc = json.loads(text)
    assert doc["runs"][2]["outcome"] is None
    assert doc["runs"][1]["outcome"] == "pain"


def test_csv_round_trip(sample: History) -> None:
    text = history_to_csv(sample, tz=BERLIN)
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    assert history_from_csv(text) == sample


def test_csv_round_trip_of_an_empty_history() -> None:
    empty = History(since=t(0, 0), until=t(0, 12))
    assert history_from_csv(history_to_csv(empty)) == empty
    assert history_from_json(history_to_json(empty)) == empty


def test_csv_has_readable_local_times(sample: History) -> None:
    lines = history_to_csv(sample, tz=BERLIN).splitlines()
    session = next(line for line in lines if line.startswith("session,1,"))
    assert "2025-03-24 09:00" in session


def test_bad_csv_names_the_line() -> None:
    header = ",".join(CSV_COLUMNS)
    with pytest.raises(BadInput, match="line 2"):
        history_from_csv(f"{header}\nrun,not-a-number" + "," * (len(CSV_COLUMNS) - 2) + "\n")
    with pytest.raises(BadInput, match="window"):
        history_from_csv(header + "\n")


def test_daily_summary_buckets_by_local_day(sample: History) -> None:
    days = daily_summary(sample, tz=BERLIN)
    assert [str(d.day) for d in days] == ["2025-03-24", "2025-03-25", "2025-03-26"]
    first, second, third = days
    assert (first.sessions, first.runs, first.completed, first.stops, first.pain_stops) == (
        1,
        2,
        1,
        1,
        1,
    )
    assert first.ratings == (8,)
    assert (second.sessions, second.runs) == (0, 0)
    assert (third.sessions, third.runs, third.stops, third.pain_stops) == (1, 1, 1, 0)


def test_table_shows_counts_runs_and_pain(sample: History) -> None:
    table = history_to_table(sample, tz=BERLIN)
    lines = table.splitlines()
    assert lines[0] == "Back Coach history: 2025-03-24 to 2025-03-26 (3 days)"
    assert "yes (osteopenia" in lines[1] and "profile reset" in lines[1]
    row = next(line for line in lines if line.startswith("2025-03-24"))
    assert row.split() == ["2025-03-24", "1", "2", "1", "1", "1", "8"]
    total = next(line for line in lines if line.startswith("total"))
    assert total.split() == ["total", "2", "3", "1", "2", "1", "8"]
    assert "unfinished" in table  # the run that never ended
    assert "8/10" in table and "see a professional" in table


def test_table_without_screening_says_it_will_be_asked() -> None:
    table = history_to_table(History(since=t(0, 0), until=t(0, 1)), tz=BERLIN)
    assert "not answered yet" in table


# ----- plot -----

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_plot_is_a_valid_png(sample: History, tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = plot_history(sample, tmp_path / "history.png", tz=BERLIN)
    assert png_size(path) == (800, 500)
    assert path.stat().st_size > 10_000  # axes, bars and points, not a blank image
    assert path.read_bytes().endswith(b"IEND\xaeB`\x82")


def test_plot_of_an_empty_history(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    path = plot_history(History(since=t(0, 0), until=t(0, 1)), tmp_path / "empty.png")
    assert png_size(path) == (800, 500)


def test_plot_without_matplotlib_says_what_to_install(
    sample: History, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # as if not installed
    with pytest.raises(MissingRequirement) as raised:
        plot_history(sample, tmp_path / "x.png")
    assert raised.value.fix == "pip install 'backcoach[plot]'"
    assert "backcoach[plot]" in str(raised.value)
    assert not (tmp_path / "x.png").exists()


# ----- the command -----


def test_history_plot_without_matplotlib_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    argv = ["history", "--plot", str(tmp_path / "p.png"), "--data-dir", str(tmp_path)]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "fix: pip install 'backcoach[plot]'" in captured.err
    assert captured.out == "", "nothing printed before the missing requirement"


def fill(data_dir: Path) -> None:
    """Two sessions in the last hours, with a pain stop rated 6."""
    now = time.time()
    store = open_store(data_dir)
    store.record(SessionStarted(now - 600))
    store.record(ScreeningAnswered(now - 590, False))
    store.record(RoutineStarted(now - 500, "rotation", "lumbar"))
    store.record(RoutineEnded(now - 400, "rotation", "lumbar", Outcome.COMPLETED, 6))
    store.record(RoutineStarted(now - 300, "bed_edge", "thoracic"))
    store.record(StopHeard(now - 290, "bed_edge", 2, pain=True))
    store.record(RoutineEnded(now - 290, "bed_edge", "thoracic", Outcome.PAIN, 1))
    store.record(PainReported(now - 280, "bed_edge", "thoracic", 2, 6, False, None))
    store.record(SessionEnded(now - 200))
    store.record(SessionStarted(now - 100))
    store.close()


def test_history_command_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fill(tmp_path)
    assert main(["history", "--data-dir", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    assert "rotation" in table and "6/10" in table
    assert main(["history", "--json", "--days", "3", "--data-dir", str(tmp_path)]) == 0
    from_json = history_from_json(capsys.readouterr().out)
    assert len(from_json.sessions) == 2 and len(from_json.runs) == 2
    assert [p.rating for p in from_json.pains] == [6]
    assert main(["history", "--csv", "--days", "3", "--data-dir", str(tmp_path)]) == 0
    from_csv = history_from_csv(capsys.readouterr().out)
    assert from_csv.runs == from_json.runs and from_csv.pains == from_json.pains


def test_history_command_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    fill(tmp_path / "data")
    plot = tmp_path / "out.png"
    code = main(["history", "--json", "--plot", str(plot), "--data-dir", str(tmp_path / "data")])
    assert code == 0
    captured = capsys.readouterr()
    history_from_json(captured.out)  # stdout stays a clean JSON document
    assert "wrote" in captured.err
    assert png_size(plot) == (800, 500)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--days", "-3"], "--days -3"),
        (["--days", "0"], "--days 0"),
        (["--plot", "{tmp}/no/such/folder/p.png"], "does not exist"),
        (["--plot", "{tmp}"], "folder"),
        (["--plot", "{tmp}/plot.jpg"], ".png"),
    ],
)
def test_history_bad_arguments_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    data = tmp_path / "data"
    argv = ["history", *(a.replace("{tmp}", str(tmp_path)) for a in args), "--data-dir", str(data)]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("backcoach: ") and message in err
    assert not data.exists(), "bad arguments are caught before the store is touched"


@pytest.mark.parametrize(
    "args", [["--days", "many"], ["--json", "--csv"], ["--days"]], ids=["word", "both", "empty"]
)
def test_history_unparseable_arguments_exit_2(tmp_path: Path, args: list[str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "voice", "history", *args, "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "history" in result.stderr and "error" in result.stderr


def test_history_exit_code_from_a_real_process(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "voice", "history", "--days", "-1", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--days -1" in result.stderr and "Traceback" not in result.stderr


def test_data_dir_that_is_a_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    (tmp_path / "file").write_text("")
    assert main(["history", "--data-dir", str(tmp_path / "file")]) == 2
    assert "data folder" in capsys.readouterr().err


# ----- profile -----


def test_profile_show_and_reset(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = open_store(tmp_path)
    store.record(ScreeningAnswered(time.time(), True, "a recent injury"))
    store.close()
    assert main(["profile", "show", "--data-dir", str(tmp_path)]) == 0
    shown = capsys.readouterr().out
    assert str(tmp_path / DATABASE_NAME) in shown
    assert "yes (a recent injury)" in shown and "locked" in shown
    assert main(["profile", "reset", "--data-dir", str(tmp_path)]) == 0
    assert "1 removed" in capsys.readouterr().out
    assert main(["profile", "show", "--data-dir", str(tmp_path)]) == 0
    assert "not answered yet" in capsys.readouterr().out


def test_profile_prints_store_notices(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    (tmp_path / DATABASE_NAME).write_bytes(b"not a database at all" * 50)
    # `show` only reads: it reports the damage and leaves the file for a session.
    assert main(["profile", "show", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "damaged" in err and "left as it is" in err
    assert not list(tmp_path.glob("*.corrupt-*"))
    # `reset` writes: it moves the file aside and says so.
    assert main(["profile", "reset", "--data-dir", str(tmp_path)]) == 0
    err = capsys.readouterr().err
    assert "damaged" in err and ".corrupt-" in err


def test_profile_needs_an_action(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as raised:
        main(["profile", "--data-dir", str(tmp_path)])
    assert raised.value.code == 2
