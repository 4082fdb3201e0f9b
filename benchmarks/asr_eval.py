"""Accuracy and speed of the speech recognizers (a measurement, not a pass/fail test).

    .venv/bin/python benchmarks/asr_eval.py [--quick] [--engine pocketsphinx|vosk ...]

Sets:
- human: ../shared/speech/human (Speech Commands clips, 92 speakers), fed like a
  live microphone (0.3 s silence before, 0.6 s after, 50 ms blocks);
- synth: command sentences spoken by several espeak-ng voices at two speeds,
  clean and with white noise at 20/10/5 dB SNR (made here into benchmarks/out/synth).

Phrase list: every grammar sentence except pain ratings (those are only active
when the coach asks for a rating), i.e. the normal listening state.

Figures: per-intent recall and precision, stop recall (final or partial),
false-stop rate on the other words and on _unknown_, false-command rate on clips
that hold no command, latency from end of speech to the final result (and to
the first stop partial), real-time factor, and CPU and peak RSS while listening
to 60 s of silence. The microWakeWord stop model alone is measured too. The last
line is `stop_recall=N` (fraction 0..1, the first engine on the human set).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from voice.coach.grammar import Grammar, load_grammar  # noqa: E402
from voice.listen.asr.base import Engine, Recognizer  # noqa: E402
from voice.listen.asr.engines import create_recognizer  # noqa: E402
from voice.listen.asr.models import find_model  # noqa: E402
from voice.listen.asr.stop_detector import StopDetector  # noqa: E402
from voice.listen.audio_input import to_pcm16, wav_to_pcm16k  # noqa: E402

HUMAN = ROOT.parent / "shared" / "speech" / "human"
OUT = ROOT / "benchmarks" / "out"
RATE = 16000
BLOCK = int(0.05 * RATE) * 2
LEAD_S, TAIL_S = 0.3, 0.6
SAFETY = ("Stop", "PainStop")
VOICES = ["en-us", "en-gb", "en-us+f3", "en-gb-scotland", "en-us+m7", "en-029"]
SPEEDS = [140, 185]
SNRS = [None, 20, 10, 5]


@dataclass
class Clip:
    name: str
    label: str  # folder label or intent of the spoken sentence
    expected: str | None
    pcm: bytes


@dataclass
class Outcome:
    clip: Clip
    intent: str | None
    stop: bool
    text: str
    decode_s: float
    final_latency_s: float | None
    stop_latency_s: float | None


@dataclass
class Report:
    rows: list[Outcome] = field(default_factory=list)


def speech_end_s(pcm: bytes) -> float:
    x = np.frombuffer(pcm, dtype="<i2").astype(np.float32)
    frames = x[: len(x) // 160 * 160].reshape(-1, 160)
    energy = 10 * np.log10((frames**2).mean(axis=1) + 1e-3)
    loud = np.nonzero(energy > energy.max() - 30)[0]
    return float((loud[-1] + 1) * 160 / RATE) if len(loud) else 0.0


def decode(recognizer: Recognizer, grammar: Grammar, clip: Clip) -> Outcome:
    lead = b"\0" * int(LEAD_S * RATE) * 2
    pcm = lead + clip.pcm + b"\0" * int(TAIL_S * RATE) * 2
    end_of_speech = LEAD_S + speech_end_s(clip.pcm)
    recognizer.reset()
    started = time.perf_counter()
    finals: list[str] = []
    first_final_at = stop_at = None
    fed = 0
    for offset in range(0, len(pcm), BLOCK):
        block = pcm[offset : offset + BLOCK]
        fed += len(block)
        for h in recognizer.accept(block):
            now = fed / 2 / RATE
            if h.final and h.text:
                finals.append(h.text)
                first_final_at = first_final_at or now
            spotted = grammar.spot_safety(h.text) if h.text else None
            if spotted and spotted.intent == "Stop" and stop_at is None:
                stop_at = now
    for h in recognizer.finish():
        if h.final and h.text:
            finals.append(h.text)
            first_final_at = first_final_at or fed / 2 / RATE
        spotted = grammar.spot_safety(h.text) if h.text else None
        if spotted and spotted.intent == "Stop" and stop_at is None:
            stop_at = fed / 2 / RATE
    decode_s = time.perf_counter() - started
    text = " ".join(finals)
    parse = grammar.parse(text) if text else None
    intent = parse.intent if parse else None
    safety = grammar.spot_safety(text) if text else None
    if safety:
        intent = safety.intent
    if stop_at is not None and intent not in SAFETY:
        intent = "Stop"  # the live session acts on the partial at once
    return Outcome(
        clip,
        intent,
        stop_at is not None or intent == "Stop",
        text,
        decode_s,
        None if first_final_at is None else first_final_at - end_of_speech,
        None if stop_at is None else stop_at - end_of_speech,
    )


def human_clips(
    grammar: Grammar, active: set[str], limit: int | None, split: str = "all"
) -> list[Clip]:
    """The human set; `split` "even"/"odd" keeps every other clip of each folder
    (manifest order), so settings tuned on one half can be checked on the other."""
    rows = list(csv.DictReader((HUMAN / "manifest.csv").open()))
    clips = []
    per_label: Counter[str] = Counter()
    for row in rows:
        label = row["label"]
        per_label[label] += 1
        if limit and per_label[label] > limit:
            continue
        if split != "all" and (per_label[label] - 1) % 2 != (split == "odd"):
            continue
        word = Path(row["path"]).name.split("_")[0] if label == "_unknown_" else label
        parse = grammar.parse(word) if label != "_silence_" else None
        expected = parse.intent if parse and parse.intent in active else None
        clips.append(Clip(row["path"], label, expected, wav_to_pcm16k(HUMAN / row["path"])))
    return clips


def synth_clips(grammar: Grammar, intents: list[str], quick: bool) -> list[Clip]:
    if shutil.which("espeak-ng") is None:
        print("synth set skipped: espeak-ng not installed (apt-get install espeak-ng)")
        return []
    folder = OUT / "synth"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(4)
    clips = []
    voices = VOICES[:3] if quick else VOICES
    for intent in intents:
        sentences = grammar.sentences([intent])
        picks = sentences[:1] if quick else sentences[:1] + sentences[len(sentences) // 2 :][:1]
        for sentence in dict.fromkeys(picks):
            for voice in voices:
                for speed in SPEEDS[:1] if quick else SPEEDS:
                    stem = f"{intent}_{sentence.replace(' ', '-')}_{voice}_{speed}".replace("'", "")
                    clean = folder / f"{stem}.wav"
                    if not clean.exists():
                        subprocess.run(
                            [
                                "espeak-ng",
                                "-v",
                                voice,
                                "-s",
                                str(speed),
                                "-w",
                                str(clean),
                                sentence,
                            ],
                            check=True,
                            capture_output=True,
                        )
                    pcm16 = wav_to_pcm16k(clean)
                    x = np.frombuffer(pcm16, dtype="<i2").astype(np.float32) / 32768
                    for snr in SNRS[:2] if quick else SNRS:
                        if snr is None:
                            noisy = x
                        else:
                            power = float((x**2).mean())
                            noise = rng.normal(0, np.sqrt(power / 10 ** (snr / 10)), len(x))
                            noisy = x + noise.astype(np.float32)
                        tag = "clean" if snr is None else f"{snr}dB"
                        path = folder / f"{stem}_{tag}.wav"
                        if not path.exists():
                            import wave

                            with wave.open(str(path), "wb") as w:
                                w.setnchannels(1)
                                w.setsampwidth(2)
                                w.setframerate(RATE)
                                w.writeframes(to_pcm16(noisy))
                        clips.append(Clip(path.name, tag, intent, to_pcm16(noisy)))
    return clips


def spread_ms(values: list[float]) -> str:
    median = statistics.median(values) * 1000
    return f"median {median:.0f} ms, p95 {np.percentile(values, 95) * 1000:.0f} ms"


def pct(n: int, d: int) -> str:
    return f"{n}/{d} = {100 * n / d:.1f}%" if d else "n/a"


def summarize(title: str, rows: list[Outcome]) -> dict[str, float]:
    print(f"\n## {title}: {len(rows)} clips")
    intents = sorted(
        {r.clip.expected for r in rows if r.clip.expected} | {r.intent for r in rows if r.intent}
    )
    print(f"{'intent':<16}{'recall':>22}{'precision':>22}")
    for intent in intents:
        tp = sum(r.intent == intent and r.clip.expected == intent for r in rows)
        want = sum(r.clip.expected == intent for r in rows)
        got = sum(r.intent == intent for r in rows)
        print(f"{intent:<16}{pct(tp, want):>22}{pct(tp, got):>22}")
    stops = [r for r in rows if r.clip.expected == "Stop"]
    others = [
        r
        for r in rows
        if r.clip.expected != "Stop" and r.clip.label not in ("_unknown_", "_silence_")
    ]
    unknown = [r for r in rows if r.clip.label == "_unknown_"]
    negatives = [r for r in rows if r.clip.expected is None]
    unknown_neg = [r for r in unknown if r.clip.expected is None]
    stop_recall = sum(r.stop for r in stops) / len(stops) if stops else float("nan")
    wrong = Counter(
        f"{r.clip.label}->{r.text or ('(stop partial)' if r.stop else '(nothing)')}"
        for r in rows
        if r.intent != r.clip.expected
    )
    print("most frequent errors:", ", ".join(f"{k} x{n}" for k, n in wrong.most_common(25)))
    print(f"stop recall (final or partial): {pct(sum(r.stop for r in stops), len(stops))}")
    if others:
        print(f"false stop, other words: {pct(sum(r.stop for r in others), len(others))}")
        heard = Counter(f"{r.clip.label}->{r.text or '(partial)'}" for r in others if r.stop)
        print("  heard as:", ", ".join(f"{k} x{n}" for k, n in heard.most_common()))
    if unknown:
        print(f"false stop, _unknown_: {pct(sum(r.stop for r in unknown), len(unknown))}")
    commands = sum(r.intent is not None for r in negatives)
    print(f"false command, clips without a command: {pct(commands, len(negatives))}")
    if unknown_neg:
        quiet = sum(r.intent is None for r in unknown_neg)
        print(
            f"no command at all, _unknown_ without a grammar word: {pct(quiet, len(unknown_neg))}"
        )
    if unknown:
        quiet = sum(r.intent is None for r in unknown)
        print(f"no command at all, every _unknown_ clip: {pct(quiet, len(unknown))}")
    finals = [r.final_latency_s for r in rows if r.final_latency_s is not None and r.intent]
    stop_lat = [r.stop_latency_s for r in stops if r.stop_latency_s is not None]
    if finals:
        print(f"latency end of speech -> final: {spread_ms(finals)} (audio time)")
    if stop_lat:
        print(f"latency end of speech -> stop partial: {spread_ms(stop_lat)}")
    audio_s = sum(len(r.clip.pcm) / 2 / RATE + LEAD_S + TAIL_S for r in rows)
    decode_s = sum(r.decode_s for r in rows)
    per_clip = [r.decode_s / (len(r.clip.pcm) / 2 / RATE + LEAD_S + TAIL_S) for r in rows]
    p95 = np.percentile(per_clip, 95)
    print(f"real-time factor: {decode_s / audio_s:.3f} overall, p95 per clip {p95:.3f}")
    return {"stop_recall": stop_recall}


def listen_to_silence(recognizer: Recognizer, seconds: float) -> tuple[float, float]:
    """CPU % of one core while fed `seconds` of quiet room noise at real-time pace."""
    rng = np.random.default_rng(1)
    recognizer.reset()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    blocks = int(seconds / 0.05)
    for i in range(blocks):
        noise = rng.normal(0, 30, BLOCK // 2).astype("<i2").tobytes()
        recognizer.accept(noise)
        delay = wall0 + (i + 1) * 0.05 - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
    cpu = time.process_time() - cpu0
    wall = time.perf_counter() - wall0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return 100 * cpu / wall, rss_mb


def stop_model_alone(clips: list[Clip]) -> None:
    detector = StopDetector()
    fired: dict[str, list[bool]] = defaultdict(list)
    latency: list[float] = []
    for clip in clips:
        detector.reset()
        pcm = b"\0" * int(LEAD_S * RATE) * 2 + clip.pcm + b"\0" * int(TAIL_S * RATE) * 2
        triggers = []
        for offset in range(0, len(pcm), BLOCK):
            triggers += detector.accept(pcm[offset : offset + BLOCK])
        fired[clip.label].append(bool(triggers))
        if triggers and clip.label == "stop":
            latency.append(triggers[0].time_s - LEAD_S - speech_end_s(clip.pcm))
    print("\n## microWakeWord stop model alone (threshold 0.5), human set")
    for label, values in sorted(fired.items()):
        print(f"  {label:<10} fired {pct(sum(values), len(values))}")
    if latency:
        print(f"  trigger after end of 'stop': {spread_ms(latency)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer clips, 10 s of silence")
    parser.add_argument(
        "--engine", action="append", choices=[Engine.POCKETSPHINX.value, Engine.VOSK.value]
    )
    parser.add_argument("--no-synth", action="store_true")
    parser.add_argument(
        "--split",
        choices=["all", "even", "odd"],
        default="all",
        help="human set: every clip, or the even/odd-indexed half of each folder "
        "(tune on one half, check on the other)",
    )
    args = parser.parse_args()
    grammar = load_grammar()
    intents = [i for i in grammar.intent_names if i != "PainRating"]
    phrases = grammar.sentences(intents)
    engines = args.engine or [Engine.POCKETSPHINX.value, Engine.VOSK.value]
    print(
        f"# ASR benchmark {time.strftime('%Y-%m-%d %H:%M')}, {os.cpu_count()} CPUs, "
        f"{len(phrases)} phrases, human set: {args.split}"
    )
    human = human_clips(grammar, set(intents), 8 if args.quick else None, args.split)
    synth = [] if args.no_synth else synth_clips(grammar, intents, args.quick)
    stop_model_alone(human)
    first_recall: float | None = None
    results: dict[str, dict[str, float]] = {}
    for name in engines:
        if name == Engine.VOSK.value:
            try:
                model = find_model()
            except Exception as error:  # a wrong BACKCOACH_VOSK_MODEL
                print(f"\n# vosk skipped: {error}")
                continue
            if model is None:
                print(
                    "\n# vosk skipped: no English vosk model "
                    "(set BACKCOACH_VOSK_MODEL or run `backcoach model download`)"
                )
                continue
        t0 = time.perf_counter()
        recognizer = create_recognizer(name, None, phrases, notice=None)
        load_s = time.perf_counter() - t0
        print(f"\n# engine {recognizer.name} (loaded in {load_s:.1f} s)")
        figures = summarize("human set", [decode(recognizer, grammar, c) for c in human])
        if synth:
            outs = [decode(recognizer, grammar, c) for c in synth]
            summarize("synthesized set (all voices, speeds, SNRs)", outs)
            for tag in ("clean", "20dB", "10dB", "5dB"):
                part = [o for o in outs if o.clip.label == tag]
                if part:
                    ok = sum(o.intent == o.clip.expected for o in part)
                    print(f"  synth {tag:<6} intent correct {pct(ok, len(part))}")
        seconds = 10 if args.quick else 60
        cpu, rss = listen_to_silence(recognizer, seconds)
        print(
            f"listening to {seconds} s of silence: CPU {cpu:.1f}% of one core, "
            f"peak RSS {rss:.0f} MB"
        )
        results[recognizer.name] = figures
        if first_recall is None:
            first_recall = figures["stop_recall"]
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "asr_eval.json").write_text(json.dumps(results, indent=2))
    print(f"stop_recall={first_recall if first_recall is not None else float('nan'):.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
