"""The sound of words the pronouncing dictionary lacks, from espeak-ng's letter-to-sound rules.

Whisper writes what it half heard as invented words ("pre orsions" for
"precautions", "remion" for "resume"). CMUdict has no entry for them, and
spelling them out letter by letter ("o", "r", "s", "i", "o", "n", "s") sounds
nothing like what was said. espeak-ng, installed anyway as the text-to-speech
engine, reads any spelling the way an English reader would; its IPA output is
mapped here onto the ARPAbet phones the matcher compares.

A separate `espeak-ng` process per word (about 5 ms, then cached): the speech
thread uses the espeak-ng library itself, which is not safe to call from two
threads. Only a transcript with a word CMUdict lacks pays it.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess

__all__ = ["EspeakPhonemes", "ipa_to_arpabet"]

_log = logging.getLogger(__name__)

_IPA = {
    "tʃ": "CH", "dʒ": "JH", "oʊ": "OW", "aɪ": "AY", "aʊ": "AW", "ɔɪ": "OY", "eɪ": "EY",
    "p": "P", "b": "B", "t": "T", "d": "D", "k": "K", "ɡ": "G", "g": "G", "f": "F", "v": "V",
    "θ": "TH", "ð": "DH", "s": "S", "z": "Z", "ʃ": "SH", "ʒ": "ZH", "h": "HH", "x": "HH",
    "m": "M", "n": "N", "ŋ": "NG", "l": "L", "ɹ": "R", "r": "R", "w": "W", "j": "Y",
    "ɾ": "T", "ʔ": "T", "i": "IY", "ɪ": "IH", "ᵻ": "IH", "e": "EH", "ɛ": "EH", "æ": "AE",
    "a": "AE", "ɑ": "AA", "ɒ": "AA", "ɔ": "AO", "ʌ": "AH", "ə": "AH", "ɐ": "AH", "ɚ": "ER",
    "ɜ": "ER", "ʊ": "UH", "u": "UW", "o": "OW",
}  # fmt: skip
"""espeak-ng's English IPA -> ARPAbet; stress, length and tie marks are dropped."""


def ipa_to_arpabet(ipa: str) -> tuple[str, ...]:
    """'pɹˈiː ˈɔːɹʃənz' -> ('P', 'R', 'IY', 'AO', 'R', 'SH', 'AH', 'N', 'Z')."""
    ipa = ipa.replace("\u200d", "")  # the tie espeak-ng's --ipa=3 puts inside "dʒ"
    phones: list[str] = []
    i = 0
    while i < len(ipa):
        pair = ipa[i : i + 2]
        if pair in _IPA:
            phones.append(_IPA[pair])
            i += 2
        else:
            phone = _IPA.get(ipa[i])
            if phone is not None:
                phones.append(phone)
            i += 1
    return tuple(phones)


class EspeakPhonemes:
    """Word -> ARPAbet phones by espeak-ng; None when espeak-ng is missing or fails."""

    def __init__(
        self, binary: str | None = None, voice: str = "en-us", timeout_s: float = 0.25
    ) -> None:
        """`timeout_s`: the longest a word may hold up a decision (a stop's among them)
        before it is spelled out instead."""
        self._binary = binary or shutil.which("espeak-ng")
        self._voice = voice
        self._timeout_s = timeout_s
        self.phones = functools.lru_cache(maxsize=4096)(self._phones)

    @property
    def available(self) -> bool:
        return self._binary is not None

    def _phones(self, word: str) -> tuple[str, ...] | None:
        if self._binary is None:
            return None
        try:
            done = subprocess.run(
                [self._binary, "-q", "--ipa", "-v", self._voice, "--", word],
                capture_output=True,
                text=True,
                timeout=self._timeout_s,
                check=True,
            )
        except (OSError, subprocess.SubprocessError) as error:
            _log.warning("espeak-ng could not sound out %r (%s): spelling it instead", word, error)
            return None
        return ipa_to_arpabet(done.stdout) or None
