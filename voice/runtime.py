"""Builds a session from its options: the one place where engines and devices are made."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from voice.dialogue import Coach
from voice.errors import BadInput, MissingRequirement
from voice.grammar import load_grammar
from voice.routines import load_book
from voice.session import CaptionOutput, RealClock, SessionRunner, VirtualClock
from voice.store import open_store
from voice.transcript import Transcript

__all__ = ["SessionOptions", "run_session"]


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

    runner = SessionRunner(coach, grammar, clock, transcript, store)
    if options.routine:
        runner.pending_start = book.get(options.routine).name
    try:
        if not options.text:
            from voice.errors import AudioDeviceError
            from voice.live import run_live

            try:
                run_live(runner, options, print_line)
                return 0
            except AudioDeviceError as error:
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
    finally:
        transcript.close()
        store.close()
    return 0


@contextlib.contextmanager
def _typed_speech(
    runner: SessionRunner, output: str | None, print_line: Callable[[str], None], stdout: IO[str]
) -> Iterator[None]:
    """Typed commands, but the coach still speaks when a speaker (or --output WAV) is there."""
    from voice.echo import EchoGate
    from voice.live import SpeakerOutput
    from voice.tts import SpeechSettings

    speech = SpeakerOutput(runner, EchoGate(), threading.Lock(), print_line)
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
        yield
        speech.wait_idle(10.0)  # let the goodbye play out
    finally:
        runner.outputs.remove(speech)
        speech.close()


def _run_typed_realtime(runner: SessionRunner, stdin: IO[str]) -> None:
    def read_lines() -> None:
        for line in stdin:
            runner.hear(line.rstrip("\n"), "typed")
        runner.close_input()

    reader = threading.Thread(target=read_lines, name="stdin-reader", daemon=True)
    reader.start()
    runner.run_realtime()
