"""Meta-tests: the README documents every command, and the Quick start is what CI runs."""

from __future__ import annotations

import re
from pathlib import Path

from voice.cli import build_parser

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def _commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    return sorted(sub.choices)  # type: ignore[arg-type]


def test_every_command_is_in_the_readme() -> None:
    for command in _commands():
        assert f"backcoach {command}" in README, command


def test_quick_start_has_two_commands_and_ci_runs_the_test_one() -> None:
    section = README.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)\n```", section, flags=re.S)
    assert len(blocks) == 2 and all("\n" not in b for b in blocks)
    assert "backcoach session" in blocks[0]
    ci = (ROOT / ".ci" / "run").read_text()
    assert blocks[1] in ci


_SAY_TABLE_INTENTS = {
    "stop everything": {"Stop"},
    "stop because it hurts": {"PainStop"},
    "say it does not hurt": {"No"},
    "start a routine": {"StartRoutine"},
    "pause and go on": {"Pause", "Resume"},
    "move on or back": {"Next", "Previous"},
    "hear it again": {"Repeat"},
    "signals": {"Ready", "Now"},
    "answers": {"Yes", "No"},
    "speech": {"Slower", "Faster", "Louder", "Quieter"},
    "information": {"ListRoutines", "ReadPrecautions", "Help", "Status"},
    "the safety question": {"ChangeScreening"},
    "end the session": {"EndSession"},
    "pain rating (when asked)": {"PainRating"},
}
"""Row of the README's "What you can say" table -> the intents its phrases must have."""


def _say_table() -> dict[str, list[str]]:
    section = README.split("### What you can say", 1)[1].split("\n\n", 2)[1]
    rows = [line.strip("|").split("|") for line in section.splitlines()[2:]]
    return {to.strip(): [p.strip() for p in say.split("·")] for to, say in rows}


def test_what_you_can_say_matches_the_grammar() -> None:
    from voice.coach.grammar import INTENTS, load_grammar

    grammar = load_grammar()
    table = _say_table()
    assert set(table) == set(_SAY_TABLE_INTENTS)
    wrong = []
    for row, phrases in table.items():
        for phrase in phrases:
            parse = grammar.parse(phrase)
            if parse is None or parse.intent not in _SAY_TABLE_INTENTS[row]:
                wrong.append((row, phrase, parse.intent if parse else None))
    assert wrong == []
    # every intent a person can say is in the table
    assert set().union(*_SAY_TABLE_INTENTS.values()) == set(INTENTS)
