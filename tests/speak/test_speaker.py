import threading
import time

import numpy as np
import pytest

from tests.support.audio_probe import MonitorProbe, PrivateSink
from tests.support.pulse import read_wav_mono
from voice.coach.actions import CueKind
from voice.speak.tts import SpeechSettings

pytestmark = pytest.mark.audio


class Log:
    def __init__(self):
        self.done: list[tuple[int, bool]] = []
        self.errors: list[str] = []
        self.cond = threading.Condition()

    def on_done(self, uid, completed):
        with self.cond:
            self.done.append((uid, completed))
            self.cond.notify_all()

    def wait(self, n, timeout=15):
        with self.cond:
            return self.cond.wait_for(lambda: len(self.done) >= n, timeout)


def _speaker(log, output, **kw):
    from voice.speak.speaker import Speaker

    sp = Speaker(
        SpeechSettings(), output=output, on_done=log.on_done, on_error=log.errors.append, **kw
    )
    if not sp.tts_available:
        sp.close()
        pytest.skip(f"needs text-to-speech: {sp.tts_error}")
    return sp


def test_queue_order_and_no_overlap(tmp_path):
    log, played = Log(), []
    out = tmp_path / "s.wav"
    with _speaker(log, out, paced_wav=False, on_played=lambda b, r: played.append(len(b))) as sp:
        sp.say("Lie on your back", 1)
        sp.cue(CueKind.HOLD_START, 2)
        sp.say("three", 3)
        sp.cue(CueKind.HOLD_END, 4)
        assert log.wait(4)
    assert log.done == [(1, True), (2, True), (3, True), (4, True)]
    assert log.errors == []
    data, rate = read_wav_mono(out)
    assert sum(played) == len(data)  # on_played saw exactly what was written
    # back to back in one stream, so they cannot overlap: the cue's pure tone
    # sits between the two spoken parts
    from voice.speak.cues import cue_samples

    cue = cue_samples(CueKind.HOLD_START, rate).astype(np.float32) / 32768 * 0.8
    corr = np.correlate(data, cue, mode="valid")
    at = int(np.argmax(corr)) / rate
    assert 0.5 < at < len(data) / rate - 0.5


def test_stop_all_drops_queue_and_silences(virtual_audio):
    log = Log()
    with PrivateSink() as sink, _speaker(log, None) as sp, MonitorProbe(sink.monitor) as probe:
        sp.say("Slide your hips slowly to the edge of the bed and breathe out", 10)
        sp.say("this line is dropped", 11)
        sp.cue(CueKind.ALERT, 12)
        t0 = time.monotonic()
        first = probe.first_sound_after(t0)
        assert first is not None
        time.sleep(0.4)
        assert sp.now_playing() is not None and "hips" in sp.now_playing()
        t_stop = time.monotonic()
        sp.stop_all()
        assert time.monotonic() - t_stop < 0.02  # never waits on synthesis or playback
        silent = probe.silence_after(t_stop)
        assert silent is not None and silent - t_stop <= 0.030
        assert log.wait(3)
        assert sorted(log.done) == [(10, False), (11, False), (12, False)]
        assert sp.now_playing() is None
        # the speaker keeps working after a stop
        t1 = time.monotonic()
        sp.say("two", 13)
        assert probe.first_sound_after(t1, timeout_s=4) is not None, (log.done, log.errors)
        assert log.wait(4)
        assert log.done[-1] == (13, True)


def test_counts_are_rendered_before_they_are_said(virtual_audio):
    """A count never waits for synthesis: the counts are in the cache before the first one is
    said, and saying them renders nothing. (How soon they sound is measured by
    benchmarks/tts_latency.py, not here.)"""
    log = Log()
    with PrivateSink() as sink, _speaker(log, None) as sp, MonitorProbe(sink.monitor) as probe:
        words = ["one", "two", "three", "four", "five"]
        rate = sp._rate_wpm()

        def rendered() -> bool:
            synth = sp.synthesizer
            return synth is not None and all(synth.is_cached(w, rate_wpm=rate) for w in words)

        deadline = time.monotonic() + 20  # rendered while idle, never asked for
        while not rendered() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert rendered()
        synth = sp.synthesizer
        assert synth is not None
        misses, hits = synth.cache_misses, synth.cache_hits
        for i, word in enumerate(words):
            t0 = time.monotonic()
            sp.say(word, i)
            assert probe.first_sound_after(t0, timeout_s=5.0) is not None  # and it is heard
            assert log.wait(i + 1)
        assert synth.cache_misses == misses and synth.cache_hits == hits + len(words)


def test_adjust_rate_and_volume(tmp_path):
    log = Log()
    out = tmp_path / "a.wav"
    text = "Keep your shoulders flat on the mattress"
    with _speaker(log, out, paced_wav=False, preload=False) as sp:
        sp.say(text, 1)
        assert log.wait(1)
        n1 = len(read_wav_mono(out)[0]) if out.stat().st_size > 44 else None
        sp.adjust(rate=0.6, volume=0.5)
        sp.say(text, 2)
        assert log.wait(2)
    data, _rate = read_wav_mono(out)
    first = data[:n1] if n1 else data[: len(data) // 3]
    second = data[len(first) :]
    assert len(second) > 1.4 * len(first)  # slower
    assert np.max(np.abs(second)) < 0.75 * np.max(np.abs(first))  # quieter


def test_without_tts_cues_play_and_lines_complete(tmp_path):
    from voice.speak.speaker import Speaker

    log = Log()
    out = tmp_path / "c.wav"
    sp = Speaker(
        SpeechSettings(driver="nosuchdriver"), out, on_done=log.on_done, on_error=log.errors.append
    )
    with sp:
        assert not sp.tts_available
        sp.say("Lie on your back", 1)
        sp.cue(CueKind.ALERT, 2)
        assert log.wait(2)
    assert log.done == [(1, True), (2, True)]
    assert log.errors and "espeak-ng" in log.errors[0]
    data, _ = read_wav_mono(out)
    assert np.max(np.abs(data)) > 0.2  # the cue was written


def test_missing_output_device_error():
    from voice.errors import AudioDeviceError
    from voice.speak.speaker import Speaker

    with pytest.raises(AudioDeviceError, match="devices found"):
        Speaker(SpeechSettings(), output="no-such-device-xyz")


def test_a_tts_failure_mid_session_reports_and_goes_on(tmp_path, monkeypatch):
    # One line fails in the TTS engine: the error is reported, the line counts as
    # done (the dialogue moves on, the caption was printed), and the next lines speak.
    from voice.speak import tts

    real = tts.Synthesizer.synthesize

    def failing(self, text, rate_wpm=None):
        if "breaks" in text:
            raise tts.SynthesisError(f"TTS failed on {text!r}: simulated engine crash")
        return real(self, text, rate_wpm)

    monkeypatch.setattr(tts.Synthesizer, "synthesize", failing)
    log = Log()
    out = tmp_path / "s.wav"
    with _speaker(log, out, paced_wav=False) as sp:
        sp.say("Lie on your back", 1)
        sp.say("This line breaks the engine", 2)
        sp.say("Breathe out slowly", 3)
        assert log.wait(3)
    assert [uid for uid, _ in log.done] == [1, 2, 3]
    assert len(log.errors) == 1 and "simulated engine crash" in log.errors[0]
    data, rate = read_wav_mono(out)
    assert len(data) / rate > 1.5  # both other lines were spoken
