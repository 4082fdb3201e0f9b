"""The stop path in virtual time: every stop and pain rule, no threads, no audio."""

from __future__ import annotations

import pytest

from tests.support.coach_sim import grammar
from voice.listen.asr.base import Hypothesis
from voice.listen.asr.stop_detector import StopTrigger
from voice.session.stop_path import (
    Duck,
    Hear,
    Ignore,
    Rejected,
    Release,
    Restart,
    Settle,
    Silence,
    StopPath,
    StopPathSettings,
    VerdictKind,
)

SETTINGS = StopPathSettings(release_s=1.2, confirm_s=1.5, max_utterance_s=4.0, cut_quiet_s=1.0)


def partial(text: str) -> Hypothesis:
    return Hypothesis(text=text, final=False, start_s=0.0, end_s=0.1)


def final(text: str, rejected: str = "") -> Hypothesis:
    return Hypothesis(text=text, final=True, start_s=0.0, end_s=0.5, rejected=rejected)


def path(echo: set[str] | None = None, coach_says_stop: bool = False) -> StopPath:
    echoes = echo or set()
    return StopPath(
        grammar(),
        SETTINGS,
        echo=lambda text, start, end, safety: "echo" if text in echoes else None,
        coach_says=lambda word, now: coach_says_stop,
    )


def heard(decisions: list[object]) -> list[str]:
    return [d.text for d in decisions if isinstance(d, Hear)]


def test_a_stop_partial_silences_at_once_and_its_final_is_heard() -> None:
    p = path()
    out = p.results([partial("stop")], 10.0, 1.0)
    assert out[0] == Silence(pain=False, text="stop", partial=True)
    assert p.pending == "stop"
    out = p.results([final("stop")], 10.2, 1.2)
    assert Settle() in out and Silence(pain=False, text="stop") in out
    assert heard(out) == ["stop"] and out[-1] == Hear("stop", grammar().parse("stop"))
    assert p.pending is None


def test_a_partial_without_a_stop_does_nothing() -> None:
    p = path()
    assert p.results([partial("next")], 10.0, 1.0) == []
    assert p.pending is None


def test_a_pain_partial_can_be_taken_back_by_a_final() -> None:
    p = path()
    out = p.results([partial("ow")], 10.0, 1.0)
    assert out[0] == Silence(pain=True, text="ow", partial=True)
    out = p.results([final("now")], 10.2, 1.2)
    assert heard(out) == ["now"] and not any(isinstance(d, Settle) for d in out)


def test_a_stop_partial_is_not_taken_back_by_another_command() -> None:
    p = path()
    p.results([partial("stop")], 10.0, 1.0)
    out = p.results([final("the tight hug please")], 10.3, 1.3)
    assert heard(out) == ["stop"]
    assert next(d for d in out if isinstance(d, Hear)).confirmed


def test_a_partial_whose_final_is_rejected_still_stands() -> None:
    p = path()
    p.results([partial("that hurts")], 10.0, 1.0)
    out = p.results([final("", rejected="low score")], 10.4, 1.4)
    assert out[0] == Rejected("low score")
    assert Silence(pain=True, text="that hurts") in out
    assert heard(out) == ["that hurts"]


def test_a_partial_is_confirmed_after_confirm_s_without_a_final() -> None:
    p = path()
    p.results([partial("stop")], 10.0, 1.0)
    assert p.tick(11.4) == []  # still waiting
    out = p.tick(11.6)
    assert out[0] == Settle() and heard(out) == ["stop"]
    assert p.tick(20.0) == []  # once


def test_the_stop_model_ducks_speech_and_releases_after_release_s() -> None:
    p = path()
    trigger = StopTrigger(time_s=3.0, probability=0.7)
    assert p.trigger(trigger, 10.0, speaking=True) == [Duck()]
    assert p.trigger(trigger, 10.1, speaking=True) == []  # already ducked
    assert p.tick(11.1) == []
    assert p.tick(11.2) == [Release()]
    assert not p.ducked


def test_no_duck_while_the_coach_is_silent() -> None:
    assert path().trigger(StopTrigger(3.0, 0.9), 10.0, speaking=False) == []


def test_no_duck_on_the_coach_s_own_stop() -> None:
    p = path(echo={"stop"}, coach_says_stop=True)
    assert p.trigger(StopTrigger(3.0, 0.9), 10.0, speaking=True) == []
    # A quiet user's stop under the coach's voice (not its own "stop") still ducks.
    assert path(coach_says_stop=True).trigger(StopTrigger(3.0, 0.9), 10.0, True) == [Duck()]


def test_a_duck_is_released_by_a_final_with_another_command() -> None:
    p = path()
    p.trigger(StopTrigger(3.0, 0.6), 10.0, speaking=True)
    out = p.results([final("next")], 10.3, 1.3)
    assert heard(out) == ["next"] and out[-1] == Release()
    assert not p.ducked


def test_a_duck_confirmed_by_a_stop_partial_is_released_into_the_silence() -> None:
    p = path()
    p.trigger(StopTrigger(3.0, 0.6), 10.0, speaking=True)
    out = p.results([partial("stop")], 10.1, 1.1)
    assert out == [Silence(pain=False, text="stop", partial=True), Release()]
    assert not any(isinstance(d, Release) for d in p.tick(12.0))  # not ducked any more


def test_echo_judged_results_are_ignored() -> None:
    p = path(echo={"stop", "next"})
    out = p.results([partial("stop"), final("stop")], 10.0, 1.0)
    assert out == [Ignore("stop", "echo"), Restart()]  # the rest of the block is dropped
    assert p.pending is None
    assert p.results([final("next")], 10.5, 1.5) == [Ignore("next", "echo")]


def test_a_long_utterance_is_cut_only_when_quiet_and_only_for_safety() -> None:
    p = path()
    assert not p.should_cut(3.9, 10.0)
    assert p.should_cut(4.1, 10.0)
    p.trigger(StopTrigger(3.0, 0.6), 10.0, speaking=False)
    assert not p.should_cut(4.1, 10.5)  # the stop model heard a word
    assert p.should_cut(4.1, 11.1)
    p.results([partial("next")], 12.0, 1.0)
    assert not p.should_cut(4.1, 12.5)  # a partial came
    cut = p.results([final("the tight hug please")], 14.0, 5.0, cut=True)
    assert cut == []
    cut = p.results([final("stop")], 14.0, 5.0, cut=True)
    assert heard(cut) == ["stop"]


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("stop", VerdictKind.STOP),
        ("that hurts", VerdictKind.PAIN),
        ("next", VerdictKind.COMMAND),
        ("flibber", VerdictKind.NONE),
    ],
)
def test_the_verdict_on_a_final(text: str, kind: VerdictKind) -> None:
    assert path()._verdict(final(text)).kind is kind


def test_the_verdict_sees_the_triggers_of_the_utterance() -> None:
    p = path()
    p.trigger(StopTrigger(3.0, 0.6), 10.0, speaking=False)
    assert [(t.time_s, t.probability, t.at) for t in p._triggers] == [(3.0, 0.6, 10.0)]
    p.results([final("stop")], 10.3, 1.3)
    assert p._triggers == []  # a new utterance starts with none
