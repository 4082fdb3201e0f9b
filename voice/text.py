"""Text both ways: as the coach says it (for the TTS) and as it was heard (for matching).

espeak-ng (and SAPI, NSSpeech) stumble over symbols, abbreviations and ranges:
"5–10 s" becomes "five dash ten s". `normalize_for_speech` is pure and cheap, so
it runs on every line before synthesis; it also makes cache keys canonical
("3" and "three" hit the same cached phrase).
"""

from __future__ import annotations

import re

__all__ = ["normalize", "normalize_for_speech", "number_to_words", "ordinal_to_words"]

_DIGITS = {
    "0": "zero", "1": "one", "2": "two", "3": "three", "4": "four", "5": "five",
    "6": "six", "7": "seven", "8": "eight", "9": "nine", "10": "ten",
}  # fmt: skip


def normalize(text: str) -> str:
    """Lowercase words without punctuation; digits 0-10 as words (typed '7' = spoken 'seven')."""
    text = text.lower().replace("’", "'")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    words = [_DIGITS.get(w, w) for w in text.split()]
    return " ".join(w.strip("'") for w in words if w.strip("'"))


_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ((10**9, "billion"), (10**6, "million"), (1000, "thousand"))
_ORDINAL_WORDS = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}


def _below_thousand(n: int) -> str:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [_ONES[hundreds], "hundred"]
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(_TENS[tens])
        if ones:
            words.append(_ONES[ones])
    elif rest or not words:
        words.append(_ONES[rest])
    return " ".join(words)


def number_to_words(n: int) -> str:
    """English words for an integer: 21 -> "twenty one" (no hyphens, TTS-friendly)."""
    if n < 0:
        return "minus " + number_to_words(-n)
    if n >= 10**12:  # nobody counts this far aloud; read the digits
        return " ".join(_ONES[int(d)] for d in str(n))
    words: list[str] = []
    for scale, name in _SCALES:
        if n >= scale:
            count, n = divmod(n, scale)
            words += [_below_thousand(count), name]
    if n or not words:
        words.append(_below_thousand(n))
    return " ".join(words)


def ordinal_to_words(n: int) -> str:
    """21 -> "twenty first"."""
    words = number_to_words(n).split()
    last = words[-1]
    if last in _ORDINAL_WORDS:
        words[-1] = _ORDINAL_WORDS[last]
    elif last.endswith("y"):
        words[-1] = last[:-1] + "ieth"
    else:
        words[-1] = last + "th"
    return " ".join(words)


# Units read after a number: (singular, plural).
_UNITS: dict[str, tuple[str, str]] = {
    "s": ("second", "seconds"),
    "sec": ("second", "seconds"),
    "secs": ("second", "seconds"),
    "ms": ("millisecond", "milliseconds"),
    "min": ("minute", "minutes"),
    "mins": ("minute", "minutes"),
    "h": ("hour", "hours"),
    "hr": ("hour", "hours"),
    "hrs": ("hour", "hours"),
    "cm": ("centimetre", "centimetres"),
    "mm": ("millimetre", "millimetres"),
    "km": ("kilometre", "kilometres"),
    "kg": ("kilogram", "kilograms"),
    "lb": ("pound", "pounds"),
    "lbs": ("pound", "pounds"),
    "°": ("degree", "degrees"),
    "deg": ("degree", "degrees"),
    "%": ("percent", "percent"),
}

_ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    (r"\be\.\s?g\.", "for example"),
    (r"\bi\.\s?e\.", "that is"),
    (r"\betc\.", "et cetera"),
    (r"\bvs\.?(?=\s)", "versus"),
    (r"\bapprox\.", "approximately"),
    (r"\bmax\.", "maximum"),
    (r"\bno\.(?=\s*\d)", "number"),
    (r"\bw/o\b", "without"),
    (r"\bw/(?=\s)", "with"),
)

_SYMBOLS: tuple[tuple[str, str], ...] = (
    ("&", " and "),
    ("+", " plus "),
    ("=", " equals "),
    ("@", " at "),
    ("~", " about "),
    ("≈", " about "),
    ("→", ", then "),
    ("->", ", then "),
    ("#", " number "),
    ("°", " degrees "),
    ("%", " percent "),
    ("—", ", "),  # em dash: a pause, not a word
    ("…", "... "),
    ("•", ", "),
    ("*", " "),
    ("_", " "),
)

_NUM = r"\d+(?:,\d{3})*(?:\.\d+)*"
_DASHES = "-–—"
_UNIT_ALT = "|".join(sorted((re.escape(u) for u in _UNITS), key=len, reverse=True))

_RANGE = re.compile(
    rf"(?<![\w.])({_NUM})\s*[{_DASHES}]\s*({_NUM})(?:\s*({_UNIT_ALT})(?![A-Za-z]))?"
)
_WITH_UNIT = re.compile(rf"(?<![\w.])({_NUM})\s*({_UNIT_ALT})(?![A-Za-z])")
_TIMES_BEFORE = re.compile(r"(?<![\w])[x×]\s?(\d+)\b")
_TIMES_AFTER = re.compile(r"\b(\d+)\s?[x×](?![\w])")
_BY = re.compile(r"\b(\d+)\s+[x×]\s+(\d+)\b")
_FRACTION = re.compile(r"(?<![\w/])(\d+)\s*/\s*(\d+)(?![\w/])")
_PER = re.compile(r"/\s*(day|week|side|hour|minute|set|rep|breath)\b", re.IGNORECASE)
_SLASH_WORDS = re.compile(r"(?<=[A-Za-z])\s*/\s*(?=[A-Za-z])")
_ORDINAL = re.compile(r"\b(\d+)(st|nd|rd|th)\b", re.IGNORECASE)
_CLOCK = re.compile(r"\b(\d{1,2}):(\d{2})\b")
_NUMBER = re.compile(rf"(?<![\w.]){_NUM}")
_EN_DASH_WORDS = re.compile(r"\s+[–-]\s+")
_SPACES = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([,.;:!?])")


def _parse_number(token: str) -> tuple[int, str | None]:
    """(integer part, decimal digits or None); "1,000" -> (1000, None)."""
    whole, _, frac = token.replace(",", "").partition(".")
    return int(whole), (frac or None)


def _say_number(token: str) -> str:
    whole, frac = _parse_number(token)
    words = number_to_words(whole)
    if frac is not None:
        # "2.0.1" (a version) reads every dot as "point" too
        for part in frac.split("."):
            words += " point " + " ".join(_ONES[int(d)] for d in part)
    return words


def _is_one(token: str) -> bool:
    whole, frac = _parse_number(token)
    return whole == 1 and frac is None


def _unit_words(unit: str | None, singular: bool) -> str:
    if unit is None:
        return ""
    one, many = _UNITS[unit]
    return " " + (one if singular else many)


def _range(match: re.Match[str]) -> str:
    low, high, unit = match.group(1), match.group(2), match.group(3)
    return f"{_say_number(low)} to {_say_number(high)}{_unit_words(unit, False)}"


def _with_unit(match: re.Match[str]) -> str:
    number, unit = match.group(1), match.group(2)
    return f"{_say_number(number)}{_unit_words(unit, _is_one(number))}"


def _times(match: re.Match[str]) -> str:
    count = int(match.group(1))
    return "once" if count == 1 else f"{number_to_words(count)} times"


def _clock(match: re.Match[str]) -> str:
    hours, minutes = int(match.group(1)), int(match.group(2))
    if minutes == 0:
        return f"{number_to_words(hours)} o'clock"
    if minutes < 10:
        return f"{number_to_words(hours)} oh {number_to_words(minutes)}"
    return f"{number_to_words(hours)} {number_to_words(minutes)}"


def normalize_for_speech(text: str) -> str:
    """Text as it should be spoken: numbers, ranges, units, symbols and abbreviations in words.

    >>> normalize_for_speech("Hold 5–10 s, e.g. 3x per side")
    'Hold five to ten seconds, for example three times per side'
    """
    out = text
    for pattern, words in _ABBREVIATIONS:
        out = re.sub(pattern, words, out, flags=re.IGNORECASE)
    out = _CLOCK.sub(_clock, out)
    out = _RANGE.sub(_range, out)
    out = _BY.sub(lambda m: f"{m.group(1)} by {m.group(2)}", out)
    out = _TIMES_BEFORE.sub(_times, out)
    out = _TIMES_AFTER.sub(_times, out)
    out = _PER.sub(lambda m: f" per {m.group(1)}", out)
    out = _FRACTION.sub(lambda m: f"{m.group(1)} out of {m.group(2)}", out)
    out = _SLASH_WORDS.sub(" or ", out)
    out = out.replace("/", " ")
    out = _WITH_UNIT.sub(_with_unit, out)
    out = _ORDINAL.sub(lambda m: ordinal_to_words(int(m.group(1))), out)
    out = _NUMBER.sub(lambda m: _say_number(m.group(0)), out)
    out = _EN_DASH_WORDS.sub(", ", out)
    for symbol, words in _SYMBOLS:
        out = out.replace(symbol, words)
    out = _SPACES.sub(" ", out)
    out = _SPACE_BEFORE_PUNCT.sub(r"\1", out)
    out = re.sub(r",\s*,", ",", out)
    return out.strip(" ,")
