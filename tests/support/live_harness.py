"""Drive a live `backcoach session` on the PulseAudio virtual devices.

Shared by tests/test_live_session.py and benchmarks/stop_latency.py: user
speech clips (human recordings and espeak-ng voices), a session subprocess with
its transcript, synchronized recordings of the virtual mic and speaker, and
signal analysis (bursts of sound, silence onsets).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tests.support.pulse import VirtualAudio, _pactl, read_wav_mono, stop_recording
from voice.audio import PULSE_LATENCY_MS

REPO = Path(__file__).resolve().parents[2]
HUMAN = Path(__file__).resolve().parents[1] / "data" / "speech"
"""Human recordings vendored with the tests (see its SOURCES.md): a clone alone has them."""
SHARED_HUMAN = Path(os.environ.get("BACKCOACH_SHARED", REPO.parent / "shared")) / "speech" / "human"
"""The larger shared set, for the benchmarks (not beside a plain clone)."""
FRAME_S = 0.01
"""Analysis frame, seconds."""
SILENCE_RMS = 0.003
"""Frame RMS (full scale 1.0) below which the speaker counts as silent."""
SYNC_SINK = "bc_sync"
CLICK_HZ = 12000.0
"""Pitch of the sync click, hertz: above the 8 kHz the coach's 16 kHz microphone
stream keeps, so the recognizer never hears it. A 3 kHz click was transcribed
"t", "test" or "pause", and the coach answered it over the measured word."""
RECORD_RATE = 48000
"""Rate of the synchronized recordings: high enough to hold the click."""
CLICK_S = 0.03
"""Length of the sync click, seconds."""
CLICK_GAP_S = 0.7
"""Quiet after a sync click before the word: the recognizer feeds the 0.3 s before
an utterance's detected start to its decoders, and a click heard as the start of
the word turned a human "stop" into "faster"."""

ESPEAK_VOICES = ("en-us+f2", "en-us+klatt", "en-us+m2", "en-us+f1", "en-us", "en-us+f3")
"""espeak-ng voices tried in turn; pocketsphinx understands these best (measured)."""


# ----- clips -----


def espeak_clip(text: str, folder: Path, voice: str = "en-us+f2", speed: int = 140) -> Path:
    """`text` spoken by espeak-ng as 16 kHz mono WAV with short silent padding."""
    folder.mkdir(parents=True, exist_ok=True)
    name = f"{voice.replace('+', '_')}_{speed}_{'_'.join(text.split())}.wav"
    out = folder / name
    if out.exists():
        return out
    raw = folder / f"raw_{name}"
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-w", str(raw), text], check=True)
    subprocess.run(
        ["sox", str(raw), "-r", "16000", "-c", "1", "-b", "16", str(out), "pad", "0.15", "0.25"],
        check=True,
    )
    raw.unlink()
    return out


def human_clips(word: str, root: Path = HUMAN) -> list[Path]:
    folder = root / word
    return sorted(folder.glob("*.wav")) if folder.is_dir() else []


def clips_for(text: str, folder: Path) -> list[Path]:
    """Candidate recordings of `text` in the espeak-ng voices, best understood first.

    (Human "no" and "yes" clips are misheard as other commands too often to
    steer a scripted session; the human "stop" clips are used for stops.)
    """
    return [espeak_clip(text, folder, v) for v in ESPEAK_VOICES]


def tools_missing() -> list[str]:
    return [t for t in ("espeak-ng", "sox", "paplay", "parecord") if shutil.which(t) is None]


# ----- the session process -----


@dataclass
class LiveSession:
    """`backcoach session` as a subprocess on the virtual devices, with its transcript."""

    audio: VirtualAudio
    workdir: Path
    args: Sequence[str] = ()
    engine: str = "pocketsphinx"
    transcript: Path = field(init=False)
    proc: subprocess.Popen[bytes] | None = None
    t0: float = 0.0
    """time.time() when the process started."""

    def __post_init__(self) -> None:
        self.transcript = self.workdir / "session.jsonl"

    def start(self) -> None:
        env = dict(os.environ)
        env.update(
            PULSE_SINK=self.audio.speaker_sink,
            PULSE_SOURCE=self.audio.mic_source,
            PULSE_LATENCY_MSEC=os.environ.get("PULSE_LATENCY_MSEC", str(PULSE_LATENCY_MS)),
            PYTHONUNBUFFERED="1",
        )
        data = self.workdir / "data"
        data.mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "voice",
            "session",
            "--engine",
            self.engine,
            "--transcript",
            str(self.transcript),
            "--data-dir",
            str(data),
            *self.args,
        ]
        self.t0 = time.time()
        self.proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=(self.workdir / "stdout.txt").open("wb"),
            stderr=(self.workdir / "stderr.txt").open("wb"),
            env=env,
            cwd=str(REPO),
        )

    def events(self) -> list[dict[str, Any]]:
        if not self.transcript.exists():
            return []
        lines = self.transcript.read_text(encoding="utf-8").splitlines()
        out = []
        for line in lines:
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:
                break  # a line being written
        return out

    def wait_for(
        self, pred: Callable[[dict[str, Any]], bool], timeout: float, since: int = 0
    ) -> tuple[int, dict[str, Any]] | None:
        """The first event at index >= since matching `pred`, within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            for i, event in enumerate(self.events()[since:], start=since):
                if pred(event):
                    return i, event
            if time.monotonic() > deadline or (self.proc and self.proc.poll() is not None):
                return None
            time.sleep(0.05)

    def wait_exit(self, timeout: float) -> int | None:
        assert self.proc is not None
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def close(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def output(self) -> str:
        return "".join(
            (self.workdir / name).read_text(errors="replace")
            for name in ("stdout.txt", "stderr.txt")
            if (self.workdir / name).exists()
        )


def say_until(
    session: LiveSession,
    audio: VirtualAudio,
    clips: Iterable[Path],
    pred: Callable[[dict[str, Any]], bool],
    timeout_each: float = 4.0,
) -> tuple[int, dict[str, Any], Path] | None:
    """Play clips into the mic one after another until an event matching `pred` appears."""
    for clip in clips:
        since = len(session.events())
        audio.play_into_mic(clip)
        found = session.wait_for(pred, timeout_each, since)
        if found is not None:
            return found[0], found[1], clip
    return None


def intent_is(name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e.get("event") == "intent" and e.get("intent") == name


# ----- synchronized recordings -----


@dataclass
class Recorder:
    """Records the virtual mic and speaker monitors; a click into both sinks aligns them."""

    audio: VirtualAudio
    folder: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    sync_module: str | None = None
    click_times: list[float] = field(default_factory=list)
    """`time.monotonic()` as each click was played, the start click first
    (`paired_clicks` finds each one in a recording)."""

    @property
    def mic_wav(self) -> Path:
        return self.folder / "mic.wav"

    @property
    def speaker_wav(self) -> Path:
        return self.folder / "speaker.wav"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        sinks = _pactl("list", "short", "sinks")
        if f"\t{SYNC_SINK}\t" not in sinks:
            self.sync_module = _pactl(
                "load-module",
                "module-combine-sink",
                f"sink_name={SYNC_SINK}",
                f"slaves={self.audio.mic_sink},{self.audio.speaker_sink}",
            ).strip()
        self.procs = [
            self.audio.start_recording(self.mic_wav, self.audio.mic_source, RECORD_RATE),
            self.audio.start_recording(self.speaker_wav, self.audio.speaker_monitor, RECORD_RATE),
        ]
        self.click()

    def click(self) -> float:
        """A short 12 kHz tone into both sinks at once (module-combine-sink keeps them in step).

        Null-sink monitors drop audio when PulseAudio switches a sink's rate, so
        the two recordings can drift apart; a click just before each measured
        word aligns them locally (`paired_clicks` finds it in each).
        """
        wav = self.folder / "click.wav"
        if not wav.exists():
            rate = RECORD_RATE
            t = np.arange(int(CLICK_S * rate)) / rate
            # Soft edges: a hard onset spreads into the speech band (0.13 peak in the
            # 16 kHz stream; 0.005 with them, measured through PulseAudio).
            edges = np.hanning(len(t)) ** 0.25
            tone = (0.8 * edges * np.sin(2 * np.pi * CLICK_HZ * t) * 32767).astype(np.int16)
            gap = np.zeros(rate // 20, np.int16)
            pcm = np.concatenate([gap, tone, gap])
            write_wav(wav, pcm, rate)
        played = time.monotonic()
        self.click_times.append(played)
        subprocess.run(
            ["paplay", f"--device={SYNC_SINK}", "--latency-msec=20", str(wav)],
            check=True,
            timeout=20,
        )
        time.sleep(CLICK_GAP_S)
        return played

    def stop(self) -> tuple[np.ndarray, np.ndarray, int]:
        """(mic, speaker) samples as recorded (align them with `clicks` and `paired_clicks`)."""
        for proc in self.procs:
            stop_recording(proc)
        self.procs = []
        if self.sync_module:
            with contextlib.suppress(subprocess.CalledProcessError):
                _pactl("unload-module", self.sync_module)
            self.sync_module = None
        mic, rate = read_wav_mono(self.mic_wav)
        speaker, _ = read_wav_mono(self.speaker_wav)
        return mic, speaker, rate


def write_wav(path: Path, pcm: np.ndarray, rate: int) -> None:
    """16-bit mono WAV of `pcm` at `rate` hertz."""
    import wave

    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.astype(np.int16).tobytes())


# ----- analysis -----


def _tone_frames(x: np.ndarray, rate: int, hz: float, level: float) -> np.ndarray:
    """Per frame: True where the frame is mostly a tone of `hz` and louder than `level` RMS."""
    f = int(rate * FRAME_S)
    n = len(x) // f
    frames = x[: n * f].reshape(n, f).astype(np.float64)
    t = np.arange(f) / rate
    c, s = np.cos(2 * np.pi * hz * t), np.sin(2 * np.pi * hz * t)
    tone = (frames @ c) ** 2 + (frames @ s) ** 2
    total = (frames**2).sum(axis=1) * f / 2 + 1e-12
    return (tone / total > 0.5) & (np.sqrt((frames**2).mean(axis=1)) > level)


def paired_clicks(
    click_times: Sequence[float], found: Sequence[float], within_s: float = 0.5
) -> list[float | None]:
    """The click of a recording (`found`, from `clicks`) for each click played, or None.

    `click_times`: when each click was played (`Recorder.click_times`). A
    recording can lose clicks (the mic one lost three in a row in a 9 min run, the
    speaker one five and four in a 14 min run), so clicks are paired by time, not
    by count: pairing the n-th play with the n-th click found measured the words
    after a lost click against the wrong click. The recording's time offset is the
    one that pairs the most clicks, and of those the one they fit best (words are
    seconds apart in length, drift is milliseconds), so a lost start click shifts
    nothing.
    """
    if not click_times or not found:
        return [None] * len(click_times)
    candidates = [f - t for f in found[:5] for t in click_times[:5]]

    def fit(offset: float) -> tuple[int, float]:
        misses = [min(abs(f - t - offset) for f in found) for t in click_times]
        return sum(m <= within_s for m in misses), -sum(m for m in misses if m <= within_s)

    offset = max(candidates, key=fit)

    def paired(played: float) -> float | None:
        near = min(found, key=lambda c: abs(c - played - offset))
        return near if abs(near - played - offset) <= within_s else None

    return [paired(t) for t in click_times]


def clicks(x: np.ndarray, rate: int) -> list[float]:
    """Start times (seconds) of the sync clicks: frames that are a loud pure `CLICK_HZ` tone."""
    out: list[float] = []
    for i in np.flatnonzero(_tone_frames(x, rate, CLICK_HZ, 0.2)):
        if not out or i * FRAME_S - out[-1] > 0.2:
            out.append(i * FRAME_S)
    return out


ALERT_HZ = 1320.0
"""Pitch of the coach's alert cue (voice/cues.py), hertz."""


def stop_silence_onset(
    x: np.ndarray, rate: int, after: float, limit_s: float = 4.0
) -> float | None:
    """When the speaker fell silent for a stop: the start of the silence before the alert cue.

    A stop cuts the speech, then the dialogue plays the alert cue. Natural pauses
    in speech look like a cut, so the cut is found backwards from the alert.
    """
    alert = _tone_frames(x, rate, ALERT_HZ, 0.02)
    first = int(after / FRAME_S)
    last = min(len(alert), first + int(limit_s / FRAME_S))
    hits = np.flatnonzero(alert[first:last])
    if not hits.size:  # silenced without a cue yet: the first lasting silence
        return silence_onset(x, rate, after, min_run_s=0.5, limit_s=limit_s)
    alert_at = first + int(hits[0])
    rms = frame_rms(x, rate)
    # The cue's first frames (fade-in, stream start) are not yet a clean tone: step
    # back over them, then back over the silence to where the speech was cut.
    i = max(first, alert_at - 8)
    while i > first and rms[i - 1] < SILENCE_RMS:
        i -= 1
    return i * FRAME_S


def word_after(
    x: np.ndarray, rate: int, click: float, within_s: float = 3.0, quiet_s: float = 0.15
) -> tuple[float, float] | None:
    """(start, end) seconds of the word after the sync click at `click`.

    The word is the stretch around its loudest frame where the level stays
    within 25 dB of that frame, allowing gaps shorter than `quiet_s` (the
    closure before a "p"). A recording's background noise, a lone click at the
    start of a clip, or a second sound well after the word (several human
    recordings have them) are not part of it.
    """
    offset = click + CLICK_S + 0.06
    a = int(offset * rate)
    rms = frame_rms(x[a : a + int(within_s * rate)], rate)
    if not rms.size or rms.max() < 0.01:
        return None
    loud = rms > rms.max() * 10 ** (-25 / 20)
    peak = int(np.argmax(rms))
    gap = round(quiet_s / FRAME_S)

    def edge(step: int) -> int:
        i, quiet = peak, 0
        while 0 <= i + step < len(loud) and quiet < gap:
            i += step
            quiet = 0 if loud[i] else quiet + 1
        return i - step * quiet if quiet else i

    first, last = edge(-1), edge(+1)
    return offset + first * FRAME_S, offset + (last + 1) * FRAME_S


def frame_rms(x: np.ndarray, rate: int) -> np.ndarray:
    f = int(rate * FRAME_S)
    n = len(x) // f
    return np.sqrt((x[: n * f].reshape(n, f) ** 2).mean(axis=1))


def bursts(
    x: np.ndarray, rate: int, gap_s: float = 0.3, level: float = 0.01
) -> list[tuple[float, float]]:
    """(start, end) seconds of sounds separated by at least `gap_s` of quiet."""
    loud = frame_rms(x, rate) > level
    out: list[tuple[float, float]] = []
    start = None
    quiet = 0
    gap = int(gap_s / FRAME_S)
    for i, on in enumerate(loud):
        if on:
            if start is None:
                start = i
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet >= gap:
                out.append((start * FRAME_S, (i - quiet + 1) * FRAME_S))
                start, quiet = None, 0
    if start is not None:
        out.append((start * FRAME_S, (len(loud) - quiet) * FRAME_S))
    return out


def sound_between(x: np.ndarray, rate: int, start: float, end: float) -> float:
    """Fraction of frames in [start, end) with sound."""
    rms = frame_rms(x, rate)
    a, b = int(start / FRAME_S), int(end / FRAME_S)
    part = rms[max(0, a) : max(a + 1, b)]
    return float((part > SILENCE_RMS).mean()) if part.size else 0.0


def silence_onset(
    x: np.ndarray, rate: int, after: float, min_run_s: float = 0.1, limit_s: float = 3.0
) -> float | None:
    """Start (seconds) of the first silent run of `min_run_s` beginning at or after `after`."""
    rms = frame_rms(x, rate)
    run = round(min_run_s / FRAME_S)
    first = int(after / FRAME_S)
    last = min(len(rms) - run, first + int(limit_s / FRAME_S))
    for i in range(first, last + 1):
        if (rms[i : i + run] < SILENCE_RMS).all():
            return i * FRAME_S
    return None


def sound_onset(x: np.ndarray, rate: int, after: float, limit_s: float = 5.0) -> float | None:
    rms = frame_rms(x, rate)
    first = int(after / FRAME_S)
    last = min(len(rms), first + int(limit_s / FRAME_S))
    for i in range(first, last):
        if rms[i] > SILENCE_RMS:
            return i * FRAME_S
    return None


# ----- a session in this process -----


class InProcessSession:
    """`voice.session.live.run_live` on a thread of this process, with typed set-up commands.

    The measured words still go the whole way: virtual mic -> recognizer ->
    runner -> speaker -> virtual speaker. Typed lines (`type`) only steer the
    session into the state a test or benchmark needs, without depending on
    how well a set-up phrase is recognized.
    """

    def __init__(self, workdir: Path, engine: str = "pocketsphinx") -> None:
        from voice.coach.dialogue import Coach
        from voice.coach.grammar import load_grammar
        from voice.coach.routines import load_book
        from voice.session.build import SessionOptions
        from voice.session.runner import RealClock, SessionRunner
        from voice.store.sqlite import SqliteStore
        from voice.store.transcript import Transcript

        book = load_book()
        clock = RealClock()
        self.memory_path = workdir / "memory.db"
        store = SqliteStore(self.memory_path)  # SQLite: reopened on the session thread
        self.transcript = Transcript(workdir / "session.jsonl", clock.now())
        coach = Coach(book, store.snapshot(clock.now()))
        store.close()
        self.runner = SessionRunner(coach, load_grammar(book), clock, self.transcript, store)
        self.options = SessionOptions(engine=engine)
        self.error: BaseException | None = None
        self.captions: list[str] = []
        self.thread = threading.Thread(target=self._run, name="session", daemon=True)

    def _run(self) -> None:
        from voice.session.build import build_live
        from voice.session.live import LiveSettings, run_live
        from voice.store.sqlite import SqliteStore

        self.runner.store = SqliteStore(self.memory_path)
        try:
            settings = LiveSettings()
            parts = build_live(self.runner, self.options, self.captions.append, settings)
            run_live(self.runner, parts, settings)
        except BaseException as error:  # re-raised by close()
            self.error = error

    def start(self) -> None:
        self.thread.start()

    def type(self, text: str) -> None:
        self.runner.hear(text, "typed")

    def events(self) -> list[dict[str, Any]]:
        return list(self.transcript.events)

    def wait_for(
        self, pred: Callable[[dict[str, Any]], bool], timeout: float, since: int = 0
    ) -> dict[str, Any] | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.events()[since:]:
                if pred(event):
                    return event
            if not self.thread.is_alive():
                return None
            time.sleep(0.02)
        return None

    def speaking(self) -> bool:
        return any(getattr(o, "busy", lambda: False)() for o in self.runner.outputs)

    def wait_quiet(self, timeout: float = 90.0) -> bool:
        """Until the coach has been silent for 0.4 s."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.speaking():
                time.sleep(0.4)
                if not self.speaking():
                    return True
            time.sleep(0.05)
        return False

    def close(self) -> None:
        self.runner.close_input()
        self.thread.join(30)
        self.transcript.close()
        if self.error is not None:
            raise self.error


def load_echo_loopback(audio: VirtualAudio, volume_percent: int = 35) -> str:
    """Loop the coach's speaker back into the mic (the room's echo); returns the module id.

    `volume_percent` sets the echo level at the mic: PulseAudio's volume scale is
    cubic, so 35 % is about -27 dB, a mic much nearer the user than the speaker.
    At 100 % (echo as loud as the user) pocketsphinx misses most stops spoken
    over the coach: that needs real echo cancellation (see `backcoach doctor`).
    """
    module = _pactl(
        "load-module",
        "module-loopback",
        f"source={audio.speaker_monitor}",
        f"sink={audio.mic_sink}",
        "latency_msec=30",
    ).strip()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        current = None
        for line in _pactl("list", "sink-inputs").splitlines():
            line = line.strip()
            if line.startswith("Sink Input #"):
                current = line.split("#", 1)[1]
            elif line == f"Owner Module: {module}" and current is not None:
                _pactl("set-sink-input-volume", current, f"{volume_percent}%")
                return module
        time.sleep(0.05)
    return module
