"""Tuning of the Whisper adapter (`voice.listen.asr.whisper_engine`), each value with
what benchmarks/asr_eval.py measured when it was chosen."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WhisperSettings"]


@dataclass(frozen=True)
class WhisperSettings:
    """Tuning of the Whisper adapter (defaults measured with benchmarks/asr_eval.py)."""

    threads: int = 2
    """CTranslate2 intra-op threads: the machine's two cores, used only on speech."""
    context_s: float = 10.0
    """Seconds of audio context the encoder sees (Whisper pads to 30 s)."""
    max_tokens: int = 24
    """Tokens per transcript: the longest command is a dozen."""
    first_tokens: int = 10
    """Tokens of the first decoding pass. Whisper often loops on a short clip
    ("yes yes yes ..." to the token limit), and each token costs about 10 ms on 2
    cores: a transcript cut here goes on to `max_tokens` only when it is not a loop
    (end of speech -> final on 85 human-full commands, idle machine: p95 417 -> 359 ms)."""
    prompt: str = (
        "Stop. Pain. Ouch. Stop, that hurts. Pause. Wait a second. Resume. Next step. Go back. "
        "Skip. Repeat. Ready. Now. Yes. No. Slower. Faster. Speed up. Louder. Speak up. "
        "Quieter. Softer. Help. What can I say? Status. How long is left? List routines. "
        "Precautions. End session. Bye. Change my answer. Start rotation. Foam roller. "
        "Bed edge stretch. That hurts. It hurts."
    )
    """Text given as what came before, so the commands' words are the likely spellings.
    Measured (human-full, espeak-ng commands): a short list of command words against
    none, right intent clean 74 -> 81%, at 10 dB 52 -> 64%; stop 141 -> 142 of 143,
    no 135 -> 137 of 147; other words taken for a command 16 -> 21 of 1,259. This
    list, with the phrases of the intents that short one lacked ("go back", "what
    can I say", "how long is left", "wait a second", "speak up"), against it: clean
    89.5 -> 90.6%, 20 dB 83.3 -> 86.2%, 10 dB 74.3 -> 78.6%; false stops 13 -> 7 of
    1,264; any command from a human clip without one 58 -> 52 of 1,259; end of
    speech -> final p95 351 -> 361 ms. With "Stop, that hurts" and "Bye" added
    (espeak-ng "bye" was written "five", "fight"): clean 92.8 -> 94.2%, 20 dB
    85.5 -> 86.6%, 10 dB 79.3 -> 80.1%; human-full alike within a clip or two
    (false stops 6 -> 7 of 1,264, other clips taken for a yes or no 16 -> 13 of
    1,402, any command from a clip without one 42 -> 44 of 1,259). Adding "That
    hurts", "Keep going", "Previous step", "Read the precautions" and "Goodbye"
    instead changed nothing clean. A list of number words while a rating is
    asked for lost 2 of the 143 stops: not used. "That hurts. It hurts." at the
    end, for pain phrases said alone (the stop model does not fire on them): of
    espeak-ng's "that hurts", "it hurts", "ouch", "ow" and "pain" (asr_eval, 120
    clips) 53 -> 64 silenced the coach, "that hurts" alone in 11 voices at 3
    speeds 20 -> 26 of 33; human-full: false stops 9 -> 8 of 1,264, "no" 143 ->
    145 of 147, any command from a clip without one 42 -> 45 of 1,259, at 10 dB
    false stops 16 -> 20 of 608; espeak-ng commands right clean 258 -> 255 of 276,
    at 10 dB 218 -> 215 (other beam readings, both ways). "Ouch, that hurts. It
    hurts." there instead silenced 114 of 132 pain phrases, but wrote human "off"
    as "ouch": 30 false stops of 1,264. "" for none."""
    alternatives: int = 5
    """Beam width for other readings of an utterance whose greedy reading is no
    phrase; they come back as `Hypothesis.alternatives` for the grammar match
    (0: none). Only then, so a clear command pays nothing for them."""
    alternative_margin: float = 0.4
    """Alternatives scoring more than this (mean token log-probability) below the
    beam's best are dropped. Measured on whole clips: espeak-ng commands right
    clean 241 -> 257 of 276, at 10 dB 183 -> 209; other human words taken for a
    command 22 -> 48 of 1,112 (1.0: 259, 215 and 97)."""
    alternative_confidence: float = 0.2
    """A first reading below this confidence gets no alternatives. With it and no
    longer alternatives than the first reading (asr_eval, whole pipeline):
    espeak-ng commands right clean 232 -> 243 of 276, at 10 dB 177 -> 203; any
    command from a human clip without one 40 -> 54 of 1,259 (all alternatives:
    245, 209 and 75)."""
    answer_margin: float = 6.0
    """Answer words whose first token is more than this (log-probability) below the
    reading's first token are not reported (`Hypothesis.answers`). Wide on
    purpose: the session's own margin (`StopFusion.answer_margin`) decides."""
    vad_mode: int = 3
    """pocketsphinx VAD aggressiveness, 0 (loose) to 3 (strict). Strict calls the end
    of a word sooner: end of speech -> final p95 0.67 s (loose), 0.52 s (2), 0.47 s
    (3) on human clips fed in real time, the words heard alike."""
    start_frames: int = 2
    """30 ms speech frames in a row that start an utterance."""
    end_silence_s: float = 0.3
    """Seconds of non-speech that end an utterance (the latency floor of a final).
    0.24 cut "next step" after "next" for 3 of 6 espeak-ng voices, and its lone
    "step" was then a stop; 0.3 (asr_eval, whole pipeline): any command from a human
    clip without one 51 -> 42 of 1,259, other clips taken for a yes or no 26 -> 16
    of 1,402, "no" in yes/no context held out 137 -> 142 of 147, espeak-ng commands
    right clean 92.0 -> 92.8%, at 10 dB 78.6 -> 79.3%; end of speech -> final
    p50/p95 301/351 -> 361/411 ms."""
    early_start_s: float = 0.09
    """Seconds of non-speech after which the utterance is transcribed ahead of its
    end, so the final is ready when the end is called; if speech resumes, that
    transcription is dropped and the utterance goes on. Its text is reported at
    once as a partial: a pain phrase, which the stop model does not pre-trigger on,
    silences the coach then, not `end_silence_s` later."""
    preroll_s: float = 0.3
    """Seconds before the detected start also transcribed: the VAD misses weak
    onsets such as the "s" of "stop"."""
    max_utterance_s: float = 4.0
    """Seconds after which an utterance is cut and transcribed as it is: under the
    coach's own voice the detector may hear speech for as long as the coach talks,
    and a stop the stop model missed must not wait for the coach's next pause."""
    min_speech_s: float = 0.12
    """Utterances with less speech than this are noise: no transcription."""
    no_speech_max: float = 0.6
    """Whisper's own no-speech probability above which its text is dropped..."""
    no_speech_logprob: float = -1.0
    """...when its mean token log-probability is also below this."""
    stop_model_lag_s: float = 0.4
    """Seconds after an utterance's end in which the stop model's scores still count
    for it (a speculative final is cut before the model has peaked)."""
    peek_probability: float = 0.5
    """Stop-model probability at which the utterance so far is transcribed at once
    (`peek`), so a stop is confirmed before the breath ends."""
    peek_final_frames: int = 4
    """Speech frames (30 ms) the VAD may still hear after a peek for the peek's
    reading, when it is a phrase, to stand as the utterance's final. The stop model
    passes 0.5 on most one-word commands ("no", "yes") as they end, the VAD's tail
    still running; the early transcription then waited behind the peek. Standing for
    it (asr_eval's 85 clips fed in real time, the same day, real-time factor 0.185):
    end of speech -> final p50/p95 410/531 -> 371/429 ms; human-full and espeak-ng
    figures alike ("no" 142 -> 143 of 147, as answers 139 -> 140)."""
