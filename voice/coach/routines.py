"""Routines and precautions: typed objects parsed once from routines/*.yaml.

Validation is strict and all-or-nothing: the first problem raises
`RoutineFileError` naming file, routine, step and field, and no half-loaded
book is ever returned.

Every step and precaution names where it comes from in the article
(`source: <section>/<bullet>`, checked against the table in routines/article.yaml),
or says `source: added` with a one-line `reason:`. A number the article does not
give (a repetition count, a hold time) is listed under the step's `added:` with
its reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

import yaml

from voice.coach.article import ADDED, UNSPECIFIED, Article, ArticleSection, Source
from voice.coach.lines import BREATH_LINES, HALFWAY, HOLD, KEEP_ROLLING, START_ROLLING
from voice.errors import RoutineFileError
from voice.paths import routines_dir

__all__ = [
    "Article",
    "Breath",
    "Partner",
    "Precautions",
    "Region",
    "Routine",
    "RoutineBook",
    "Side",
    "Signal",
    "Source",
    "Step",
    "Timed",
    "load_book",
]

ROUTINE_IDS = (
    "bed_edge",
    "hug_from_behind",
    "tight_hug",
    "hand_extension",
    "rotation",
    "foam_roller",
)
"""The article's six routines; each must have a file."""

ARTICLE_FILE = "article.yaml"
"""The table of the article's sections and bullet counts (facts, not its text)."""
PRECAUTIONS_FILE = "precautions.yaml"
"""The source of what the article does not say."""

_SPOKEN_NAME = re.compile(r"^[a-z]+( [a-z]+)*$")
# Characters a TTS voice reads badly or literally; texts must be plain spoken English.
_UNSPEAKABLE = re.compile(r"[0-9%&/<>*#@+=_~^|\\–—]|\be\.g\.|\bi\.e\.|\betc\.")


class Region(str, Enum):
    THORACIC = "thoracic"
    LUMBAR = "lumbar"

    @property
    def spoken(self) -> str:
        return {"thoracic": "mid back", "lumbar": "lower back"}[self.value]


class Breath(str, Enum):
    IN = "in"
    OUT = "out"
    FULL = "full"

    @property
    def spoken(self) -> str:
        return BREATH_LINES[self.value]


class Signal(str, Enum):
    """What the coach waits for before going on."""

    READY = "ready"
    NOW = "now"


class Side(str, Enum):
    LEFT = "left"
    RIGHT = "right"


class Timed(str, Enum):
    """What the timed part of a step (`hold_s`) is, and so which cues it gets."""

    HOLD = "hold"
    """Keep still: 'Hold.', 'Halfway.' for a long one, then the count."""
    ROLL = "roll"
    """Keep moving (the foam roller): 'Start rolling.', 'Keep rolling.', then the count."""

    @property
    def start_line(self) -> str:
        return START_ROLLING if self is Timed.ROLL else HOLD

    @property
    def halfway_line(self) -> str:
        return KEEP_ROLLING if self is Timed.ROLL else HALFWAY


@dataclass(frozen=True)
class Partner:
    size: str
    """Who can help, spoken as is: 'equal or greater size', 'stronger and taller'."""
    instructions: tuple[str, ...]
    """Spoken to the partner before the first step."""
    sources: tuple[Source, ...] = ()
    """Where each instruction comes from (same order)."""


@dataclass(frozen=True)
class Step:
    say: str
    """The instruction, spoken as is."""
    breath: Breath | None = None
    """Breathing cue spoken right after the instruction."""
    wait_for: Signal | None = None
    """Signal the user gives before the coach goes on (after the breath cue)."""
    partner_cue: str = ""
    """Spoken to the partner when the user says 'now' (required with wait_for: now)."""
    hold_s: float = 0.0
    """Seconds to hold after the instruction (0: no hold)."""
    reps: int = 1
    """Repetitions of the step (per side)."""
    sides: tuple[Side, ...] = ()
    """Sides to do in order; empty for a step without sides."""
    rest_s: float = 3.0
    """Seconds of rest between repetitions and sides."""
    release: str = "Relax."  # voice.coach.lines.RELAX: cached for on-time speech
    """Spoken when the hold ends."""
    timed: Timed = Timed.HOLD
    """What the hold is: keeping still, or rolling (cues that fit rolling)."""
    source: Source = UNSPECIFIED
    """Where the instruction comes from in the article."""
    added: Mapping[str, str] = field(default_factory=dict)
    """Field -> why: values the article does not give (repetitions, hold seconds)."""


@dataclass(frozen=True)
class Routine:
    id: str
    name: str
    """Spoken name, also a grammar phrase ('start the <name>')."""
    aliases: tuple[str, ...]
    """More spoken names for the grammar."""
    region: Region
    position: str
    """Starting position, spoken in the briefing."""
    equipment: tuple[str, ...]
    partner: Partner | None
    cooldown_min: float
    """Minutes before the same region may release again (the article: 20 to 30)."""
    intro: str
    steps: tuple[Step, ...]
    source: str
    """File the routine came from (for error messages)."""
    origin: Source = UNSPECIFIED
    """The article section the routine follows (`refs`: its id), or added with the reason."""

    @property
    def spoken_names(self) -> tuple[str, ...]:
        return (self.name, *self.aliases)


@dataclass(frozen=True)
class Precautions:
    intro: str
    items: tuple[str, ...]
    red_flags_intro: str
    red_flags: tuple[str, ...]
    screening_question: str
    screening_yes: str
    """Why professional guidance comes first, spoken after a 'yes' to screening."""
    pain_message: str
    """Spoken after a pain stop."""
    urgent_advice: str
    """Spoken before the red flags when the pain rating is high."""
    item_sources: tuple[Source, ...] = ()
    """Where each of `items` comes from (same order)."""
    red_flags_source: Source = UNSPECIFIED

    def spoken(self) -> list[str]:
        return [self.intro, *self.items, self.red_flags_intro, *self.red_flags]


@dataclass(frozen=True)
class RoutineBook:
    routines: Mapping[str, Routine]
    precautions: Precautions
    article: Article | None = None

    def get(self, routine_id: str) -> Routine:
        return self.routines[routine_id]

    def by_spoken_name(self) -> dict[str, str]:
        """Every spoken name or alias -> routine id."""
        return {name: r.id for r in self.routines.values() for name in r.spoken_names}


# ----- parsing -----


class _Fields:
    """Reads fields of one mapping, raising errors that say where the problem is."""

    def __init__(
        self,
        data: Any,
        file: str,
        what: str,
        routine: str | None = None,
        step: int | None = None,
        prefix: str = "",
    ) -> None:
        self.file, self.routine, self.step, self.prefix = file, routine, step, prefix
        if not isinstance(data, dict):
            raise self.error(what, f"expected a mapping, got {type(data).__name__}")
        self.data: dict[str, Any] = data
        self.used: set[str] = set()

    def error(self, field: str, problem: str) -> RoutineFileError:
        return RoutineFileError(self.file, self.prefix + field, problem, self.routine, self.step)

    def raw(self, key: str, required: bool) -> Any:
        self.used.add(key)
        if key not in self.data or self.data[key] is None:
            if required:
                raise self.error(key, "is required")
            return None
        return self.data[key]

    def text(self, key: str, required: bool = True, spoken: bool = True) -> str:
        value = self.raw(key, required)
        if value is None:
            return ""
        if not isinstance(value, str) or not value.strip():
            raise self.error(key, "must be non-empty text")
        if spoken:
            self._check_speakable(key, value)
        return " ".join(value.split())

    def texts(self, key: str, required: bool = True) -> tuple[str, ...]:
        value = self.raw(key, required)
        if value is None:
            return ()
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.error(key, "must be a list of non-empty texts")
        for item in value:
            self._check_speakable(key, item)
        return tuple(" ".join(v.split()) for v in value)

    def number(self, key: str, default: float, low: float, high: float) -> float:
        value = self.raw(key, False)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.error(key, f"must be a number, got {value!r}")
        if not low <= value <= high:
            raise self.error(key, f"must be between {low:g} and {high:g}, got {value!r}")
        return float(value)

    def choice(self, key: str, enum: type[Enum], required: bool = False) -> Any:
        value = self.raw(key, required)
        if value is None:
            return None
        try:
            return enum(value)
        except ValueError:
            allowed = ", ".join(str(e.value) for e in enum)  # type: ignore[attr-defined]
            raise self.error(key, f"must be one of {allowed}, got {value!r}") from None

    def source(self, article: Article) -> Source:
        """`source:` (one place, a list of places, or 'added') and, for added, `reason:`."""
        value = self.raw("source", True)
        refs = [value] if isinstance(value, str) else value
        if not isinstance(refs, list) or not refs or not all(isinstance(r, str) for r in refs):
            raise self.error("source", f"must be <section>/<bullet>, a list of them or {ADDED}")
        if refs == [ADDED]:
            reason = self.text("reason", required=False, spoken=False)
            if not reason:
                raise self.error("reason", f"is required with source: {ADDED} (say why)")
            return Source((), reason)
        for ref in refs:
            problem = "is only alone" if ref == ADDED else article.problem(ref)
            if problem:
                raise self.error("source", problem)
        if self.raw("reason", False) is not None:
            raise self.error("reason", f"is only for source: {ADDED}")
        return Source(tuple(refs))

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.used)
        if unknown:
            raise self.error(unknown[0], "is not a known field (typo?)")

    def _check_speakable(self, key: str, value: str) -> None:
        bad = _UNSPEAKABLE.search(value)
        if bad:
            raise self.error(
                key,
                f"contains {bad.group(0)!r}, which a speech voice may mispronounce; "
                "write it out in words",
            )


def _spoken_name(fields: _Fields, key: str, value: str) -> str:
    if not _SPOKEN_NAME.match(value):
        raise fields.error(key, f"{value!r} must be lowercase words separated by single spaces")
    return value


_ADDABLE = ("hold_s", "reps", "rest_s", "sides", "breath", "wait_for", "release", "timed")
"""Step fields whose value may be the product's rather than the article's."""


def _parse_added(f: _Fields) -> dict[str, str]:
    value = f.raw("added", False)
    if value is None:
        return {}
    if not isinstance(value, dict) or not value:
        raise f.error("added", "must map step fields to why the product sets them")
    added: dict[str, str] = {}
    for key, reason in value.items():
        if key not in _ADDABLE:
            raise f.error("added", f"{key!r} is not one of {', '.join(_ADDABLE)}")
        if key not in f.data:
            raise f.error("added", f"{key!r} is not set in this step")
        if not isinstance(reason, str) or not reason.strip() or "\n" in reason.strip():
            raise f.error("added", f"the reason for {key!r} must be one line of text")
        added[key] = reason.strip()
    return added


def _parse_step(data: Any, file: str, routine: str, index: int, article: Article) -> Step:
    f = _Fields(data, file, f"steps[{index}]", routine, index + 1)
    say = f.text("say")
    breath = f.choice("breath", Breath)
    wait_for = f.choice("wait_for", Signal)
    partner_cue = f.text("partner_cue", required=False)
    if wait_for is Signal.NOW and not partner_cue:
        raise f.error("partner_cue", "is required when wait_for is 'now'")
    hold_s = f.number("hold_s", 0.0, 0.0, 120.0)
    reps = f.number("reps", 1, 1, 20)
    if reps != int(reps):
        raise f.error("reps", f"must be a whole number, got {reps:g}")
    sides_raw = f.raw("sides", False) or []
    if not isinstance(sides_raw, list):
        raise f.error("sides", "must be a list of left/right")
    sides: list[Side] = []
    for side in sides_raw:
        try:
            sides.append(Side(side))
        except ValueError:
            raise f.error("sides", f"must contain only left or right, got {side!r}") from None
    rest_s = f.number("rest_s", 3.0, 0.0, 60.0)
    release = f.text("release", required=False) or "Relax."
    timed = f.choice("timed", Timed) or Timed.HOLD
    if "timed" in f.data and not hold_s:
        raise f.error("timed", "needs hold_s: it says what the hold is")
    source = f.source(article)
    added = _parse_added(f)
    f.finish()
    return Step(
        say,
        breath,
        wait_for,
        partner_cue,
        hold_s,
        int(reps),
        tuple(sides),
        rest_s,
        release,
        timed,
        source,
        added,
    )


def _parse_section(f: _Fields, article: Article) -> Source:
    """`section:` the article section a routine follows, or 'added' with a `reason:`."""
    section = f.raw("section", True)
    if section == ADDED:
        reason = f.text("reason", required=False, spoken=False)
        if not reason:
            raise f.error("reason", f"is required with section: {ADDED} (say why)")
        return Source((), reason)
    if not isinstance(section, str) or section not in article.sections:
        known = ", ".join(article.sections)
        raise f.error("section", f"{section!r} is not a section of the article (known: {known})")
    if f.raw("reason", False) is not None:
        raise f.error("reason", f"is only for section: {ADDED}")
    return Source((section,))


def _parse_routine(data: Any, file: str, article: Article) -> Routine:
    f = _Fields(data, file, "routine")
    routine_id = f.raw("id", True)
    if not isinstance(routine_id, str) or not re.fullmatch(r"[a-z_]+", routine_id):
        raise f.error("id", f"must be a lowercase identifier, got {routine_id!r}")
    f.routine = routine_id
    name = _spoken_name(f, "name", f.text("name"))
    aliases = tuple(_spoken_name(f, "aliases", a) for a in f.texts("aliases", required=False))
    region = f.choice("region", Region, required=True)
    position = f.text("position")
    equipment = f.texts("equipment", required=False)
    partner: Partner | None = None
    partner_raw = f.raw("partner", False)
    if partner_raw is not None:
        pf = _Fields(partner_raw, file, "partner", routine_id)
        pf_size = pf.text("size")
        pf_instructions, pf_sources = _sourced_texts(pf, "instructions", article)
        pf.finish()
        partner = Partner(pf_size, pf_instructions, pf_sources)
    cooldown = f.number("cooldown_min", 20.0, 1.0, 24 * 60.0)
    intro = f.text("intro")
    steps_raw = f.raw("steps", True)
    if not isinstance(steps_raw, list) or not steps_raw:
        raise f.error("steps", "must be a non-empty list")
    steps = tuple(_parse_step(s, file, routine_id, i, article) for i, s in enumerate(steps_raw))
    if partner is None and any(s.wait_for is Signal.NOW for s in steps):
        raise f.error("partner", "is required: a step waits for 'now' to cue the partner")
    origin = _parse_section(f, article)
    f.finish()
    return Routine(
        routine_id,
        name,
        aliases,
        region,
        position,
        equipment,
        partner,
        cooldown,
        intro,
        steps,
        file,
        origin,
    )


def _sourced_texts(
    f: _Fields, key: str, article: Article
) -> tuple[tuple[str, ...], tuple[Source, ...]]:
    """A list of `{say, source[, reason]}`: the spoken texts and where each comes from."""
    raw = f.raw(key, True)
    if not isinstance(raw, list) or not raw:
        raise f.error(key, "must be a non-empty list of {say, source}")
    texts: list[str] = []
    sources: list[Source] = []
    for i, item in enumerate(raw):
        itf = _Fields(item, f.file, f"{key}[{i}]", f.routine, prefix=f"{f.prefix}{key}[{i + 1}].")
        texts.append(itf.text("say"))
        sources.append(itf.source(article))
        itf.finish()
    return tuple(texts), tuple(sources)


def _parse_precautions(data: Any, file: str, article: Article) -> Precautions:
    f = _Fields(data, file, "precautions")
    items, sources = _sourced_texts(f, "items", article)
    flags = _Fields(f.raw("red_flags", True), file, "red_flags", prefix="red_flags.")
    red_flags_source = flags.source(article)
    red_flags_intro = flags.text("intro")
    red_flags = flags.texts("items")
    flags.finish()
    result = Precautions(
        intro=f.text("intro"),
        items=items,
        red_flags_intro=red_flags_intro,
        red_flags=red_flags,
        screening_question=f.text("screening_question"),
        screening_yes=f.text("screening_yes"),
        pain_message=f.text("pain_message"),
        urgent_advice=f.text("urgent_advice"),
        item_sources=sources,
        red_flags_source=red_flags_source,
    )
    f.finish()
    return result


def _parse_article(data: Any, file: str) -> Article:
    f = _Fields(data, file, "article")
    title = f.text("title", spoken=False)
    sections_raw = f.raw("sections", True)
    if not isinstance(sections_raw, dict) or not sections_raw:
        raise f.error("sections", "must map section ids to {heading, bullets}")
    sections: dict[str, ArticleSection] = {}
    for name, entry in sections_raw.items():
        if not isinstance(name, str) or not re.fullmatch(r"[a-z_]+", name):
            raise f.error("sections", f"{name!r} must be a lowercase identifier")
        sf = _Fields(entry, file, f"sections.{name}", prefix=f"sections.{name}.")
        heading = sf.text("heading", spoken=False)
        bullets = sf.number("bullets", 0, 0, 50)
        if bullets != int(bullets):
            raise sf.error("bullets", f"must be a whole number, got {bullets:g}")
        sf.finish()
        sections[name] = ArticleSection(name, heading, int(bullets))
    f.finish()
    return Article(title, sections)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        raise RoutineFileError(str(path), "(yaml)", f"is not valid YAML: {error}") from None
    except (OSError, UnicodeDecodeError) as error:
        raise RoutineFileError(str(path), "(file)", f"cannot be read: {error}") from None


def load_book(folder: Path | None = None, required: Iterable[str] = ROUTINE_IDS) -> RoutineBook:
    """Load and validate every routine file and precautions.yaml in `folder`."""
    folder = folder or routines_dir()
    article_file = folder / ARTICLE_FILE
    if not article_file.is_file():
        raise RoutineFileError(str(article_file), "(file)", "is missing")
    article = _parse_article(_read_yaml(article_file), str(article_file))
    precautions_file = folder / PRECAUTIONS_FILE
    if not precautions_file.is_file():
        raise RoutineFileError(str(precautions_file), "(file)", "is missing")
    precautions = _parse_precautions(_read_yaml(precautions_file), str(precautions_file), article)
    routines: dict[str, Routine] = {}
    owner_of_name: dict[str, str] = {}
    for path in sorted(folder.glob("*.yaml")):
        if path.name in (PRECAUTIONS_FILE, ARTICLE_FILE):
            continue
        routine = _parse_routine(_read_yaml(path), str(path), article)
        if routine.id in routines:
            raise RoutineFileError(str(path), "id", f"'{routine.id}' is also used by another file")
        for spoken in routine.spoken_names:
            if spoken in owner_of_name:
                raise RoutineFileError(
                    str(path),
                    "aliases",
                    f"'{spoken}' is already a name of routine {owner_of_name[spoken]}",
                    routine.id,
                )
            owner_of_name[spoken] = routine.id
        routines[routine.id] = routine
    missing = [r for r in required if r not in routines]
    if missing:
        raise RoutineFileError(str(folder), "id", f"no routine file for {', '.join(missing)}")
    return RoutineBook(routines, precautions, article)
