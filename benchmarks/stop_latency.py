"""Stop latency of the live session, measured from recorded signals on PulseAudio virtual devices.

    .venv/bin/python benchmarks/stop_latency.py [--trials 20] [--readings 10]

The live session (`voice.session.live.run_live` with the real recognizer, stop
detector, speaker and echo gate) runs in this process on the virtual speaker
`bc_speaker` and microphone `bc_mic` of tests/pulse.py. The user's words are
played into the microphone; both the microphone and the speaker monitors are
recorded, aligned by a click played into both sinks at once. Set-up commands
that are not measured ("read precautions", "go back", answers) are typed into
the runner, so every trial starts in the same state.

- stop: the coach reads the precautions; the user's "stop" (human recordings)
  is played 1.5-3.5 s into it. Latency = end of the word in the mic signal ->
  the moment the speaker monitor falls silent for good (the silence that the
  alert cue ends; natural pauses in speech do not count). A sync click into
  both sinks just before each word aligns the two recordings.
- pain: the same with a pain phrase ("that hurts", "it hurts"). Either kind of
  stop counts as acted on (both silence the coach); trials acted on as the other
  kind are listed.
- command: in a routine, the coach silent, waiting; the user says "next step",
  "next one", "skip this step" or "skip it" (espeak-ng voices the engine
  understands offline), until `--trials` are acted on (at most three times as
  many tries). Latency = end of the words -> first sample of the reply.
- self stops: the speaker is looped back into the microphone
  (module-loopback) while the coach reads the precautions `--readings` times;
  every stop/pain the session acts on is a self-triggered stop.
- CPU (% of one core) and peak RSS of this process while the session runs.

Prints median and p95 of each; the last line is `stop_latency_p95_ms=N`.
Targets: stop p95 <= 250 ms, command p95 <= 700 ms, no self stop,
CPU <= 30 % of one core, RSS <= 300 MB.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.live_harness import (  # noqa: E402
    InProcessSession,
    Recorder,
    clicks,
    espeak_clip,
    human_clips,
    load_echo_loopback,
    sound_between,
    sound_onset,
    speaker_time,
    stop_silence_onset,
    word_after,
)
from tests.support.pulse import _pactl, start_virtual_audio  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20, help="trials per measure (default 20)")
    parser.add_argument(
        "--readings", type=int, default=10, help="precaution readings for self stops (default 10)"
    )
    parser.add_argument("--keep", type=Path, help="keep recordings and transcript in this folder")
    parser.add_argument(
        "--only",
        default="stop,pain,command,self",
        help="comma-separated subset of: stop, pain, command, self (default: all)",
    )
    args = parser.parse_args(argv)

    audio = start_virtual_audio()  # before PortAudio initialises
    os.environ["PULSE_SINK"] = audio.speaker_sink
    os.environ["PULSE_SOURCE"] = audio.mic_source
    os.environ.setdefault("PULSE_LATENCY_MSEC", "20")

    work = args.keep or Path(tempfile.mkdtemp(prefix="bc-stop-latency-"))
    work.mkdir(parents=True, exist_ok=True)
    bench = Bench(audio, work)
    try:
        bench.start()
        only = set(args.only.split(","))
        stop = bench.stop_trials(args.trials, pain=False) if "stop" in only else Result()
        pain = bench.stop_trials(args.trials, pain=True) if "pain" in only else Result()
        command = bench.command_trials(args.trials) if "command" in only else Result()
        cpu, rss = bench.usage()
        self_stops, readings = 0, 0
        if "self" in only:
            for _ in range(4):  # 1.75 times the normal rate: ten readings in about six minutes
                bench.session.type("faster")  # type: ignore[union-attr]
            self_stops, readings = bench.self_stop_readings(args.readings)
    finally:
        bench.close()
    stop.latencies = bench.analyse("stop", "silence", stop.misses)
    pain.latencies = bench.analyse("pain", "silence", pain.misses)
    command.latencies = bench.analyse("next", "sound", command.misses)

    print(f"recordings and transcript: {work}")
    report("stop latency (end of 'stop' -> speaker silent)", stop)
    report("pain latency (end of pain phrase -> speaker silent)", pain)
    report("command latency (end of 'next' -> first reply sample)", command)
    print(f"self-triggered stops: {self_stops} in {readings} precaution readings (target 0)")
    print(f"cpu: {cpu:.1f} % of one core (target <= 30)")
    print(f"rss: {rss:.0f} MB peak (target <= 300)")
    p95 = percentile(stop.latencies, 95)
    print(f"stop_latency_p95_ms={round(p95) if p95 == p95 else -1}")
    return 0


# ----- measuring -----


class Result:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        """Milliseconds."""
        self.misses: list[str] = []
        self.other_kind: list[str] = []
        """Stop trials acted on as a pain stop, pain trials as a plain stop."""


class Bench:
    def __init__(self, audio: Any, work: Path) -> None:
        self.audio = audio
        self.work = work
        self.clips = work / "clips"
        self.recorder = Recorder(audio, work / "rec")
        self.session: InProcessSession | None = None
        self.cpu0 = (0.0, 0.0)
        self.plays: list[str] = []
        """Label of each measured word, in order; each follows one sync click."""
        self.mic: Any = None
        self.speaker: Any = None
        self.rate = 16000

    # -- session --

    def start(self) -> None:
        self.recorder.start()
        self.session = InProcessSession(self.work)
        self.session.start()
        s = self.session
        if not s.wait_for(lambda e: e["event"] == "state" and e["state"] == "screening", 30):
            raise RuntimeError(f"the session did not start: {s.error}")
        self.cpu0 = (_cpu_seconds(), time.monotonic())
        s.type("no")
        s.wait_quiet()

    def close(self) -> None:
        try:
            if self.session is not None:
                self.session.close()
        finally:
            self.mic, self.speaker, self.rate = self.recorder.stop()

    def play(self, label: str, clip: Path) -> None:
        """A sync click into both sinks, then the word into the mic."""
        self.recorder.click()
        self.plays.append(label)
        self.audio.play_into_mic(clip)

    # -- trials --

    def stop_trials(self, n: int, pain: bool) -> Result:
        assert self.session is not None
        s = self.session
        result = Result()
        if pain:
            clips = [espeak_clip(p, self.clips, v, speed=160) for p in ("that hurts", "it hurts")
                     for v in ("en-us+f2", "en-us+m2", "en-us+klatt")]  # fmt: skip
        else:
            clips = human_clips("stop") or [espeak_clip("stop", self.clips)]
        label = "pain" if pain else "stop"
        for i in range(n):
            s.type("read precautions")
            time.sleep(random.uniform(1.5, 3.5))
            since = len(s.events())
            clip = clips[i % len(clips)]
            self.play(f"{label}{i}", clip)
            # Either kind of stop silences the coach at once: a "stop" heard as
            # "stop ow" is acted on as a pain stop, which is on the safe side.
            heard = s.wait_for(lambda e: e["event"] == "stop", 4, since)
            if heard is None:
                result.misses.append(f"{label}{i}:{clip.name}")
            else:
                if heard.get("pain") != pain:
                    result.other_kind.append(f"{label}{i}:{clip.name}")
                time.sleep(1.5)  # let the alert cue play: it marks the cut in the recording
            s.type("stop")  # the typed path ends whatever is left of the reading
            time.sleep(0.3)
            s.type("three" if pain else "no")
            s.type("no")
            s.wait_quiet()
        return result

    def command_trials(self, n: int) -> Result:
        assert self.session is not None
        s = self.session
        result = Result()
        clips = next_clips(self.clips)
        print(f"command clips (understood offline): {', '.join(c.name for c in clips)}")
        s.type("start the foam roller")
        s.type("yes")  # the coach may ask to confirm (cool-down)
        # Until n are acted on (at most 3n tries): the latency of a command
        # that was not understood does not exist.
        i = 0
        while i - len(result.misses) < n and i < 3 * n:
            s.wait_quiet()
            since = len(s.events())
            clip = clips[i % len(clips)]
            self.play(f"next{i}", clip)
            heard = s.wait_for(
                lambda e: e["event"] == "intent" and e["intent"] == "Next", 4.0, since
            )
            time.sleep(1.0)
            if heard is None:
                said = [e.get("text") for e in s.events()[since:] if e["event"] == "heard"]
                result.misses.append(f"next{i}:{clip.name} (heard {said or 'nothing'})")
            else:
                s.type("go back")
                time.sleep(0.3)
            i += 1
        s.type("end routine")
        s.type("stop")
        s.type("no")
        s.wait_quiet()
        return result

    def usage(self) -> tuple[float, float]:
        cpu, wall = _cpu_seconds() - self.cpu0[0], time.monotonic() - self.cpu0[1]
        return 100.0 * cpu / max(wall, 1e-9), _peak_rss_mb()

    def self_stop_readings(self, n: int) -> tuple[int, int]:
        assert self.session is not None
        s = self.session
        module = load_echo_loopback(self.audio)
        count = 0
        try:
            for _ in range(n):
                since = len(s.events())
                s.type("read precautions")
                time.sleep(1.0)
                s.wait_quiet(150)
                stops = [e for e in s.events()[since:] if e["event"] in ("stop", "pain")]
                count += len(stops)
                if stops:
                    s.type("no")
                    s.wait_quiet()
        finally:
            _pactl("unload-module", module)
        return count, n

    # -- analysis (after close) --

    def analyse(self, label: str, kind: str, misses: list[str]) -> list[float]:
        """Latencies (ms) of the words whose label starts with `label`, from the recordings.

        Words the session did not act on are left out (they are reported as misses:
        a pre-trigger that paused the speech for a moment is not a stop).
        """
        mic, speaker, rate = self.mic, self.speaker, self.rate
        mic_clicks, spk_clicks = clicks(mic, rate), clicks(speaker, rate)
        # The first click is the recorder's own start click.
        marks = mic_clicks[1:]
        missed = {m.split(":")[0] for m in misses}
        out = []
        for name, click in zip(self.plays, marks, strict=False):
            if not name.startswith(label) or name in missed:
                continue
            word = word_after(mic, rate, click)
            if word is None:
                continue
            start = speaker_time(word[0], mic_clicks, spk_clicks)
            end = speaker_time(word[1], mic_clicks, spk_clicks)
            if start is None or end is None:
                continue
            if kind == "silence":
                if sound_between(speaker, rate, start - 0.5, start) < 0.3:
                    continue  # the coach was not speaking: not a barge-in trial
                onset = stop_silence_onset(speaker, rate, start)
            else:
                if sound_between(speaker, rate, start - 0.3, end) > 0.1:
                    continue  # the coach was still speaking: not a clean command trial
                onset = sound_onset(speaker, rate, end)
            if onset is not None:
                out.append(1000.0 * (onset - end))
                print(f"  {name}: {out[-1]:.0f} ms")
        return out


def next_clips(folder: Path) -> list[Path]:
    """espeak-ng renderings of the Next intent that the fallback engine understands.

    Decoded in a child process, so the recognizer used for choosing does not
    count towards this process's peak memory.
    """
    out = subprocess.run(
        [sys.executable, __file__, "--pick-next-clips", str(folder)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    chosen = [Path(line) for line in out.stdout.splitlines() if line.strip()]
    if not chosen:
        raise RuntimeError("no espeak-ng rendering of Next is understood by pocketsphinx")
    return chosen


def _pick_next_clips(folder: Path) -> list[Path]:
    """The renderings heard as Next when decoded offline.

    pocketsphinx's acoustic model hears few espeak-ng renderings of "next" or
    "skip" as such (about one in four; its "next" becomes "that" or "let"), so
    the candidates are decoded offline first and only those heard as Next are
    played: the benchmark measures latency, asr_eval measures accuracy.
    """
    from voice.coach.grammar import load_grammar
    from voice.listen.asr.sphinx_engine import SphinxRecognizer
    from voice.listen.audio_input import wav_to_pcm16k

    grammar = load_grammar()
    recognizer = SphinxRecognizer(grammar.sentences())
    chosen = []
    for text in ("next step", "next one", "next", "skip this step", "skip it", "skip"):
        for voice in ("en-us+f2", "en-us+f3", "en-us+f4", "en-us+klatt", "en-us+m2", "en-us+m4"):
            clip = espeak_clip(text, folder, voice, speed=150)
            recognizer.reset()
            pcm = wav_to_pcm16k(clip) + bytes(16000)
            finals = [h for h in recognizer.accept(pcm) + recognizer.finish() if h.final]
            parses = [grammar.parse(h.text) for h in finals if h.text]
            if any(p is not None and p.intent == "Next" for p in parses):
                chosen.append(clip)
    return chosen


def _cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system


def _peak_rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    import numpy as np

    return float(np.percentile(np.array(values), q))


def report(title: str, result: Result) -> None:
    values, misses = result.latencies, result.misses
    print(f"{title}: n={len(values)} median={percentile(values, 50):.0f} ms "
          f"p95={percentile(values, 95):.0f} ms misses={len(misses)}")  # fmt: skip
    if misses:
        print(f"  not recognized: {', '.join(misses)}")
    if result.other_kind:
        print(f"  acted on as the other kind of stop: {', '.join(result.other_kind)}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--pick-next-clips"]:
        print("\n".join(str(c) for c in _pick_next_clips(Path(sys.argv[2]))))
        sys.exit(0)
    sys.exit(main())
