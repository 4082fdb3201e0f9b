"""pocketsphinx recognizer: the zero-download fallback with the wheel's US-English model.

Four parts run on the same audio (choices measured on the shared human set with
benchmarks/asr_eval.py):

- a grammar decoder (JSGF of the phrase list, factored into a word tree) over
  utterances cut by pocketsphinx's endpointer (plus 0.3 s pre-roll), fed each
  speech frame as it arrives; a result that is not a whole phrase is rejected,
  and one that no longer phrase continues is final after 0.15 s of quiet;
- a free phone-loop decoder: the grammar words' acoustic score against it per
  frame rejects out-of-grammar speech the grammar decoder forced onto a phrase;
- a keyword spotter for "stop" (its own decoder), because the grammar decoder
  alone heard only about half of the human "stop" clips (it prefers "start ...");
  it spots the dictionary's S T AA P and the fronted S T AE P ("stap") of some
  American accents, which one human speaker uses;
- the microWakeWord stop model (`StopDetector`), which hears every "stop" but
  also many other short words. "stop" counts only when the spotter and the stop
  model agree, which keeps false stops on other words near 1%;
- a second pass over each utterance the grammar accepted (only then, so it costs
  nothing while listening): the wheel's general English language model decodes
  the same audio. A grammar decoder always forces speech onto its nearest
  phrase, so "six" came out as "status" and "cat" as "faster"; the open
  vocabulary hears "six" and "cat" instead. The phrase stands when the general
  decoder heard one of its words or something that sounds alike (phone edit
  distance), and is replaced when the general decoder heard another whole
  phrase; otherwise the utterance is out-of-grammar speech and gives nothing.
  Phrases with "stop" are left to the spotter and the stop model (safety first).

The module is over 600 lines because the four decoders share one utterance's
state (its audio, start, held frames and stop hits) frame by frame.
"""

from __future__ import annotations

import importlib.util
import math
import tempfile
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voice.errors import BadInput, MissingRequirement
from voice.listen.asr.base import BYTES_PER_SAMPLE, SAMPLE_RATE, Hypothesis, Word, normalize_phrases
from voice.listen.asr.stop_detector import StopDetector, StopScore, StopThreshold

__all__ = ["SphinxRecognizer", "SphinxSettings"]

STOP_WORD = "stop"
_STOP_FRONTED = "stop_fronted"
"""Spotter-only dictionary word: "stop" said with a fronted vowel, S T AE P."""
_FRAMES_PER_S = 100
"""pocketsphinx analyses audio in 10 ms frames."""
_SAME_HIT_S = 0.3
"""Spotter detections closer than this (seconds) are one detection, revised."""


def _log(probability: float) -> float:
    # pocketsphinx hands scores back as linear probabilities that underflow to 0.
    return math.log(probability) if probability > 0 else -1e5


@dataclass(frozen=True)
class SphinxSettings:
    """Tuning of the pocketsphinx recognizer (defaults measured on the human set)."""

    stop_kws_threshold: float = 1e-22
    """Keyword-spotting threshold for "stop" (likelihood ratio; smaller hears more)."""
    stop_fronted_threshold: float | None = 1e-10
    """Threshold for "stop" said as S T AE P, as in the Inland North of the US where
    "stop" sounds like "stap"; None spots only the dictionary's S T AA P. One human
    clip needs it; 1e-10 to 1e-15 hear it with no other false stop on the human set
    and on synthesized "step", "status", "standing", "start" sentences, 1e-20 adds
    some (measured)."""
    stop_agree_s: float = 1.0
    """Seconds: how far apart the spotter and the stop model may fire and still agree."""
    stop_model_threshold: float = 0.5
    """0..1 probability at which the microWakeWord stop model counts as fired."""
    use_stop_model: bool = True
    """Require the microWakeWord model to agree before "stop" counts."""
    vad_window_s: float = 0.3
    """Seconds of audio the endpointer looks at to decide speech starts or ends."""
    vad_ratio: float = 0.9
    """Fraction of that window that must be (non-)speech to switch."""
    preroll_s: float = 0.3
    """Seconds of audio before the endpointer's speech start also fed to the decoders:
    the voice activity detector misses weak onsets such as the "s" of "stop"."""
    min_score_per_frame: float = -4.0
    """Grammar results whose acoustic log-likelihood ratio against a free phone loop
    is below this (natural log per 10 ms frame) are rejected as out-of-grammar speech;
    about -2.5 for a true command, -4.5 for another word (human set medians)."""
    dither_lsb: float = 3.0
    """Standard deviation (int16 steps) of noise added before decoding: exact
    digital silence (WAV files, muted inputs) never occurs at a real microphone,
    and clean espeak-ng files decoded worse than the same files with 20 dB noise."""
    verify: bool = True
    """Check accepted phrases against an open-vocabulary second pass (see module doc)."""
    verify_max_distance: float = 0.34
    """Largest phone edit distance between the second pass's words and the phrase,
    per phone of the phrase, at which they still count as the same words."""
    verify_beam: float = 1e-30
    """Search beams of the second pass: narrower than pocketsphinx's defaults, which
    took 0.24 s per utterance instead of 0.07 s with the same words heard."""
    verify_word_beam: float = 1e-20
    verify_max_hmm_per_frame: int = 3000
    verify_max_s: float = 4.0
    """Longer utterances skip the second pass (commands are short)."""
    verify_max_words: int = 1
    """Longer phrases skip the second pass: other speech is forced onto one-word
    commands ("six" -> "status"), while a multi-word phrase that passed the grammar
    and the score margin is rarely wrong, and the general model often misspells
    multi-word commands ("end session" -> "and tension") and would reject them."""
    partials: bool = True
    """Report partial grammar hypotheses during an utterance."""
    early_end_s: float = 0.15
    """Seconds of quiet after which an utterance is final when its grammar hypothesis
    is a whole phrase that no longer phrase continues ("next step", not "next"),
    without waiting for the endpointer, which calls the end after 0.27 s."""
    partial_stable_s: float = 0.25
    """Seconds of audio a partial grammar hypothesis must stay the same, and be a
    whole phrase, before it is reported: mid-word paths flicker through words
    like "enough" or "ow", and the safety path acts on every partial."""


def _require_pocketsphinx() -> None:
    if importlib.util.find_spec("pocketsphinx") is None:
        raise MissingRequirement(
            "the pocketsphinx engine needs the pocketsphinx package",
            fix="pip install pocketsphinx",
        )


def _pronunciations(dictionary: Path, words: set[str]) -> list[str]:
    """The lines of a CMU-format dictionary for `words`, alternates ("word(2)") too."""
    out: list[str] = []
    with dictionary.open(encoding="utf-8") as lines:
        for line in lines:
            head = line.split(maxsplit=1)
            if len(head) == 2 and head[0].split("(")[0] in words:
                out.append(f"{head[0]} {head[1].strip()}\n")
    return out


def _jsgf(phrases: list[str]) -> str:
    """The phrases as one JSGF rule, factored into a word tree.

    A flat list of several hundred alternatives makes pocketsphinx search every
    sentence's first word separately (measured: real-time factor 0.27 for 586
    sentences); sharing prefixes keeps the search small.
    """
    tree: dict[str, Any] = {}
    for phrase in phrases:
        node = tree
        for word in phrase.split():
            node = node.setdefault(word, {})
        node[""] = {}  # end of a phrase
    return f"#JSGF V1.0;\ngrammar backcoach;\npublic <command> = {_expand(tree)} ;\n"


def _expand(node: dict[str, Any]) -> str:
    alternatives = []
    for word, child in node.items():
        if not word:
            continue
        rest = {w: c for w, c in child.items() if w}
        if not rest:
            alternatives.append(word)
        elif "" in child:
            alternatives.append(f"{word} [ {_expand(rest)} ]")
        else:
            alternatives.append(f"{word} {_expand(rest)}")
    return alternatives[0] if len(alternatives) == 1 else f"( {' | '.join(alternatives)} )"


class SphinxRecognizer:
    """Streaming, phrase-restricted recognizer on pocketsphinx 5 (see module doc)."""

    name = "pocketsphinx"

    def __init__(
        self,
        phrases: list[str],
        settings: SphinxSettings | None = None,
        *,
        own_stop_model: bool = True,
    ) -> None:
        """`own_stop_model=False`: the caller runs the one stop model and hands its
        scores to `stop_scores` before each `accept` (`voice.listen.hearing.Hearing`);
        otherwise the recognizer runs a model of its own (standalone use)."""
        _require_pocketsphinx()
        import pocketsphinx

        self._ps = pocketsphinx
        self.settings = settings or SphinxSettings()
        self._dictionary = Path(pocketsphinx.get_model_path("en-us/cmudict-en-us.dict"))
        # Each decoder keeps its own copy of the dictionary it is given: the three
        # that only need the phrases' words get just those (set_phrases adds new
        # ones), not the 135,000-word dictionary only the second pass needs.
        words = {w for phrase in normalize_phrases(phrases) for w in phrase.split()}
        with tempfile.TemporaryDirectory() as tmp:
            small = Path(tmp) / "phrases.dict"
            small.write_text(
                "".join(_pronunciations(self._dictionary, words | {STOP_WORD}))
                + f"{_STOP_FRONTED} S T AE P\n",
                encoding="utf-8",
            )
            self._grammar = self._new_decoder(small)
            # The spotter keeps the default language model although it never
            # searches it: without it the same threshold heard one human "stop"
            # fewer, and looser ones brought twice the false stops (measured).
            self._spotter = self._new_decoder(small, keep_lm=True)
            self._phones = self._new_decoder(small)
        self._configure_spotter(self._spotter)
        self._phones.add_allphone_file(
            "phones", self._ps.get_model_path("en-us/en-us-phone.lm.bin")
        )
        self._phones.activate_search("phones")
        self._cmn_prior: str = self._grammar.get_cmn(False)
        """The acoustic model's initial cepstral mean, which every utterance starts from."""
        self._general = self._new_general_decoder() if self.settings.verify else None
        use = self.settings.use_stop_model
        self._stop_model = (
            StopDetector(threshold=self.settings.stop_model_threshold)
            if use and own_stop_model
            else None
        )
        self._stop_threshold = StopThreshold(self.settings.stop_model_threshold) if use else None
        """Counts the stop model's scores at this recognizer's threshold, in its audio time."""
        self._max_verify_bytes = int(self.settings.verify_max_s * SAMPLE_RATE) * BYTES_PER_SAMPLE
        self.phrases: list[str] = []
        self.missing_words: set[str] = set()
        """Words missing from the pronunciation dictionary (their phrases are dropped)."""
        self.set_phrases(phrases)
        self.reset()

    # -- construction -------------------------------------------------------

    def _new_decoder(self, dictionary: Path, keep_lm: bool = False) -> Any:
        ps = self._ps
        # lm=None: pocketsphinx otherwise loads its default language model into
        # every decoder (about 45 MB each), though these only search a grammar,
        # a keyword or phones.
        model = {} if keep_lm else {"lm": None}
        config = ps.Config(
            hmm=ps.get_model_path("en-us/en-us"), dict=str(dictionary), loglevel="FATAL", **model
        )
        return ps.Decoder(config)

    def _new_general_decoder(self) -> Any:
        ps = self._ps
        config = ps.Config(
            hmm=ps.get_model_path("en-us/en-us"),
            lm=ps.get_model_path("en-us/en-us.lm.bin"),
            dict=str(self._dictionary),
            beam=self.settings.verify_beam,
            pbeam=self.settings.verify_beam,
            wbeam=self.settings.verify_word_beam,
            maxhmmpf=self.settings.verify_max_hmm_per_frame,
            # The second pass sees whole utterances: normalize each on its own, so
            # its verdict does not depend on what was decoded before.
            cmn="batch",
            loglevel="FATAL",
        )
        return ps.Decoder(config)

    def _configure_spotter(self, decoder: Any) -> None:
        # A keyword file is the only way to give thresholds through the API; the
        # spotter searches one pronunciation per keyword, hence a word per variant.
        lines = f"{STOP_WORD} /{self.settings.stop_kws_threshold:g}/\n"
        if self.settings.stop_fronted_threshold is not None:
            lines += f"{_STOP_FRONTED} /{self.settings.stop_fronted_threshold:g}/\n"
        with tempfile.TemporaryDirectory() as tmp:
            keyfile = Path(tmp) / "stop.kws"
            keyfile.write_text(lines)
            decoder.add_kws("stop", str(keyfile))
        decoder.activate_search("stop")

    def set_phrases(self, phrases: list[str]) -> None:
        phrases = normalize_phrases(phrases)
        decoder = self._grammar
        if getattr(self, "_in_utt", False):
            # pocketsphinx cannot switch searches inside an utterance; the words
            # heard so far are dropped and the next speech frame starts afresh.
            for other in self._decoders:
                other.end_utt()
            self._in_utt = False
        new = {w for p in phrases for w in p.split() if decoder.lookup_word(w) is None}
        for line in _pronunciations(self._dictionary, new) if new else []:
            word, phones = line.split(maxsplit=1)
            decoder.add_word(word, phones.strip(), True)
        missing = {
            word
            for phrase in phrases
            for word in phrase.split()
            if decoder.lookup_word(word) is None
        }
        usable = [p for p in phrases if not set(p.split()) & missing]
        if not usable:
            raise BadInput(
                "none of the phrases can be recognized by pocketsphinx's US-English "
                f"dictionary (missing words: {', '.join(sorted(missing))})"
            )
        self.missing_words = missing
        self.phrases = usable
        self._phrase_set = set(usable)
        prefixes = {" ".join(p.split()[:n]) for p in usable for n in range(1, len(p.split()))}
        self._closed = self._phrase_set - prefixes
        """Phrases no other phrase continues: they may end early (`early_end_s`)."""
        decoder.add_jsgf_string("commands", _jsgf(usable))
        decoder.activate_search("commands")

    # -- streaming ----------------------------------------------------------

    def reset(self) -> None:
        ps = self._ps
        if getattr(self, "_in_utt", False):
            for decoder in self._decoders:
                decoder.end_utt()
        self._dither = np.random.default_rng(0)  # fixed seed: repeatable results
        self._endpointer = ps.Endpointer(
            window=self.settings.vad_window_s, ratio=self.settings.vad_ratio
        )
        # The endpointer decides on a 0.3 s window; the same detector frame by frame
        # tells which frames of an utterance are speech as they arrive.
        self._vad = ps.Vad(sample_rate=SAMPLE_RATE, frame_length=self._endpointer.frame_length)
        self._held: list[bytes] = []
        """Non-speech frames inside an utterance not yet fed to the decoders."""
        self._speech_run = 0
        """Speech frames in a row, by the frame-wise detector."""
        self._ended_early_at: float | None = None
        """Set while the endpointer is still in the speech of an utterance ended early."""
        self._frame_bytes: int = self._endpointer.frame_bytes
        frame_s = self._endpointer.frame_length
        keep = int((self.settings.vad_window_s + self.settings.preroll_s) / frame_s) + 4
        self._recent: deque[tuple[float, bytes]] = deque(maxlen=keep)
        self._pending = b""
        self._utt_audio = bytearray()
        self._samples = 0
        self._in_utt = False
        self._utt_start_s = 0.0
        self._last_partial = ""
        self._candidate = ""
        self._candidate_since = 0.0
        self._stop_reported = False
        self._spotter_hits: list[float] = []
        self._model_hits: list[float] = []
        if self._stop_model is not None:
            self._stop_model.reset()
        if self._stop_threshold is not None:
            self._stop_threshold.reset()

    @property
    def _decoders(self) -> tuple[Any, ...]:
        return (self._grammar, self._spotter, self._phones)

    @property
    def time_s(self) -> float:
        """Seconds of audio fed since the last reset."""
        return self._samples / SAMPLE_RATE

    @property
    def utterance_s(self) -> float:
        return self.time_s - self._utt_start_s if self._in_utt else 0.0

    def stop_scores(self, scores: list[StopScore]) -> None:
        """The stop model's scores for the block the next `accept` gets.

        Times are this recognizer's audio time (since its last reset).
        """
        if self._stop_threshold is not None:
            self._model_hits.extend(t.time_s for t in self._stop_threshold.crossings(scores))

    def accept(self, pcm: bytes) -> list[Hypothesis]:
        results: list[Hypothesis] = []
        if self._stop_model is not None:
            self.stop_scores(self._stop_model.scores(pcm))
        data = self._pending + pcm
        n = self._frame_bytes
        whole = len(data) - len(data) % n
        self._pending = data[whole:]
        for offset in range(0, whole, n):
            frame = data[offset : offset + n]
            self._recent.append((self.time_s, frame))
            self._samples += n // BYTES_PER_SAMPLE
            self._endpointer.process(frame)
            speech = self._vad.is_speech(frame)
            self._speech_run = self._speech_run + 1 if speech else 0
            results.extend(self._after_frame(frame, speech))
        return results

    def finish(self) -> list[Hypothesis]:
        results: list[Hypothesis] = []
        pending, self._pending = self._pending, b""
        if self._endpointer.in_speech:
            # end_stream needs at least one sample; silence stands in for none. Its
            # tail is audio the decoders already have (they are fed as it comes).
            self._endpointer.end_stream(pending or bytes(BYTES_PER_SAMPLE))
            if not self._in_utt and self._ended_early_at is None:
                self._start_utt(float(self._endpointer.speech_start))
            if self._in_utt:
                if pending:
                    self._feed(pending)
                results.extend(self._partial())
        self._ended_early_at = None
        self._samples += len(pending) // BYTES_PER_SAMPLE
        if self._in_utt:
            results.append(self._end_utt(self.time_s))
        return results

    def _after_frame(self, frame: bytes, speech: bool) -> list[Hypothesis]:
        # The decoders get each speech frame as it arrives, not the endpointer's
        # copy of it, which comes one decision window (0.3 s) late: partial
        # results, the stop among them, are that much sooner. Quiet frames are
        # held back until speech resumes, so that the decoders do not also get the
        # quiet the endpointer waits through before it calls the end (measured: it
        # changed results and added false stops).
        results: list[Hypothesis] = []
        if not self._endpointer.in_speech:
            self._ended_early_at = None
            if self._in_utt:
                results.append(self._end_utt(self._endpointer.speech_end))
            return results
        if not self._in_utt:
            if self._ended_early_at is None:
                self._start_utt(float(self._endpointer.speech_start))
            elif self._speech_run >= 2:  # speaking again (not one noisy frame)
                # _start_utt keeps the pre-roll after the end of the early utterance.
                self._start_utt(self.time_s - 0.5)
            else:
                return results
        elif speech:
            self._feed(b"".join(self._held) + frame)
            self._held.clear()
        else:
            self._held.append(frame)
        results.extend(self._partial())
        quiet_s = len(self._held) * self._endpointer.frame_length
        if quiet_s >= self.settings.early_end_s - 1e-6 and self._candidate in self._closed:
            end_s = self.time_s - quiet_s
            self._ended_early_at = end_s
            results.append(self._end_utt(end_s))
        return results

    def _start_utt(self, speech_start: float) -> None:
        for decoder in self._decoders:
            # Each utterance starts from the model's cepstral mean, not from the
            # one the decoder adapted to on earlier audio: between the user's words
            # the decoders hear the coach's own voice, other people, another
            # microphone. Measured on the human set, where each clip follows
            # another speaker's: false stops on other words 8 -> 3 of 270,
            # _unknown_ clips giving a command 10 -> 2 of 60 (spotter threshold
            # moved from 1e-25 to 1e-22 with it); on espeak-ng commands, stop and
            # pain heard more often at every noise level, other commands more
            # often clean, as often at 20 dB SNR, far less often in 10 and 5 dB
            # white noise, where the carried mean had adapted to the noise. The
            # noise estimate is kept (no start_stream): restarting it too gave
            # 4-6 of 60 _unknown_ commands.
            decoder.set_cmn(self._cmn_prior)
            decoder.start_utt()
        self._in_utt = True
        self._utt_audio = bytearray()
        self._held = []
        first = speech_start - self.settings.preroll_s
        if self._ended_early_at is not None:
            first = max(first, self._ended_early_at)
        # The pre-roll, the speech the endpointer took to decide on, and this frame.
        audio = [(t, f) for t, f in self._recent if t >= first - 1e-6]
        self._utt_start_s = audio[0][0] if audio else self.time_s
        if audio:
            self._feed(b"".join(f for _, f in audio))
        self._last_partial = ""
        self._candidate = ""
        self._candidate_since = 0.0
        self._stop_reported = False
        self._spotter_hits = []

    def _feed(self, speech: bytes) -> None:
        # The stop spotter gets the audio as it is: with dither it heard one or
        # two fewer of the 30 human "stop" clips.
        self._spotter.process_raw(speech, False, False)
        samples = np.frombuffer(speech, dtype="<i2").astype(np.float32)
        samples += self._dither.normal(0.0, self.settings.dither_lsb, samples.size)
        dithered = np.clip(samples, -32768, 32767).astype("<i2").tobytes()
        self._grammar.process_raw(dithered, False, False)
        if self._general is not None and len(self._utt_audio) < self._max_verify_bytes:
            self._utt_audio += dithered
        self._phones.process_raw(dithered, False, False)
        self._note_spotter_hits()

    def _note_spotter_hits(self) -> None:
        # Every detection counts, not only the first: the coach's own "stop at once"
        # in a long utterance (its voice in the mic keeps one open) must not hide
        # the user's "stop" a few seconds later.
        for seg in self._spotter.seg() or []:
            if seg.word.strip().split("(")[0] not in (STOP_WORD, _STOP_FRONTED):
                continue
            at = self._utt_start_s + (seg.end_frame + 1) / _FRAMES_PER_S
            if all(abs(at - hit) > _SAME_HIT_S for hit in self._spotter_hits):
                self._spotter_hits.append(at)

    def _stop_confirmed(self) -> bool:
        if not self._spotter_hits:
            return False
        if self._stop_threshold is None:
            return True
        # Only a model hit inside this utterance counts: one left over from the
        # word before ("no", which it often fires on) confirmed the spotter's
        # "st" of "start rotation" as a stop.
        return any(
            abs(model - spot) <= self.settings.stop_agree_s
            for model in self._model_hits
            for spot in self._spotter_hits
            if model >= self._utt_start_s
        )

    def _partial(self) -> list[Hypothesis]:
        results: list[Hypothesis] = []
        if not self._stop_reported and self._stop_confirmed():
            self._stop_reported = True
            results.append(
                Hypothesis(
                    text=STOP_WORD,
                    final=False,
                    start_s=self._utt_start_s,
                    end_s=self.time_s,
                    words=(Word(STOP_WORD, self._utt_start_s, self.time_s, 1.0),),
                    source="stop-spotter",
                )
            )
        if self.settings.partials:
            hyp = self._grammar.hyp()
            text = hyp.hypstr if hyp is not None else ""
            if STOP_WORD in text.split() and not self._stop_confirmed():
                # Mid-utterance grammar paths pass through "stop" on many words;
                # the safety path would act on it, so only a confirmed stop counts.
                text = ""
            if text != self._candidate:
                self._candidate, self._candidate_since = text, self.time_s
            stable = self.time_s - self._candidate_since >= self.settings.partial_stable_s
            if stable and text in self._phrase_set and text != self._last_partial:
                self._last_partial = text
                results.append(
                    Hypothesis(
                        text=text,
                        final=False,
                        start_s=self._utt_start_s,
                        end_s=self.time_s,
                        source="grammar",
                    )
                )
        return results

    def _end_utt(self, end_s: float) -> Hypothesis:
        for decoder in self._decoders:
            decoder.end_utt()
        self._note_spotter_hits()
        self._in_utt = False
        hyp = self._grammar.hyp()
        heard = hyp.hypstr if hyp is not None else ""
        segments = [
            seg for seg in (self._grammar.seg() or []) if not seg.word.startswith(("<", "[", "("))
        ]
        score = self._score_per_frame(segments)
        # A logistic of the margin; clamped, since a noisy clip's score can be so low
        # that exp() overflows (it once ended a whole `recognize` run).
        margin = max(-50.0, min(50.0, score - self.settings.min_score_per_frame))
        confidence = 1.0 / (1.0 + math.exp(-margin))
        words = tuple(
            Word(
                seg.word.split("(")[0],
                self._utt_start_s + seg.start_frame / _FRAMES_PER_S,
                self._utt_start_s + (seg.end_frame + 1) / _FRAMES_PER_S,
                confidence,
            )
            for seg in segments
        )
        stop_ok = self._stop_confirmed()
        text, rejected = heard, ""
        if heard not in self._phrase_set:
            text, rejected = "", f"not a whole phrase: {heard}" if heard else ""
        elif score < self.settings.min_score_per_frame:
            text, rejected = "", f"low score {score:.2f}/frame: {heard}"
        elif STOP_WORD in heard.split() and not stop_ok:
            # The grammar decoder turns many short words into "stop ..."; only the
            # spotter and the stop model together are trusted with "stop".
            text, rejected = "", f"stop not confirmed: {heard}"
        elif (
            STOP_WORD not in heard.split() and len(heard.split()) <= self.settings.verify_max_words
        ):
            text, rejected = self._verify(heard)
        if not text and stop_ok:
            text, rejected = STOP_WORD, ""
        return Hypothesis(
            text=text,
            final=True,
            start_s=self._utt_start_s,
            end_s=float(end_s),
            words=words if text == heard else self._general_words(text),
            confidence=confidence if text == heard else 1.0,
            rejected=rejected,
            source="stop-spotter" if text == STOP_WORD and heard != text else "grammar",
        )

    def _score_per_frame(self, segments: list[Any]) -> float:
        """Acoustic log-likelihood ratio of the grammar words against the phone loop.

        Natural log per frame over the frames the grammar's words cover; a word
        the grammar forced onto other speech scores well below a true one.
        """
        if not segments:
            return -math.inf
        first, last = segments[0].start_frame, segments[-1].end_frame
        grammar = sum(_log(seg.ascore) for seg in segments)
        phones = 0.0
        for seg in self._phones.seg() or []:
            overlap = min(last, seg.end_frame) - max(first, seg.start_frame) + 1
            if overlap > 0:
                phones += _log(seg.ascore) * overlap / (seg.end_frame - seg.start_frame + 1)
        return (grammar - phones) / (last - first + 1)

    def _verify(self, heard: str) -> tuple[str, str]:
        """Second pass over the utterance with the general English model.

        Returns the phrase to report ("" for none) and why it was rejected.
        """
        general = self._general
        audio = bytes(self._utt_audio)
        if general is None or not audio or len(audio) >= self._max_verify_bytes:
            return heard, ""
        general.start_utt()
        general.process_raw(audio, False, True)
        general.end_utt()
        hyp = general.hyp()
        said = [
            w.split("(")[0]
            for w in (hyp.hypstr.split() if hyp is not None else [])
            if not w.startswith(("<", "[", "+"))
        ]
        if set(said) & set(heard.split()):
            return heard, ""
        if said and self._distance(said, heard.split()) <= self.settings.verify_max_distance:
            return heard, ""
        sentence = " ".join(said)
        if sentence in self._phrase_set and STOP_WORD not in said:
            return sentence, ""
        return "", f"out of grammar: {heard} (open vocabulary: {sentence or 'nothing'})"

    def _general_words(self, text: str) -> tuple[Word, ...]:
        """Word timings from the second pass when its phrase replaced the grammar's."""
        if not text or text == STOP_WORD or self._general is None:
            return ()
        offset = self._utt_start_s
        return tuple(
            Word(
                seg.word.split("(")[0],
                offset + seg.start_frame / _FRAMES_PER_S,
                offset + (seg.end_frame + 1) / _FRAMES_PER_S,
                1.0,
            )
            for seg in self._general.seg() or []
            if seg.word.split("(")[0] in text.split()
        )

    def _distance(self, said: list[str], phrase: list[str]) -> float:
        """Phone edit distance of `said` from `phrase`, per phone of the phrase."""
        general = self._general
        assert general is not None

        def phones(words: list[str]) -> list[str]:
            out: list[str] = []
            for word in words:
                out += (general.lookup_word(word) or "").split()
            return out

        a, b = phones(phrase), phones(said)
        if not a:
            return math.inf
        row = list(range(len(b) + 1))
        for i in range(1, len(a) + 1):
            diagonal, row[0] = row[0], i
            for j in range(1, len(b) + 1):
                diagonal, row[j] = (
                    row[j],
                    min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])),
                )
        return row[-1] / len(a)
