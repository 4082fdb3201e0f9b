"""The loader checks every `source:` against the article table and names where a bad one is."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from voice.coach.routines import Timed, load_book
from voice.errors import RoutineFileError
from voice.paths import routines_dir

Change = Callable[[dict[str, Any]], object]


def _broken(tmp_path: Path, name: str, change: Change) -> RoutineFileError:
    folder = tmp_path / "routines"
    shutil.copytree(routines_dir(), folder)
    path = folder / name
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(RoutineFileError) as info:
        load_book(folder)
    assert name in info.value.file and info.value.exit_code == 2
    return info.value


def _step(n: int, **fields: object) -> Change:
    return lambda d: d["steps"][n - 1].update(fields)


BROKEN: list[tuple[str, Change, str | None, int | None, str, str]] = [
    # file, change, routine, step, field, problem
    ("rotation.yaml", _step(2, source="twist/1"), "rotation", 2, "source", "unknown section"),
    ("rotation.yaml", _step(2, source="rotation/3"), "rotation", 2, "source", "beyond the 2"),
    ("rotation.yaml", _step(2, source="rotation/0"), "rotation", 2, "source", "beyond"),
    ("rotation.yaml", _step(1, source="rotation"), "rotation", 1, "source", "<section>/<bullet>"),
    ("rotation.yaml", _step(1, source=["rotation/1", "added"]), "rotation", 1, "source", "alone"),
    ("rotation.yaml", lambda d: d["steps"][0].pop("source"), "rotation", 1, "source", "required"),
    ("rotation.yaml", _step(1, source="added"), "rotation", 1, "reason", "required"),
    ("rotation.yaml", _step(1, reason="because"), "rotation", 1, "reason", "only for"),
    ("rotation.yaml", _step(2, added={"colour": "x"}), "rotation", 2, "added", "not one of"),
    ("rotation.yaml", _step(2, added={"reps": "x"}), "rotation", 2, "added", "not set"),
    ("rotation.yaml", _step(2, added={"hold_s": ""}), "rotation", 2, "added", "one line"),
    ("rotation.yaml", _step(1, timed="roll"), "rotation", 1, "timed", "needs hold_s"),
    ("foam_roller.yaml", _step(2, timed="spin"), "foam_roller", 2, "timed", "one of"),
    ("rotation.yaml", lambda d: d.update(section="neck"), "rotation", None, "section", "not a"),
    ("rotation.yaml", lambda d: d.update(section="added"), "rotation", None, "reason", "required"),
    (
        "tight_hug.yaml",
        lambda d: d["partner"]["instructions"][2].update(source="tight_hug/4"),
        "tight_hug",
        None,
        "instructions[3].source",
        "beyond the 3",
    ),
    (
        "precautions.yaml",
        lambda d: d["items"][0].update(source="precautions/5"),
        None,
        None,
        "items[1].source",
        "beyond the 4",
    ),
    (
        "precautions.yaml",
        lambda d: d["red_flags"].pop("reason"),
        None,
        None,
        "red_flags.reason",
        "required",
    ),
    (
        "article.yaml",
        lambda d: d["sections"]["rotation"].update(bullets="two"),
        None,
        None,
        "sections.rotation.bullets",
        "number",
    ),
]


@pytest.mark.parametrize(("file", "change", "routine", "step", "field", "problem"), BROKEN)
def test_a_bad_source_names_file_routine_step_and_field(
    tmp_path: Path,
    file: str,
    change: Change,
    routine: str | None,
    step: int | None,
    field: str,
    problem: str,
) -> None:
    error = _broken(tmp_path, file, change)
    assert (error.routine, error.step, error.field) == (routine, step, field), str(error)
    assert problem in str(error)


def test_a_missing_article_table_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "routines"
    shutil.copytree(routines_dir(), folder)
    (folder / "article.yaml").unlink()
    with pytest.raises(RoutineFileError, match=r"article\.yaml"):
        load_book(folder)


def test_the_rolling_step_is_timed_as_rolling() -> None:
    book = load_book()
    timed = [(r.id, s.timed) for r in book.routines.values() for s in r.steps if s.hold_s]
    assert [r for r, t in timed if t is Timed.ROLL] == ["foam_roller"]
