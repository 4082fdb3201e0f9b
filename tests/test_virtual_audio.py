"""The test fixtures' PulseAudio devices are taken down again (nothing left behind)."""

from __future__ import annotations

import subprocess

import pytest

from tests.support.pulse import (
    missing_tools,
    server_running,
    start_virtual_audio,
    stop_virtual_audio,
)


def _sinks() -> str:
    return subprocess.run(
        ["pactl", "list", "short", "sinks"], capture_output=True, text=True, check=True
    ).stdout


def _default_sink() -> str:
    info = subprocess.run(["pactl", "info"], capture_output=True, text=True, check=True).stdout
    return next(
        line.split(": ", 1)[1] for line in info.splitlines() if line.startswith("Default Sink")
    )


@pytest.mark.audio
def test_the_null_sinks_a_run_loads_are_unloaded_and_the_defaults_restored() -> None:
    missing = missing_tools()
    if missing or not server_running():
        pytest.skip(f"needs a PulseAudio server and {', '.join(missing) or 'pactl'}")
    before = _default_sink()
    audio = start_virtual_audio("bc_fixture_speaker", "bc_fixture_mic")
    try:
        assert "bc_fixture_speaker" in _sinks() and "bc_fixture_mic" in _sinks()
        assert len(audio.loaded_modules) == 2
    finally:
        stop_virtual_audio(audio)
    assert "bc_fixture_speaker" not in _sinks() and "bc_fixture_mic" not in _sinks()
    assert _default_sink() == before
