"""The live hands-free session: microphone -> recognizer -> dialogue -> speech.

Threads, one owner each:

- the **calling thread** runs `SessionRunner.run_realtime()`: the only thread
  that touches the `Coach`;
- the **listener thread** (`Listener.run`) owns the audio source and the
  recognizer and the stop detector: it reads 16 kHz blocks, feeds them on, and
  turns results into runner inputs (partials -> `safety_partial`, finals ->
  `hear`). It never stops while the coach speaks: barge-in;
- the **speaker's worker** (inside `voice.speaker.Speaker`) owns the output
  stream; `stop_all` may be called from any thread and silences within a block.

The safety fast path runs on the listener thread: a stop or pain phrase in a
partial result calls `runner.safety_partial`, which silences every output before
the dialogue loop sees the event; the final result then runs the stop or pain
protocol through `runner.hear`. If the final is rejected or never comes
(`confirm_s`), the partial itself is acted on as heard: the coach never goes
on as if "that hurts" had not been said, and a final with another command does
not take back a stop partial either (once the coach echoed into the microphone
turned a user's stop into "the tight hug please"; a pain partial, from the
grammar alone, can still be taken back). The microWakeWord "stop" model is a
pre-trigger: when it fires while the coach speaks (and the echo gate does not
call it the coach's own "stop"), the speech is paused at once
(`Speaker.pause`); the recognizer then confirms (stop -> everything stops) or
releases (another command, or nothing within `release_s` -> `Speaker.resume`,
the line goes on where it paused).

Self-echo: every recognized phrase goes through `voice.echo.EchoGate` first
(see there), fed with the blocks the speaker actually played and the blocks the
microphone heard. A phrase judged to be echo is logged ("echo ignored") and
the recognizer is reset, so a real stop later in the same stretch of the
coach's speech starts a fresh utterance (the coach's voice can keep an
utterance open for as long as it talks; `max_utterance_s` cuts those too).

Speech completion: the speaker reports `on_done(uid, completed)`. Completed
lines go to `runner.speech_done` at once. A line cut by a stop was not heard and
must not advance the routine, but the partial result that cut it arrives before
the final one that runs the stop protocol (which clears the awaited line): so
dropped lines are *held*. A safety final discards them; otherwise (a partial
that was a false alarm, or a flush for "next"/"pause", where the dialogue has
already re-assigned the line it awaits) they are reported done after
`hold_dropped_s`, so a false alarm can never leave the routine waiting forever.
When the output device is lost the speaker reports its lines done at once and
the session goes on with captions (printed for every line anyway).

Shutdown: "end session", end of the `--input` WAV file (after the coach has
finished speaking), or Ctrl-C; every thread is joined with a timeout and every
device is closed in `finally`.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from voice.actions import CueKind
from voice.echo import EchoGate, words_in_text
from voice.errors import AudioDeviceError, BadInput

if TYPE_CHECKING:
    from voice.runtime import SessionOptions
    from voice.session import SessionRunner
    from voice.speaker import Speaker
    from voice.tts import SpeechSettings

__all__ = ["Listener", "LiveSettings", "SpeakerOutput", "run_live"]

RATE = 16000
"""Recognizer sample rate, hertz."""


@dataclass(frozen=True)
class LiveSettings:
    pretrigger_threshold: float = 0.3
    """microWakeWord probability that ducks the speech. 0.3 fires up to 60 ms earlier
    than 0.5 after a short "stop" (measured with benchmarks/stop_latency.py); a
    pre-trigger on another word only pauses the speech until the recognizer
    releases it."""
    release_s: float = 1.2
    """Seconds a pre-trigger duck waits for the recognizer to confirm a stop."""
    drain_s: float = 15.0
    """Seconds to let the last lines play out at the end of a session."""
    join_s: float = 3.0
    """Seconds each thread gets to finish at shutdown."""
    retry_s: float = 1.0
    """Seconds between attempts to reopen a lost microphone."""
    partial_window_s: float = 1.0
    """Seconds of audio a partial result is judged over (partials carry no timing)."""
    max_utterance_s: float = 4.0
    """Seconds of one utterance after which it is cut (ended and its result taken),
    unless a partial came or the stop model fired in the last `cut_quiet_s`.

    Under the coach's own voice the endpointer may never see the end of an
    utterance, and a recognizer reports one stop per utterance at most. Only an
    utterance this long is cut: cutting on a timer alone once fell in the middle
    of a user's "stop" and lost it."""
    cut_quiet_s: float = 1.0
    """Seconds without a partial or a stop-model trigger before a long utterance is cut."""
    block_s: float = 0.02
    """Seconds per microphone block (small: the stop path waits for whole blocks)."""
    confirm_s: float = 1.5
    """Seconds a stop/pain partial waits for its final before it is acted on as heard."""
    hold_dropped_s: float = 3.0
    """Seconds a line cut by a stop waits for the safety final before it counts as done."""


# ----- speech output -----


class SpeakerOutput:
    """The runner's `Output` for a `voice.speaker.Speaker`; feeds the echo gate."""

    def __init__(
        self,
        runner: SessionRunner,
        gate: EchoGate,
        gate_lock: threading.Lock,
        print_line: Callable[[str], None],
    ) -> None:
        self.runner = runner
        self.gate = gate
        self.gate_lock = gate_lock
        self.print_line = print_line
        self.speaker: Speaker | None = None
        """Set by `open`."""
        self._pending: dict[int, str] = {}
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self.lost = False
        """The output device failed (captions only) until the speaker says it is back."""
        self.ducked = False
        self._dropped: list[tuple[float, int]] = []
        """(monotonic time, uid) of lines cut by a stop, not yet reported done."""

    def open(self, settings: SpeechSettings, output: str | None) -> None:
        from voice.speaker import Speaker

        target: str | int | Path | None = output
        if output is not None and output.isdigit():
            target = int(output)
        elif output is not None and output.lower().endswith(".wav"):
            target = Path(output)
        self.speaker = Speaker(
            settings,
            output=target,
            on_done=self._on_done,
            on_error=self._on_error,
            on_played=self._on_played,
            on_restored=self._on_restored,
        )

    # -- Output protocol (runner thread, and stop_all from any thread) --

    def say(self, text: str, utterance_id: int) -> None:
        if self.speaker is None:
            self.runner.speech_done(utterance_id)
            return
        self._enqueue(utterance_id, text)
        self.speaker.say(text, utterance_id)

    def cue(self, kind: CueKind, utterance_id: int) -> None:
        if self.speaker is None:
            self.runner.speech_done(utterance_id)
            return
        self._enqueue(utterance_id, "")
        self.speaker.cue(kind, utterance_id)

    def stop_all(self) -> None:
        if self.speaker is not None:
            self.speaker.stop_all()
        self.ducked = False

    def adjust(self, rate: float, volume: float) -> None:
        if self.speaker is not None:
            self.speaker.adjust(rate, volume)

    def close(self) -> None:
        if self.speaker is not None:
            self.speaker.close()

    # -- pre-trigger --

    def duck(self) -> bool:
        """Pause the speech at once (the stop pre-trigger); `release` continues it."""
        if self.speaker is None:
            return False
        self.speaker.pause()
        self.ducked = True
        return True

    def release(self) -> None:
        if self.speaker is not None and self.ducked:
            self.speaker.resume()
        self.ducked = False

    # -- state --

    def now_playing(self) -> str | None:
        if self.speaker is None:
            return None
        return self.speaker.now_playing()

    def playing_texts(self) -> list[str]:
        with self._lock:
            texts = [t for t in self._pending.values() if t]
        current = self.now_playing()
        if current:
            texts.append(current)
        return texts

    def busy(self) -> bool:
        return not self._idle.is_set()

    def wait_idle(self, timeout: float) -> bool:
        return self._idle.wait(timeout)

    # -- speaker callbacks (speaker's worker thread) --

    def _enqueue(self, uid: int, text: str) -> None:
        with self._lock:
            self._pending[uid] = text
            self._idle.clear()
        if text:
            with self.gate_lock:
                self.gate.speaking(text, time.monotonic())

    def _on_done(self, uid: int, completed: bool) -> None:
        with self._lock:
            self._pending.pop(uid, None)
            if not self._pending:
                self._idle.set()
        if completed:
            self.runner.speech_done(uid)
        else:
            with self._lock:
                self._dropped.append((time.monotonic(), uid))

    def discard_dropped(self) -> None:
        """A stop was confirmed: the dialogue no longer waits for the lines it cut."""
        with self._lock:
            self._dropped.clear()

    def release_dropped(self, older_than: float) -> None:
        """Report lines cut before `older_than` (monotonic) as done: no stop followed."""
        with self._lock:
            due = [uid for t, uid in self._dropped if t <= older_than]
            self._dropped = [(t, uid) for t, uid in self._dropped if t > older_than]
        for uid in due:
            self.runner.speech_done(uid)

    def _on_error(self, message: str) -> None:
        """The speaker lost its device or failed: say so once; captions go on.

        The speaker itself reports lines it cannot play as done, so the routine
        continues on captions until `_on_restored`.
        """
        if not self.lost:
            self.print_line(f"(speaker problem: {message}; showing captions only)")
        self.lost = True

    def _on_restored(self) -> None:
        if self.lost:
            self.print_line("(speaker is back)")
        self.lost = False

    def _on_played(self, block: np.ndarray, rate: int) -> None:
        """Speaker's audio thread: the reference signal for the echo gate (keep it fast)."""
        with self.gate_lock:
            self.gate.played(block, rate, time.monotonic())


# ----- recognition -----


class Listener:
    """Owns the audio source, recognizer and stop pre-trigger; runs on its own thread."""

    def __init__(
        self,
        runner: SessionRunner,
        output: SpeakerOutput,
        gate: EchoGate,
        gate_lock: threading.Lock,
        open_source: Callable[[], Any],
        recognizer: Any,
        detector: Any | None,
        settings: LiveSettings,
        from_file: bool,
    ) -> None:
        self.runner = runner
        self.output = output
        self.gate = gate
        self.gate_lock = gate_lock
        self.open_source = open_source
        self.recognizer = recognizer
        """A `voice.asr.base.Recognizer`."""
        self.detector = detector
        """A `voice.asr.stop_detector.StopDetector` (pre-trigger), or None."""
        self.settings = settings
        self.from_file = from_file
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self.audio_s = 0.0
        """Audio time fed to the recognizer since its last reset, seconds."""
        self._source: Any = None
        self._duck_until: float | None = None
        self._last_partial_at = 0.0
        self._last_trigger_at = 0.0
        """Monotonic time the stop model last fired (pre-trigger or not)."""
        self._pending_safety: tuple[str, float] | None = None
        """A stop/pain partial that silenced the coach, and when: waits for its final."""

    def run(self) -> None:
        try:
            self._run()
        except BaseException as error:  # handed to the owner, never swallowed
            self.error = error
            self.runner.close_input()

    def close(self) -> None:
        """Ask the thread to end (from the owner); the source is closed by the thread."""
        self.stop_event.set()

    def _run(self) -> None:
        lost = False
        try:
            while not self.stop_event.is_set():
                try:
                    if self._source is None:
                        self._source = self.open_source()
                        if lost:
                            lost = False
                            self._reset_recognizer()
                            self.runner.device_restored()
                    for block in _blocks(self._source):
                        if self.stop_event.is_set():
                            return
                        self._feed(block)
                    if self.from_file:
                        self._end_of_file()
                        return
                    raise AudioDeviceError("the microphone stream ended")
                except _device_lost_errors() as error:
                    if self.from_file or self.stop_event.is_set():
                        raise
                    _close(self._source)
                    self._source = None
                    if not lost:
                        lost = True
                        self.runner.device_lost(str(error).splitlines()[0] or "microphone lost")
                    self.stop_event.wait(self.settings.retry_s)
        finally:
            _close(self._source)
            self._source = None

    def _reset_recognizer(self, detector: bool = True) -> None:
        self.recognizer.reset()
        self.audio_s = 0.0
        if detector and self.detector is not None:
            self.detector.reset()

    def _end_of_file(self) -> None:
        """The input file is over: take the last words, let the coach finish, end."""
        self._handle(self.recognizer.finish())
        deadline = time.monotonic() + self.settings.drain_s
        while time.monotonic() < deadline and not self.stop_event.is_set():
            self.output.release_dropped(time.monotonic() - self.settings.hold_dropped_s)
            if not self.output.busy():
                self.stop_event.wait(0.3)
                if not self.output.busy():
                    break
            self.stop_event.wait(0.05)
        self.runner.close_input()

    def _feed(self, block: Any) -> None:
        pcm = _int16(block)
        now = time.monotonic()
        self.audio_s += len(pcm) / RATE
        with self.gate_lock:
            self.gate.heard(pcm, RATE, now)
        data = pcm.tobytes()
        if self.detector is not None and self.detector.accept(data):
            self._last_trigger_at = now
            self._pretrigger(now)
        if self._duck_until is not None and now >= self._duck_until:
            self._duck_until = None
            self.output.release()
        self._handle(self.recognizer.accept(data))
        pending = self._pending_safety
        if pending is not None and now - pending[1] > self.settings.confirm_s:
            self._confirm_partial()
        self.output.release_dropped(now - self.settings.hold_dropped_s)
        # Under the coach's voice the endpointer may never end the utterance, and
        # a whole-phrase grammar gives no partial for a long one: cut it, but not
        # while a word is being heard.
        quiet = self.settings.cut_quiet_s
        if (
            self.recognizer.utterance_s > self.settings.max_utterance_s
            and now - self._last_partial_at > quiet
            and now - self._last_trigger_at > quiet
        ):
            # Only a stop or pain phrase is taken from a cut utterance: over seconds
            # of the coach's own voice the grammar finds whole commands in it.
            grammar = self.runner.grammar
            self._handle([h for h in self.recognizer.finish() if grammar.spot_safety(h.text)])
            self._reset_recognizer(detector=False)

    def _pretrigger(self, now: float) -> None:
        """The stop model fired: pause the speech now; the recognizer confirms or releases."""
        if not self.output.busy() or self._duck_until is not None:
            return
        # Pausing is harmless and undone in a moment, so the pre-trigger is only held
        # back when the coach itself is saying "stop": a quiet user's stop under the
        # coach's voice must still silence it at once.
        spoken = self.output.playing_texts()
        with self.gate_lock:
            spoken += self.gate.recent_texts(now)
        if words_in_text("stop", spoken) and self._is_echo(
            "stop", now - 0.6, now, safety=True, log=False
        ):
            return
        if self.output.duck():
            self._duck_until = now + self.settings.release_s
            self.runner.transcript.write(self.runner.clock.now(), "log", message="pretrigger")

    def _handle(self, results: list[Any]) -> None:
        for hyp in results:
            text = hyp.text.strip()
            if not text:
                if hyp.final:
                    if getattr(hyp, "rejected", ""):
                        self.runner.transcript.write(
                            self.runner.clock.now(), "log", message="rejected", detail=hyp.rejected
                        )
                    if self._pending_safety is not None:
                        self._confirm_partial()  # nothing else was said: the partial stands
                continue
            now = time.monotonic()
            start, end = self._span(hyp, now)
            if not hyp.final:
                self._last_partial_at = now
                if self.runner.grammar.spot_safety(text) is None:
                    continue
                if self._is_echo(text, start, end, safety=True):
                    # Start afresh, so a real stop later in this stretch is reported.
                    self._reset_recognizer(detector=False)
                    return
                if self.runner.safety_partial(text):
                    self.runner.transcript.write(
                        self.runner.clock.now(), "log", message="safety partial", text=text
                    )
                    if self._pending_safety is None:
                        self._pending_safety = (text, now)
                self._duck_until = None
                self.output.release()  # un-pause: the stop has emptied the speaker
                continue
            parse = self.runner.grammar.parse(text)
            safety = parse is not None and parse.intent in ("Stop", "PainStop")
            if self._is_echo(text, start, end, safety=safety):
                continue
            pending = self._pending_safety
            if pending is not None and not safety and self._is_stop(pending[0]):
                # A stop partial (the spotter and the stop model agreed) silenced the
                # coach: another command in the same breath does not take it back.
                # A pain partial from the grammar alone still can ("now" shows "ow"
                # on its way), since a pain stop locks the region for the day.
                self._confirm_partial()
                continue
            self._pending_safety = None
            if safety:
                self.output.discard_dropped()
            self.runner.hear(text, "speech")
            if self._duck_until is not None and not safety:
                self._duck_until = None
                self.output.release()

    def _is_stop(self, text: str) -> bool:
        spotted = self.runner.grammar.spot_safety(text)
        return spotted is not None and spotted.intent == "Stop"

    def _confirm_partial(self) -> None:
        """A stop/pain partial silenced the coach and no final said otherwise: act on it.

        The recognizer sometimes rejects the final of a real "that hurts" it saw
        in a partial, or hears another command in the final of a stop; the coach
        must not go on with the routine as if nothing was said.
        """
        pending, self._pending_safety = self._pending_safety, None
        if pending is None:
            return
        self.output.discard_dropped()
        self.runner.transcript.write(
            self.runner.clock.now(), "log", message="partial confirmed", text=pending[0]
        )
        self.runner.hear(pending[0], "speech")

    def _span(self, hyp: Any, now: float) -> tuple[float, float]:
        """The result's audio-time span on the monotonic clock (with a little slack)."""
        start = getattr(hyp, "start_s", None)
        end = getattr(hyp, "end_s", None)
        if start is None or end is None or end < start:
            return now - self.settings.partial_window_s, now
        offset = now - self.audio_s
        return start + offset - 0.1, end + offset + 0.1

    def _is_echo(
        self, text: str, start: float, end: float, *, safety: bool, log: bool = True
    ) -> bool:
        texts = self.output.playing_texts()
        with self.gate_lock:
            verdict = self.gate.judge(text, start, end, texts or None, safety=safety)
        if verdict.echo and log:
            self.runner.transcript.write(
                self.runner.clock.now(), "log", message="echo ignored", text=text,
                reason=verdict.reason,
            )  # fmt: skip
        return verdict.echo


def _int16(block: Any) -> np.ndarray:
    if isinstance(block, (bytes, bytearray, memoryview)):
        return np.frombuffer(bytes(block), dtype=np.int16)
    pcm = np.asarray(block)
    if pcm.dtype != np.int16:
        pcm = np.clip(pcm * 32768.0, -32768, 32767).astype(np.int16)
    return pcm.reshape(-1)


def _blocks(source: Any) -> Iterable[bytes]:
    return iter(source)  # type: ignore[no-any-return]


def _close(obj: Any) -> None:
    method = getattr(obj, "close", None)
    if callable(method):
        with contextlib.suppress(Exception):
            method()


def _device_lost_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [AudioDeviceError]
    try:
        import voice.audio_input as audio_input

        for name in ("DeviceLost", "InputDeviceLost", "DeviceLostError", "InputLost"):
            cls = getattr(audio_input, name, None)
            if isinstance(cls, type) and issubclass(cls, BaseException):
                errors.append(cls)
    except ImportError:
        pass
    try:
        import sounddevice

        errors.append(sounddevice.PortAudioError)
    except (ImportError, OSError):
        pass
    return tuple(errors)


def _make_detector(print_line: Callable[[str], None], threshold: float) -> Any | None:
    """The microWakeWord stop pre-trigger; None (with the recognizer alone) when unavailable."""
    try:
        from voice.asr.stop_detector import StopDetector

        return StopDetector(threshold=threshold)
    except Exception as error:  # the recognizer still stops; say that the fast path is gone
        print_line(f"(stop pre-trigger unavailable: {error}; stops wait for the recognizer)")
        return None


# ----- the session -----


def run_live(
    runner: SessionRunner,
    options: SessionOptions,
    print_line: Callable[[str], None],
    settings: LiveSettings | None = None,
) -> None:
    """A spoken session until 'end session', end of the input file, or Ctrl-C.

    Raises `AudioDeviceError` before anything is spoken when there is no
    microphone or speaker (the runtime then falls back to the typed session).
    """
    settings = settings or LiveSettings()
    # Must be set before PortAudio initialises (the first sounddevice import).
    os.environ.setdefault("PULSE_LATENCY_MSEC", "20")
    from_file = options.input is not None and options.input.lower().endswith(".wav")
    open_source = _source_factory(options.input, settings)
    recognizer = _make_recognizer(options.engine, options.model, runner)
    first_source = open_source()  # AudioDeviceError here when there is no microphone
    sources = [first_source]
    detector = _make_detector(print_line, settings.pretrigger_threshold)
    gate = EchoGate()
    gate_lock = threading.Lock()
    output = SpeakerOutput(runner, gate, gate_lock, print_line)

    def opener() -> Any:
        return sources.pop() if sources else open_source()

    listener = Listener(
        runner, output, gate, gate_lock, opener, recognizer, detector, settings, from_file
    )
    thread = threading.Thread(target=listener.run, name="listener", daemon=True)
    previous_captions = runner.captions
    try:
        output.open(_speech_settings(), options.output)  # AudioDeviceError: no speaker
        runner.outputs.append(output)
        runner.captions = print_line
        thread.start()
        runner.run_realtime()
        # Let the goodbye (or the last line) play out; listening goes on meanwhile.
        output.wait_idle(settings.drain_s)
    except KeyboardInterrupt:
        output.stop_all()
        raise
    finally:
        listener.close()
        if thread.is_alive():
            thread.join(settings.join_s)
        for source in sources:  # never handed to the listener
            _close(source)
        if output in runner.outputs:
            runner.outputs.remove(output)
        runner.captions = previous_captions
        output.close()
    if listener.error is not None:
        raise listener.error


def _speech_settings() -> SpeechSettings:
    from voice.tts import SpeechSettings

    return SpeechSettings()


def _make_recognizer(engine: str, model: Path | None, runner: SessionRunner) -> Any:
    """The engine for `--engine`/`--model`; `auto` prints its one-line notice itself."""
    from voice.asr.engines import create_recognizer

    return create_recognizer(engine, model, runner.grammar.sentences())


def _source_factory(spec: str | None, settings: LiveSettings) -> Callable[[], Any]:
    """A function that opens the audio source: the microphone, or a WAV file paced in real time."""
    from voice.audio_input import MicrophoneSource, WavSource

    if spec is not None and spec.lower().endswith(".wav"):
        path = Path(spec)
        if not path.is_file():
            raise BadInput(f"input file {spec} does not exist")
        return lambda: WavSource(path, block_s=settings.block_s, realtime=True, tail_silence_s=1.0)
    device: str | int | None = int(spec) if spec is not None and spec.isdigit() else spec

    def open_mic() -> Any:
        mic = MicrophoneSource(device, block_s=settings.block_s)
        try:
            mic.open()
        except AudioDeviceError:
            raise
        except Exception as error:  # PortAudio with no device at all, and the like
            raise AudioDeviceError(
                f"no microphone could be opened ({error})",
                fix="connect a microphone, then check with: backcoach doctor",
            ) from error
        return mic

    return open_mic
