"""`backcoach say TEXT [--out FILE.wav] [--voice V] [--rate N]`: speak one line (or write it)."""

from __future__ import annotations

import argparse
import re
import shlex
from pathlib import Path
from typing import Any

from voice.errors import BadInput
from voice.speak.tts import MAX_RATE_WPM, MIN_RATE_WPM

__all__ = ["check_out", "rate_wpm", "register", "run", "speak_lines"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("say", help="speak a line with the coach's voice")
    parser.add_argument(
        "text", metavar="TEXT", help="what to say (normalized: '5-10 s' is read out)"
    )
    parser.add_argument("--out", type=Path, metavar="FILE.wav", help="write a WAV file instead")
    parser.add_argument("--output", metavar="DEVICE", help="output device number or name")
    parser.add_argument("--voice", help="voice id (see `backcoach voices`)")
    parser.add_argument(
        "--rate",
        type=rate_wpm,
        metavar="WPM",
        help=f"speech rate, words per minute ({MIN_RATE_WPM}-{MAX_RATE_WPM})",
    )
    parser.set_defaults(func=run)


def rate_wpm(value: str) -> int:
    """`--rate` as parsed: whole words per minute within the range the coach speaks at.

    Checked while parsing, so a typo fails with the usage line (exit 2) before
    any speech is made; outside the range espeak-ng is either refused or gabbled.
    """
    allowed = f"give words per minute from {MIN_RATE_WPM} to {MAX_RATE_WPM}"
    try:
        rate = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a whole number; {allowed}") from None
    if not MIN_RATE_WPM <= rate <= MAX_RATE_WPM:
        raise argparse.ArgumentTypeError(f"{rate} is out of range; {allowed}")
    return rate


def check_out(out: Path, text: str) -> None:
    """BadInput unless `out` can become a WAV file, checked before any speech is made.

    Folders are never created: a mistyped folder would silently receive the file.
    """
    if out.is_dir():
        words = re.findall(r"[a-z0-9]+", text.lower())[:4]
        example = out / f"{'-'.join(words) or 'speech'}.wav"  # named after what is said
        raise BadInput(f"{out} is a folder; give a file name such as {example}")
    folder = out.parent
    if not folder.exists():
        raise BadInput(
            f"cannot write {out}: the folder {folder} does not exist; create it first "
            f"(mkdir -p {shlex.quote(str(folder))}) or give --out a path in an existing folder"
        )
    if not folder.is_dir():
        raise BadInput(f"cannot write {out}: {folder} is a file, not a folder")


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
    if args.out is not None:
        check_out(args.out, args.text)
    output: str | int | Path | None = args.out
    if output is None and args.output is not None:
        output = int(args.output) if args.output.isdigit() else args.output
    seconds = speak_lines([args.text], output, voice=args.voice, rate_wpm=args.rate)
    if args.out is not None:
        print(f"wrote {args.out} ({seconds:.2f} s)")
    return 0
