"""A recognizer in its own process, so that decoding never holds up the audio threads.

The live session's audio callbacks are Python: each needs the interpreter lock
every 10-20 ms. pocketsphinx holds that lock for the whole of every call
(measured: up to 190 ms for an utterance's start, its end and its second pass,
on an idle 2-core machine; seconds under load), which starved the speaker into
ALSA underruns and "no audio callback" stalls, and the microphone into lost
blocks. In a process of its own the engine's work costs CPU time but never
the audio threads' turn.

`IsolatedRecognizer` is a `voice.listen.asr.base.Recognizer`: `accept` hands
the block over and returns the results that have come back by then (a block
later than in process, 20 ms); `finish`, `reset` and `set_phrases` wait for
the engine. Results of audio from before a `reset` are dropped. An engine that
raises, or a process that dies, raises `RecognizerFailed` from the next calls:
the live session then says it has trouble hearing, and the stop model alone
stops, while a new process is started (up to 3 times) without waiting for it.
"""

from __future__ import annotations

import contextlib
import multiprocessing.connection
import os
import pickle
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from voice.errors import BackCoachError
from voice.listen.asr.base import Hypothesis

__all__ = ["EngineSpec", "IsolatedRecognizer", "RecognizerFailed"]

_START_TIMEOUT_S = 120.0
"""Loading a model on a loaded 2-core machine: seconds before giving up."""
_CALL_TIMEOUT_S = 30.0
"""finish / reset / set_phrases: seconds the engine may take to answer."""
_MAX_RESTARTS = 3
"""Restarts of an engine that died, per session: one that keeps dying is left down."""


class RecognizerFailed(BackCoachError):
    """The engine in the recognizer process raised, or the process ended."""


@dataclass(frozen=True)
class EngineSpec:
    """What the recognizer process builds: `voice.listen.asr.engines.create_recognizer`'s args."""

    engine: str
    model: Path | None
    phrases: tuple[str, ...]
    shared_stop_model: bool


@dataclass(frozen=True)
class _Ready:
    name: str
    cuts_itself: bool
    takes_stop_scores: bool


@dataclass(frozen=True)
class _Results:
    generation: int
    hypotheses: tuple[Hypothesis, ...]
    utterance_s: float
    answer: bool
    """True: the answer to a finish / reset / set_phrases (the caller is waiting)."""


@dataclass(frozen=True)
class _Failed:
    error: BaseException


class IsolatedRecognizer:
    """The engine of `spec`, run in a child process; use `close()` (or `with`) to end it."""

    def __init__(self, spec: EngineSpec) -> None:
        self._spec = spec
        self._generation = 0
        self._utterance_s = 0.0
        self._failed: str | None = None
        self._restarts = 0
        self._restarting = False
        self._launch()
        reply = self._receive(_START_TIMEOUT_S, "start")
        if isinstance(reply, _Failed):
            self.close()
            raise reply.error
        if not isinstance(reply, _Ready):
            self.close()
            raise RecognizerFailed(f"the recognizer process started wrongly ({reply!r})")
        self.name = reply.name
        self.cuts_itself = reply.cuts_itself
        if reply.takes_stop_scores:
            self.stop_scores = self._stop_scores

    # ----- Recognizer protocol -----

    @property
    def utterance_s(self) -> float:
        return self._utterance_s

    @property
    def process_id(self) -> int:
        """The engine's process (for CPU and memory figures)."""
        return self._process.pid

    def accept(self, pcm: bytes) -> list[Hypothesis]:
        self._send(("accept", self._generation, pcm))
        return self._collect(wait=False)

    def finish(self) -> list[Hypothesis]:
        self._send(("finish", self._generation))
        return self._collect(wait=True)

    def reset(self) -> None:
        self._generation += 1
        self._send(("reset", self._generation))
        self._collect(wait=True)

    def set_phrases(self, phrases: list[str]) -> None:
        self._send(("set_phrases", self._generation, list(phrases)))
        self._collect(wait=True)
        self._spec = replace(self._spec, phrases=tuple(phrases))  # what a restart builds

    def _stop_scores(self, scores: list[Any]) -> None:
        self._send(("stop_scores", self._generation, scores))

    # ----- lifetime -----

    def close(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._conn.send(("close", self._generation))
        try:
            self._process.wait(2.0)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(2.0)
        self._conn.close()

    def _launch(self) -> None:
        # A plain child process (not multiprocessing's spawn, which imports the
        # parent's main module again) with a pickling connection over a socket pair.
        ours, theirs = socket.socketpair()
        self._conn = multiprocessing.connection.Connection(ours.detach())
        try:
            self._process = subprocess.Popen(
                [sys.executable, "-m", __name__, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),),
                stdin=subprocess.DEVNULL,
                env=_child_environment(),
            )
        finally:
            theirs.close()
        self._conn.send(self._spec)

    def __enter__(self) -> IsolatedRecognizer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- the pipe -----

    def _send(self, message: tuple[Any, ...]) -> None:
        self._raise_if_failed()
        try:
            self._conn.send(message)
        except (OSError, ValueError) as error:
            self._fail(f"the recognizer process is gone ({error})")

    def _collect(self, wait: bool) -> list[Hypothesis]:
        """Results that came back; with `wait`, up to the answer to the last request."""
        out: list[Hypothesis] = []
        while wait or self._conn.poll():
            reply = self._receive(_CALL_TIMEOUT_S, "an answer")
            if isinstance(reply, _Failed):
                self._fail(f"speech engine failed: {reply.error!r}")
            if not isinstance(reply, _Results) or reply.generation != self._generation:
                continue  # audio from before a reset: its results are void
            self._utterance_s = reply.utterance_s
            out += reply.hypotheses
            if reply.answer:
                break
        return out

    def _receive(self, timeout: float, what: str) -> object:
        try:
            if not self._conn.poll(timeout):
                self._fail(f"the recognizer process gave no {what} in {timeout:.0f} s")
            return self._conn.recv()
        except (EOFError, OSError) as error:
            code = self._process.poll()
            self._fail(f"the recognizer process ended (exit code {code}; {error or 'EOF'})")
        raise AssertionError("unreachable")

    def _fail(self, message: str) -> None:
        self._failed = message
        raise RecognizerFailed(message)

    def _raise_if_failed(self) -> None:
        """Raise while the engine is down; restart it meanwhile, without waiting for it.

        The caller's thread also runs the stop model, so it never waits for a model
        to load: every call raises until the new process is ready, and the one that
        finds it ready raises once more ("restarted"), so that the caller resets
        its audio time together with the new engine's.
        """
        if self._failed is None:
            return
        if not self._restarting and self._restarts < _MAX_RESTARTS:
            self._restarts += 1
            self.close()
            self._launch()
            self._restarting = True
        elif self._restarting:
            self._poll_restart()
        raise RecognizerFailed(self._failed)

    def _poll_restart(self) -> None:
        try:
            if not self._conn.poll():
                return
            reply = self._conn.recv()
        except (EOFError, OSError) as error:
            reply = _Failed(RecognizerFailed(f"the restarted recognizer process ended ({error})"))
        self._restarting = False
        if isinstance(reply, _Ready):
            self._failed = None
            self._utterance_s = 0.0
            raise RecognizerFailed("the speech engine restarted; listening again")
        self._failed = f"the speech engine did not restart: {getattr(reply, 'error', reply)!r}"


# ----- the child process -----


def _child_environment() -> dict[str, str]:
    """This environment, with this copy of `voice` first on the import path."""
    env = dict(os.environ)
    root = str(Path(__file__).resolve().parents[3])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def _serve(conn: multiprocessing.connection.Connection) -> None:
    """Build the engine, then answer requests until "close" or the parent goes away."""
    # Ctrl-C reaches the whole process group; the parent ends the session (its
    # closing line needs no recognizer) and then closes this process.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Not niced below the audio process: at nice +5 under two busy processes the
    # engine fell behind (stop p95 1.8 s with pocketsphinx, which confirms stops).
    spec = conn.recv()
    try:
        from voice.listen.asr.engines import create_recognizer

        recognizer = create_recognizer(
            spec.engine, spec.model, list(spec.phrases), shared_stop_model=spec.shared_stop_model
        )
    except BaseException as error:  # sent to the parent, which raises it
        _send_failure(conn, error)
        return
    feed = getattr(recognizer, "stop_scores", None)
    conn.send(
        _Ready(
            name=str(recognizer.name),
            cuts_itself=bool(getattr(recognizer, "cuts_itself", False)),
            takes_stop_scores=callable(feed),
        )
    )
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return  # the parent is gone
        kind, generation = message[0], message[1]
        if kind == "close":
            return
        try:
            hypotheses: list[Hypothesis] = []
            if kind == "accept":
                hypotheses = list(recognizer.accept(message[2]))
            elif kind == "stop_scores":
                if callable(feed):
                    feed(message[2])
                continue
            elif kind == "finish":
                hypotheses = list(recognizer.finish())
            elif kind == "reset":
                recognizer.reset()
            elif kind == "set_phrases":
                recognizer.set_phrases(message[2])
            # Every accept is answered too: the listener cuts over-long utterances
            # by `utterance_s`, which must not lag.
            answer = kind != "accept"
            conn.send(_Results(generation, tuple(hypotheses), recognizer.utterance_s, answer))
        except BaseException as error:  # the parent reports it; this process is done
            _send_failure(conn, error)
            return


def _send_failure(conn: multiprocessing.connection.Connection, error: BaseException) -> None:
    try:
        pickle.dumps(error)
        failure = _Failed(error)
    except Exception:  # an exception that cannot travel: its text does
        failure = _Failed(RecognizerFailed(f"{type(error).__name__}: {error}"))
    with contextlib.suppress(OSError, ValueError):
        conn.send(failure)


if __name__ == "__main__":
    # By its real name, so that what is pickled names voice.listen.asr.isolated, not __main__.
    from voice.listen.asr import isolated

    isolated._serve(multiprocessing.connection.Connection(int(sys.argv[1])))
