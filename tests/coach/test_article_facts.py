"""Each routine, run to the end in a typed session, says what the article says and nothing it
contradicts; every step names its place in the article (routines/article.yaml) or says why
the product adds it.

The facts below are the article's (../shared/seed/), in this project's words: what must be
said, and what the article contradicts and so must never be said.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.commands.test_cli_typed import read_events, run_cli
from voice.coach.lines import BREATH_LINES, HALFWAY, HOLD, KEEP_ROLLING, START_ROLLING
from voice.coach.routines import ARTICLE_FILE, PRECAUTIONS_FILE, ROUTINE_IDS, Signal, load_book
from voice.paths import routines_dir

SEED = Path(__file__).resolve().parents[3] / "shared" / "seed" / "000_628d4724fc9f3e90.txt"


@dataclass(frozen=True)
class Facts:
    must: tuple[str, ...]
    """Said in the routine (case-insensitive), in this order."""
    must_not: tuple[str, ...]
    """Never said between the start of the routine and its end (case-insensitive)."""
    hold_s: tuple[float, float] | None = None
    """Every hold lasts between these seconds (the article's), or None (no article time)."""


FACTS: dict[str, Facts] = {
    # Stand, feet shoulder-width apart; rotate the upper body as far as you can to one side,
    # then the other; repeat as needed; the joint may not release again for 20 to 30 minutes.
    "rotation": Facts(
        must=(
            "stand",
            "feet shoulder width apart",
            "left side.",
            "upper body",
            "as far as you can",
            "now the right side.",
            "upper body",
            "left side.",
            "now the right side.",
            "repeat",
            "may not release again",
            "twenty to thirty minutes",
        ),
        must_not=("knee", "lie ", "lying", "on your back", "palms", "flat"),
    ),
    # Stand, extend slowly; a hand behind pushes down on the spine where it is most tense,
    # the stomach goes forward; hold 10 to 20 seconds; repeat.
    "hand_extension": Facts(
        must=(
            "stand",
            "hand behind you",
            "most tense",
            "slowly bend your back backwards",
            "push down",
            "spine",
            "stomach forward",
            "hold.",
            "rep three of three.",
        ),
        must_not=("push gently forward with your hands", "palms", "lower back", "knees straight"),
        hold_s=(10, 20),
    ),
    # Roller on the ground, beneath the shoulders; the feet move the body back and forth.
    "foam_roller": Facts(
        must=(
            "foam roller on the floor",
            "on your back",
            "beneath your shoulders",
            "feet",
            "back and forth",
            START_ROLLING.lower(),
            KEEP_ROLLING.lower(),
            "stop rolling",
        ),
        must_not=(
            HOLD.lower(),
            "halfway",
            "hands behind your head",
            "below the shoulder blades",
            "arch",
            "hips",
        ),
    ),
    # Arms crossed in front; a stronger, taller partner hugs from behind and holds the elbows;
    # after the full exhale you give the signal; the partner lifts you off the ground,
    # squeezing and extending the mid back.
    "hug_from_behind": Facts(
        must=(
            "stronger and taller",
            "behind",
            "elbows",
            "off the ground",
            "squeeze",
            "cross your arms in front",
            "breathe all the way out",
            "say now",
            "partner, lift now.",
        ),
        must_not=("opposite shoulders", "lower chest", "a few inches", "deep breath in"),
    ),
    # Face to face, partner of equal or greater size; the partner's hands clasped near the
    # spot; your arms relaxed at your sides; breathe fully in and out, then the signal; the
    # partner squeezes harder in a quick thrust.
    "tight_hug": Facts(
        must=(
            "equal or greater size",
            "face to face",
            "clasp",
            "near the spot",
            "squeeze harder",
            "quick thrust",
            "arms relax at your sides",
            "breathe fully in, then all the way out",
            "say now",
            "partner, squeeze now.",
        ),
        must_not=("middle of your back", "ribs", "deep breath in"),
    ),
    # On your back on a bed, everything above the shoulder blades over the edge; head and
    # arms slowly toward the floor while breathing out; hold about 5 s; come back up.
    "bed_edge": Facts(
        must=(
            "on your back",
            "above your shoulder blades",
            "edge",
            "head and arms",
            "slowly toward the floor",
            "breathe out.",
            "hold.",
            "come back up",
        ),
        must_not=("knees bent", "feet flat", "over your head", "shoulder blades rest"),
        hold_s=(5, 5),
    ),
}


def _typed_input(routine_id: str) -> str:
    """What a user types: 'no' to screening, then each signal the routine waits for."""
    lines = ["no"]
    for step in load_book().get(routine_id).steps:
        if step.wait_for is Signal.READY:
            lines.append("ready")
        elif step.wait_for is Signal.NOW:
            lines += ["now"] * step.reps * max(1, len(step.sides))
    return "\n".join(lines) + "\n"


def _run_routine(routine_id: str, tmp_path: Path) -> list[dict[str, object]]:
    folder = tmp_path / routine_id
    folder.mkdir()
    transcript = folder / "t.jsonl"
    result = run_cli(
        [
            *("session", "--text", "--fast", "--routine", routine_id),
            *("--transcript", str(transcript), "--data-dir", str(folder / "data")),
        ],
        stdin=_typed_input(routine_id),
    )
    assert result.returncode == 0, result.stderr
    return read_events(transcript)


def _routine_lines(events: list[dict[str, object]]) -> list[str]:
    """What the coach said from 'Starting the ...' up to (not with) 'Well done. You finished'."""
    said = [str(e["text"]) for e in events if e["event"] == "say"]
    start = next(i for i, s in enumerate(said) if s.startswith("Starting the "))
    end = next(i for i, s in enumerate(said) if s.startswith("Well done. You finished"))
    return said[start:end]


def test_the_facts_table_covers_every_routine() -> None:
    assert set(FACTS) == set(ROUTINE_IDS)


@pytest.mark.parametrize("routine_id", sorted(FACTS))
def test_routine_run_to_the_end_says_the_article_and_nothing_it_contradicts(
    routine_id: str, tmp_path: Path
) -> None:
    facts = FACTS[routine_id]
    events = _run_routine(routine_id, tmp_path)
    lines = _routine_lines(events)
    text = " ".join(lines).lower()
    position = 0
    for fact in facts.must:
        found = text.find(fact, position)
        assert found >= 0, f"{routine_id}: {fact!r} not said (in order) in: {text}"
        position = found + len(fact)
    for wrong in facts.must_not:
        assert wrong not in text, f"{routine_id} says {wrong!r}, which the article does not"
    starts = [float(e["t"]) for e in events if e.get("cue") == "hold_start"]  # type: ignore[arg-type]
    ends = [float(e["t"]) for e in events if e.get("cue") == "hold_end"]  # type: ignore[arg-type]
    assert len(starts) == len(ends)
    if facts.hold_s:
        low, high = facts.hold_s
        assert starts and all(low <= b - a <= high for a, b in zip(starts, ends, strict=True))


def test_foam_roller_cues_fit_rolling_and_holds_stay_holds(tmp_path: Path) -> None:
    lines = _routine_lines(_run_routine("foam_roller", tmp_path))
    rolling = lines[lines.index(START_ROLLING) : lines.index("Stop rolling, and rest.")]
    assert KEEP_ROLLING in rolling
    assert not {HOLD, HALFWAY} & set(rolling)
    # A still hold keeps its cues.
    hand = _routine_lines(_run_routine("hand_extension", tmp_path))
    assert HOLD in hand and HALFWAY in hand and START_ROLLING not in hand


@pytest.mark.parametrize("routine_id", ["hug_from_behind", "tight_hug"])
def test_partner_exhale_step_says_its_breath_line_once(routine_id: str, tmp_path: Path) -> None:
    lines = _routine_lines(_run_routine(routine_id, tmp_path))
    cue = next(s.partner_cue for s in load_book().get(routine_id).steps if s.partner_cue)
    before_signal = lines[lines.index("Rep one of two.") + 1 : lines.index(cue)]
    breath = [line for line in before_signal if "breathe" in line.lower()]
    assert len(breath) == 1, before_signal
    assert not set(BREATH_LINES.values()) & set(before_signal)


# ----- sources -----

_REF = re.compile(r"^([a-z_]+)/(intro|[0-9]+)$")


def _yaml(name: str) -> dict[str, object]:
    data = yaml.safe_load((routines_dir() / name).read_text())
    assert isinstance(data, dict)
    return data


def _check_source(where: str, entry: dict[str, object], sections: dict[str, int]) -> None:
    source = entry.get("source")
    assert source is not None, f"{where}: no source"
    refs = [source] if isinstance(source, str) else source
    assert isinstance(refs, list) and refs, where
    if refs == ["added"]:
        reason = entry.get("reason")
        assert isinstance(reason, str) and reason.strip(), f"{where}: added without a reason"
        assert "\n" not in reason.strip(), f"{where}: the reason is one line"
        return
    assert "reason" not in entry, f"{where}: a reason is only for added"
    for ref in refs:
        match = _REF.match(str(ref))
        assert match, f"{where}: {ref!r}"
        section, bullet = match.groups()
        assert section in sections, f"{where}: unknown section {section!r}"
        assert bullet == "intro" or 1 <= int(bullet) <= sections[section], f"{where}: {ref}"


def test_every_step_and_precaution_names_its_place_in_the_article() -> None:
    article = _yaml(ARTICLE_FILE)
    sections = {name: int(s["bullets"]) for name, s in article["sections"].items()}  # type: ignore[attr-defined]
    checked = 0
    for routine_id in ROUTINE_IDS:
        data = _yaml(f"{routine_id}.yaml")
        assert data["section"] == routine_id
        for number, step in enumerate(data["steps"], start=1):  # type: ignore[arg-type]
            _check_source(f"{routine_id} step {number}", step, sections)
            for field, reason in (step.get("added") or {}).items():
                assert field in step and str(reason).strip(), f"{routine_id} {number} {field}"
            checked += 1
        partner = data.get("partner")
        for number, line in enumerate(partner["instructions"] if partner else [], start=1):  # type: ignore[index]
            _check_source(f"{routine_id} partner line {number}", line, sections)
    precautions = _yaml(PRECAUTIONS_FILE)
    for number, item in enumerate(precautions["items"], start=1):  # type: ignore[arg-type]
        _check_source(f"precaution {number}", item, sections)
    _check_source("red flags", precautions["red_flags"], sections)  # type: ignore[arg-type]
    assert checked >= 12
    # Each of the article's four precautions is used.
    used = {i["source"] for i in precautions["items"]}  # type: ignore[attr-defined, union-attr]
    assert {f"precautions/{n}" for n in range(1, 5)} <= used


def test_the_precautions_say_the_article_and_label_what_is_added() -> None:
    p = load_book().precautions
    by_source = dict(zip(p.items, p.item_sources, strict=True))
    said = {s.label: item.lower() for item, s in by_source.items() if not s.added}
    assert "stop" in said["precautions/2"] and "sharp or burning" in said["precautions/2"]
    assert "if anything hurts" in said["precautions/2"]  # any pain, not only sharp pain
    assert "too often" in said["precautions/1"] and "joints" in said["precautions/1"]
    assert "over time" in said["precautions/1"] and "spine" in said["precautions/1"]
    assert "chiropractor or a physical therapist" in said["precautions/3"]
    assert "stretches and techniques" in said["precautions/3"]
    for word in ("osteoarthritis", "osteopenia", "guidance"):
        assert word in said["precautions/4"]
    added = [item.lower() for item, s in by_source.items() if s.added]
    assert any("osteoporosis" in a for a in added)
    assert any("slowly" in a for a in added)
    assert "osteoporosis" not in said["precautions/4"]
    assert p.red_flags_source.added and p.red_flags_source.reason


def test_the_article_table_matches_the_article() -> None:
    if not SEED.is_file():
        pytest.skip(f"the article is not here ({SEED})")
    table = _yaml(ARTICLE_FILE)["sections"]
    headings = {s["heading"]: name for name, s in table.items()}  # type: ignore[attr-defined]
    counts: dict[str, int] = {}
    current = None
    for line in SEED.read_text(encoding="utf-8").splitlines():
        if line.strip() in headings:
            current = headings[line.strip()]
            counts.setdefault(current, 0)
        elif line.strip().startswith("\u2022") and current:
            counts[current] += 1
    for name, section in table.items():  # type: ignore[attr-defined]
        if section["bullets"]:
            assert counts.get(name) == section["bullets"], name


def test_routines_json_shows_which_steps_are_added() -> None:
    result = run_cli(["routines", "--json"])
    assert result.returncode == 0, result.stderr
    rows = {r["id"]: r for r in map(json.loads, result.stdout.splitlines())}
    book = load_book()
    for routine_id, row in rows.items():
        routine = book.get(routine_id)
        assert row["section"] == routine_id
        assert len(row["sources"]) == len(routine.steps)
        assert row["added_steps"] == [
            n for n, s in enumerate(routine.steps, start=1) if s.source.added
        ]
        for entry, step in zip(row["sources"], routine.steps, strict=True):
            assert entry["added"] is step.source.added
            assert entry["reason"] == step.source.reason
            assert entry["added_fields"] == dict(step.added)
    assert rows["foam_roller"]["added_steps"] == [3]
    assert rows["rotation"]["sources"][1]["source"] == ["rotation/1"]
    assert "hold_s" in rows["hug_from_behind"]["sources"][1]["added_fields"]
