"""Routine files: the shipped ones are valid and faithful; broken ones are named precisely."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from voice.coach.routines import ROUTINE_IDS, Region, Signal, load_book
from voice.errors import RoutineFileError
from voice.paths import routines_dir


def test_all_six_routines_load_with_their_article_facts() -> None:
    book = load_book()
    assert set(book.routines) == set(ROUTINE_IDS)
    assert book.get("bed_edge").region is Region.THORACIC
    assert book.get("hand_extension").region is Region.LUMBAR
    assert "bed" in " ".join(book.get("bed_edge").equipment)
    assert "foam roller" in " ".join(book.get("foam_roller").equipment)
    bed_hold = [s.hold_s for s in book.get("bed_edge").steps if s.hold_s]
    assert bed_hold == [5.0]
    hand = [s for s in book.get("hand_extension").steps if s.hold_s]
    assert all(10 <= s.hold_s <= 20 and s.reps > 1 for s in hand)
    rotation = [s for s in book.get("rotation").steps if s.sides]
    assert rotation and set(rotation[0].sides) == {"left", "right"}
    for partner_routine, size in (
        ("hug_from_behind", "stronger"),
        ("tight_hug", "equal or greater"),
    ):
        routine = book.get(partner_routine)
        assert routine.partner is not None and size in routine.partner.size
        assert any(s.wait_for is Signal.NOW and s.partner_cue for s in routine.steps)
    for routine in book.routines.values():
        assert 20 <= routine.cooldown_min <= 30


def test_precautions_cover_the_article_and_red_flags() -> None:
    p = load_book().precautions
    text = " ".join(p.spoken()).lower()
    for phrase in (
        "too often",
        "sharp or burning pain",
        "chiropractor",
        "physical therapist",
        "osteoarthritis",
        "osteopenia",
        "twenty to thirty minutes",
    ):
        assert phrase in text, phrase
    flags = " ".join(p.red_flags).lower()
    for phrase in (
        "genitals",
        "buttocks",
        "inner thighs",
        "bladder or bowel",
        "both legs",
        "trouble walking",
        "fall or an accident",
        "fever",
        "weight loss",
        "chest pain",
    ):
        assert phrase in flags, phrase


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "routines"
    shutil.copytree(routines_dir(), folder)
    return folder


def _edit(folder: Path, name: str, change) -> Path:  # type: ignore[no-untyped-def]
    path = folder / name
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data))
    return path


BROKEN = [
    ("rotation.yaml", lambda d: d.pop("region"), "region", None, "is required"),
    ("rotation.yaml", lambda d: d.update(region="neck"), "region", None, "must be one of"),
    ("rotation.yaml", lambda d: d.update(name="Spine-Rotation"), "name", None, "lowercase words"),
    ("rotation.yaml", lambda d: d.update(cooldown_min="soon"), "cooldown_min", None, "number"),
    ("rotation.yaml", lambda d: d.update(steps=[]), "steps", None, "non-empty list"),
    ("rotation.yaml", lambda d: d.update(colour="red"), "colour", None, "not a known field"),
    ("rotation.yaml", lambda d: d["steps"][1].update(hold_s=-3), "hold_s", 2, "between"),
    ("rotation.yaml", lambda d: d["steps"][1].update(sides=["up"]), "sides", 2, "left or right"),
    ("rotation.yaml", lambda d: d["steps"][1].update(breath="hold"), "breath", 2, "one of"),
    ("rotation.yaml", lambda d: d["steps"][0].pop("say"), "say", 1, "is required"),
    ("rotation.yaml", lambda d: d["steps"][0].update(say="Hold 5-10 s"), "say", 1, "mispronounce"),
    ("rotation.yaml", lambda d: d["steps"][1].update(reps=1.5), "reps", 2, "whole number"),
    ("rotation.yaml", lambda d: d["steps"][1].update(wait_for="now"), "partner_cue", 2, "required"),
    ("tight_hug.yaml", lambda d: d.pop("partner"), "partner", None, "is required"),
    ("tight_hug.yaml", lambda d: d["partner"].pop("size"), "size", None, "is required"),
    ("tight_hug.yaml", lambda d: d.update(aliases=["rotation"]), "aliases", None, "already a name"),
]


@pytest.mark.parametrize(("file", "change", "field", "step", "problem"), BROKEN)
def test_broken_routine_file_names_file_routine_step_and_field(
    tmp_path: Path,
    file: str,
    change,
    field: str,
    step: int | None,
    problem: str,  # type: ignore[no-untyped-def]
) -> None:
    folder = _copy(tmp_path)
    _edit(folder, file, change)
    with pytest.raises(RoutineFileError) as info:
        load_book(folder)
    error = info.value
    assert error.field == field
    assert error.step == step
    assert file in error.file
    assert problem in str(error)
    assert error.exit_code == 2


def test_broken_precautions_and_missing_files(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    _edit(folder, "precautions.yaml", lambda d: d.pop("red_flags"))
    with pytest.raises(RoutineFileError, match="red_flags"):
        load_book(folder)
    folder2 = tmp_path / "r2"
    shutil.copytree(routines_dir(), folder2)
    (folder2 / "foam_roller.yaml").unlink()
    with pytest.raises(RoutineFileError, match="foam_roller"):
        load_book(folder2)
    (folder2 / "rotation.yaml").write_text("id: [unclosed\n")
    with pytest.raises(RoutineFileError, match="not valid YAML"):
        load_book(folder2)
