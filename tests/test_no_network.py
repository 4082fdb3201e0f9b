"""Privacy: `backcoach session` and `backcoach recognize` open no network socket.

Each command runs in a real subprocess whose `sitecustomize` (put first on
PYTHONPATH) installs an audit hook: every `socket.connect`, `bind`, `sendto` or
`sendmsg` on an AF_INET/AF_INET6 socket, and every name lookup, is written to a
log and refused. AF_UNIX stays allowed: PulseAudio and D-Bus use it locally.
A control test proves the hook catches a real connection attempt.
"""

from __future__ import annotations

import os
import subprocess
import sys
import wave
from pathlib import Path

import pytest

SITECUSTOMIZE = '''
"""Test-only: log and refuse Internet sockets (installed by tests/test_no_network.py)."""
import errno
import os
import socket
import sys

_LOG = os.environ["BACKCOACH_NET_LOG"]
_INET = (socket.AF_INET, socket.AF_INET6)
_LOCAL_NAMES = (None, "", "localhost", "127.0.0.1", "::1")


def _note(line):
    with open(_LOG, "a", encoding="utf-8") as log:
        log.write(line + "\\n")


def _hook(event, args):
    if event in ("socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg"):
        if getattr(args[0], "family", None) in _INET:
            _note(f"{event} {args[1]!r}")
            raise OSError(errno.ENETUNREACH, "network use is forbidden in this test")
    elif event in ("socket.getaddrinfo", "socket.gethostbyname"):
        if args[0] not in _LOCAL_NAMES:
            _note(f"{event} {args[0]!r}")
            raise OSError(errno.ENETUNREACH, "name lookups are forbidden in this test")


sys.addaudithook(_hook)
'''

HUMAN = Path(__file__).resolve().parent / "data" / "speech"


@pytest.fixture
def guarded(tmp_path: Path) -> tuple[dict[str, str], Path]:
    """Environment for a subprocess under the socket audit hook, and its log file."""
    hook_dir = tmp_path / "hook"
    hook_dir.mkdir()
    (hook_dir / "sitecustomize.py").write_text(SITECUSTOMIZE)
    log = tmp_path / "net.log"
    log.touch()
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(hook_dir), *filter(None, [env.get("PYTHONPATH")])])
    env["BACKCOACH_NET_LOG"] = str(log)
    env["BACKCOACH_DATA"] = str(tmp_path / "data")
    return env, log


def run_guarded(
    env: dict[str, str], args: list[str], stdin: str = "", cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        input=stdin,
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_the_hook_catches_a_connection(guarded: tuple[dict[str, str], Path]) -> None:
    env, log = guarded
    code = (
        "import socket\n"
        "s = socket.socket(socket.AF_UNIX)\n"  # allowed: local IPC
        "s.close()\n"
        "try:\n"
        "    socket.create_connection(('127.0.0.1', 9), timeout=1)\n"
        "except OSError as e:\n"
        "    print('refused', e.errno)\n"
    )
    result = run_guarded(env, ["-c", code])
    assert result.returncode == 0, result.stderr
    assert "refused" in result.stdout
    assert "socket.connect ('127.0.0.1', 9)" in log.read_text()


def test_the_hook_allows_unix_sockets(guarded: tuple[dict[str, str], Path], tmp_path: Path):
    if not hasattr(__import__("socket"), "AF_UNIX"):
        pytest.skip("no AF_UNIX on this platform")
    env, log = guarded
    code = "import socket, sys\ns = socket.socket(socket.AF_UNIX)\ns.bind(sys.argv[1])\ns.close()\n"
    result = run_guarded(env, ["-c", code, str(tmp_path / "sock")])
    assert result.returncode == 0, result.stderr
    assert log.read_text() == ""


def test_typed_session_opens_no_network_socket(
    guarded: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, log = guarded
    transcript = tmp_path / "t.jsonl"
    args = ["-m", "voice", "session", "--text", "--fast", "--data-dir", str(tmp_path / "d")]
    result = run_guarded(
        env,
        [*args, "--transcript", str(transcript)],
        stdin="no\nstart rotation\nnext\nstop\nlist routines\nend session\n",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "Coach:" in result.stdout, "the session really ran"
    assert log.read_text() == ""


def speech_file(tmp_path: Path) -> Path:
    """A real recording of 'stop' if the shared corpus is here, else a second of silence."""
    clips = sorted((HUMAN / "stop").glob("*.wav")) if HUMAN.is_dir() else []
    if clips:
        return clips[0]
    path = tmp_path / "silence.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(b"\0\0" * 16000)
    return path


def test_recognize_opens_no_network_socket(
    guarded: tuple[dict[str, str], Path], tmp_path: Path
) -> None:
    env, log = guarded
    result = run_guarded(
        env, ["-m", "voice", "recognize", str(speech_file(tmp_path)), "--json"], cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert '"text"' in result.stdout, "the recognizer really ran"
    assert log.read_text() == ""
