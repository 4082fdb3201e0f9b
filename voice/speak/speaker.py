"""The coach's voice: one ordered queue of spoken lines and cue tones, stoppable at once.

`Speaker` is what the session runtime drives with the dialogue manager's
`Say`, `Cue`, `StopAll` and `AdjustSpeech` actions. One worker thread owns the
`Synthesizer` (pyttsx3 engines must stay on one thread) and feeds the `Player`;
the caller's thread only appends to the queue, so `say()` and `cue()` never
block, and `stop_all()` never waits for a synthesis: it bumps a generation
counter, empties the queue and aborts the output stream under one lock, so an
item the worker is about to play is refused by the player (stale epoch).

Completion: `on_done(utterance_id, completed)` fires exactly once per queued
item - True when it finished playing, False when `stop_all`/`close` dropped it.
When no sound is possible (no TTS for a line, the device lost) the item counts
as delivered and is reported done (True) at once: the runtime prints every
line as a caption anyway, and the routine must go on.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from voice.coach.actions import CueKind
from voice.errors import BackCoachError, MissingRequirement
from voice.speak.cues import cue_samples
from voice.speak.playback import BLOCK_MS, Player, PlayResult
from voice.speak.tts import CACHED_PHRASES, SpeechSettings, Synthesizer, clamp_rate

__all__ = ["Speaker"]

_JOIN_S = 3.0
"""Longest wait for the worker thread on close, seconds."""
_READY_S = 10.0
"""Longest wait for the TTS engine to start, seconds."""


@dataclass
class _Item:
    utterance_id: int
    text: str | None = None
    """The line to speak; None for a cue."""
    cue: CueKind | None = None
    reported: bool = False
    """on_done already called (guarded by Speaker._cond)."""


class Speaker:
    """Speech and cues through one queue; see the module docstring for the threading rules."""

    def __init__(
        self,
        settings: SpeechSettings,
        output: str | int | Path | None = None,
        on_done: Callable[[int, bool], None] | None = None,
        on_error: Callable[[str], None] | None = None,
        *,
        on_played: Callable[[np.ndarray, int], None] | None = None,
        on_restored: Callable[[], None] | None = None,
        paced_wav: bool = True,
        block_ms: float = BLOCK_MS,
        preload: bool = True,
    ) -> None:
        """Open the output now (AudioDeviceError listing the devices when it is missing).

        `on_played(block, rate)`: every block actually output (float32 mono), from
        the audio thread - keep it fast (echo handling reads it). `on_restored()`:
        the lost output device is back. `paced_wav`: with a `.wav` output, write in
        real time with the silences (True) or back to back (False).
        """
        self.settings = settings
        self.on_done = on_done
        self.on_error = on_error
        self.on_played = on_played
        """Settable: receives each block written to the output (float32 mono, rate)."""
        self.on_restored = on_restored
        self.tts_error: MissingRequirement | None = None
        """Why speech is unavailable (cues still play), or None."""
        self._cond = threading.Condition()
        self._items: deque[_Item] = deque()
        self._current: _Item | None = None
        self._generation = 0
        self._closing = False
        self._rate_factor = 1.0
        self._volume_factor = 1.0
        self.synthesizer: Synthesizer | None = None
        """The worker's synthesizer once it started (read its cache figures, not more)."""
        self._preload: deque[str] = deque(CACHED_PHRASES if preload else ())
        self._player = Player(
            output,
            samplerate=22050,
            block_ms=block_ms,
            on_played=self._forward_played,
            on_device_lost=self._report_error,
            on_device_restored=self._device_restored,
            on_error=self._report_error,
            paced=paced_wav,
        ).open()
        self._cues = {kind: cue_samples(kind, self._player.samplerate) for kind in CueKind}
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._work, name="speaker", daemon=True)
        self._thread.start()
        self._ready.wait(_READY_S)

    # ----- the runtime's API -----

    @property
    def samplerate(self) -> int:
        """Output sample rate, hertz (what `on_played` blocks are at)."""
        return self._player.samplerate

    @property
    def tts_available(self) -> bool:
        return self.tts_error is None

    def say(self, text: str, utterance_id: int) -> None:
        self._enqueue(_Item(utterance_id, text=text))

    def cue(self, kind: CueKind, utterance_id: int) -> None:
        self._enqueue(_Item(utterance_id, cue=CueKind(kind)))

    def stop_all(self) -> None:
        with self._cond:
            self._generation += 1
            dropped = list(self._items)
            self._items.clear()
            current = self._current
            if current is not None:
                dropped.insert(0, current)
                self._current = None
            # abort under the lock: the worker reads the player's epoch under it
            # too, so an item it took before this point can no longer start
            self._player.abort()
            dropped = [item for item in dropped if not item.reported]
            for item in dropped:
                item.reported = True
        for item in dropped:
            self._call_done(item.utterance_id, False)

    def adjust(self, rate: float, volume: float) -> None:
        """Set the rate and volume factors (1.0 = the settings); later lines use them."""
        if rate <= 0 or volume < 0:
            raise ValueError(
                f"rate factor must be > 0 and volume factor >= 0, got {rate}, {volume}"
            )
        with self._cond:
            changed = clamp_rate(self.settings.rate_wpm * rate) != self._rate_wpm()
            self._rate_factor = rate
            self._volume_factor = volume
            if changed:  # render the counts at the new rate while idle
                self._preload = deque(CACHED_PHRASES)
            self._cond.notify_all()

    def now_playing(self) -> str | None:
        with self._cond:
            current = self._current
            return current.text if current is not None else None

    def pause(self) -> None:
        """Hold the line being spoken (a stop pre-trigger); `resume()` continues it."""
        self._player.pause()

    def resume(self) -> None:
        self._player.resume()

    def close(self) -> None:
        with self._cond:
            if self._closing:
                return
            self._closing = True
            self._cond.notify_all()
        self.stop_all()
        self._thread.join(_JOIN_S)
        if self._thread.is_alive():
            self._report_error(f"speaker thread did not stop within {_JOIN_S:.0f} s")
        self._player.close()

    def __enter__(self) -> Speaker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- worker -----

    def _enqueue(self, item: _Item) -> None:
        with self._cond:
            if self._closing:
                item.reported = True
                closing = True
            else:
                self._items.append(item)
                self._cond.notify_all()
                closing = False
        if closing:
            self._call_done(item.utterance_id, False)

    def _rate_wpm(self) -> int:
        return clamp_rate(self.settings.rate_wpm * self._rate_factor)

    def _gain(self) -> float:
        return min(1.0, max(0.0, self.settings.volume * self._volume_factor))

    def _work(self) -> None:
        synth: Synthesizer | None = None
        try:
            synth = Synthesizer(self.settings)
            self.synthesizer = synth
        except MissingRequirement as error:
            self.tts_error = error
            self._report_error(f"speech is unavailable, cue tones only: {error}")
        except Exception as error:
            self.tts_error = MissingRequirement(f"text-to-speech failed to start: {error!r}")
            self._report_error(str(self.tts_error))
        finally:
            self._ready.set()
        try:
            while True:
                with self._cond:
                    while (
                        not self._items
                        and not self._closing
                        and not (synth is not None and self._preload)
                    ):
                        self._cond.wait()
                    if self._closing:
                        return
                    if not self._items:
                        phrase, rate = self._preload.popleft(), self._rate_wpm()
                        item = None
                    else:
                        item = self._items.popleft()
                        self._current = item
                        generation, epoch = self._generation, self._player.epoch
                        rate, gain = self._rate_wpm(), self._gain()
                if item is None:
                    if synth is not None:
                        self._guard(lambda: synth.preload((phrase,), rate))  # noqa: B023
                    continue
                self._guard(lambda: self._play(item, synth, generation, epoch, rate, gain))  # noqa: B023
                self._finish(item, True)  # no-op if stop_all already reported it
        finally:
            if synth is not None:
                synth.close()

    def _play(
        self,
        item: _Item,
        synth: Synthesizer | None,
        generation: int,
        epoch: int,
        rate: int,
        gain: float,
    ) -> None:
        if item.cue is not None:
            samples, sr = self._cues[item.cue], self._player.samplerate
        elif synth is None or not item.text:
            return  # captions only: done at once
        else:
            pcm = synth.synthesize(item.text, rate)
            samples, sr = pcm.samples, pcm.rate
        if generation != self._generation:
            return  # stopped while synthesizing; stop_all reported it
        result = self._player.play(samples, sr, gain=gain, epoch=epoch)
        if result is PlayResult.ABORTED:
            self._finish(item, False)

    def _guard(self, job: Callable[[], None]) -> None:
        try:
            job()
        except BackCoachError as error:
            self._report_error(str(error))
        except Exception as error:
            self._report_error(f"speaker failed: {error!r}")

    def _finish(self, item: _Item, completed: bool) -> None:
        with self._cond:
            if item.reported:
                return
            item.reported = True
            if self._current is item:
                self._current = None
        self._call_done(item.utterance_id, completed)

    # ----- callbacks out -----

    def _call_done(self, utterance_id: int, completed: bool) -> None:
        if self.on_done is None:
            return
        try:
            self.on_done(utterance_id, completed)
        except Exception as error:
            self._report_error(f"on_done({utterance_id}) failed: {error!r}")

    def _report_error(self, message: str) -> None:
        if self.on_error is None:
            print(f"backcoach: speaker: {message}", file=sys.stderr)
            return
        try:
            self.on_error(message)
        except Exception as error:
            print(f"backcoach: speaker: {message} (on_error failed: {error!r})", file=sys.stderr)

    def _forward_played(self, block: np.ndarray, rate: int) -> None:
        hook = self.on_played
        if hook is not None:
            hook(block, rate)

    def _device_restored(self) -> None:
        if self.on_restored is not None:
            self.on_restored()
