"""Events into the dialogue manager and actions out of it.

Plain frozen dataclasses, no behaviour: the runtime turns actions into speech,
cues, timers, transcript lines and store records.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from voice.coach.memory import Record

__all__ = [
    "Action",
    "AdjustSpeech",
    "Cue",
    "CueKind",
    "DeviceLost",
    "DeviceRestored",
    "EndSession",
    "Event",
    "FlushSpeech",
    "HearingFailed",
    "IntentHeard",
    "Log",
    "Persist",
    "Say",
    "SayKind",
    "SessionStart",
    "SpeechDone",
    "StateChanged",
    "StopAll",
    "StoreFailed",
    "Tick",
    "Unrecognized",
]


class CueKind(str, Enum):
    HOLD_START = "hold_start"
    HOLD_END = "hold_end"
    ALERT = "alert"


class SayKind(str, Enum):
    """Why a line is spoken; output may treat kinds differently (e.g. cached counts)."""

    INFO = "info"
    PROMPT = "prompt"
    INSTRUCTION = "instruction"
    PARTNER = "partner"
    COUNT = "count"
    BREATH = "breath"
    SAFETY = "safety"
    ACK = "ack"
    """A confirmation ("Slower.", "Resuming.", "Sorry, I didn't catch that."): never repeated."""


# ----- events -----


@dataclass(frozen=True)
class SessionStart:
    now: float
    """Clock seconds (epoch in real time, virtual under --fast)."""
    notices: tuple[str, ...] = ()
    """Short spoken notices about the safety memory (recovered, cannot save)."""


@dataclass(frozen=True)
class IntentHeard:
    now: float
    intent: str
    slots: dict[str, str | int] = field(default_factory=dict)
    text: str = ""


@dataclass(frozen=True)
class Unrecognized:
    """Speech or a typed line that matched no intent."""

    now: float
    text: str = ""


@dataclass(frozen=True)
class Tick:
    """The coach's `wakeup_at` time has come."""

    now: float


@dataclass(frozen=True)
class SpeechDone:
    """Utterance `utterance_id` finished playing (or was printed, without audio)."""

    now: float
    utterance_id: int


@dataclass(frozen=True)
class DeviceLost:
    """The microphone went away: the routine pauses until it is back."""

    now: float
    detail: str = ""


@dataclass(frozen=True)
class DeviceRestored:
    now: float


@dataclass(frozen=True)
class StoreFailed:
    """A record could not be saved (disk full, read-only): told once, the session goes on."""

    now: float
    detail: str = ""


@dataclass(frozen=True)
class HearingFailed:
    """The speech recognizer failed and restarted: told once; stops still work."""

    now: float
    detail: str = ""


Event = (
    SessionStart
    | IntentHeard
    | Unrecognized
    | Tick
    | SpeechDone
    | DeviceLost
    | DeviceRestored
    | StoreFailed
    | HearingFailed
)


# ----- actions -----


@dataclass(frozen=True)
class StopAll:
    """Silence speech and cues now and drop everything queued."""

    pain: bool = False


@dataclass(frozen=True)
class FlushSpeech:
    """Cut the line being spoken and drop queued ones (next, back, pause): not a safety stop."""


@dataclass(frozen=True)
class Say:
    text: str
    utterance_id: int
    kind: SayKind = SayKind.INFO


@dataclass(frozen=True)
class Cue:
    kind: CueKind
    utterance_id: int


@dataclass(frozen=True)
class StateChanged:
    state: str


@dataclass(frozen=True)
class AdjustSpeech:
    rate: float
    """Speech rate factor, 1.0 = normal."""
    volume: float
    """Volume factor, 1.0 = normal."""


@dataclass(frozen=True)
class Persist:
    record: Record


@dataclass(frozen=True)
class Log:
    message: str
    data: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class EndSession:
    pass


Action = (
    StopAll | FlushSpeech | Say | Cue | StateChanged | AdjustSpeech | Persist | Log | EndSession
)
