"""What the one resampler (python-soxr, streamed) adds to the live microphone path.

    .venv/bin/python benchmarks/resample_latency.py [--runs 5]

A microphone at 48 or 44.1 kHz is resampled to 16 kHz in 20 ms blocks by
`voice.audio.Resampler`, exactly as `voice.listen.audio_input` does. Two figures:

- delay: how much later than without resampling a click in the block stream
  comes out of it (soxr keeps its output aligned, but holds back the samples
  its filter needs look-ahead for until the next block brings it);
- cost: wall time of one `process()` call on a 20 ms block (median and p95
  over 3,000 blocks per run, several runs).

The last line is `resample_delay_ms=N` (48 kHz, the usual device rate).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from voice.audio import SAMPLE_RATE, Resampler

BLOCK_S = 0.02


def delay_ms(rate: int) -> float:
    """How much later than without resampling a click comes out, fed in 20 ms blocks:
    soxr holds back the filter's look-ahead until the next block brings it."""
    block = int(rate * BLOCK_S)
    signal = np.zeros(rate, dtype=np.float32)
    click = rate // 2 + block // 2  # mid-block
    signal[click] = 1.0
    stream = Resampler(rate, SAMPLE_RATE)
    out: list[np.ndarray] = []
    for start in range(0, len(signal), block):
        out.append(stream.process(signal[start : start + block]))
        heard = np.concatenate(out)
        if len(heard) and np.abs(heard).max() > 0.1 and np.argmax(np.abs(heard)) < len(heard) - 1:
            available_s = (start + block) / rate  # input fed when the peak is out
            unresampled_s = (click // block + 1) * block / rate  # the block with the click
            return 1000 * (available_s - unresampled_s)
    return float("nan")


def cost_ms(rate: int, blocks: int = 3000) -> list[float]:
    block = int(rate * BLOCK_S)
    rng = np.random.default_rng(3)
    audio = rng.normal(0, 0.1, block * blocks).astype(np.float32)
    stream = Resampler(rate, SAMPLE_RATE)
    times = []
    for i in range(blocks):
        started = time.perf_counter()
        stream.process(audio[i * block : (i + 1) * block])
        times.append(1000 * (time.perf_counter() - started))
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    headline = 0.0
    for rate in (48000, 44100):
        delays = [delay_ms(rate) for _ in range(args.runs)]
        medians, p95s = [], []
        for _ in range(args.runs):
            times = cost_ms(rate)
            medians.append(float(np.median(times)))
            p95s.append(float(np.percentile(times, 95)))
        print(
            f"{rate} Hz -> {SAMPLE_RATE} Hz, 20 ms blocks: delay {np.median(delays):.2f} ms; "
            f"cost per block median {np.median(medians) * 1000:.0f} us "
            f"(runs {min(medians) * 1000:.0f}-{max(medians) * 1000:.0f}), "
            f"p95 {np.median(p95s) * 1000:.0f} us (runs {min(p95s) * 1000:.0f}-"
            f"{max(p95s) * 1000:.0f})"
        )
        if rate == 48000:
            headline = float(np.median(delays))
    print(f"resample_delay_ms={headline:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
