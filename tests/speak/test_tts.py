import numpy as np
import pytest

from voice.errors import BadInput, MissingRequirement

pyttsx3 = pytest.importorskip("pyttsx3", reason="needs pyttsx3 (pip install pyttsx3)")


def _synth(**kw):
    from voice.speak.tts import SpeechSettings, Synthesizer

    try:
        return Synthesizer(SpeechSettings(**kw))
    except MissingRequirement as error:  # names the package: apt-get install espeak-ng
        pytest.skip(f"needs libespeak-ng: {error}")


@pytest.fixture(scope="module")
def synth():
    s = _synth()
    yield s
    s.close()


def _rms(pcm):
    return float(np.sqrt(np.mean((pcm.samples.astype(np.float64) / 32768) ** 2)))


def test_real_speech(synth):
    pcm = synth.synthesize("Breathe out slowly and let your back relax.")
    assert pcm.rate in (16000, 22050, 24000)
    assert pcm.samples.dtype == np.int16
    assert 1.0 < pcm.duration_s < 6.0
    assert 0.02 < _rms(pcm) < 0.5
    # trimmed: speech starts at once
    assert np.max(np.abs(pcm.samples[: int(0.02 * pcm.rate)])) > 64


def test_rate_changes_duration(synth):
    text = "Keep your shoulders flat on the mattress"
    slow = synth.synthesize(text, rate_wpm=110)
    fast = synth.synthesize(text, rate_wpm=260)
    assert slow.duration_s > 1.6 * fast.duration_s


def test_cache_hits(synth):
    synth.preload(["hold", "three"])
    hits = synth.cache_hits
    a = synth.synthesize("3")  # normalized to "three": the cached rendering
    b = synth.synthesize("Hold")
    assert synth.cache_hits == hits + 2
    assert a is synth.synthesize("three")
    assert b.duration_s > 0.1
    # another rate is another rendering
    assert not synth.is_cached("hold", rate_wpm=300)
    misses = synth.cache_misses
    synth.synthesize("hold", rate_wpm=300)
    assert synth.cache_misses == misses + 1 and synth.is_cached("hold", rate_wpm=300)


def test_two_synthesizers_do_not_steal_each_other(synth):
    other = _synth()
    assert other.synthesize("two words here").duration_s > 0.3
    other.close()
    assert synth.synthesize("after the other one closed").duration_s > 0.5


def test_voices_listed(synth):
    voices = synth.list_voices()
    assert any(v.id for v in voices)
    english = [v for v in voices if any(lang.startswith("en") for lang in v.languages)]
    assert english


def test_unknown_voice_is_bad_input():
    with pytest.raises(BadInput, match="backcoach voices"):
        _synth(voice="no-such-voice")


def test_missing_driver_names_package():
    from voice.speak.tts import SpeechSettings, Synthesizer

    with pytest.raises(MissingRequirement) as info:
        Synthesizer(SpeechSettings(driver="nosuchdriver"))
    assert "nosuchdriver" in str(info.value)
    assert "espeak-ng" in info.value.fix


def test_say_command_writes_wav(tmp_path):
    from voice.cli import main

    out = tmp_path / "x.wav"
    assert main(["say", "Breathe out slowly", "--out", str(out)]) == 0
    from tests.support.pulse import read_wav_mono

    data, rate = read_wav_mono(out)
    assert 0.5 < len(data) / rate < 3.0
    assert float(np.sqrt(np.mean(data**2))) > 0.01


def test_a_silent_rendering_is_rendered_again(synth, monkeypatch):
    from voice.speak.tts import Pcm, SynthesisError

    real = synth._render_once
    calls = []

    def silent_first(spoken, rate):
        calls.append(spoken)
        if len(calls) == 1:
            return Pcm(np.zeros(0, dtype=np.int16), 22050)
        return real(spoken, rate)

    monkeypatch.setattr(synth, "_render_once", silent_first)
    pcm = synth.synthesize("Lower your arms toward the floor now please")
    assert len(calls) == 2 and pcm.duration_s > 1.0

    monkeypatch.setattr(synth, "_render_once", lambda s, r: Pcm(np.zeros(0, np.int16), 22050))
    with pytest.raises(SynthesisError, match="only silence"):
        synth.synthesize("Come back up slowly and rest a moment")
