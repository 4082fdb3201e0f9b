from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.support.pulse import (
    VirtualAudio,
    missing_tools,
    start_virtual_audio,
    stop_virtual_audio,
)

_AUDIO: list[VirtualAudio] = []
"""The virtual devices this run set up, taken down when it ends."""


def pytest_configure(config: pytest.Config) -> None:
    # PortAudio (imported by sounddevice) routes ALSA's default device through
    # PulseAudio only if the server is up before it initialises, so start it
    # before any test module is collected.
    if not missing_tools():
        _AUDIO.append(start_virtual_audio())


def pytest_unconfigure(config: pytest.Config) -> None:
    # Leave the machine's sound server as it was: no bc_speaker / bc_mic behind.
    while _AUDIO:
        stop_virtual_audio(_AUDIO.pop())


@pytest.fixture(scope="session")
def virtual_audio() -> Iterator[VirtualAudio]:
    """PulseAudio with a virtual speaker and microphone (see tests/pulse.py)."""
    missing = missing_tools()
    if missing:
        if os.environ.get("CI"):
            pytest.fail(f"CI must provide {', '.join(missing)}: .ci/run installs them")
        pytest.skip(f"needs {', '.join(missing)} (apt-get install pulseaudio pulseaudio-utils)")
    yield _AUDIO[0] if _AUDIO else start_virtual_audio()


@pytest.fixture(autouse=True)
def isolated_data_dir(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every test (and every process it starts) gets its own safety memory, never the user's."""
    monkeypatch.setenv("BACKCOACH_DATA", str(tmp_path_factory.mktemp("backcoach-data")))
