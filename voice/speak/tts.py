"""Text to PCM through pyttsx3 (espeak-ng on Linux, SAPI5 on Windows, NSSpeech on macOS).

Every utterance is rendered with pyttsx3's `save_to_file` into a private
temporary folder and read back as int16 mono samples; nothing is ever spoken to
a device by pyttsx3, so playback stays ours and abortable (`voice.speak.playback`).

Measured here (pyttsx3 2.99, espeak-ng, 2 cores): one `save_to_file` +
`runAndWait` takes about 10 ms for a word or a three-second sentence alike; the
10 ms is the driver loop's `time.sleep(0.01)`, espeak-ng itself needs 1-3 ms.
That is fast enough, so the driver is used as is; short phrases (counts,
"breathe in", "hold", ...) are cached anyway so a count never waits for it.

Ownership: a `Synthesizer` owns its own pyttsx3 `Engine` (built directly, not
through `pyttsx3.init`, whose per-driver cache would share one engine between
owners) and must be used from one thread. libespeak-ng itself is a process-wide
library with one synthesis callback, so calls from different synthesizers are
serialized by `_ESPEAK_LOCK` and the callback is re-pointed at the calling
engine before each synthesis.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import shutil
import sys
import tempfile
import threading
import wave
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from voice.coach.lines import TIMED_PHRASES
from voice.errors import BackCoachError, BadInput, MissingRequirement
from voice.text import normalize_for_speech

__all__ = [
    "CACHED_PHRASES",
    "MAX_RATE_WPM",
    "MIN_RATE_WPM",
    "Pcm",
    "SpeechSettings",
    "SynthesisError",
    "Synthesizer",
    "VoiceInfo",
    "list_voices",
]

log = logging.getLogger(__name__)

MIN_RATE_WPM = 80
"""Slowest speech rate espeak-ng accepts, words per minute."""
MAX_RATE_WPM = 400
"""Fastest rate still understandable, words per minute."""

CACHED_PHRASES: tuple[str, ...] = (
    *TIMED_PHRASES,
    "hold",
    "breathe in",
    "breathe out",
    "relax",
    "release",
    "halfway",
    "and relax",
    "good",
    "again",
    "last one",
    "stop",
    "stopping",
    "okay",
)
"""Phrases rendered once at start-up so a count starts on its second (normalized text)."""

_SHORT_WORDS = 4
"""Utterances up to this many words are kept in the cache after their first synthesis."""
_CACHE_SIZE = 512
"""Most cached renderings kept (least recently used go first)."""
_LEAD_IN_S = 0.005
"""Silence kept before the first sound, seconds: trimming the rest starts counts on time."""
_TAIL_S = 0.08
"""Silence kept after the last sound, seconds."""
_SILENCE = 64
"""|sample| at or below this (int16, about -54 dBFS) counts as silence when trimming."""

# libespeak-ng is initialised once per process and has one synthesis callback
# and one set of parameters: whoever holds the lock re-binds both.
_ESPEAK_LOCK = threading.Lock()
_espeak_user: list[int] = [0]
"""id() of the synthesizer that last set espeak-ng's callback and parameters."""


class SynthesisError(BackCoachError):
    """The TTS engine failed on one utterance (other utterances may still work)."""


@dataclass(frozen=True)
class SpeechSettings:
    """How the coach speaks; "slower"/"louder" apply factors on top (see `Speaker.adjust`)."""

    voice: str | None = None
    """pyttsx3 voice id (`backcoach voices`), e.g. "gmw/en-us"; None = the driver's default."""
    rate_wpm: int = 165
    """Speech rate, words per minute (espeak-ng accepts 80-450)."""
    volume: float = 0.8
    """Linear output gain, 0.0 (silent) to 1.0 (full scale); applied to the PCM."""
    driver: str | None = None
    """pyttsx3 driver name ("espeak", "sapi5", "nsss"); None = the platform default."""


@dataclass(frozen=True)
class Pcm:
    """Mono audio."""

    samples: np.ndarray
    """int16 samples, mono."""
    rate: int
    """Sample rate, hertz."""

    @property
    def duration_s(self) -> float:
        return len(self.samples) / self.rate if self.rate else 0.0


@dataclass(frozen=True)
class VoiceInfo:
    id: str
    """Value for `SpeechSettings.voice` and `--voice`."""
    name: str
    languages: tuple[str, ...] = field(default_factory=tuple)
    gender: str | None = None


def _default_driver() -> str:
    if sys.platform == "win32":
        return "sapi5"
    if sys.platform == "darwin":
        return "nsss"
    return "espeak"


def _install_hint(driver: str) -> str:
    if driver == "espeak":
        if sys.platform == "darwin":
            return "brew install espeak-ng"
        if sys.platform == "win32":
            return "install eSpeak NG from https://github.com/espeak-ng/espeak-ng/releases"
        return "apt-get install espeak-ng  (Fedora: dnf install espeak-ng)"
    if driver == "sapi5":
        return "pip install pywin32 comtypes"
    if driver == "nsss":
        return "pip install pyobjc"
    return "pip install pyttsx3"


def _new_engine(driver: str) -> Any:
    """A fresh pyttsx3 Engine, or MissingRequirement saying what to install."""
    if importlib.util.find_spec("pyttsx3") is None:
        raise MissingRequirement("text-to-speech needs pyttsx3", fix="pip install pyttsx3")
    import pyttsx3.engine

    if importlib.util.find_spec(f"pyttsx3.drivers.{driver}") is None:
        raise MissingRequirement(
            f"pyttsx3 has no text-to-speech driver '{driver}'",
            fix=f"use the platform's driver ('{_default_driver()}'): {_install_hint('espeak')}",
        )
    try:
        engine = pyttsx3.engine.Engine(driver)
    except (ImportError, OSError, RuntimeError) as error:
        lib = "libespeak-ng" if driver == "espeak" else f"the '{driver}' speech library"
        raise MissingRequirement(
            f"text-to-speech is unavailable: {lib} could not be loaded ({error})",
            fix=_install_hint(driver),
        ) from error
    module = getattr(getattr(engine, "proxy", None), "_module", None)
    if module is not None and driver == "espeak":
        # The espeak driver print()s "Audio saved to ..." for every file; stdout
        # carries captions and JSON, so send those lines to the debug log instead.
        module.print = _driver_print
    return engine


def _driver_print(*args: object, **_kwargs: object) -> None:
    log.debug("pyttsx3: %s", " ".join(str(a) for a in args))


def _read_wav(path: Path) -> Pcm:
    with wave.open(str(path), "rb") as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        frames = w.readframes(w.getnframes())
    if width != 2:
        raise SynthesisError(f"TTS wrote {8 * width}-bit audio; only 16-bit PCM is supported")
    samples = np.frombuffer(frames, dtype="<i2").astype(np.int16)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return Pcm(samples, rate)


def _trim(pcm: Pcm) -> Pcm:
    """Cut leading silence (so speech starts at once) and long trailing silence."""
    loud = np.flatnonzero(np.abs(pcm.samples.astype(np.int32)) > _SILENCE)
    if loud.size == 0:
        return Pcm(pcm.samples[:0], pcm.rate)
    start = max(0, int(loud[0]) - round(_LEAD_IN_S * pcm.rate))
    end = min(len(pcm.samples), int(loud[-1]) + 1 + round(_TAIL_S * pcm.rate))
    return Pcm(pcm.samples[start:end].copy(), pcm.rate)


def clamp_rate(rate_wpm: float) -> int:
    return round(min(MAX_RATE_WPM, max(MIN_RATE_WPM, rate_wpm)))


class Synthesizer:
    """Renders text to `Pcm` with one pyttsx3 engine; use it from one thread only.

    Raises `MissingRequirement` at construction when pyttsx3 or its speech
    library is missing.
    """

    def __init__(self, settings: SpeechSettings | None = None, timeout_s: float = 10.0) -> None:
        self.settings = settings or SpeechSettings()
        self.driver = self.settings.driver or _default_driver()
        self.timeout_s = timeout_s
        """Longest wait for one rendering, seconds."""
        self.cache_hits = 0
        self.cache_misses = 0
        self._cache: OrderedDict[tuple[str, str | None, int], Pcm] = OrderedDict()
        self._done = threading.Event()
        self._errors: list[BaseException] = []
        done, errors = self._done, self._errors  # no reference to self: no cycle, prompt close
        self._voice_set: str | None = None
        self._rate_set: int | None = None
        with _ESPEAK_LOCK:
            # building an espeak driver re-points the process-wide callback and
            # resets rate and voice: never while another synthesizer renders
            self._engine: Any = _new_engine(self.driver)
            self._engine.connect("finished-utterance", lambda **_kw: done.set())
            self._engine.connect("error", lambda exception=None, **_kw: errors.append(exception))
            _espeak_user[0] = id(self)
            default = self._engine.getProperty("voice")
            self.voice: str | None = self.settings.voice or (str(default) if default else None)
            """The voice in use: the setting, or the driver's default."""
            if self.settings.voice:
                known = {str(v.id).lower() for v in self._engine.getProperty("voices")}
                if self.settings.voice.lower() not in known:
                    self._unhook_espeak()
                    raise BadInput(
                        f"unknown voice '{self.settings.voice}': `backcoach voices` lists "
                        "the installed ones"
                    )
            if self.voice:
                self._apply_voice(self.voice)
        self._tmp = Path(tempfile.mkdtemp(prefix="backcoach-tts-"))
        self._count = 0

    # ----- public -----

    def synthesize(self, text: str, rate_wpm: float | None = None) -> Pcm:
        """PCM for `text` (normalized for speech first); cached for short phrases."""
        spoken = normalize_for_speech(text)
        rate = clamp_rate(self.settings.rate_wpm if rate_wpm is None else rate_wpm)
        key = (spoken.lower(), self.voice, rate)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            self.cache_hits += 1
            return cached
        self.cache_misses += 1
        if not spoken:
            return Pcm(np.zeros(0, dtype=np.int16), self.samplerate_hint())
        pcm = self._render(spoken, rate)
        if len(spoken.split()) <= _SHORT_WORDS:
            self._cache[key] = pcm
            while len(self._cache) > _CACHE_SIZE:
                self._cache.popitem(last=False)
        return pcm

    def is_cached(self, text: str, rate_wpm: float | None = None) -> bool:
        rate = clamp_rate(self.settings.rate_wpm if rate_wpm is None else rate_wpm)
        return (normalize_for_speech(text).lower(), self.voice, rate) in self._cache

    def preload(
        self, phrases: Iterable[str] = CACHED_PHRASES, rate_wpm: float | None = None
    ) -> None:
        """Render `phrases` into the cache now (about 10 ms each)."""
        for phrase in phrases:
            spoken = normalize_for_speech(phrase)
            rate = clamp_rate(self.settings.rate_wpm if rate_wpm is None else rate_wpm)
            key = (spoken.lower(), self.voice, rate)
            if key not in self._cache and spoken:
                self._cache[key] = self._render(spoken, rate)

    def samplerate_hint(self) -> int:
        """The engine's usual output rate, hertz (espeak-ng: 22050)."""
        return 22050

    def list_voices(self) -> list[VoiceInfo]:
        with _ESPEAK_LOCK:
            raw = self._engine.getProperty("voices")
        voices = []
        for v in raw:
            langs = tuple(
                lang.decode(errors="ignore") if isinstance(lang, bytes) else str(lang)
                for lang in (getattr(v, "languages", None) or [])
            )
            voices.append(VoiceInfo(str(v.id), str(v.name or v.id), langs, v.gender))
        return voices

    def close(self) -> None:
        """Release the engine and the temporary folder."""
        if self._engine is not None:
            with _ESPEAK_LOCK:
                self._unhook_espeak()
                self._engine = None
        shutil.rmtree(self._tmp, ignore_errors=True)

    def _unhook_espeak(self) -> None:
        # The espeak driver's destructor clears the process-wide synthesis
        # callback, at whatever moment the garbage collector runs it (the engine
        # sits in a reference cycle) - possibly in the middle of another
        # synthesizer's rendering. Unhook it now; the caller holds the lock.
        proxy = getattr(self._engine, "proxy", None)
        if self.driver == "espeak" and proxy is not None:
            proxy._driver = None
            _espeak_user[0] = 0

    def __enter__(self) -> Synthesizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- engine -----

    def _apply_voice(self, voice: str) -> None:
        try:
            self._engine.setProperty("voice", voice)
            self._voice_set = voice
        except (ValueError, KeyError) as error:
            raise MissingRequirement(
                f"unknown voice '{voice}'", fix="pick one listed by `backcoach voices`"
            ) from error

    def _render(self, spoken: str, rate: int) -> Pcm:
        pcm = self._render_once(spoken, rate)
        if pcm.samples.size == 0 and any(ch.isalnum() for ch in spoken):
            # Seen once in CI under load: espeak-ng reported the message finished
            # with no audio. A silent instruction is a dropped instruction, so
            # rebind everything and render again; a second silence is an error.
            log.warning("TTS returned silence for %r; rendering again", spoken)
            with _ESPEAK_LOCK:
                _espeak_user[0] = 0
            pcm = self._render_once(spoken, rate)
            if pcm.samples.size == 0:
                raise SynthesisError(f"TTS produced only silence for {spoken!r}")
        return pcm

    def _render_once(self, spoken: str, rate: int) -> Pcm:
        if self._engine is None:
            raise SynthesisError("the synthesizer is closed")
        self._count += 1
        path = self._tmp / f"u{self._count}.wav"
        with _ESPEAK_LOCK:
            if _espeak_user[0] != id(self):
                # another synthesizer used espeak-ng since: its callback and
                # rate/voice are set; take them back
                self._bind_espeak_callback()
                self._rate_set = None
                self._voice_set = None
                _espeak_user[0] = id(self)
            if rate != self._rate_set:
                self._engine.setProperty("rate", rate)
                self._settle_espeak()
                self._rate_set = rate
            if self.voice and self.voice != self._voice_set:
                self._apply_voice(self.voice)
            self._done.clear()
            self._errors.clear()
            self._engine.save_to_file(spoken, str(path))
            self._engine.runAndWait()
            # the espeak driver writes the file from espeak-ng's own thread after
            # runAndWait returns; "finished-utterance" says it is complete
            finished = self._done.wait(self.timeout_s + 0.01 * len(spoken))
        if self._errors:
            raise SynthesisError(f"TTS failed on {spoken!r}: {self._errors[0]}")
        if not path.exists() or (not finished and self.driver == "espeak"):
            raise SynthesisError(
                f"TTS produced no audio for {spoken!r} within {self.timeout_s:.0f} s"
            )
        try:
            return _trim(_read_wav(path))
        except (wave.Error, EOFError) as error:
            raise SynthesisError(f"TTS wrote an unreadable WAV for {spoken!r}: {error}") from error
        finally:
            path.unlink(missing_ok=True)

    def _settle_espeak(self) -> None:
        # espeak-ng queues a parameter change behind its (asynchronous) command
        # fifo, and the driver's runAndWait cancels that fifo before it starts
        # synthesis: without waiting here a new rate is silently dropped.
        espeak = sys.modules.get("pyttsx3.drivers._espeak")
        if self.driver == "espeak" and espeak is not None:
            espeak.Synchronize()

    def _bind_espeak_callback(self) -> None:
        if self.driver != "espeak":
            return
        driver = getattr(getattr(self._engine, "proxy", None), "_driver", None)
        espeak = sys.modules.get("pyttsx3.drivers._espeak")
        if driver is not None and espeak is not None:
            espeak.SetSynthCallback(driver._onSynth)


def list_voices(driver: str | None = None) -> list[VoiceInfo]:
    """Voices installed for the TTS driver (MissingRequirement when there is no TTS)."""
    with Synthesizer(SpeechSettings(driver=driver)) as synth:
        return synth.list_voices()
