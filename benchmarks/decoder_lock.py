"""How long the speech engine keeps the audio threads waiting (a measurement).

    .venv/bin/python benchmarks/decoder_lock.py [--engine pocketsphinx] [--runs 3] [--load N]

The live session's audio callbacks (speaker and microphone) are Python and need
the interpreter lock every 10-20 ms. This decodes human recordings the way a
session does (the session's hearing: recognizer and stop model, 20 ms blocks in
real time) while a ticker thread, standing in for an audio callback, asks for
the lock every 2 ms. The figure is the longest wait between two ticks per run,
with the engine in this process and in its own (`IsolatedRecognizer`, what the
live session uses). Waits over 20 ms are where a 20 ms PulseAudio buffer runs
dry (ALSA "underrun occurred").

Clips: ../shared/speech/human-full (4 stop, 3 no, 3 yes, 4 other words, each
followed by 1 s of quiet). The last line is `max_lock_wait_isolated_p95_ms=N`.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import sys
import threading
import time
import wave
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from voice.coach.grammar import load_grammar  # noqa: E402
from voice.session.build import build_hearing  # noqa: E402

SHARED = Path(os.environ.get("BACKCOACH_SHARED", REPO.parent / "shared")) / "speech" / "human-full"
BLOCK = 320  # samples: 20 ms at 16 kHz


def _clips() -> np.ndarray:
    if not (SHARED / "manifest.csv").is_file():
        sys.exit(f"needs the human recordings: {SHARED}/manifest.csv")
    picked = []
    for label, count in (("stop", 4), ("no", 3), ("yes", 3), ("_unknown_", 4)):
        picked += sorted((SHARED / label).glob("*.wav"))[:count]
    pcm = []
    for path in picked:
        with wave.open(str(path)) as w:
            pcm.append(np.frombuffer(w.readframes(w.getnframes()), np.int16))
        pcm.append(np.zeros(16000, np.int16))
    return np.concatenate(pcm)


def _longest_wait_ms(engine: str, isolated: bool, pcm: np.ndarray) -> tuple[float, int]:
    """(longest wait between ticks, ms; waits over 20 ms) over one real-time pass."""
    hearing = build_hearing(engine, None, load_grammar().sentences(), isolated=isolated)
    gaps: list[float] = []
    done = threading.Event()

    def tick() -> None:
        last = time.monotonic()
        while not done.is_set():
            time.sleep(0.002)
            now = time.monotonic()
            gaps.append(now - last)
            last = now

    ticker = threading.Thread(target=tick)
    ticker.start()
    start = time.monotonic()
    try:
        for offset in range(0, len(pcm), BLOCK):
            hearing.accept(pcm[offset : offset + BLOCK].tobytes())
            delay = start + (offset + BLOCK) / 16000 - time.monotonic()
            if delay > 0:
                time.sleep(delay)
        hearing.finish()
    finally:
        done.set()
        ticker.join()
        hearing.close()
    waits = np.array(gaps) * 1000
    return float(waits.max()), int((waits > 20).sum())


def _busy() -> None:
    while True:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", default="pocketsphinx", choices=["pocketsphinx", "whisper"])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--load", type=int, default=0, metavar="N", help="N busy processes")
    args = parser.parse_args()
    pcm = _clips()
    load = [multiprocessing.Process(target=_busy, daemon=True) for _ in range(args.load)]
    for process in load:
        process.start()
    figures: dict[bool, list[float]] = {False: [], True: []}
    try:
        for run in range(args.runs):
            for isolated in (False, True):
                longest, over = _longest_wait_ms(args.engine, isolated, pcm)
                figures[isolated].append(longest)
                where = "own process" if isolated else "in process "
                print(f"run {run + 1} {args.engine} {where}: longest wait {longest:.0f} ms, "
                      f"{over} waits over 20 ms", flush=True)  # fmt: skip
    finally:
        for process in load:
            process.terminate()
    for isolated in (False, True):
        values = figures[isolated]
        where = "own process" if isolated else "in process"
        median, p95 = np.median(values), np.percentile(values, 95)
        print(f"{args.engine} {where}: longest wait median {median:.0f} ms, p95 {p95:.0f} ms "
              f"over {len(values)} runs, load {args.load}")  # fmt: skip
    print(f"max_lock_wait_isolated_p95_ms={np.percentile(figures[True], 95):.0f}")


if __name__ == "__main__":
    main()
