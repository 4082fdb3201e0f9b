"""`backcoach say TEXT [--out FILE.wav] [--voice V] [--rate N]`: speak one line (or write it)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from voice.errors import BadInput

__all__ = ["register", "run", "speak_lines"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("say", help="speak a line with the coach's voice")
    parser.add_argument(
        "text", metavar="TEXT", help="what to say (normalized: '5-10 s' is read out)"
    )
    parser.add_argument("--out", type=Path, metavar="FILE.wav", help="write a WAV file instead")
    parser.add_argument("--output", metavar="DEVICE", help="output device number or name")
    parser.add_argument("--voice", help="voice id (see `backcoach voices`)")
    parser.add_argument("--rate", type=int, metavar="WPM", help="speech rate, words per minute")
    parser.set_defaults(func=run)


def speak_lines(
    lines: list[str],
    output: str | int | Path | None = None,
    voice: str | None = None,
    rate_wpm: int | None = None,
) -> float:
    """Speak `lines` in order on a device (or into a WAV file); returns seconds of audio."""
    import numpy as np

    from voice.speak.playback import Player
    from voice.speak.tts import SpeechSettings, Synthesizer

    defaults = SpeechSettings()
    settings = SpeechSettings(
        voice=voice, rate_wpm=rate_wpm or defaults.rate_wpm, volume=defaults.volume
    )
    with Synthesizer(settings) as synth:
        pcms = [synth.synthesize(line) for line in lines if line.strip()]
    if not pcms:
        raise BadInput("nothing to say: the text is empty")
    rate = pcms[0].rate
    pause = np.zeros(int(rate * 0.3), dtype=np.int16)
    samples = np.concatenate([part for pcm in pcms for part in (pcm.samples, pause)][:-1])
    # Unpaced into a file: written at once, no real-time wait.
    with Player(output, samplerate=rate, paced=False) as player:
        player.play(samples, rate, gain=settings.volume)
        if not isinstance(output, Path):  # let the device play out its buffer before closing
            import time

            time.sleep(player.output_latency_s() + 0.05)
    return len(samples) / rate


def run(args: argparse.Namespace) -> int:
    if not args.text.strip():
        raise BadInput("nothing to say: TEXT is empty")
    output: str | int | Path | None = args.out
    if output is None and args.output is not None:
        output = int(args.output) if args.output.isdigit() else args.output
    seconds = speak_lines([args.text], output, voice=args.voice, rate_wpm=args.rate)
    if args.out is not None:
        print(f"wrote {args.out} ({seconds:.2f} s)")
    return 0
