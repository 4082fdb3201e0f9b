"""The live hands-free session: microphone -> recognizer -> dialogue -> speech.

Threads, one owner each:

- the **calling thread** runs `SessionRunner.run_realtime()`: the only thread
  that touches the `Coach`;
- the **listener thread** (`Listener.run`) owns the audio source and the
  recognizer and the stop detector: it reads 16 kHz blocks, feeds them on, and
  turns results into runner inputs (partials -> `safety_partial`, finals ->
  `hear`). It never stops while the coach speaks: barge-in;
- the **speaker's worker** (inside `voice.speak.speaker.Speaker`) owns the output
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

Self-echo: every recognized phrase goes through `voice.listen.echo.EchoGate` first
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
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from voice.audio import SAMPLE_RATE, as_int16, device_lost_errors
from voice.coach.actions import CueKind
from voice.errors import AudioDeviceError
from voice.listen.asr.matching import GrammarMatcher
from voice.listen.echo import EchoGate, words_in_text
from voice.listen.hearing import Hearing
from voice.session.stop_path import (
    Decision,
    Duck,
    Hear,
    Ignore,
    Rejected,
    Release,
    Restart,
    Settle,
    Silence,
    StopPath,
    StopPathSettings,
)

if TYPE_CHECKING:
    from voice.session.runner import SessionRunner
    from voice.speak.speaker import Speaker
    from voice.speak.tts import SpeechSettings

__all__ = ["Listener", "LiveParts", "LiveSettings", "SpeakerOutput", "run_live"]


@dataclass(frozen=True)
class LiveSettings(StopPathSettings):
    """The live session's timing; the stop path's own settings are inherited."""

    pretrigger_threshold: float = 0.3
    """microWakeWord probability that ducks the speech. 0.3 fires up to 60 ms earlier
    than 0.5 after a short "stop" (measured with benchmarks/stop_latency.py); a
    pre-trigger on another word only pauses the speech until the recognizer
    releases it."""
    drain_s: float = 15.0
    """Seconds to let the last lines play out at the end of a session."""
    join_s: float = 3.0
    """Seconds each thread gets to finish at shutdown."""
    retry_s: float = 1.0
    """Seconds between attempts to reopen a lost microphone."""
    block_s: float = 0.02
    """Seconds per microphone block (small: the stop path waits for whole blocks)."""
    hold_dropped_s: float = 3.0
    """Seconds a line cut by a stop waits for the safety final before it counts as done."""


# ----- speech output -----


class SpeakerOutput:
    """The runner's `Output` for a `voice.speak.speaker.Speaker`; feeds the echo gate."""

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
        from voice.speak.speaker import Speaker

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
    """Owns the audio source and the hearing (recognizer + stop model); runs on its own thread.

    Thin on purpose: it reads blocks, feeds the echo gate and the hearing,
    hands results and triggers to the `StopPath` and carries out its decisions.
    """

    def __init__(
        self,
        runner: SessionRunner,
        output: SpeakerOutput,
        gate: EchoGate,
        gate_lock: threading.Lock,
        open_source: Callable[[], Any],
        hearing: Hearing,
        settings: LiveSettings,
        from_file: bool,
        matcher: GrammarMatcher | None = None,
    ) -> None:
        self.runner = runner
        self.output = output
        self.gate = gate
        self.gate_lock = gate_lock
        self.open_source = open_source
        self.hearing = hearing
        self.settings = settings
        self.from_file = from_file
        self.path = StopPath(
            runner.grammar,
            settings,
            self._echo,
            self._coach_says,
            matcher=matcher,
            asked=lambda: runner.asked,
        )
        self.stop_event = threading.Event()
        self.error: BaseException | None = None
        self.audio_s = 0.0
        """Audio time fed to the recognizer since its last reset, seconds."""
        self._source: Any = None
        self._recognizer_failed = False
        """The recognizer raised once already (the notice is printed once)."""
        self._last_failure = ""
        """The last recognizer error logged."""

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
                except device_lost_errors() as error:
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
        self.hearing.reset(detector=detector)
        self.audio_s = 0.0

    def _end_of_file(self) -> None:
        """The input file is over: take the last words, let the coach finish, end."""
        now = time.monotonic()
        self._do(self.path.results(self.hearing.finish(), now, self.audio_s))
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
        pcm = as_int16(block)
        now = time.monotonic()
        self.audio_s += len(pcm) / SAMPLE_RATE
        with self.gate_lock:
            self.gate.heard(pcm, SAMPLE_RATE, now)
        data = pcm.tobytes()
        for trigger in self.hearing.stop_triggers(data):
            self._do(self.path.trigger(trigger, now, self.output.busy()))
        self._do(self.path.results(self._recognize(data), now, self.audio_s))
        self._do(self.path.tick(now))
        self.output.release_dropped(now - self.settings.hold_dropped_s)
        # Under the coach's voice the endpointer may never end the utterance, and
        # a whole-phrase grammar gives no partial for a long one: cut it, but not
        # while a word is being heard.
        if not self.hearing.cuts_itself and self.path.should_cut(self.hearing.utterance_s, now):
            self._do(self.path.results(self.hearing.finish(), now, self.audio_s, cut=True))
            self._reset_recognizer(detector=False)

    def _recognize(self, data: bytes) -> list[Any]:
        """The recognizer's results for a block; a failing utterance is dropped, not fatal.

        The stop model has already run on the block (`stop_triggers`), so a stop
        still ducks the coach while the recognizer starts afresh.
        """
        try:
            return self.hearing.recognize(data)
        except Exception as error:
            runner = self.runner
            if repr(error) != self._last_failure:  # an engine that stays down: logged once
                self._last_failure = repr(error)
                runner.transcript.write(
                    runner.clock.now(), "log", message="recognizer failed", error=repr(error)
                )
            if not self._recognizer_failed:
                self.output.print_line(f"(trouble hearing: {error}; listening again)")
                runner.hearing_failed(repr(error))  # the coach says so, once
            self._recognizer_failed = True
            self.path.recognizer_failed(time.monotonic())
            with contextlib.suppress(Exception):
                self._reset_recognizer(detector=False)
            return []

    def _do(self, decisions: list[Decision]) -> None:
        """Carry out the stop path's decisions, in order."""
        runner = self.runner
        for decision in decisions:
            if isinstance(decision, Duck):
                if self.output.duck():
                    runner.transcript.write(runner.clock.now(), "log", message="pretrigger")
            elif isinstance(decision, Release):
                self.output.release()
            elif isinstance(decision, Silence):
                if decision.partial:
                    runner.safety_partial(decision.text)
                    runner.transcript.write(
                        runner.clock.now(), "log", message="safety partial", text=decision.text
                    )
                else:
                    runner.silence()
            elif isinstance(decision, Settle):
                self.output.discard_dropped()
            elif isinstance(decision, Hear):
                if decision.confirmed:
                    runner.transcript.write(
                        runner.clock.now(), "log", message="partial confirmed", text=decision.text
                    )
                runner.heard(decision.text, "speech", decision.parse)
            elif isinstance(decision, Ignore):
                runner.transcript.write(
                    runner.clock.now(), "log", message="echo ignored", text=decision.text,
                    reason=decision.reason,
                )  # fmt: skip
            elif isinstance(decision, Rejected):
                runner.transcript.write(
                    runner.clock.now(), "log", message="rejected", detail=decision.reason
                )
            elif isinstance(decision, Restart):
                self._reset_recognizer(detector=False)

    # -- what the stop path asks of the echo gate --

    def _echo(self, text: str, start: float, end: float, safety: bool) -> str | None:
        texts = self.output.playing_texts()
        with self.gate_lock:
            verdict = self.gate.judge(text, start, end, texts or None, safety=safety)
        return verdict.reason if verdict.echo else None

    def _coach_says(self, word: str, now: float) -> bool:
        spoken = self.output.playing_texts()
        with self.gate_lock:
            spoken += self.gate.recent_texts(now)
        return words_in_text(word, spoken)


def _blocks(source: Any) -> Iterable[bytes]:
    return iter(source)  # type: ignore[no-any-return]


def _close(obj: Any) -> None:
    method = getattr(obj, "close", None)
    if callable(method):
        with contextlib.suppress(Exception):
            method()


# ----- the session -----


@dataclass
class LiveParts:
    """Everything a live session runs with, built by `voice.session.build`."""

    hearing: Hearing
    open_source: Callable[[], Any]
    """Opens the audio source again (after a lost microphone)."""
    first_source: Any
    """The source opened while building (proof that there is a microphone)."""
    from_file: bool
    """The source is a WAV file: its end ends the session."""
    gate: EchoGate
    gate_lock: threading.Lock
    output: SpeakerOutput
    """Not yet opened: `run_live` opens it (AudioDeviceError: no speaker)."""
    speech: SpeechSettings
    output_spec: str | None
    """`--output`: device name or number, a WAV file, or None for the default."""
    matcher: GrammarMatcher | None = None
    """Maps the engine's text onto the grammar (error-tolerant); None: exact parse only."""


def run_live(runner: SessionRunner, parts: LiveParts, settings: LiveSettings) -> None:
    """A spoken session until 'end session', end of the input file, or Ctrl-C.

    Raises `AudioDeviceError` before anything is spoken when there is no
    speaker (the caller then falls back to the typed session).
    """
    sources = [parts.first_source]
    output = parts.output
    print_line = output.print_line

    def opener() -> Any:
        return sources.pop() if sources else parts.open_source()

    listener = Listener(
        runner, output, parts.gate, parts.gate_lock, opener, parts.hearing, settings,
        parts.from_file, parts.matcher,
    )  # fmt: skip
    thread = threading.Thread(target=listener.run, name="listener", daemon=True)
    previous_captions = runner.captions
    try:
        output.open(parts.speech, parts.output_spec)  # AudioDeviceError: no speaker
        runner.outputs.append(output)
        runner.captions = print_line
        thread.start()
        runner.run_realtime()
        # Let the goodbye (or the last line) play out; listening goes on meanwhile.
        output.wait_idle(settings.drain_s)
    except KeyboardInterrupt:
        output.stop_all()
        runner.finish()  # the closing safety line, and the session's end recorded
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C: go at once
            output.wait_idle(settings.drain_s)
        raise
    finally:
        listener.close()
        if thread.is_alive():
            thread.join(settings.join_s)
        parts.hearing.close()
        for source in sources:  # never handed to the listener
            _close(source)
        if output in runner.outputs:
            runner.outputs.remove(output)
        runner.captions = previous_captions
        output.close()
    if listener.error is not None:
        raise listener.error
