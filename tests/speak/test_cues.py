import numpy as np
import pytest

from voice.coach.actions import CueKind
from voice.speak.cues import CUE_PEAK, cue_notes, cue_samples


@pytest.mark.parametrize("kind", list(CueKind))
def test_cue_short_and_click_free(kind):
    pcm = cue_samples(kind, 22050).astype(np.float64) / 32767
    assert 0.1 < len(pcm) / 22050 < 0.5
    assert np.max(np.abs(pcm)) == pytest.approx(CUE_PEAK, abs=0.01)
    # faded: first and last samples near zero, no jump bigger than a 1.4 kHz sine allows
    assert abs(pcm[0]) < 0.01 and abs(pcm[-1]) < 0.01
    assert np.max(np.abs(np.diff(pcm))) < 2 * np.pi * 1320 * 5 / 22050 * CUE_PEAK


def _dominant(pcm, rate):
    spectrum = np.abs(np.fft.rfft(pcm * np.hanning(len(pcm))))
    return np.fft.rfftfreq(len(pcm), 1 / rate)[np.argmax(spectrum)]


def test_cues_distinct():
    rate = 22050
    start, end = cue_samples(CueKind.HOLD_START, rate), cue_samples(CueKind.HOLD_END, rate)
    # start rises, end falls: compare the pitch of the first and last 80 ms
    n = int(0.08 * rate)
    assert _dominant(start[:n], rate) < _dominant(start[-n:], rate)
    assert _dominant(end[:n], rate) > _dominant(end[-n:], rate)
    alert_notes = [n for n in cue_notes(CueKind.ALERT) if n.freq_hz > 0]
    assert len(alert_notes) == 3
    assert len({len(cue_samples(k, rate)) for k in CueKind}) == 3
