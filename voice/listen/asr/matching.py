"""Error-tolerant matching of any engine's text onto the closed grammar.

An open-vocabulary engine (Whisper) writes what it heard in plain English:
"stuck stuff", "reaper cautions", "begin spying rotation". Those are near
misses of grammar sentences, by sound more than by spelling. `GrammarMatcher`
maps a transcript onto the grammar sentence that sounds closest (phone
sequences from CMUdict, which the pocketsphinx wheel ships, or for words it
lacks from espeak-ng's letter-to-sound rules; compared both phone by phone and
by classes of easily confused phones) or reads closest (characters, for words
the dictionary lacks), and returns a score; below the
threshold the answer is "no command", so talk in the room, other words and
noise give nothing. Grammar-restricted engines (vosk, pocketsphinx) already
produce grammar sentences, which match exactly.

Thresholds were chosen with benchmarks/asr_eval.py: speaker-disjoint folds of
the human recordings (other words must not become commands) and espeak-ng
voices saying the commands in noise (near misses must).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rapidfuzz.distance import Levenshtein

__all__ = [
    "ANSWERS_ONLY",
    "GrammarMatcher",
    "Lexicon",
    "Match",
    "MatchSettings",
    "SoundOut",
    "collapse_repeats",
    "is_wordless",
]

SAFETY = ("Stop", "PainStop")
ANSWERS_ONLY = frozenset({"PainRating"})
"""Intents matched by near miss only when the coach asked for them (`match(asked=...)`)."""

_LETTER_PHONES = {
    "a": "AE", "b": "B", "c": "K", "d": "D", "e": "EH", "f": "F", "g": "G", "h": "HH",
    "i": "IH", "j": "JH", "k": "K", "l": "L", "m": "M", "n": "N", "o": "AA", "p": "P",
    "q": "K", "r": "R", "s": "S", "t": "T", "u": "AH", "v": "V", "w": "W", "x": "K S",
    "y": "Y", "z": "Z",
}  # fmt: skip
"""A crude spelling-to-sound fallback for words the dictionary lacks."""

_OVERRIDES = {"ow": ("AW",)}
"""Words whose first CMUdict pronunciation is not the one meant here: the pain cry
"ow" rhymes with "now"; CMUdict lists OW ("oh") first, and "oh" is what Whisper
writes for a mumbled "up" or "off" (18 of 150 human "up" clips became pain stops)."""

_PHONE_CLASSES = {
    "AA": "A", "AH": "A", "AO": "A", "AE": "E", "EH": "E", "EY": "E", "ER": "R", "IH": "I",
    "IY": "I", "UH": "U", "UW": "U", "OW": "O", "AW": "W", "AY": "Y", "OY": "Y",
    "P": "P", "B": "P", "T": "T", "D": "T", "K": "K", "G": "K", "F": "F", "V": "F",
    "TH": "F", "DH": "T", "S": "S", "Z": "S", "SH": "C", "ZH": "C", "CH": "C", "JH": "C",
    "M": "M", "N": "N", "NG": "N", "L": "L", "R": "R", "W": "w", "Y": "j", "HH": "h",
}  # fmt: skip
"""Phones easily heard as one another (voicing pairs, neighbouring vowels) share a class."""

_PHONE_CHARS = {phone: chr(0x100 + i) for i, phone in enumerate(sorted(_PHONE_CLASSES))}
"""One character per phone, so the C string distance of rapidfuzz works on phones."""

SoundOut = Callable[[str], "tuple[str, ...] | None"]
"""A word's ARPAbet phones from its spelling, or None."""

_WORD_RE = re.compile(r"[a-z0-9']+")
_NO_STRESS = str.maketrans("", "", "012")
"""CMUdict marks vowel stress with a digit (AA1); the match ignores stress."""


class Lexicon:
    """Word -> phones (ARPAbet without stress marks), from a CMUdict-format file."""

    def __init__(
        self, entries: dict[str, tuple[str, ...]], sound_out: SoundOut | None = None
    ) -> None:
        """`sound_out(word)`: the phones of a word the dictionary lacks, or None
        (`voice.listen.asr.phonemes.EspeakPhonemes`); without it such a word is spelled out."""
        self._entries = self._joined(entries)
        self._sound_out = sound_out

    @staticmethod
    def _joined(entries: dict[str, tuple[str, ...]]) -> dict[str, str]:
        # One string a word, not a tuple of phone strings: 126,000 words cost the
        # session 45 MB as tuples (issue 14: session RSS), about 20 MB so.
        return {word: " ".join(phones) for word, phones in {**entries, **_OVERRIDES}.items()}

    @classmethod
    def from_file(cls, path: Path, sound_out: SoundOut | None = None) -> Lexicon:
        entries: dict[str, str] = {}
        with path.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                parts = line.split(maxsplit=1)
                if len(parts) < 2 or "(" in parts[0]:  # alternates: the first is the usual one
                    continue
                entries[parts[0].lower()] = " ".join(parts[1].translate(_NO_STRESS).split())
        lexicon = cls({}, sound_out)
        lexicon._entries = {**entries, **lexicon._entries}
        return lexicon

    @classmethod
    def bundled(cls, sound_out: SoundOut | None = None) -> Lexicon:
        """CMUdict as the pocketsphinx wheel ships it; `sound_out` alone when it is missing."""
        try:
            import pocketsphinx

            path = Path(pocketsphinx.get_model_path()) / "en-us" / "cmudict-en-us.dict"
        except ImportError:
            return cls({}, sound_out)
        return cls.from_file(path, sound_out) if path.is_file() else cls({}, sound_out)

    def knows(self, word: str) -> bool:
        """The dictionary has the word's sound (`phones` does not spell it out)."""
        return word in self._entries

    def phones(self, word: str) -> tuple[str, ...]:
        found = self._entries.get(word)
        if found is not None:
            return tuple(found.split())
        sounded = self._sound_out(word) if self._sound_out is not None else None
        if sounded:
            return sounded
        return tuple(p for ch in word for p in _LETTER_PHONES.get(ch, "").split())


@dataclass(frozen=True)
class Match:
    """The grammar sentence a transcript was taken for."""

    intent: str
    sentence: str
    """The grammar sentence (normalized words); the transcript itself when exact."""
    score: float
    """0..1: 1.0 for an exact or spotted match; the similarity of a near miss."""
    exact: bool
    """The transcript parsed as it is (or held a stop/pain phrase), no tolerance needed."""


@dataclass(frozen=True)
class MatchSettings:
    """How near a near miss must be (measured: see the module doc)."""

    min_score: float = 0.65
    """Similarity (0..1) a transcript needs to count as a sentence."""
    min_score_short: float = 0.8
    """Similarity needed for a sentence of at most `short_phones` phones: one wrong
    phone already turns "no" into "go"."""
    short_phones: int = 3
    """Phones in a sentence at or below which `min_score_short` applies."""
    strict: tuple[tuple[str, float], ...] = (("EndSession", 0.75),)
    """(intent, similarity) for intents whose near misses must be nearer: ending the
    session on "and passion" (heard in the live benchmark, 0.69 by sound) costs the
    user the session; "in session" (0.75) is Whisper's usual "end session"."""


def collapse_repeats(words: list[str], longest: int = 6) -> list[str]:
    """'no no no no' -> 'no', 'speed up speed up speed' -> 'speed up'.

    Whisper loops on short clips until its token limit ("what can i say what can
    i say what can i sa"); and 'stop stop' means what 'stop' means. After a loop
    was collapsed, a cut-off repeat at the end is dropped too.
    """
    out = list(words)
    collapsed = False
    for n in range(1, longest + 1):
        i = 0
        while i + 2 * n <= len(out):
            if out[i : i + n] == out[i + n : i + 2 * n]:
                del out[i + n : i + 2 * n]
                collapsed = True
            else:
                i += 1
    if collapsed:
        for i in range(max(1, len(out) - longest), len(out)):
            tail = " ".join(out[i:])
            units = (" ".join(out[i - n : i]) for n in range(len(out) - i, min(longest, i) + 1))
            if any(len(unit) > len(tail) and unit.startswith(tail) for unit in units):
                return out[:i]
    return out


def is_wordless(text: str) -> bool:
    """No syllable in it: only lone letters and vowelless runs ("t", "tch", "hmm").

    What Whisper writes for a click, a tap or a breath. Nobody says such a thing
    to the coach; answering it with "sorry, I didn't catch that" talks over the
    user's next words.
    """
    words = _WORD_RE.findall(text.lower())
    return bool(words) and all(len(w) == 1 or not set(w) & set("aeiouy") for w in words)


@dataclass(frozen=True)
class _Entry:
    intent: str
    sentence: str
    phones: str
    classes: str
    short: bool
    by_sound: bool
    """Compared by sound alone: spelling makes number words near misses of
    everyday ones ("right" / "eight", "done" / "one")."""


class GrammarMatcher:
    """Maps engine text onto the nearest sentence of the grammar."""

    def __init__(
        self,
        sentences: dict[str, list[str]],
        lexicon: Lexicon,
        exact: Callable[[str], str | None],
        spot: Callable[[str], str | None],
        settings: MatchSettings | None = None,
        negated: Callable[[str], str | None] = lambda text: None,
        answers_only: Iterable[str] = (),
    ) -> None:
        """`sentences`: intent -> normalized sentences; `exact(text)`: the grammar's
        whole-sentence parse (an intent name or None), tried first; `spot(text)`: a
        stop or pain phrase anywhere in the text (an intent name or None);
        `negated(text)`: what the text means when its every stop or pain word is
        negated ("no pain at all": No), tried before any near match, so a negated
        pain is never matched to a pain sentence that sounds alike; `answers_only`:
        intents whose near misses count only when the coach asked for one (`match`)."""
        self.settings = settings or MatchSettings()
        self._lexicon = lexicon
        self._exact = exact
        self._spot = spot
        self._negated = negated
        self._table: list[_Entry] = []
        self._answers: list[_Entry] = []
        for intent, items in sentences.items():
            answer = intent in answers_only
            table = self._answers if answer else self._table
            if answer:
                # Only its shortest forms (the bare "seven"): a filler alone ("that's",
                # of "that's a two") is no answer.
                fewest = min((len(item.split()) for item in items), default=0)
                items = [item for item in items if len(item.split()) == fewest]
            for sentence in items:
                phones, classes = self._encode(sentence.split())
                short = len(phones) <= self.settings.short_phones
                table.append(_Entry(intent, sentence, phones, classes, short, answer))

    @classmethod
    def for_grammar(
        cls, grammar: Any, lexicon: Lexicon, settings: MatchSettings | None = None
    ) -> GrammarMatcher:
        """A matcher over a `voice.coach.grammar.Grammar`. A pain rating's near miss
        counts only while the coach waits for a rating: at any other time a rating
        means nothing, and near misses of "one" or "three" are common words ("on",
        "free")."""

        def name(parse: Any) -> str | None:
            return None if parse is None else str(parse.intent)

        return cls(
            grammar.by_intent(),
            lexicon,
            lambda text: name(grammar.parse_whole(text)),
            lambda text: name(grammar.spot_safety(text)),
            settings,
            lambda text: name(grammar.negated_safety(text)),
            answers_only=ANSWERS_ONLY,
        )

    def _encode(self, words: Iterable[str]) -> tuple[str, str]:
        """(phone string, phone-class string) of the words."""
        phones = [p for w in words for p in self._lexicon.phones(w)]
        return (
            "".join(_PHONE_CHARS.get(p, "?") for p in phones),
            "".join(_PHONE_CLASSES.get(p, "?") for p in phones),
        )

    @staticmethod
    def _sound_similarity(a: tuple[str, str], b: tuple[str, str]) -> float:
        """Mean of the phone-by-phone and the phone-class similarities, 0..1."""
        return 0.5 * (
            Levenshtein.normalized_similarity(a[0], b[0])
            + Levenshtein.normalized_similarity(a[1], b[1])
        )

    @staticmethod
    def words(text: str) -> list[str]:
        """The transcript's words, lowercase, repeats collapsed."""
        return collapse_repeats(_WORD_RE.findall(text.lower()))

    def match(
        self, text: str, intents: Iterable[str] | None = None, asked: Iterable[str] = ()
    ) -> Match | None:
        """The sentence of `intents` (all when None) `text` was meant as, or None.

        `asked`: the answers the coach is waiting for ("PainRating" after "how
        strong was it?"). A near miss of one of them wins over a near miss of any
        other command, and answers-only intents among them are near-matched too; an
        exact sentence and a stop or pain stay what they are.
        """
        words = self.words(text)
        if not words:
            return None
        joined = " ".join(words)
        wanted = None if intents is None else set(intents)
        found = self._match(words, joined, wanted)
        asked = set(asked) if wanted is None else set(asked) & wanted
        if asked and (
            found is None or not (found.exact or found.intent in SAFETY or found.intent in asked)
        ):
            answer = self._nearest(words, joined, asked, self._table + self._answers)
            if answer is not None:
                return answer
        return found

    def _match(self, words: list[str], joined: str, wanted: set[str] | None) -> Match | None:
        intent = self._exact(joined)
        if intent is not None and (wanted is None or intent in wanted):
            return Match(intent, joined, 1.0, True)
        negation = self._negated(joined)
        if negation is not None and (wanted is None or negation in wanted):
            return Match(negation, joined, 1.0, True)
        near = self._nearest(words, joined, wanted, self._table)
        if near is not None and near.intent in SAFETY:
            return near  # "stop that hurt" is the pain phrase, not the stop inside it
        spotted = self._spot(joined)
        if spotted is not None:
            return Match(spotted, joined, 1.0, True)
        return near

    def _nearest(
        self, words: list[str], joined: str, wanted: set[str] | None, table: list[_Entry]
    ) -> Match | None:
        heard = self._encode(words)
        # Spelling stands in for sound only where the dictionary has no sound: by
        # letters "slow it" is nearer "stop it" than "slower" (espeak-ng "slower",
        # 5 of 6 voices, stopped the routine).
        spelled = not all(self._lexicon.knows(word) for word in words)
        best: tuple[float, _Entry] | None = None
        for entry in table:
            if wanted is not None and entry.intent not in wanted:
                continue
            score = self._sound_similarity(heard, (entry.phones, entry.classes))
            if spelled and not entry.by_sound:
                score = max(score, Levenshtein.normalized_similarity(joined, entry.sentence))
            if best is None or score > best[0]:
                best = (score, entry)
        if best is None:
            return None
        score, entry = best
        needed = self.settings.min_score_short if entry.short else self.settings.min_score
        needed = max(needed, dict(self.settings.strict).get(entry.intent, 0.0))
        return Match(entry.intent, entry.sentence, score, False) if score >= needed else None

    def similarity(self, text: str, sentence: str) -> float:
        """How alike `text` and `sentence` sound, 0..1 (e.g. a lone word to 'stop')."""
        words = self.words(text)
        if not words:
            return 0.0
        return self._sound_similarity(self._encode(words), self._encode(sentence.split()))

    def best_similarity(self, text: str, sentence: str, span: int = 2) -> float:
        """The highest `similarity` of any run of up to `span` words of `text` to `sentence`."""
        words = self.words(text)
        runs = [" ".join(words[i : i + n]) for n in range(1, span + 1) for i in range(len(words))]
        return max((self.similarity(run, sentence) for run in runs), default=0.0)
