"""The recognizer process: same results as in process, errors that travel, a death that is told.

Real pocketsphinx in a real child process; the interpreter-lock figures that
motivate it are measured by benchmarks/decoder_lock.py, not here.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.asr_helpers import feed, vendored_clips
from voice.coach.grammar import load_grammar
from voice.errors import BadInput
from voice.listen.asr.engines import create_recognizer
from voice.listen.asr.isolated import EngineSpec, IsolatedRecognizer, RecognizerFailed
from voice.listen.audio_input import wav_to_pcm16k
from voice.listen.hearing import Hearing

pytest.importorskip("pocketsphinx", reason="pocketsphinx is not installed")


def _spec(engine: str = "pocketsphinx", model: Path | None = None) -> EngineSpec:
    return EngineSpec(engine, model, tuple(load_grammar().sentences()), shared_stop_model=False)


@pytest.fixture(scope="module")
def isolated() -> Iterator[IsolatedRecognizer]:
    recognizer = IsolatedRecognizer(_spec())
    yield recognizer
    recognizer.close()


def _finals(results: list[object]) -> list[str]:
    return [h.text for h in results if h.final]  # type: ignore[attr-defined]


def test_the_engine_runs_in_another_process(isolated: IsolatedRecognizer) -> None:
    child = isolated._process.pid
    assert child != os.getpid()
    assert isolated._process.poll() is None
    assert isolated.name == "pocketsphinx"


def test_results_are_those_of_the_engine_in_process(isolated: IsolatedRecognizer) -> None:
    local = create_recognizer("pocketsphinx", None, load_grammar().sentences(), notice=False)
    clips = [*vendored_clips("stop")[:3], *vendored_clips("yes")[:2], *vendored_clips("no")[:1]]
    for clip in clips:
        pcm = wav_to_pcm16k(clip)
        here, there = feed(local, pcm), feed(isolated, pcm)
        assert _finals(there) == _finals(here), clip.name
        assert [h.text for h in there] == [h.text for h in here], clip.name
    assert any("stop" in _finals(feed(isolated, wav_to_pcm16k(c))) for c in clips[:3])


def test_utterance_length_follows_the_audio(isolated: IsolatedRecognizer) -> None:
    """The listener cuts over-long utterances by `utterance_s`: it must not lag."""
    isolated.reset()
    pcm = b"\0" * 9600 + wav_to_pcm16k(vendored_clips("stop")[0]) + b"\0" * 9600
    longest = 0.0
    for offset in range(0, len(pcm), 640):
        isolated.accept(pcm[offset : offset + 640])
        longest = max(longest, isolated.utterance_s)
        time.sleep(0.01)  # a microphone's pace, roughly
    isolated.finish()
    assert longest > 0.5


def test_results_of_audio_before_a_reset_are_dropped(isolated: IsolatedRecognizer) -> None:
    pcm = b"\0" * 9600 + wav_to_pcm16k(vendored_clips("stop")[0]) + b"\0" * 19200
    isolated.reset()
    for offset in range(0, len(pcm), 640):
        isolated._send(("accept", isolated._generation, pcm[offset : offset + 640]))
    isolated.reset()  # before any of those results was read
    assert isolated.finish() == []


def test_the_engines_own_error_reaches_the_caller(tmp_path: Path) -> None:
    with pytest.raises(BadInput) as raised:
        IsolatedRecognizer(_spec("vosk", tmp_path / "no-such-model"))
    assert "no-such-model is not a vosk model folder" in str(raised.value)


def test_a_process_that_dies_is_reported_and_restarted_without_waiting() -> None:
    recognizer = IsolatedRecognizer(_spec())
    try:
        first = recognizer._process
        first.kill()
        first.wait(5)
        with pytest.raises(RecognizerFailed, match=r"gone|ended"):
            recognizer.finish()
        # Every call raises at once while the new process loads its model; the one
        # that finds it ready says so, then the engine hears again.
        messages = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            started = time.monotonic()
            try:
                recognizer.accept(b"\0" * 640)
                break
            except RecognizerFailed as error:
                messages.append(str(error))
                assert time.monotonic() - started < 0.5  # the caller never waits for it
                if "restarted" in str(error):
                    recognizer.reset()
            time.sleep(0.02)
        assert recognizer._process is not first and recognizer._process.poll() is None
        assert any("restarted" in m for m in messages), messages[-3:]
        stop = wav_to_pcm16k(vendored_clips("stop")[0])
        assert "stop" in _finals(feed(recognizer, stop))
    finally:
        recognizer.close()


def test_an_engine_that_keeps_dying_is_left_down() -> None:
    recognizer = IsolatedRecognizer(_spec())
    try:
        for _ in range(4):  # the first death and three restarts
            recognizer._process.kill()
            recognizer._process.wait(5)
            with contextlib.suppress(RecognizerFailed):
                recognizer.finish()
            deadline = time.monotonic() + 60
            while recognizer._restarting and time.monotonic() < deadline:
                with contextlib.suppress(RecognizerFailed):
                    recognizer.accept(b"\0" * 640)
                time.sleep(0.02)
            with contextlib.suppress(RecognizerFailed):
                recognizer.reset()
        assert recognizer._restarts == 3
        with pytest.raises(RecognizerFailed):
            recognizer.accept(b"\0" * 640)
        assert not recognizer._restarting
    finally:
        recognizer.close()


def test_ctrl_c_leaves_the_closing_to_the_session() -> None:
    """SIGINT reaches the whole process group: the engine must not die before the session's
    closing line, and must not print a traceback."""
    recognizer = IsolatedRecognizer(_spec())
    try:
        os.kill(recognizer._process.pid, signal.SIGINT)
        time.sleep(0.3)
        assert recognizer._process.poll() is None
        assert recognizer.finish() == []
    finally:
        recognizer.close()
    assert recognizer._process.poll() == 0


def test_hearing_closes_the_process() -> None:
    hearing = Hearing(IsolatedRecognizer(_spec()), None, 0.5)
    process = hearing.recognizer._process
    hearing.close()
    assert process.poll() == 0


def test_the_decoding_costs_this_process_nothing(isolated: IsolatedRecognizer) -> None:
    """The audio process's CPU time for a decode, in process and handed over: pocketsphinx
    holds the interpreter lock for all of it in process (benchmarks/decoder_lock.py)."""
    pcm = b"\0" * 9600 + wav_to_pcm16k(vendored_clips("stop")[0]) * 4 + b"\0" * 19200

    def cpu_of(recognizer: object) -> float:
        recognizer.reset()  # type: ignore[attr-defined]
        start = time.process_time()
        for offset in range(0, len(pcm), 640):
            recognizer.accept(pcm[offset : offset + 640])  # type: ignore[attr-defined]
        recognizer.finish()  # type: ignore[attr-defined]
        return time.process_time() - start

    local = create_recognizer("pocketsphinx", None, load_grammar().sentences(), notice=False)
    in_process, handed_over = cpu_of(local), cpu_of(isolated)
    assert handed_over < in_process / 4, (in_process, handed_over)


def test_a_restarted_engine_keeps_the_phrases_it_was_last_given() -> None:
    recognizer = IsolatedRecognizer(_spec())
    try:
        recognizer.set_phrases(["stop", "yes"])
        recognizer._process.kill()
        recognizer._process.wait(5)
        with contextlib.suppress(RecognizerFailed):
            recognizer.finish()
        assert recognizer._spec.phrases == ("stop", "yes")  # what the new process is built from
    finally:
        recognizer.close()
