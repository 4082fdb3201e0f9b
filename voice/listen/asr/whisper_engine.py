"""Whisper tiny.en through faster-whisper's CTranslate2 model: the neural engine.

Whisper is not a streaming recognizer: it transcribes whole utterances in open
vocabulary. This adapter cuts the microphone stream into utterances with
pocketsphinx's frame voice activity detector (the wheel is installed anyway),
transcribes each on a worker thread (so the caller's thread, which also runs
the stop model, never waits for the network), and reports one final result per
utterance. The text is what Whisper wrote, normalized; mapping it onto the
closed grammar is `voice.listen.matching`'s job, the same for every engine.

Speed: the encoder is most of the cost and grows with its input, which
Whisper pads to 30 s. Commands last one to three seconds, so the audio context
is cut to `context_s` (measured on human-full: 10 s transcribes as well as 30 s,
in about a fifth of the time: ~0.17 s against ~0.7 s per utterance on 2 cores);
shorter contexts made the model repeat itself ("stop stop stop stop").

A partial result exists only on request (`peek`): when the stop model fires,
the utterance so far is transcribed at once, so a stop is confirmed before the
speaker has finished the breath. A peek that came as the word ended and read a
phrase is the utterance's final too: one transcription, not two in a queue.

Tried and left out: scoring the nearest grammar sentences by forced decoding
(CTranslate2 `align`, 12 candidates by sound and spelling) and taking one the
model finds at least as likely as its own reading. Without the prompt's context
the model favours short everyday words ("end" -> "no", a breath -> "yeah"):
espeak-ng commands right clean 92.0 -> 92.8%, at 10 dB 78.6 -> 80.4%, but human
clips without a command taken for one 55 -> 84 of 1,259. A stationary-noise
Wiener filter ahead of the encoder (noise spectrum from the quietest frames)
did next to nothing for espeak-ng commands in white noise: at 10 dB 219 -> 219
to 222 of 276 by its strength, clean 256 -> 255.
RNNoise (pyrnnoise 0.4.5, at 48 kHz) ahead of the encoder lost commands at
every level: clean 255 -> 222, 10 dB 215 -> 175 of 276. Forced decoding as a
check on a near miss only (nearest sentence 0.55-0.65 by sound, within 1.25 of
the reading's mean token log-probability) gained 2 clean and 7 at 10 dB, with
0 of 524 human near misses and 1 of 300 talk snippets taken; not built, since
the matcher (~22 MB) would have to live in this process, over the RSS budget.
"""

from __future__ import annotations

import importlib.util
import logging
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from voice.errors import MissingRequirement
from voice.listen.asr.base import BYTES_PER_SAMPLE, SAMPLE_RATE, Hypothesis, normalize_phrases
from voice.listen.asr.matching import collapse_repeats
from voice.listen.asr.stop_detector import StopScore
from voice.listen.asr.whisper_settings import WhisperSettings
from voice.text import normalize

__all__ = ["WhisperRecognizer", "WhisperSettings"]

_log = logging.getLogger(__name__)


def _require_faster_whisper() -> None:
    if importlib.util.find_spec("faster_whisper") is None:
        raise MissingRequirement(
            "the whisper engine needs faster-whisper",
            fix='pip install "backcoach[whisper]"',
        )


@dataclass(frozen=True)
class _Job:
    audio: np.ndarray
    start_s: float
    end_s: float
    final: bool
    generation: int
    """The `reset` count when it was cut: results of audio from before a reset are dropped."""
    ident: int
    """Submission order; results are reported in this order."""
    cut: bool
    """Ended at the length limit, not at a pause."""
    covered_by: int | None = None
    """A peek of nearly the same audio: when it read a phrase, that is this job's
    result, and the job is skipped (`WhisperSettings.peek_final_frames`)."""


class WhisperRecognizer:
    """Endpointed Whisper transcription behind the `Recognizer` protocol."""

    name = "whisper"
    cuts_itself = True
    """It ends over-long utterances itself (`max_utterance_s`), without blocking."""

    def __init__(
        self, model_dir: Path, phrases: list[str], settings: WhisperSettings | None = None
    ) -> None:
        _require_faster_whisper()
        from faster_whisper import WhisperModel
        from faster_whisper.tokenizer import Tokenizer
        from pocketsphinx import Vad

        self.settings = settings or WhisperSettings()
        self._model = WhisperModel(
            str(model_dir), device="cpu", compute_type="int8", cpu_threads=self.settings.threads
        )
        self._tokenizer = Tokenizer(
            self._model.hf_tokenizer,
            self._model.model.is_multilingual,
            task="transcribe",
            language="en",
        )
        prompt = [*self._tokenizer.sot_sequence, self._tokenizer.no_timestamps]
        if self.settings.prompt:
            words = self._tokenizer.encode(" " + self.settings.prompt.strip())
            prompt = [self._tokenizer.sot_prev, *words, *prompt]
        self._prompt = prompt
        self._answer_tokens = self._single_tokens(ANSWER_WORDS)
        self._pain_tokens = list(self._single_tokens(PAIN_WORDS).values())
        self._vad_type = Vad
        self.set_phrases(phrases)
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._results: queue.Queue[tuple[int, Hypothesis]] = queue.Queue()
        self._worker = threading.Thread(target=self._work, name="whisper", daemon=True)
        self._worker.start()
        self.reset()

    # ----- Recognizer protocol -----

    @property
    def utterance_s(self) -> float:
        return self._utt_samples / SAMPLE_RATE if self._in_utt else 0.0

    def set_phrases(self, phrases: list[str]) -> None:
        # Whisper hears open vocabulary; a reading that is a phrase needs no alternatives.
        self.phrases = normalize_phrases(phrases)
        self._phrase_set = frozenset(self.phrases)

    def reset(self) -> None:
        self._generation = getattr(self, "_generation", 0) + 1
        if hasattr(self, "_held"):
            self._ready()  # results of audio from before the reset: gone
        self._vad = self._vad_type(self.settings.vad_mode, SAMPLE_RATE)
        self._frame_bytes: int = self._vad.frame_bytes
        self._pending = b""
        self._samples = 0
        keep = max(1, round(self.settings.preroll_s / self._vad.frame_length))
        self._recent: deque[bytes] = deque(maxlen=keep)
        self._in_utt = False
        self._utt = bytearray()
        self._utt_start_s = 0.0
        self._utt_samples = 0
        self._speech_frames = 0
        self._speech_run = 0
        self._quiet_frames = 0
        self._stop_scores: deque[tuple[float, float]] = deque(maxlen=2000)
        """(audio time, probability) of recent stop-model steps (20 s at 10 ms)."""
        self._peeked = False
        self._early: int | None = None
        """The job transcribing the current utterance ahead of its end, if any."""
        self._next_ident = getattr(self, "_next_ident", 0)
        self._held: dict[int, Hypothesis] = {}
        """Results that came back before their job was released (or dropped)."""
        self._released: set[int] = set()
        self._dropped: set[int] = set()
        self._peek: tuple[int, int] | None = None
        """This utterance's peek: (its job, the speech frames it had)."""
        self._covers: dict[int, int] = {}
        """Peek job -> the early job whose audio it nearly has: a phrase it reads is
        that job's result, and the job is skipped (`peek_final_frames`)."""
        self._superseded: set[int] = set()
        """Jobs a peek's reading stands for: their own result (the worker skips the
        job when it can) is dropped when it comes."""
        self._phrase_peeks: deque[int] = getattr(self, "_phrase_peeks", deque(maxlen=64))
        """Peeks the worker found reading a phrase, the latest few: written by the
        worker before it reports the peek, and read by both sides, so the worker's
        skip and the caller's use of the reading are one decision even when
        `set_phrases` changes the phrases in between."""
        self._peek_reading: Hypothesis | None = None
        """This utterance's peek result, once back."""

    def accept(self, pcm: bytes) -> list[Hypothesis]:
        data = self._pending + pcm
        n = self._frame_bytes
        whole = len(data) - len(data) % n
        self._pending = data[whole:]
        for offset in range(0, whole, n):
            self._frame(data[offset : offset + n])
        return self._ready()

    def finish(self) -> list[Hypothesis]:
        """End of input: transcribe the utterance in progress and wait for every result."""
        if self._pending:
            self._frame(self._pending.ljust(self._frame_bytes, b"\0"))
            self._pending = b""
        if self._in_utt:
            self._end_utt()
        self._jobs.join()
        return self._ready()

    def peek(self) -> None:
        """Transcribe the utterance so far now; the result comes back as a partial."""
        if self._in_utt and self._speech_frames:
            self._peek = (self._submit(final=False), self._speech_frames)

    def stop_scores(self, scores: Sequence[StopScore]) -> None:
        """The stop model's scores on the audio just fed (this recognizer's audio time)."""
        for score in scores:
            self._stop_scores.append((score.time_s, score.probability))
            if (
                score.probability >= self.settings.peek_probability
                and self._in_utt
                and not self._peeked
                # An early transcription of this utterance is on its way already, its
                # text shown at once: a peek would only queue the next one behind it.
                and self._early is None
            ):
                self._peeked = True
                self.peek()

    def _stop_probability(self, start_s: float, end_s: float) -> float | None:
        """The stop model's highest probability over the utterance, read when its result
        is reported: the model peaks up to a few hundred ms after the word ends."""
        if not self._stop_scores:
            return None
        late = self.settings.stop_model_lag_s
        inside = [p for t, p in self._stop_scores if start_s - 0.1 <= t <= end_s + late]
        return max(inside, default=0.0)

    def close(self) -> None:
        self._jobs.put(None)
        self._worker.join(timeout=5.0)

    # ----- endpointing -----

    @property
    def _time_s(self) -> float:
        return self._samples / SAMPLE_RATE

    def _frame(self, frame: bytes) -> None:
        speech = self._vad.is_speech(frame)
        self._samples += len(frame) // BYTES_PER_SAMPLE
        if not self._in_utt:
            self._recent.append(frame)
            self._speech_run = self._speech_run + 1 if speech else 0
            if self._speech_run >= self.settings.start_frames:
                self._in_utt = True
                self._utt = bytearray(b"".join(self._recent))
                self._utt_samples = len(self._utt) // BYTES_PER_SAMPLE
                self._utt_start_s = self._time_s - self._utt_samples / SAMPLE_RATE
                self._speech_frames = self._speech_run
                self._quiet_frames = 0
                self._recent.clear()
            return
        self._utt += frame
        self._utt_samples += len(frame) // BYTES_PER_SAMPLE
        if speech:
            self._speech_frames += 1
            self._quiet_frames = 0
            if self._early is not None:  # speech goes on: that transcription is stale
                self._dropped.add(self._early)
                self._early = None
        else:
            self._quiet_frames += 1
        quiet_s = self._quiet_frames * self._vad.frame_length
        if quiet_s >= self.settings.early_start_s and self._early is None and self._enough_speech:
            self._early = self._early_job()
        if quiet_s >= self.settings.end_silence_s:
            self._end_utt()
        elif self.utterance_s >= self.settings.max_utterance_s:
            self._end_utt(cut=True)

    @property
    def _enough_speech(self) -> bool:
        return self._speech_frames * self._vad.frame_length >= self.settings.min_speech_s

    def _end_utt(self, cut: bool = False) -> None:
        if self._early is not None:
            self._released.add(self._early)  # only quiet came after it: it is the final
            self._early = None
        elif self._enough_speech:
            self._submit(final=True, cut=cut)
        self._in_utt = False
        self._utt = bytearray()
        self._utt_samples = 0
        self._speech_run = 0
        self._peeked = False
        self._peek = None
        self._peek_reading = None

    def _early_job(self) -> int:
        """The job that transcribes the utterance ahead of its end, or stands for the
        peek that read it already (`peek_final_frames`)."""
        if self._peek is None:
            return self._submit(final=True, release=False)
        peek, frames = self._peek
        if self._speech_frames - frames > self.settings.peek_final_frames:
            return self._submit(final=True, release=False)
        read = self._peek_reading
        if read is None:  # not back yet: this job waits behind it, and goes if it reads a phrase
            ident = self._submit(final=True, release=False, covered_by=peek)
            self._covers[peek] = ident
            return ident
        if peek not in self._phrase_peeks:
            return self._submit(final=True, release=False)
        ident, self._next_ident = self._next_ident, self._next_ident + 1
        self._held[ident] = replace(read, final=True)
        return ident

    def _is_phrase(self, hyp: Hypothesis) -> bool:
        return bool(hyp.text) and " ".join(collapse_repeats(hyp.text.split())) in self._phrase_set

    def _submit(
        self, final: bool, release: bool = True, cut: bool = False, covered_by: int | None = None
    ) -> int:
        """Queue the utterance so far for transcription; its id. `release`: report the
        result as soon as it comes (else only once `_released` names it); `cut`: ended
        at the length limit."""
        audio = np.frombuffer(bytes(self._utt), dtype="<i2").astype(np.float32) / 32768.0
        start, end = self._utt_start_s, self._time_s
        ident, self._next_ident = self._next_ident, self._next_ident + 1
        job = _Job(audio, start, end, final, self._generation, ident, cut, covered_by)
        self._jobs.put(job)
        if release:
            self._released.add(ident)
        return ident

    def _ready(self) -> list[Hypothesis]:
        out: list[tuple[int, Hypothesis]] = []
        while True:
            try:
                ident, hyp = self._results.get_nowait()
            except queue.Empty:
                break
            if ident in self._superseded:  # a peek's reading stands for it
                self._superseded.discard(ident)
                continue
            if self._peek is not None and ident == self._peek[0]:
                self._peek_reading = hyp
            covered = self._covers.pop(ident, None)
            if covered is not None and covered not in self._dropped and ident in self._phrase_peeks:
                self._superseded.add(covered)
                self._held[covered] = replace(hyp, final=True)
            if ident in self._dropped:
                self._dropped.discard(ident)
                continue
            self._held[ident] = hyp
            if ident not in self._released and hyp.text:
                # Transcribed ahead of the utterance's end: shown at once as a partial,
                # so a pain or a stop in it silences the coach without waiting out
                # `end_silence_s`; the final follows when the end is called.
                out.append((ident, replace(hyp, final=False, alternatives=(), answers=())))
        for ident in sorted(self._held):
            if ident in self._released:
                self._released.discard(ident)
                hyp = self._held.pop(ident)
                # A peek's answers serve only the final it may stand for.
                out.append((ident, hyp if hyp.final else replace(hyp, answers=())))
            elif ident in self._dropped:  # speech went on after it came back
                self._dropped.discard(ident)
                del self._held[ident]
        out.sort(key=lambda item: item[0])  # in submission order, as the audio came
        return [
            replace(hyp, stop_probability=self._stop_probability(hyp.start_s, hyp.end_s))
            for _, hyp in out
        ]

    # ----- transcription (worker thread) -----

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                if job.generation != self._generation:
                    continue  # cut before a reset: the caller discarded that audio
                if job.ident in self._dropped or job.covered_by in self._phrase_peeks:
                    # Speech went on before its turn came (a later job has its audio), or
                    # a peek read it already: the next job would wait ~0.2 s behind it.
                    skipped = Hypothesis("", job.final, job.start_s, job.end_s)
                    self._results.put((job.ident, skipped))
                    continue
                started = time.perf_counter()
                hyp = self._transcribe(job)
                if not job.final and self._is_phrase(hyp):
                    self._phrase_peeks.append(job.ident)
                if job.generation == self._generation:
                    hyp = replace(hyp, decode_s=time.perf_counter() - started)
                    self._results.put((job.ident, hyp))
            except Exception as error:  # one bad utterance must not end listening
                _log.warning("whisper failed on an utterance: %s", error)
                if job is not None:
                    failed = Hypothesis(
                        "", job.final, job.start_s, job.end_s, rejected=f"error: {error}"
                    )
                    self._results.put((job.ident, failed))
            finally:
                self._jobs.task_done()

    def _transcribe(self, job: _Job) -> Hypothesis:
        import ctranslate2

        s = self.settings
        context = max(s.context_s, math.ceil(len(job.audio) / SAMPLE_RATE + 0.5))
        padded = np.zeros(int(context * SAMPLE_RATE), dtype=np.float32)
        padded[: len(job.audio)] = job.audio
        features = self._model.feature_extractor(padded)[:, : int(context * 100)]
        batch = ctranslate2.StorageView.from_array(np.ascontiguousarray(features[None]))
        encoded = self._model.model.encode(batch)
        result = self._generate(encoded, self._prompt, s.first_tokens, logits=True)
        tokens = self._text_tokens(result.sequences_ids[0])
        logprob = float(result.scores[0]) if result.scores else -10.0
        if len(tokens) >= s.first_tokens and not _looping(self._decode(tokens)):
            more = self._generate(encoded, self._prompt + tokens, s.max_tokens - len(tokens))
            extra = self._text_tokens(more.sequences_ids[0])
            if extra and more.scores:  # scores are per token: weigh both passes by length
                logprob = (logprob * len(tokens) + float(more.scores[0]) * len(extra)) / (
                    len(tokens) + len(extra)
                )
            tokens += extra
        raw = self._decode(tokens)
        text = normalize(raw)
        no_speech = float(result.no_speech_prob)
        if text and no_speech > s.no_speech_max and logprob < s.no_speech_logprob:
            return Hypothesis(
                "", job.final, job.start_s, job.end_s,
                rejected=f"no speech {no_speech:.2f}: {text}", source="whisper",
                dropped_text=text,
            )  # fmt: skip
        return Hypothesis(
            text, job.final, job.start_s, job.end_s,
            confidence=min(1.0, math.exp(logprob)), source="whisper",
            cut=job.cut,
            # never for a peek: it is on the stop's way, and the beam would delay it
            alternatives=self._alternatives(encoded, text, math.exp(logprob)) if job.final else (),
            answers=self._answers(result, text),
        )  # fmt: skip

    def _answers(self, result: Any, text: str) -> tuple[tuple[str, float], ...]:
        """Answer words the first token could also have been, for a one-word reading.

        Read off the greedy pass's own first-step distribution, so they cost no
        decoding: "no" written "now" lies 0.2 to 1.3 below it (human-full), other
        words 5 or more. A reading that is itself an answer gets none, and an
        answer less likely than a pained "ow" is left out.
        """
        words = collapse_repeats(text.split())
        logits = getattr(result, "logits", None)
        if len(words) != 1 or not logits or not logits[0] or not result.sequences_ids[0]:
            return ()
        if words[0] in self._answer_tokens:
            return ()
        first = np.asarray(logits[0][0], dtype=np.float32)
        heard = float(first[result.sequences_ids[0][0]])
        pain = max(float(first[t]) for t in self._pain_tokens)
        found = []
        for word, token in self._answer_tokens.items():
            # Logits of one step differ from log-probabilities by one constant.
            gap = float(first[token]) - heard
            if float(first[token]) > pain and -self.settings.answer_margin <= gap < 0:
                found.append((word, round(gap, 3)))
        return tuple(sorted(found, key=lambda a: -a[1]))

    def _alternatives(self, encoded: Any, text: str, confidence: float) -> tuple[str, ...]:
        """The beam's other readings, when the greedy one is not already a phrase.

        None for a reading Whisper itself doubts ("t t t", "you" on a noise), and
        none longer than the first: the beam's language model adds words ("end" ->
        "end session", "on" -> "go on") that were never said.
        """
        s = self.settings
        words = collapse_repeats(text.split())
        if not words or len(words) > _MAX_COMMAND_WORDS or s.alternatives < 2:
            return ()
        if " ".join(words) in self._phrase_set or confidence < s.alternative_confidence:
            return ()
        beam = self._generate(encoded, self._prompt, s.first_tokens, s.alternatives)
        best = max((float(x) for x in beam.scores), default=0.0)
        readings = (
            normalize(self._decode(self._text_tokens(seq)))
            for seq, score in zip(beam.sequences_ids, beam.scores, strict=True)
            if float(score) >= best - s.alternative_margin
        )
        return tuple(
            dict.fromkeys(
                r
                for r in readings
                if r and r != text and len(collapse_repeats(r.split())) <= len(words)
            )
        )

    def _generate(
        self, encoded: Any, prompt: list[int], tokens: int, beam: int = 1, logits: bool = False
    ) -> Any:
        return self._model.model.generate(
            encoded,
            [prompt],
            beam_size=beam,
            num_hypotheses=beam,
            max_length=len(prompt) + tokens,  # counts the prompt too
            return_scores=True,
            return_logits_vocab=logits,
            return_no_speech_prob=True,
            suppress_blank=True,
        )[0]

    def _single_tokens(self, words: Sequence[str]) -> dict[str, int]:
        """Each word's token as Whisper writes it after a space, capitalized ("No")."""
        found = {}
        for word in words:
            tokens = self._tokenizer.encode(" " + word.capitalize())
            if len(tokens) != 1:
                raise ValueError(f"answer word {word!r} is {len(tokens)} Whisper tokens, not 1")
            found[word] = tokens[0]
        return found

    def _text_tokens(self, sequence: list[int]) -> list[int]:
        """A generated sequence without its special tokens (end of text and after)."""
        eot = self._tokenizer.eot
        return [t for t in sequence if t < eot]

    def _decode(self, tokens: list[int]) -> str:
        return str(self._model.hf_tokenizer.decode(tokens)).strip()


ANSWER_WORDS = (
    "yes", "no", "zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
    "nine", "ten",
)  # fmt: skip
"""Answers to the coach's questions ("did that hurt?", "how strong was it?")."""
PAIN_WORDS = ("ow",)
"""A pained "ow" is written "now" too: an answer it is nearer to is not reported."""

_MAX_COMMAND_WORDS = 8
"""Longer readings are talk, not a command: no alternatives for them."""


def _looping(text: str) -> bool:
    """The transcript repeats itself ("no no no", "what can i say what can i"):
    more tokens would only repeat it again."""
    words = normalize(text).split()
    return len(words) >= 3 and len(collapse_repeats(words)) * 2 <= len(words)
