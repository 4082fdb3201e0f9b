"""The dialogue manager in virtual time: routines, safety rules, and every command."""

from __future__ import annotations

import pytest

from tests.support.coach_sim import T0, Sim, book
from voice.coach.actions import AdjustSpeech, Cue, CueKind, EndSession, FlushSpeech, Say, StopAll
from voice.coach.dialogue import (
    ASKED_RATING,
    ASKED_SIGNAL,
    ASKED_YES_NO,
    CoachSettings,
    State,
    plan_moves,
)
from voice.coach.memory import (
    Outcome,
    PainReported,
    RoutineEnded,
    RoutineStarted,
    SafetyMemory,
    Screening,
    ScreeningAnswered,
    StopHeard,
)
from voice.coach.routines import Signal

SCREENED = Screening(False, T0 - 100)


def finish_routine(sim: Sim, routine_id: str) -> None:
    """Start a routine and give every signal it waits for until it is finished."""
    sim.say(f"start the {book().get(routine_id).name}")
    for _ in range(50):
        sim.run_until_user_turn()
        if sim.state is State.FINISHED:
            return
        assert sim.state is State.WAITING, sim.state
        run_move = sim.coach._run.move  # type: ignore[union-attr]
        wanted = run_move.step.wait_for
        sim.say("now" if wanted is Signal.NOW and sim.coach._run.briefed else "ready")  # type: ignore[union-attr]
    raise AssertionError("routine did not finish")


@pytest.mark.parametrize("routine_id", sorted(book().routines))
def test_every_routine_runs_start_to_finish(routine_id: str) -> None:
    sim = Sim.new()
    routine = book().get(routine_id)
    finish_routine(sim, routine_id)
    said = " ".join(sim.said())
    for step in routine.steps:
        assert step.say in said
        if step.breath:
            assert step.breath.spoken in said
        if step.hold_s:
            assert step.timed.start_line in said  # "Hold.", or "Start rolling." for rolling
            assert step.release in said
        if step.partner_cue:
            assert step.partner_cue in said
    if routine.partner:
        assert routine.partner.size in said
        for line in routine.partner.instructions:
            assert line in said
    for equipment in routine.equipment:
        assert equipment in said
    assert "Well done" in sim.said()[-1]
    ended = [r for r in sim.records() if isinstance(r, RoutineEnded)]
    assert ended and ended[-1].outcome is Outcome.COMPLETED
    assert any(isinstance(r, RoutineStarted) and r.routine == routine_id for r in sim.records())
    holds = sum(1 for m in plan_moves(routine) if m.step.hold_s)
    starts = [a for _, a in sim.log if isinstance(a, Cue) and a.kind is CueKind.HOLD_START]
    ends = [a for _, a in sim.log if isinstance(a, Cue) and a.kind is CueKind.HOLD_END]
    assert len(starts) == len(ends) == holds


def test_hold_counts_down_on_time() -> None:
    sim = Sim.new()
    sim.say("start hand extension")
    sim.say("ready")
    sim.run_until_user_turn(limit_s=0)  # nothing fires before time passes
    hold_start = sim.cue_times(CueKind.HOLD_START)[0]
    sim.advance(15.5)
    timed = {text: t - hold_start for t, text in sim.said_with_time() if t >= hold_start}
    assert timed["Hold."] == 0
    assert timed["Halfway. Keep breathing."] == pytest.approx(7.5)
    assert timed["three"] == pytest.approx(12)
    assert timed["two"] == pytest.approx(13)
    assert timed["one"] == pytest.approx(14)
    end = sim.cue_times(CueKind.HOLD_END)[0]
    assert end - hold_start == pytest.approx(15)


def test_reps_and_sides_are_announced() -> None:
    sim = Sim.new()
    finish_routine(sim, "hand_extension")
    said = sim.said()
    assert "Rep one of three." in said and "Rep three of three." in said
    sim2 = Sim.new()
    finish_routine(sim2, "rotation")
    assert "Left side." in sim2.said() and "Now the right side." in sim2.said()


def test_briefing_says_what_is_needed() -> None:
    sim = Sim.new()
    mark = sim.mark()
    sim.say("start the foam roller")
    said = " ".join(sim.said(mark))
    assert "a foam roller" in said and "on the floor" in said
    sim.say("stop")
    sim.say("no")
    mark = sim.mark()
    sim.say("start tight hug")
    assert "equal or greater size" in " ".join(sim.said(mark))


# ----- stop and pain in every state -----


def _to_state(target: str) -> Sim:
    sim = Sim.new(screened=target != "screening")
    if target in ("idle", "screening"):
        return sim
    if target == "confirm":
        sim = Sim.new(SafetyMemory(screening=SCREENED, last_worked={"lumbar": T0 - 60}))
        sim.say("start rotation")
        return sim
    if target == "finished":
        finish_routine(sim, "hand_extension")
        return sim
    if target == "briefing":
        sim.auto_speech = False
        sim.say("start the bed edge stretch")
        return sim
    sim.say("start hand extension")
    if target == "waiting":
        return sim
    if target == "step":
        sim.auto_speech = False
        sim.say("ready")
        return sim
    sim.say("ready")
    if target == "hold":
        sim.advance(4)
        return sim
    if target == "rest":
        sim.advance(15.2)
        return sim
    if target == "paused":
        sim.advance(4)
        sim.say("pause")
        return sim
    raise AssertionError(target)


STATES = ["idle", "screening", "confirm", "briefing", "waiting", "step", "hold", "rest",
          "paused", "finished"]  # fmt: skip


@pytest.mark.parametrize("target", STATES)
def test_stop_silences_first_in_every_state(target: str) -> None:
    sim = _to_state(target)
    assert sim.state.value == target
    actions = sim.say("stop")
    assert isinstance(actions[0], StopAll) and not actions[0].pain
    assert sim.coach.wakeup_at is None
    assert sim.state is State.STOPPED
    assert any(isinstance(a, Say) and "Did that hurt" in a.text for a in actions)
    # Time passes: nothing more is said, no count continues.
    mark = sim.mark()
    sim.advance(60)
    assert sim.said(mark) == []


@pytest.mark.parametrize("target", STATES)
def test_pain_stop_in_every_state(target: str) -> None:
    sim = _to_state(target)
    in_routine = sim.coach.routine
    actions = sim.say("ouch that hurts")
    assert isinstance(actions[0], StopAll) and actions[0].pain
    assert sim.state is State.PAIN_FOLLOWUP
    assert book().precautions.pain_message in sim.said()
    sim.say("four")
    pain = [r for r in sim.records() if isinstance(r, PainReported)]
    assert pain and pain[-1].rating == 4 and not pain[-1].red_flag_advice
    assert sim.state is State.IDLE
    if in_routine is not None:
        assert pain[-1].region == in_routine.region.value
        ended = [r for r in sim.records() if isinstance(r, RoutineEnded)]
        assert ended[-1].outcome is Outcome.PAIN


def test_the_coach_waits_for_an_answer_only_while_it_asks_for_one() -> None:
    """`Coach.asked` lets the recognizer take a near miss for a rating ("free"), and
    an answer the engine also saw ("no" written "now") for yes or no."""
    sim = _to_state("hold")
    assert sim.coach.asked == frozenset()
    sim.say("stop")
    assert sim.coach.asked == ASKED_YES_NO  # "Did that hurt?"
    sim.say("yes")
    assert sim.coach.asked == ASKED_RATING
    sim.say("three")
    assert sim.coach.asked == frozenset()


def test_the_screening_and_a_confirmation_wait_for_yes_or_no() -> None:
    assert _to_state("screening").coach.asked == ASKED_YES_NO
    assert _to_state("confirm").coach.asked == ASKED_YES_NO
    assert _to_state("waiting").coach.asked == ASKED_SIGNAL  # "now" is a signal there


def test_the_coach_waits_for_a_signal_only_while_a_step_waits_to_begin() -> None:
    """Elsewhere "now" means nothing, and the recognizer takes a "no" the engine
    wrote as "now" for the "no" (`voice.session.stop_path`)."""
    sim = Sim.new()
    sim.auto_speech = False
    sim.say("start the hug from behind")
    assert sim.state is State.BRIEFING and sim.coach.asked == ASKED_SIGNAL  # an early "ready"
    sim.done()
    sim.run_until_user_turn()
    assert sim.state is State.WAITING and sim.coach.asked == ASKED_SIGNAL
    sim.say("ready")
    # The next step's line is said, and it waits for the partner's "now".
    assert sim.state is State.STEP and sim.coach.asked == ASKED_SIGNAL
    sim.done()
    sim.run_until_user_turn()
    assert sim.coach._run.move.step.wait_for is Signal.NOW  # type: ignore[union-attr]
    sim.say("now")
    assert sim.state is State.STEP and sim.coach.asked == frozenset()  # the partner's cue
    sim.done()
    sim.run_until_user_turn()
    assert sim.state is State.REST and sim.coach.asked == frozenset()


def test_stop_then_yes_is_the_pain_protocol_and_locks_the_region() -> None:
    sim = _to_state("hold")
    sim.say("stop")
    sim.say("yes")
    assert sim.state is State.PAIN_FOLLOWUP
    sim.say("eight")
    said = " ".join(sim.said())
    for flag in book().precautions.red_flags:
        assert flag in said
    assert book().precautions.urgent_advice in said
    report = [r for r in sim.records() if isinstance(r, PainReported)][-1]
    assert report.red_flag_advice and report.rating == 8 and report.region == "lumbar"
    assert report.locked_until == T0 + 86400
    stops = [r for r in sim.records() if isinstance(r, StopHeard)]
    assert stops and stops[0].routine == "hand_extension"
    # A rating of 7 or more: no routine at all for the rest of the day, and why.
    for routine in ("start rotation", "start the foam roller"):
        mark = sim.mark()
        sim.say(routine)
        assert "eight out of ten today" in " ".join(sim.said(mark))
        assert "not do any routine again today" in " ".join(sim.said(mark))
        assert sim.coach.routine is None
    sim.now = T0 + 86400 + 60  # the next day
    sim.say("start the foam roller")
    assert sim.coach.routine is not None and sim.coach.routine.id == "foam_roller"


def test_a_moderate_pain_locks_only_its_region() -> None:
    sim = _to_state("hold")
    sim.say("stop, it hurts")
    sim.say("it's a five")
    mark = sim.mark()
    sim.say("start rotation")
    assert "resting for the rest of today" in " ".join(sim.said(mark))
    assert sim.coach.routine is None
    sim.say("start the foam roller")
    assert sim.coach.routine is not None and sim.coach.routine.id == "foam_roller"


def test_pain_lock_ends_with_the_day() -> None:
    memory = SafetyMemory(screening=SCREENED, locked_until={"lumbar": T0 + 10})
    sim = Sim.new(memory, start=T0 + 20)
    sim.say("start rotation")
    assert sim.coach.routine is not None


def test_stop_then_no_pauses_and_resume_continues() -> None:
    sim = _to_state("waiting")
    sim.say("stop")
    sim.say("no")
    assert sim.state is State.PAUSED
    sim.say("resume")
    assert sim.state is State.WAITING


def test_pain_rating_re_asks_and_accepts_no() -> None:
    sim = _to_state("hold")
    sim.say("pain")
    mark = sim.mark()
    sim.say("next")
    assert "from zero to ten" in " ".join(sim.said(mark))
    sim.say("no")
    assert [r for r in sim.records() if isinstance(r, PainReported)][-1].rating is None


# ----- pause, resume, jumps -----


def test_pause_freezes_and_resume_restarts_the_hold_after_get_ready() -> None:
    settings = CoachSettings(get_ready_s=3.0)
    sim = Sim.new(settings=settings)
    sim.say("start hand extension")
    sim.say("ready")
    sim.advance(5)
    sim.say("pause")
    assert sim.state is State.PAUSED and sim.coach.wakeup_at is None
    mark = sim.mark()
    sim.advance(100)
    assert sim.said(mark) == []
    resumed_at = sim.now
    sim.say("resume")
    assert "Get ready." in sim.said(mark)
    sim.advance(3.01)
    starts = sim.cue_times(CueKind.HOLD_START)
    assert starts[-1] == pytest.approx(resumed_at + 3.0)
    sim.advance(15)
    ends = sim.cue_times(CueKind.HOLD_END)
    assert ends[-1] - starts[-1] == pytest.approx(15.0)  # the whole hold again


def test_next_previous_status() -> None:
    sim = Sim.new()
    sim.say("start hand extension")
    sim.say("ready")
    run = sim.coach._run
    assert run is not None and run.index == 1
    actions = sim.say("next")
    assert any(isinstance(a, FlushSpeech) for a in actions)
    assert run.index == 2 and "Rep two of three." in sim.said()
    sim.say("go back")
    assert run.index == 1
    mark = sim.mark()
    sim.say("how long is left")
    status = " ".join(sim.said(mark))
    assert "Hand extension, step two of two" in status and "left" in status


def test_repeat_says_the_last_instruction_again() -> None:
    sim = Sim.new()
    sim.say("start rotation")
    instruction = book().get("rotation").steps[0].say
    mark = sim.mark()
    sim.say("say that again")
    assert sim.said(mark) == [instruction]


def test_slower_faster_louder_quieter_adjust_speech() -> None:
    sim = Sim.new()
    adjusts = [a for a in sim.say("slower") if isinstance(a, AdjustSpeech)]
    assert adjusts and adjusts[0].rate < 1.0
    assert sim.coach.timing > 1.0
    adjusts = [a for a in sim.say("louder") if isinstance(a, AdjustSpeech)]
    assert adjusts[0].volume > 1.0
    for _ in range(20):
        sim.say("faster")
    assert sim.coach.rate == pytest.approx(1.6)


def test_slower_stretches_rest_between_reps() -> None:
    def rest_gap(commands: list[str]) -> float:
        sim = Sim.new()
        for c in commands:
            sim.say(c)
        sim.say("start hand extension")
        sim.say("ready")
        sim.advance(60)
        times = [t for t, text in sim.said_with_time() if text in ("Rep two of three.",)]
        end = sim.cue_times(CueKind.HOLD_END)[0]
        return times[0] - end

    assert rest_gap(["slower"]) > rest_gap([])


def test_help_depends_on_state() -> None:
    sim = Sim.new()
    idle_help = sim.say("help")
    sim.say("start rotation")
    routine_help = sim.say("what can i say")
    idle_text = " ".join(a.text for a in idle_help if isinstance(a, Say))
    routine_text = " ".join(a.text for a in routine_help if isinstance(a, Say))
    assert "list routines" in idle_text and "pause" in routine_text
    assert "Say ready" in routine_text


def test_not_understood_gives_a_hint_for_the_state() -> None:
    sim = Sim.new(screened=False)
    assert "yes or no" in sim.said()[-1]
    actions = sim.say("banana bread")
    assert any(
        "didn't catch that" in a.text and "yes or no" in a.text
        for a in actions
        if isinstance(a, Say)
    )
    sim.say("no")
    sim.say("start the foam roller")
    sim.say("ready")
    sim.say("ready")
    actions = sim.say("purple")
    assert any("didn't catch that" in a.text for a in actions if isinstance(a, Say))


def test_end_session() -> None:
    sim = _to_state("hold")
    actions = sim.say("goodbye")
    assert any(isinstance(a, EndSession) for a in actions)
    assert sim.state is State.ENDED
    ended = [r for r in sim.records() if isinstance(r, RoutineEnded)]
    assert ended[-1].outcome is Outcome.ABANDONED
    assert sim.coach.wakeup_at is None


def test_list_routines_and_precautions() -> None:
    sim = Sim.new()
    mark = sim.mark()
    sim.say("list routines")
    text = " ".join(sim.said(mark))
    for routine in book().routines.values():
        assert routine.name in text
    mark = sim.mark()
    sim.say("read precautions")
    assert sim.said(mark) == book().precautions.spoken()


# ----- waiting, partner, re-prompt -----


def test_reprompt_once_then_wait_quietly() -> None:
    sim = Sim.new()
    sim.say("start rotation")
    assert sim.state is State.WAITING
    mark = sim.mark()
    sim.advance(7.9)
    assert sim.said(mark) == []
    sim.advance(0.2)
    assert sim.said(mark) == ["Say ready when you are in position."]
    sim.advance(300)
    assert len(sim.said(mark)) == 1


def test_partner_flow_waits_for_now_after_the_exhale() -> None:
    sim = Sim.new()
    sim.say("start hug from behind")
    sim.say("ready")  # in position
    assert sim.state is State.WAITING
    mark = sim.mark()
    sim.say("ready")  # not the signal the partner waits for
    assert "Say now" in " ".join(sim.said(mark))
    assert sim.state is State.WAITING
    mark = sim.mark()
    sim.say("now")
    said = sim.said(mark)
    assert said[0] == "Partner, lift now."
    assert sim.state is State.HOLD
    sim2 = Sim.new()
    sim2.say("start the tight hug")
    sim2.say("ready")
    sim2.say("now")
    assert "Partner, squeeze now." in sim2.said()


def test_partner_waiting_reprompts_for_now() -> None:
    sim = Sim.new()
    sim.say("start hug from behind")
    sim.say("ready")
    mark = sim.mark()
    sim.advance(8.5)
    assert sim.said(mark) == ["Say now when you have breathed out."]


# ----- screening, cooldown, frequency -----


def test_screening_yes_locks_routines_for_the_session() -> None:
    sim = Sim.new(screened=False)
    assert sim.state is State.SCREENING
    sim.say("yes")
    assert book().precautions.screening_yes in sim.said()
    answered = [r for r in sim.records() if isinstance(r, ScreeningAnswered)]
    assert answered and answered[0].has_condition
    mark = sim.mark()
    sim.say("start rotation")
    assert sim.coach.routine is None
    assert "stay locked" in " ".join(sim.said(mark))
    mark = sim.mark()
    sim.say("read precautions")
    assert sim.said(mark) == book().precautions.spoken()


def test_screening_remembered_condition_is_spoken_at_start() -> None:
    memory = SafetyMemory(screening=Screening(True, T0 - 5, "osteopenia"))
    sim = Sim.new(memory)
    assert sim.state is State.IDLE
    assert any("stay locked" in s and "osteopenia" in s for s in sim.said())


def test_screening_no_allows_routines() -> None:
    sim = Sim.new(screened=False)
    sim.say("start rotation")
    assert sim.coach.routine is None and sim.state is State.SCREENING
    sim.say("no")
    sim.say("start rotation")
    assert sim.coach.routine is not None


def test_cooldown_asks_to_confirm() -> None:
    memory = SafetyMemory(screening=SCREENED, last_worked={"lumbar": T0 - 5 * 60})
    sim = Sim.new(memory)
    mark = sim.mark()
    sim.say("start rotation")
    text = " ".join(sim.said(mark))
    assert sim.state is State.CONFIRM
    assert "five minutes ago" in text and "fifteen minutes" in text
    sim.say("no")
    assert sim.state is State.IDLE and sim.coach.routine is None
    sim.say("start rotation")
    sim.say("yes")
    assert sim.coach.routine is not None and sim.coach.routine.id == "rotation"


def test_cooldown_applies_within_a_session_and_per_region() -> None:
    sim = Sim.new()
    finish_routine(sim, "hand_extension")
    sim.advance(60)
    sim.say("start rotation")  # same region, lumbar
    assert sim.state is State.CONFIRM
    sim.say("no")
    sim.say("start the foam roller")  # thoracic: free
    assert sim.coach.routine is not None
    sim2 = Sim.new()
    finish_routine(sim2, "hand_extension")
    sim2.advance(21 * 60)
    sim2.say("start rotation")
    assert sim2.coach.routine is not None


def test_frequency_reminder_never_refuses() -> None:
    memory = SafetyMemory(screening=SCREENED, runs_today={"lumbar": 2})
    sim = Sim.new(memory)
    mark = sim.mark()
    sim.say("start rotation")
    assert "the third time today" in " ".join(sim.said(mark))
    assert sim.coach.routine is not None


def test_daily_use_reminder() -> None:
    memory = SafetyMemory(screening=SCREENED, days_used_last_week=7)
    sim = Sim.new(memory)
    mark = sim.mark()
    sim.say("start rotation")
    assert "every day this week" in " ".join(sim.said(mark))


def test_professional_advice_at_start() -> None:
    memory = SafetyMemory(screening=SCREENED, see_professional="You reported strong pain.")
    sim = Sim.new(memory)
    assert any("You reported strong pain." in s and "see a chiropractor" in s for s in sim.said())


def test_device_lost_pauses_the_routine() -> None:
    from voice.coach.actions import DeviceLost, DeviceRestored

    sim = _to_state("hold")
    sim.feed(DeviceLost(sim.now, "mic"))
    assert sim.state is State.PAUSED
    assert any("microphone was lost" in s for s in sim.said())
    sim.feed(DeviceRestored(sim.now))
    assert "Say resume" in sim.said()[-1]


def test_stop_during_screening_returns_to_the_question() -> None:
    sim = Sim.new(screened=False)
    sim.say("stop")
    sim.say("no")
    assert sim.state is State.SCREENING
    sim.say("start rotation")
    assert sim.coach.routine is None


def test_stop_during_pain_followup_keeps_the_protocol() -> None:
    sim = _to_state("hold")
    sim.say("pain")
    actions = sim.say("stop")
    assert isinstance(actions[0], StopAll)
    assert sim.state is State.PAIN_FOLLOWUP
    sim.say("two")
    assert [r for r in sim.records() if isinstance(r, PainReported)][-1].rating == 2


def test_pain_right_after_a_routine_locks_its_region() -> None:
    sim = Sim.new()
    finish_routine(sim, "rotation")
    sim.say("ouch")
    sim.say("five")
    report = [r for r in sim.records() if isinstance(r, PainReported)][-1]
    assert report.routine == "rotation" and report.region == "lumbar"
    assert report.locked_until is not None


def test_every_line_on_the_beat_of_a_hold_is_pre_synthesized() -> None:
    # A count that must be synthesized first would start late.
    from voice.coach.actions import SayKind
    from voice.speak.tts import CACHED_PHRASES

    for routine_id in book().routines:
        sim = Sim.new()
        finish_routine(sim, routine_id)
        timed = {a.text for _, a in sim.log if isinstance(a, Say) and a.kind is SayKind.COUNT}
        assert timed and timed <= set(CACHED_PHRASES), timed - set(CACHED_PHRASES)
