import threading
import time

import numpy as np
import pytest

from tests.support.audio_probe import MonitorProbe, PrivateSink
from tests.support.pulse import read_wav_mono, stop_recording
from voice.errors import AudioDeviceError
from voice.speak.playback import Player, PlayResult

pytestmark = pytest.mark.audio
RATE = 22050


def _tone(seconds, freq=440.0):
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.5 * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def test_sound_comes_out_of_default_sink(virtual_audio, tmp_path):
    wav = tmp_path / "rec.wav"
    with Player(None, RATE) as player:
        rec = virtual_audio.start_recording(wav)
        try:
            assert player.play(_tone(0.5), RATE) is PlayResult.COMPLETED
            time.sleep(0.2)
        finally:
            stop_recording(rec)
    data, rate = read_wav_mono(wav)
    loud = np.abs(data) > 0.1
    assert loud.sum() / rate > 0.3  # most of the half second came out


def test_abort_silences_within_30_ms(virtual_audio):
    # a sink only this test plays into: the server is shared with other tests
    with PrivateSink() as sink, Player(None, RATE) as player, MonitorProbe(sink.monitor) as probe:
        for _ in range(5):
            result: list[PlayResult] = []
            t_play = time.monotonic()
            th = threading.Thread(target=lambda r=result: r.append(player.play(_tone(3), RATE)))
            th.start()
            assert probe.first_sound_after(t_play) is not None
            time.sleep(0.3)
            t_stop = time.monotonic()
            player.abort()
            silent = probe.silence_after(t_stop)
            th.join(2)
            assert result == [PlayResult.ABORTED]
            # upper bound: arrival time of the last loud chunk at the monitor
            assert silent is not None and silent - t_stop <= 0.030, silent - t_stop
            assert probe.peak_between(silent + 0.02, silent + 0.1) < probe.threshold


def test_wav_sink_unpaced(tmp_path):
    out = tmp_path / "out.wav"
    with Player(out, RATE, paced=False) as player:
        t0 = time.monotonic()
        assert player.play(_tone(2.0), RATE) is PlayResult.COMPLETED
        assert player.play(_tone(1.0, 880), RATE, gain=0.5) is PlayResult.COMPLETED
        assert time.monotonic() - t0 < 1.0  # not real time
    data, rate = read_wav_mono(out)
    assert rate == RATE
    assert len(data) == pytest.approx(3.0 * RATE, abs=2 * player.blocksize)
    assert np.max(np.abs(data[-RATE // 2 :])) == pytest.approx(0.25, abs=0.01)


def test_wav_sink_paced_keeps_timeline_and_abort(tmp_path):
    out = tmp_path / "paced.wav"
    with Player(out, RATE, paced=True) as player:
        th = threading.Thread(target=player.play, args=(_tone(2.0), RATE))
        th.start()
        time.sleep(0.5)
        player.abort()
        th.join(2)
        time.sleep(0.3)
    data, rate = read_wav_mono(out)
    loud = np.flatnonzero(np.abs(data) > 0.1)
    assert 0.3 < (loud[-1] - loud[0]) / rate < 0.7  # cut after about 0.5 s of 2 s
    assert len(data) / rate > 0.7  # silence after the cut is written too


def test_resample_plays_other_rates(tmp_path):
    out = tmp_path / "r.wav"
    with Player(out, RATE, paced=False) as player:
        player.play((_tone(1.0) * 32767).astype(np.int16)[::2], RATE // 2)
    data, _ = read_wav_mono(out)
    assert len(data) == pytest.approx(RATE, abs=player.blocksize)


def test_missing_device_lists_devices(virtual_audio):
    with pytest.raises(AudioDeviceError) as info:
        Player("no-such-device-xyz", RATE).open()
    message = str(info.value)
    assert "devices found:" in message and "default" in message
    with pytest.raises(AudioDeviceError, match="number 999"):
        Player(999, RATE).open()


def test_device_by_name(virtual_audio):
    with Player("pulse", RATE) as player:
        assert player.device_name == "pulse"
        assert player.play(_tone(0.1), RATE) is PlayResult.COMPLETED


def test_stream_dying_is_reported_and_reopened(virtual_audio):
    # The stream is stopped behind the player's back (what a vanished device
    # does to PortAudio); the watchdog must report it and get audio back.
    lost, restored = [], threading.Event()
    with Player(
        None, RATE, on_device_lost=lost.append, on_device_restored=restored.set, retry_s=0.2
    ) as player:
        time.sleep(0.3)
        player._stream.abort()
        assert restored.wait(5)
        assert lost and "lost" in lost[0]
        assert player.play(_tone(0.1), RATE) is PlayResult.COMPLETED
