"""Stop and pain words anywhere in an utterance, and the negations that cancel them (pure).

A person in pain does not say a grammar sentence: "my back hurts", "that's
really painful", "ow". Any pain word counts, wherever it is. Negation is the
one thing that cancels it, and the rules are deliberately narrow, because a
missed pain is worse than a needless stop:

- a verb ("hurt", "hurts", "hurting") is negated only by an auxiliary right
  before it ("doesn't hurt", "did not really hurt"); "no" never negates a verb,
  so "no, it hurts" is pain;
- "painful" only by "not" and its contractions ("not painful", "isn't painful");
  "not too painful" and "not that painful" still admit pain and count;
- the noun "pain" by "no"/"without"/"zero" right before it, by "no more",
  "not in", "not any" or "don't have any" / "don't feel any" before it, or by
  "free" after it ("pain free");
- "ouch" and "ow" are never negated;
- a stop phrase ("stop", "cancel", "enough") only by "don't", "do not",
  "never" or "not" right before it: "don't stop" means carry on.

Punctuation in typed or transcribed text ends a clause: "No. Pain!" is pain.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from enum import Enum

__all__ = ["PAIN_WORDS", "Reading", "clauses", "pain_negated", "read_safety", "stop_negated"]

PAIN_WORDS = frozenset({"pain", "painful", "hurt", "hurts", "hurting", "ouch", "ow", "oww"})
"""Words that mean pain wherever they are said."""

_PAIN_VERBS = frozenset({"hurt", "hurts", "hurting"})
_NEVER_NEGATED = frozenset({"ouch", "ow", "oww"})
_AUXILIARY_NOT = frozenset(
    {
        "not",
        "don't",
        "dont",
        "doesn't",
        "doesnt",
        "didn't",
        "didnt",
        "isn't",
        "isnt",
        "wasn't",
        "wasnt",
        "won't",
        "wont",
        "never",
        "nothing",
    }
)
"""Negate a pain verb right after them (possibly with a softener between)."""
_NOT = frozenset({"not", "isn't", "isnt", "wasn't", "wasnt", "never", "aren't"})
"""Negate 'painful' right after them."""
_SOFTENERS = frozenset({"really", "even", "actually"})
"""May stand between a negation and the word it negates ("doesn't really hurt")."""
_NO_BEFORE_NOUN = frozenset({"no", "without", "zero"})
_STOP_NOT = frozenset({"don't", "dont", "not", "never"})


class Reading(str, Enum):
    """What the safety words of an utterance say."""

    NONE = "none"
    """No stop or pain word at all."""
    PAIN = "pain"
    """A pain word that is not negated."""
    NO_PAIN = "no_pain"
    """Pain words, every one negated: 'no pain', 'it didn't hurt'."""


def clauses(text: str) -> list[list[str]]:
    """Lowercase words per clause; sentence punctuation and commas end a clause."""
    parts = re.split(r"[.,;:!?]+", text.lower().replace("’", "'"))
    out = []
    for part in parts:
        words = [w.strip("'") for w in re.sub(r"[^a-z0-9' ]+", " ", part).split()]
        words = [w for w in words if w]
        if words:
            out.append(words)
    return out


def _before(words: Sequence[str], index: int) -> list[str]:
    """The words before `index`, nearest first, softeners skipped."""
    return [w for w in reversed(words[:index]) if w not in _SOFTENERS]


def pain_negated(words: Sequence[str], index: int) -> bool:
    """Is the pain word `words[index]` negated (see module doc)?"""
    word = words[index]
    if word in _NEVER_NEGATED:
        return False
    before = _before(words, index)
    prev = before[0] if before else ""
    prev2 = before[1] if len(before) > 1 else ""
    if word in _PAIN_VERBS:
        return prev in _AUXILIARY_NOT  # "did not hurt": "not" is right before
    if word == "painful":
        return prev in _NOT
    # the noun "pain"
    following = words[index + 1] if index + 1 < len(words) else ""
    if following == "free":
        return True
    if prev in _NO_BEFORE_NOUN:
        return True
    if prev == "more" and prev2 == "no":
        return True
    if prev == "in" and prev2 in ("not", "no"):
        return True
    if prev == "any":
        window = before[1:4]
        return any(w in _AUXILIARY_NOT or w == "no" for w in window)
    return False


def stop_negated(words: Sequence[str], index: int) -> bool:
    """Is the stop phrase starting at `words[index]` negated ('don't stop', 'do not stop')?"""
    prev = words[index - 1] if index > 0 else ""
    return prev in _STOP_NOT


def read_safety(text: str) -> Reading:
    """PAIN if any pain word of `text` is not negated; NO_PAIN if all are; else NONE."""
    seen = False
    for words in clauses(text):
        for i, word in enumerate(words):
            if word in PAIN_WORDS:
                seen = True
                if not pain_negated(words, i):
                    return Reading.PAIN
    return Reading.NO_PAIN if seen else Reading.NONE
