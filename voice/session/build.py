"""The one place that builds a session's parts and hands them in.

Store, coach and runner; the hearing (recognizer and the one stop model);
audio sources; the echo gate and the speaker output. Nothing else constructs
them, so `live` and `runner` only run what they are given.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from voice.audio import PULSE_LATENCY_MS
from voice.coach import lines
from voice.coach.dialogue import Coach
from voice.coach.grammar import Grammar, load_grammar
from voice.coach.routines import load_book
from voice.errors import AudioDeviceError, BadInput, MissingRequirement
from voice.listen.asr.base import Engine
from voice.listen.asr.matching import GrammarMatcher, Lexicon
from voice.listen.asr.phonemes import EspeakPhonemes
from voice.listen.echo import EchoGate
from voice.listen.hearing import Hearing
from voice.session.live import LiveParts, LiveSettings, SpeakerOutput, run_live
from voice.session.runner import CaptionOutput, RealClock, SessionRunner, VirtualClock
from voice.store.sqlite import open_store
from voice.store.transcript import Transcript

__all__ = [
    "SessionOptions",
    "build_hearing",
    "build_live",
    "build_matcher",
    "build_speaker_output",
    "run_session",
]


@dataclass(frozen=True)
class SessionOptions:
    text: bool = False
    fast: bool = False
    transcript: Path | None = None
    engine: str = "auto"
    model: Path | None = None
    input: str | None = None
    output: str | None = None
    data_dir: Path | None = None
    routine: str | None = None


def run_session(options: SessionOptions, stdin: IO[str], stdout: IO[str]) -> int:
    book = load_book()
    if options.routine and options.routine not in book.routines:
        raise BadInput(
            f"unknown routine '{options.routine}'; choose one of {', '.join(book.routines)}"
        )
    grammar = load_grammar(book)
    store = open_store(options.data_dir)
    for notice in store.notices:
        stdout.write(f"backcoach: {notice}\n")
    clock = VirtualClock(time.time()) if options.fast else RealClock()
    transcript = Transcript(options.transcript, clock.now())
    coach = Coach(book, store.snapshot(clock.now()))

    def print_line(text: str) -> None:
        stdout.write(f"Coach: {text}\n")
        stdout.flush()

    def warn(text: str) -> None:
        stdout.write(f"backcoach: {text}\n")
        stdout.flush()

    runner = SessionRunner(
        coach, grammar, clock, transcript, store, notices=_spoken_notices(store), warn=warn
    )
    if not store.writable:
        runner.store_failure_told(store.cannot_save)
    if options.routine:
        runner.pending_start = book.get(options.routine).name
    try:
        if not options.text:
            try:
                settings = LiveSettings()
                parts = build_live(runner, options, print_line, settings)
                # Typed lines work beside the microphone: when speech fails, and for
                # scripts that drive the set-up while the speech is measured.
                _read_typed_lines(runner, stdin, end_at_eof=False)
                run_live(runner, parts, settings)
                return 0
            except AudioDeviceError as error:
                if (options.output or "").lower().endswith(".wav"):
                    # a file that cannot be written is a typo to fix, not a missing device
                    raise BadInput(str(error)) from error
                # No usable audio: the typed session still guides, with a clear notice.
                stdout.write(
                    f"backcoach: {error}\nbackcoach: no audio devices; continuing in "
                    "text mode: type your commands and press Enter.\n"
                )
                stdout.flush()
        if isinstance(clock, VirtualClock):
            # Virtual time cannot wait for real speech: captions only.
            runner.outputs.append(CaptionOutput(print_line, runner.speech_done))
            runner.run_virtual(stdin, clock)
        else:
            with _typed_speech(runner, options.output, print_line, stdout):
                _run_typed_realtime(runner, stdin)
    except KeyboardInterrupt:
        # Ctrl-C: the closing safety line (printed, when nothing spoke it yet) and
        # the session's end are recorded before the exit code 130.
        runner.finish()
        raise
    finally:
        transcript.close()
        store.close()
    return 0


def _spoken_notices(store: Any) -> list[str]:
    """What the coach says aloud about the safety memory (the printed notices have the paths)."""
    spoken = []
    if getattr(store, "damaged", False):
        spoken.append(lines.MEMORY_RECOVERED if store.recovered else lines.MEMORY_LOST)
    if not getattr(store, "writable", True):
        spoken.append(lines.NOT_SAVING)
    return spoken


# ----- parts -----


def build_hearing(
    engine: Engine | str,
    model: Path | None,
    phrases: list[str],
    print_line: Callable[[str], None] | None = None,
    pretrigger_threshold: float = LiveSettings.pretrigger_threshold,
    isolated: bool = False,
) -> Hearing:
    """The recognizer for `--engine`/`--model` and the one stop model beside it.

    `auto` prints its one-line notice itself. Without the stop model (with a
    line on `print_line`) the recognizer alone stops. `isolated`: the engine
    runs in a process of its own (live sessions: see `voice.listen.asr.isolated`);
    the stop model stays here, beside the audio.
    """
    detector = _build_detector(print_line)
    shared = detector is not None
    recognizer: Any
    if isolated:
        from voice.listen.asr.isolated import EngineSpec, IsolatedRecognizer

        spec = EngineSpec(str(Engine(engine).value), model, tuple(phrases), shared)
        recognizer = IsolatedRecognizer(spec)
    else:
        from voice.listen.asr.engines import create_recognizer

        recognizer = create_recognizer(engine, model, phrases, shared_stop_model=shared)
    return Hearing(recognizer, detector, pretrigger_threshold)


def build_matcher(grammar: Grammar) -> GrammarMatcher:
    """The error-tolerant match of engine text onto `grammar` (CMUdict from pocketsphinx;
    words it lacks sounded out by espeak-ng, when installed, else spelled out)."""
    sound_out = EspeakPhonemes()
    return GrammarMatcher.for_grammar(
        grammar, Lexicon.bundled(sound_out.phones if sound_out.available else None)
    )


def _build_detector(print_line: Callable[[str], None] | None) -> Any | None:
    try:
        from voice.listen.asr.stop_detector import StopDetector

        return StopDetector()
    except Exception as error:  # the recognizer still stops; say that the fast path is gone
        if print_line is not None:
            print_line(f"(stop pre-trigger unavailable: {error}; stops wait for the recognizer)")
        return None


def build_speaker_output(runner: SessionRunner, print_line: Callable[[str], None]) -> SpeakerOutput:
    """The speaker output and its echo gate (opened by the caller)."""
    return SpeakerOutput(runner, EchoGate(), threading.Lock(), print_line)


def build_live(
    runner: SessionRunner,
    options: SessionOptions,
    print_line: Callable[[str], None],
    settings: LiveSettings,
) -> LiveParts:
    """Every part of a spoken session; AudioDeviceError when there is no microphone."""
    from voice.speak.tts import SpeechSettings

    # Must be set before PortAudio initialises (the first sounddevice import).
    os.environ.setdefault("PULSE_LATENCY_MSEC", str(PULSE_LATENCY_MS))
    from_file = options.input is not None and options.input.lower().endswith(".wav")
    open_source = _source_factory(options.input, settings)
    hearing = build_hearing(
        options.engine, options.model, runner.grammar.sentences(), print_line,
        settings.pretrigger_threshold, isolated=True,
    )  # fmt: skip
    try:
        first_source = open_source()  # AudioDeviceError here when there is no microphone
    except BaseException:
        hearing.close()
        raise
    output = build_speaker_output(runner, print_line)
    return LiveParts(
        hearing=hearing,
        open_source=open_source,
        first_source=first_source,
        from_file=from_file,
        gate=output.gate,
        gate_lock=output.gate_lock,
        output=output,
        speech=SpeechSettings(),
        output_spec=options.output,
        matcher=build_matcher(runner.grammar),
    )


def _source_factory(spec: str | None, settings: LiveSettings) -> Callable[[], Any]:
    """A function that opens the audio source: the microphone, or a WAV file paced in real time."""
    from voice.listen.audio_input import MicrophoneSource, WavSource

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


# ----- the typed session -----


@contextlib.contextmanager
def _typed_speech(
    runner: SessionRunner, output: str | None, print_line: Callable[[str], None], stdout: IO[str]
) -> Iterator[None]:
    """Typed commands, but the coach still speaks when a speaker (or --output WAV) is there."""
    from voice.speak.tts import SpeechSettings

    speech = build_speaker_output(runner, print_line)
    try:
        speech.open(SpeechSettings(), output)
    except MissingRequirement as error:  # no device or no TTS: the captions still guide
        stdout.write(f"backcoach: {error}\nbackcoach: continuing with captions only.\n")
        runner.outputs.append(CaptionOutput(print_line, runner.speech_done))
        yield
        return
    runner.outputs.append(speech)
    runner.captions = print_line
    try:
        try:
            yield
        except KeyboardInterrupt:
            with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C: go at once
                speech.wait_idle(8.0)  # the closing safety line
            raise
        speech.wait_idle(10.0)  # let the goodbye play out
    finally:
        runner.outputs.remove(speech)
        speech.close()


def _read_typed_lines(runner: SessionRunner, stdin: IO[str], end_at_eof: bool) -> None:
    """Every line typed on `stdin` goes to the runner, like speech; in the background."""

    def read_lines() -> None:
        try:
            for line in stdin:
                if line.strip():
                    runner.hear(line.rstrip("\n"), "typed")
        except (OSError, ValueError):  # stdin closed under us: nothing more to read
            pass
        if end_at_eof:
            runner.close_input()

    threading.Thread(target=read_lines, name="stdin-reader", daemon=True).start()


def _run_typed_realtime(runner: SessionRunner, stdin: IO[str]) -> None:
    _read_typed_lines(runner, stdin, end_at_eof=True)
    try:
        runner.run_realtime()
    except KeyboardInterrupt:
        runner.finish()  # while the speaker is still open: the closing line is spoken
        raise
