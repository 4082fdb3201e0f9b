"""Spoken commands: hassil templates -> every accepted sentence, and text -> intent.

The grammar files are read once; the routine slot is filled from the routine
book, so routine names live in one place. `parse` is pure and fast (well under a
millisecond), and `spot_safety` finds a stop or pain phrase anywhere in a longer
or partial utterance: safety must not depend on the rest of the words. Pain is
any pain word ("my back hurts"), and only a negation cancels a stop or pain
word (`voice.coach.safety_words`): "no pain" answers No, "don't stop" carries on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hassil import Intents, recognize
from hassil.intents import SlotList, TextSlotList
from hassil.sample import sample_intents

from voice.coach.routines import RoutineBook, load_book
from voice.coach.safety_words import Reading, clauses, read_safety, stop_negated
from voice.errors import BadInput
from voice.paths import grammar_dir
from voice.text import normalize

__all__ = [
    "INTENTS",
    "SAFETY_INTENTS",
    "SIGNAL_INTENTS",
    "YES_NO_INTENTS",
    "Grammar",
    "Parse",
    "load_grammar",
    "normalize",
]

SAFETY_INTENTS = ("PainStop", "Stop")
"""Checked in this order: 'stop, that hurts' is pain, not a plain stop."""

YES_NO_INTENTS = frozenset({"Yes", "No"})
SIGNAL_INTENTS = frozenset({"Ready", "Now"})
""""I'm in position" and the partner's cue: they mean something only while a step
waits for one."""

INTENTS = (
    "Stop",
    "PainStop",
    "StartRoutine",
    "Pause",
    "Resume",
    "Next",
    "Previous",
    "Repeat",
    "Ready",
    "Yes",
    "No",
    "Now",
    "Slower",
    "Faster",
    "Louder",
    "Quieter",
    "ListRoutines",
    "ReadPrecautions",
    "Help",
    "Status",
    "EndSession",
    "ChangeScreening",
    "PainRating",
)


@dataclass(frozen=True)
class Parse:
    intent: str
    slots: dict[str, str | int] = field(default_factory=dict)
    text: str = ""
    """The normalized text that was parsed."""


class Grammar:
    """Intent templates with the routine list filled in."""

    def __init__(
        self, intents: Intents, slot_lists: dict[str, SlotList], skip_words: list[str]
    ) -> None:
        self._intents = intents
        self._slot_lists = slot_lists
        self._skip_words = skip_words
        self._by_intent: dict[str, list[str]] = {}
        for intent, sentence in sample_intents(intents, slot_lists=slot_lists):
            text = normalize(sentence)
            sentences = self._by_intent.setdefault(intent, [])
            if text and text not in sentences:
                sentences.append(text)
        # Longest first, so 'stop it' is found whole.
        stops = sorted(self._by_intent.get("Stop", []), key=len, reverse=True)
        self._stops = [tuple(s.split()) for s in stops]

    @property
    def intent_names(self) -> list[str]:
        return list(self._by_intent)

    def sentences(self, intents: Iterable[str] | None = None) -> list[str]:
        """Every sentence the grammar accepts (for the recognizers' phrase lists)."""
        wanted = list(intents) if intents is not None else list(self._by_intent)
        return [s for name in wanted for s in self._by_intent.get(name, [])]

    def safety_sentences(self) -> list[str]:
        return self.sentences(SAFETY_INTENTS)

    def vocabulary(self) -> set[str]:
        return {word for s in self.sentences() for word in s.split()}

    def parse(self, text: str) -> Parse | None:
        """A stop or pain word anywhere first (typed punctuation kept: "No. Pain!" is
        pain); else the whole utterance as a sentence (with and without filler); else
        what a negated stop or pain word means ("no pain at all": No)."""
        norm = normalize(text)
        if not norm:
            return None
        return self.spot_safety(text) or self.parse_whole(norm) or self.negated_safety(text)

    def parse_whole(self, text: str) -> Parse | None:
        """The whole utterance as one sentence of the grammar (with and without filler)."""
        norm = normalize(text)
        if not norm:
            return None
        for skip in ([], self._skip_words):
            result = recognize(norm, self._intents, slot_lists=self._slot_lists, skip_words=skip)
            if result is not None:
                slots = {name: _slot_value(e.value) for name, e in result.entities.items()}
                return Parse(result.intent.name, slots, norm)
        return None

    def by_intent(self) -> dict[str, list[str]]:
        """Every sentence of each intent (normalized words)."""
        return {name: list(items) for name, items in self._by_intent.items()}

    def spot_safety(self, text: str) -> Parse | None:
        """A pain word or a stop phrase anywhere in `text`, not negated (partials, long
        utterances). Pain first: 'stop, that hurts' is pain, not a plain stop."""
        if read_safety(text) is Reading.PAIN:
            return Parse("PainStop", {}, normalize(text))
        for words in clauses(text):
            if self._stop_in(tuple(words)):
                return Parse("Stop", {}, normalize(text))
        return None

    def negated_safety(self, text: str) -> Parse | None:
        """What an utterance whose every stop or pain word is negated means: 'no pain',
        'it did not hurt at all' answer No; 'please don't stop' carries on (Resume)."""
        if self.spot_safety(text) is not None:
            return None
        if read_safety(text) is Reading.NO_PAIN:
            return Parse("No", {}, normalize(text))
        for words in clauses(text):
            if self._stop_in(tuple(words), negated=True):
                return Parse("Resume", {}, normalize(text))
        return None

    def _stop_in(self, words: tuple[str, ...], negated: bool = False) -> bool:
        """A stop phrase in `words` that is (negated=True) or is not negated."""
        for phrase in self._stops:
            n = len(phrase)
            for i in range(len(words) - n + 1):
                if words[i : i + n] == phrase and stop_negated(words, i) is negated:
                    return True
        return False


def _slot_value(value: Any) -> str | int:
    return value if isinstance(value, int) else str(value)


def load_grammar(book: RoutineBook | None = None, folder: Path | None = None) -> Grammar:
    """Read grammars/en/*.yaml and fill the routine list from the routine book."""
    folder = folder or grammar_dir()
    book = book or load_book()
    merged: dict[str, Any] = {"language": "en", "intents": {}, "lists": {}}
    skip_words: list[str] = []
    files = sorted(folder.glob("*.yaml"))
    if not files:
        raise BadInput(f"no grammar files (*.yaml) in {folder}")
    for path in files:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as error:
            raise BadInput(f"grammar file {path} is not valid YAML: {error}") from None
        for name in data.get("intents", {}):
            if not isinstance(name, str):
                raise BadInput(f"grammar file {path}: intent name {name!r} must be quoted text")
        merged["intents"].update(data.get("intents", {}))
        merged["lists"].update(data.get("lists", {}))
        skip_words.extend(data.get("skip_words", []))
    unknown = sorted(set(merged["intents"]) - set(INTENTS))
    if unknown:
        raise BadInput(f"grammar in {folder} defines unknown intents: {', '.join(unknown)}")
    intents = Intents.from_dict(merged)
    routine_list = TextSlotList.from_tuples(list(book.by_spoken_name().items()))
    return Grammar(intents, {"routine": routine_list}, skip_words)
