"""The safety memory when the disk says no: read-only folders and files, a full disk,
a file where the data folder should be. Real files, real SQLite errors; read-only
as root through `chattr +i` (tests/store/readonly.py)."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.store.readonly import read_only
from tests.store.test_store import BERLIN, pain_stop, t, write_v1_file
from voice.cli import main
from voice.coach.memory import PainReported, ScreeningAnswered, SessionStarted, StopHeard
from voice.errors import BadInput
from voice.store.sqlite import (
    DATABASE_NAME,
    JOURNAL_NAME,
    SqliteStore,
    StoreDamaged,
    StoreError,
    open_store,
)


def remembered(folder: Path) -> Path:
    """A data folder whose memory holds a screening "no" and a pain of 8/10 at 09:00 on day 0."""
    folder.mkdir(exist_ok=True)
    with open_store(folder, tz=BERLIN) as store:
        store.record(ScreeningAnswered(t(0, 8), False))
        pain_stop(store, t(0, 9), rating=8, locked_until=t(1, 0))
    return folder


def listing(folder: Path) -> dict[str, str]:
    """Every file in `folder` with a hash of its bytes and its mode: any change shows."""
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() + oct(p.stat().st_mode)
        for p in sorted(folder.iterdir())
    }


def assert_locked_with_advice(store: SqliteStore) -> None:
    memory = store.snapshot(t(0, 12))
    assert memory.locked_until == {"thoracic": t(1, 0)}
    assert "8 out of 10" in memory.see_professional
    assert memory.screening is not None and memory.screening.has_condition is False


# ----- 1. read-only commands read a read-only memory, and change nothing -----


def test_read_only_open_of_a_read_only_folder(tmp_path: Path) -> None:
    folder = remembered(tmp_path / "data")
    before = listing(folder)
    with read_only(folder, folder / DATABASE_NAME):
        store = open_store(folder, tz=BERLIN, read_only=True)
        assert_locked_with_advice(store)
        assert store.notices == [] and store.exists and not store.writable
        with pytest.raises(StoreError, match="read-only"):
            store.record(SessionStarted(t(0, 12)))
        store.close()
    assert listing(folder) == before


def test_read_only_open_does_not_migrate_chmod_or_create(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    write_v1_file(folder / DATABASE_NAME)  # an old schema, the lumbar pain of 8 on day 0
    os.chmod(folder / DATABASE_NAME, 0o644)
    before = listing(folder)
    store = open_store(folder, tz=BERLIN, read_only=True)
    memory = store.snapshot(t(0, 12))
    assert memory.locked_until == {"lumbar": t(1, 0)}, "read through a migrated copy"
    assert "8 out of 10" in memory.see_professional
    assert any("readable by other users" in notice for notice in store.notices)
    store.close()
    assert listing(folder) == before, "no migration, no chmod, no journal, no -wal left"
    (version,) = sqlite3.connect(folder / DATABASE_NAME).execute("PRAGMA user_version").fetchone()
    assert version == 1


def test_read_only_open_of_a_missing_folder_creates_nothing(tmp_path: Path) -> None:
    store = open_store(tmp_path / "new", read_only=True)
    assert not store.exists
    assert store.snapshot(t(0)).screening is None
    store.close()
    assert not (tmp_path / "new").exists()


@pytest.mark.parametrize("command", [["history"], ["history", "--json"], ["profile", "show"]])
def test_history_and_profile_show_on_a_new_folder_say_there_is_none_yet(
    tmp_path: Path, command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--data-dir", str(tmp_path / "new")]) == 0
    out, err = capsys.readouterr()
    assert "No history yet" in out + err
    assert not (tmp_path / "new").exists()


def test_history_and_profile_show_read_a_read_only_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = remembered(tmp_path / "data")
    before = listing(folder)
    capsys.readouterr()
    with read_only(folder, folder / DATABASE_NAME):
        assert main(["history", "--days", "3650", "--data-dir", str(folder)]) == 0
        assert " 8" in capsys.readouterr().out
        assert main(["profile", "show", "--data-dir", str(folder)]) == 0
        out = capsys.readouterr().out
        assert "Screening: answered" in out and "no condition" in out
    assert listing(folder) == before


def test_read_only_open_reads_a_killed_sessions_wal(tmp_path: Path) -> None:
    """A session killed with its -wal not yet checkpointed, then the folder made read-only."""
    folder = tmp_path / "data"
    code = (
        "import os, sys\n"
        "from pathlib import Path\n"
        "from voice.coach.memory import PainReported\n"
        "from voice.store.sqlite import open_store\n"
        "store = open_store(Path(sys.argv[1]))\n"
        "store.record(PainReported(1000.0, 'rotation', 'thoracic', 2, 9, True, 90000.0))\n"
        "os._exit(0)\n"  # no close: the -wal and -shm stay
    )
    subprocess.run([sys.executable, "-c", code, str(folder)], check=True, timeout=60)
    assert (folder / (DATABASE_NAME + "-wal")).exists()
    with read_only(folder, *folder.iterdir()):
        store = open_store(folder, read_only=True)
        assert store.snapshot(2000.0).locked_until == {"thoracic": 90000.0}
        store.close()


# ----- 2. a session on a memory it cannot write goes on, memory-only -----


def test_a_session_on_a_read_only_folder_reads_and_cannot_save(tmp_path: Path) -> None:
    folder = remembered(tmp_path / "data")
    before = listing(folder)
    with read_only(folder, folder / DATABASE_NAME):
        store = open_store(folder, tz=BERLIN)  # raised PermissionError / OperationalError before
        assert not store.writable
        assert len(store.notices) == 1
        notice = store.notices[0]
        assert f"cannot save to {folder / DATABASE_NAME}: read-only" in notice
        assert "writable or pass --data-dir DIR" in notice
        assert_locked_with_advice(store)  # reads what it can
        with pytest.raises(StoreError, match=r"cannot save to .*--data-dir DIR"):
            store.record(PainReported(t(0, 12), None, "lumbar", None, 3, False, t(1, 0)))
        with pytest.raises(StoreError):
            store.reset_profile()
        assert store.snapshot(t(0, 12)).locked_until == {"thoracic": t(1, 0)}
        store.close()
    assert listing(folder) == before


def test_a_session_on_an_empty_read_only_folder(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    with read_only(folder):
        store = open_store(folder)
        assert len(store.notices) == 1 and "make the folder writable" in store.notices[0]
        assert store.snapshot(t(0)).screening is None
        with pytest.raises(StoreError, match="read-only"):
            store.record(SessionStarted(t(0)))
        store.close()
    assert list(folder.iterdir()) == []


def test_a_session_whose_data_folder_cannot_be_created(tmp_path: Path) -> None:
    parent = tmp_path / "parent"
    parent.mkdir()
    with read_only(parent):
        store = open_store(parent / "data")
        assert len(store.notices) == 1
        assert "cannot create the folder" in store.notices[0]
        with pytest.raises(StoreError, match="--data-dir DIR"):
            store.record(SessionStarted(t(0)))
        store.close()


def test_a_session_on_a_read_only_file_in_a_writable_folder(tmp_path: Path) -> None:
    folder = remembered(tmp_path / "data")
    with read_only(folder / DATABASE_NAME):
        store = open_store(folder, tz=BERLIN)
        assert len(store.notices) == 1 and "make the file writable" in store.notices[0]
        assert_locked_with_advice(store)
        with pytest.raises(StoreError, match="cannot save"):
            store.record(SessionStarted(t(0, 12)))
        store.close()


def test_a_disk_full_is_a_store_error_and_the_store_still_reads(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / DATABASE_NAME, tz=BERLIN)
    store.record(ScreeningAnswered(t(0, 8), False))
    (pages,) = store._db.execute("PRAGMA page_count").fetchone()
    # SQLite itself reports SQLITE_FULL once the file would grow past this.
    store._db.execute(f"PRAGMA max_page_count = {pages}")
    saved = 0
    with pytest.raises(StoreError) as raised:
        for i in range(1000):
            store.record(StopHeard(t(0, 9) + i, "rotation", 1, pain=False))
            saved += 1
    message = str(raised.value)
    assert "database or disk is full" in message, message  # not "cannot rollback"
    assert "free some disk space or pass --data-dir DIR" in message
    assert isinstance(raised.value.__cause__, sqlite3.OperationalError)
    assert not store._db.in_transaction
    assert store.snapshot(t(0, 12)).screening is not None
    assert len(store.history(t(0, 12), 1).stops) == saved
    journal = (tmp_path / JOURNAL_NAME).read_text().splitlines()
    assert len(journal) == 1 + saved, "the failed record is not in the journal either"
    store._db.execute(f"PRAGMA max_page_count = {pages + 1000}")
    store.record(StopHeard(t(0, 11), "rotation", 1, pain=True))  # works again
    assert len(store.history(t(0, 12), 1).stops) == saved + 1
    store.close()


def test_a_journal_write_failure_is_a_store_error_and_nothing_is_committed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteStore(tmp_path / DATABASE_NAME)

    def full(fd: int, data: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("voice.store.journal.os.write", full)
    with pytest.raises(StoreError, match="No space left on device"):
        store.record(PainReported(t(0), None, "lumbar", None, 8, True, t(1, 0)))
    monkeypatch.undo()
    assert store.history(t(0), 1).pains == (), "the SQLite transaction was rolled back"
    store.close()


# ----- 3. a file named as the data folder -----


@pytest.mark.parametrize("read_only_open", [False, True])
def test_a_file_as_data_dir_says_so(tmp_path: Path, read_only_open: bool) -> None:
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(BadInput, match=r"file is a file, not a folder; pass --data-dir DIR"):
        open_store(file, read_only=read_only_open)
    with pytest.raises(BadInput, match=rf"{file}/sub: {file} is a file, not a folder"):
        open_store(file / "sub", read_only=read_only_open)
    assert file.read_text() == "x"


@pytest.mark.parametrize(
    "command",
    [["history"], ["profile", "show"], ["profile", "reset"], ["session", "--text", "--fast"]],
)
def test_the_commands_name_a_file_given_as_data_dir(tmp_path: Path, command: list[str]) -> None:
    file = tmp_path / "file"
    file.write_text("x")
    result = subprocess.run(
        [sys.executable, "-m", "voice", *command, "--data-dir", str(file)],
        input="end session\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert f"data folder {file} is a file, not a folder; pass --data-dir DIR" in result.stderr


# ----- 5. a read-only command on a damaged memory -----


def test_history_on_a_damaged_memory_reports_it_and_leaves_it(tmp_path: Path) -> None:
    folder = remembered(tmp_path / "data")
    db = folder / DATABASE_NAME
    data = bytearray(db.read_bytes())
    data[4096:] = b"\xff" * (len(data) - 4096)
    db.write_bytes(bytes(data))
    before = listing(folder)
    for command in (["history"], ["profile", "show"]):
        result = subprocess.run(
            [sys.executable, "-m", "voice", *command, "--data-dir", str(folder)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 1, result.stderr
        err = result.stderr
        assert f"the safety memory {db} is damaged" in err and "left as it is" in err
        assert "next `backcoach session` moves it aside" in err
        assert f"recovering from {folder / JOURNAL_NAME}: 1 pain report (highest 8/10)" in err
        assert listing(folder) == before, "not moved, not reset, nothing created"
    with pytest.raises(StoreDamaged):
        open_store(folder, read_only=True)
    # The next session's store moves it aside and recovers.
    store = open_store(folder, tz=BERLIN)
    assert_locked_with_advice(store)
    store.close()
    assert len(list(folder.glob(f"{DATABASE_NAME}.corrupt-*"))) == 1


def test_the_journal_is_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        remembered(tmp_path / "data")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "data" / JOURNAL_NAME).stat().st_mode) == 0o600
