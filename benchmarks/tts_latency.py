"""Speech output latency on a PulseAudio null sink: say() -> first sample, stop_all() -> silence.

What is measured, honestly:
- The coach (`voice.speak.speaker.Speaker`) plays into a private null sink (its own, so
  nothing else on the shared server plays into it); `parec` reads that sink's
  monitor with a 5 ms fragment and every chunk is stamped with the
  `time.monotonic()` at which it arrived in this process (tests/audio_probe.py).
- say() -> first sample: from the `say()` call to the arrival of the first
  chunk holding sound. This includes the worker wake-up, the synthesis (uncached
  only), the output block, PortAudio/ALSA/PulseAudio buffering, the sink's
  render tick, *and* the capture path (fragment + pipe): an upper bound.
- stop_all() -> silence: from the `stop_all()` call to the arrival of the last
  chunk with sound, once 100 ms of silence followed: also an upper bound.

Run: `.venv/bin/python benchmarks/tts_latency.py [--trials 30]`; the last line is
`stop_to_silence_p95_ms=N`.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from voice.audio import PULSE_LATENCY_MS

os.environ.setdefault("PULSE_LATENCY_MSEC", str(PULSE_LATENCY_MS))

from tests.support.audio_probe import MonitorProbe, PrivateSink
from tests.support.pulse import start_virtual_audio

T0 = time.monotonic()
CACHED = ["one", "two", "three", "four", "five", "hold", "breathe in", "relax"]
UNCACHED = [
    "Slide your hips to the edge of the bed number {n}",
    "Let your knees fall slowly to the left side, round {n}",
    "Keep your shoulders flat on the mattress, try {n}",
]


def _stats(name: str, values: list[float]) -> str:
    v = np.array(values)
    return (
        f"{name}: n={len(v)} median={np.median(v):.1f} ms p95={np.percentile(v, 95):.1f} ms "
        f"max={v.max():.1f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    args = parser.parse_args()
    start_virtual_audio()
    print(f"{time.monotonic() - T0:.2f}s start")

    from voice.speak.speaker import Speaker
    from voice.speak.tts import CACHED_PHRASES, SpeechSettings

    done = threading.Event()
    errors: list[str] = []
    with PrivateSink() as sink:
        speaker = Speaker(
            SpeechSettings(),
            on_done=lambda uid, ok: done.set(),
            on_error=lambda m: errors.append(f"{time.monotonic() - T0:.2f}s {m}"),
        )
        try:
            # wait for the idle-time cache of counts and breath words
            deadline = time.monotonic() + 10
            while speaker._preload and time.monotonic() < deadline:
                time.sleep(0.05)
            with MonitorProbe(sink.monitor) as probe:
                cached, uncached, stops = [], [], []
                uid = 0
                for trial in range(args.trials):
                    for bucket, text in (
                        (cached, random.choice(CACHED)),
                        (uncached, random.choice(UNCACHED).format(n=trial)),
                    ):
                        uid += 1
                        time.sleep(random.uniform(0.15, 0.3))
                        done.clear()
                        t0 = time.monotonic()
                        speaker.say(text, uid)
                        first = probe.first_sound_after(t0)
                        if first is None:
                            raise SystemExit(f"no sound at {sink.monitor} for {text!r}")
                        bucket.append((first - t0) * 1e3)
                        if bucket is uncached:
                            # cut the sentence mid-word
                            time.sleep(random.uniform(0.2, 0.5))
                            t_stop = time.monotonic()
                            speaker.stop_all()
                            silent = probe.silence_after(t_stop)
                            if silent is None:
                                raise SystemExit("output did not fall silent after stop_all")
                            stops.append((silent - t_stop) * 1e3)
                        done.wait(5)
        finally:
            speaker.close()
    if errors:
        print("speaker errors:", *errors, sep="\n  ")
    print(
        f"cached phrases: {', '.join(CACHED)} (all in CACHED_PHRASES: "
        f"{all(c in CACHED_PHRASES for c in CACHED)})"
    )
    print(_stats("say(cached) -> first sample at sink monitor", cached))
    print(_stats("say(uncached sentence) -> first sample at sink monitor", uncached))
    print(_stats("stop_all() -> silence at sink monitor", stops))
    print("(all figures are upper bounds: they include the capture path's buffering)")
    print(f"cached_first_sample_p95_ms={np.percentile(cached, 95):.0f}")
    print(f"stop_to_silence_p95_ms={np.percentile(stops, 95):.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
