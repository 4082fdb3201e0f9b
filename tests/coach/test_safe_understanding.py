"""Safe understanding: pain anywhere, negation, paraphrases, and the dialogue rules around them."""

from __future__ import annotations

import pytest

from tests.support.coach_sim import T0, Sim, book, grammar
from voice.coach import lines
from voice.coach.actions import FlushSpeech, Say, SayKind, SessionStart, SpeechDone, StopAll
from voice.coach.dialogue import State
from voice.coach.memory import PainReported, SafetyMemory, Screening, ScreeningAnswered
from voice.coach.plan import speaking_s
from voice.coach.safety_words import Reading, read_safety

SCREENED = Screening(False, T0 - 1)

# ----- the utterance table: text -> intent (None: no command) -----

UTTERANCES: list[tuple[str, str | None]] = [
    # pain, anywhere in what is said
    ("pain", "PainStop"), ("stop, pain", "PainStop"), ("stop stop pain", "PainStop"),
    ("ouch", "PainStop"), ("ow", "PainStop"), ("ow ow", "PainStop"),
    ("it hurts", "PainStop"), ("that hurts", "PainStop"), ("hurts", "PainStop"),
    ("it's painful", "PainStop"), ("that's painful", "PainStop"),
    ("this is really painful", "PainStop"), ("my back hurts", "PainStop"),
    ("my neck is hurting", "PainStop"), ("stop it hurts", "PainStop"),
    ("no, it hurts", "PainStop"), ("no it hurts", "PainStop"),
    ("okay that hurts a lot", "PainStop"), ("I think I pulled something, pain", "PainStop"),
    ("it doesn't stop hurting", "PainStop"), ("not too painful", "PainStop"),
    ("hmm, that is not that painful", "PainStop"), ("ouch, no pain", "PainStop"),
    ("it hurt", "PainStop"), ("No. Pain!", "PainStop"),
    # negated pain: an answer, never a pain stop
    ("no pain", "No"), ("no pain at all", "No"), ("pain free", "No"), ("pain-free", "No"),
    ("not painful", "No"), ("it's not painful", "No"), ("that is not painful", "No"),
    ("no, it didn't hurt", "No"), ("it didn't hurt", "No"), ("it does not hurt", "No"),
    ("that doesn't really hurt", "No"), ("I don't have any pain", "No"),
    ("I'm not in pain", "No"), ("no more pain", "No"), ("without pain", "No"),
    # stop, and the negation that means carry on
    ("stop", "Stop"), ("stop stop", "Stop"), ("stop it", "Stop"), ("stop now", "Stop"),
    ("cancel", "Stop"), ("enough", "Stop"), ("please stop now", "Stop"),
    ("no, stop", "Stop"), ("wait wait stop", "Stop"),
    ("don't stop", "Resume"), ("do not stop", "Resume"), ("please don't stop", "Resume"),
    ("keep going", "Resume"), ("carry on", "Resume"), ("continue", "Resume"),
    # paraphrases people use
    ("what's next", "Next"), ("what is next", "Next"), ("next", "Next"),
    ("skip", "Next"), ("skip them", "Next"),
    ("I'm done", "EndSession"), ("i am done", "EndSession"), ("goodbye", "EndSession"),
    ("ok go", "Now"), ("okay go", "Now"),
    # whisper writes an espeak "that hurts" as "let's go" under load: no such command
    ("let's go", None),
    ("now", "Now"),
    ("can you repeat that", "Repeat"), ("could you repeat it", "Repeat"),
    ("say that again", "Repeat"), ("what did you say", "Repeat"),
    ("ready", "Ready"), ("I'm ready", "Ready"), ("partner ready", "Ready"),
    ("yes", "Yes"), ("yeah", "Yes"), ("okay", "Yes"), ("no", "No"), ("nope", "No"),
    ("start the hug", "StartRoutine"), ("start rotation", "StartRoutine"),
    ("change my screening answer", "ChangeScreening"),
    ("answer the safety question again", "ChangeScreening"),
    # pain ratings
    ("seven", "PainRating"), ("7", "PainRating"), ("7/10", "PainRating"),
    ("it's a seven", "PainRating"), ("about five out of ten", "PainRating"),
    ("that's an eight", "PainRating"), ("zero", "PainRating"),
    # not a command
    ("what a lovely day", None), ("I went to the shop", None), ("", None),
]  # fmt: skip


def test_the_table_is_large_enough() -> None:
    assert len(UTTERANCES) >= 80


@pytest.mark.parametrize(("text", "intent"), UTTERANCES)
def test_each_utterance_has_its_intent(text: str, intent: str | None) -> None:
    parse = grammar().parse(text)
    assert (parse.intent if parse else None) == intent, (text, parse)


@pytest.mark.parametrize(
    ("text", "value"), [("7/10", 7), ("it's a seven", 7), ("about five out of ten", 5), ("0", 0)]
)
def test_ratings_carry_their_value(text: str, value: int) -> None:
    parse = grammar().parse(text)
    assert parse is not None and parse.slots == {"value": value}


def test_no_grammar_sentence_outside_pain_reads_as_pain() -> None:
    g = grammar()
    for intent, sentences in g.by_intent().items():
        if intent == "PainStop":
            assert all(read_safety(s) is Reading.PAIN for s in sentences), intent
        else:
            assert not [s for s in sentences if read_safety(s) is Reading.PAIN], intent


# ----- the same phrases in several states -----


def _in(state: str, routine: str = "hand extension") -> Sim:
    sim = Sim.new(SafetyMemory(screening=SCREENED))
    if state == "idle":
        return sim
    sim.say(f"start {routine}")
    if state == "waiting":
        return sim
    sim.say("ready")
    if state == "hold":
        sim.advance(4)
        assert sim.state is State.HOLD
        return sim
    if state == "stopped":
        sim.advance(4)
        sim.say("stop")
        assert sim.state is State.STOPPED
        return sim
    if state == "pain_followup":
        sim.advance(4)
        sim.say("pain")
        assert sim.state is State.PAIN_FOLLOWUP
        return sim
    raise AssertionError(state)


@pytest.mark.parametrize("state", ["idle", "waiting", "hold", "stopped", "pain_followup"])
@pytest.mark.parametrize("text", ["my back hurts", "it's painful", "that hurts", "ouch"])
def test_pain_anywhere_starts_the_pain_protocol_in_every_state(state: str, text: str) -> None:
    sim = _in(state)
    mark = sim.mark()
    sim.say(text)
    assert sim.stops()[-1].pain and sim.log[mark][1] == StopAll(pain=True)
    assert sim.state is State.PAIN_FOLLOWUP


@pytest.mark.parametrize("text", ["no pain", "pain free", "no, it didn't hurt", "not painful"])
def test_negated_pain_after_did_that_hurt_is_no(text: str) -> None:
    sim = _in("stopped")
    mark = sim.mark()
    sim.say(text)
    assert sim.state is State.PAUSED  # "Good. The routine is paused."
    assert not sim.stops()[1:] and not [r for r in sim.records() if isinstance(r, PainReported)]
    assert lines.NOT_PAIN_PAUSED in sim.said(mark)


@pytest.mark.parametrize("state", ["waiting", "hold"])
@pytest.mark.parametrize("text", ["don't stop", "do not stop", "no pain"])
def test_negations_never_stop_a_running_routine(state: str, text: str) -> None:
    sim = _in(state)
    before = sim.state
    sim.say(text)
    assert not sim.stops() and sim.state is before


def test_no_pain_when_asked_how_strong_is_a_zero() -> None:
    sim = _in("pain_followup")
    sim.say("no pain")
    report = [r for r in sim.records() if isinstance(r, PainReported)][-1]
    assert report.rating == 0 and report.locked_until is None


# ----- dialogue rules -----


def test_a_rating_of_zero_locks_nothing() -> None:
    sim = _in("pain_followup")
    sim.say("zero")
    report = [r for r in sim.records() if isinstance(r, PainReported)][-1]
    assert report.rating == 0 and report.locked_until is None
    assert lines.PAIN_ZERO in sim.said()
    sim.now += 30 * 60  # past the cooldown
    sim.say("start hand extension")
    assert sim.coach.routine is not None


def test_a_bare_no_to_how_strong_still_locks_the_region() -> None:
    sim = _in("pain_followup")
    sim.say("no")
    report = [r for r in sim.records() if isinstance(r, PainReported)][-1]
    assert report.rating is None and report.locked_until is not None


def test_strong_pain_earlier_today_refuses_every_routine_in_a_later_session() -> None:
    memory = SafetyMemory(screening=SCREENED, no_routines_until=T0 + 3600, strong_pain_rating=8)
    sim = Sim.new(memory)
    for routine in ("rotation", "foam roller", "bed edge stretch"):
        mark = sim.mark()
        sim.say(f"start {routine}")
        assert sim.coach.routine is None
        assert lines.no_routines_today(8) in sim.said(mark)
    sim.now = T0 + 3601
    sim.say("start rotation")
    assert sim.coach.routine is not None


def _partner_lift() -> Sim:
    sim = Sim.new(SafetyMemory(screening=SCREENED))
    sim.say("start hug from behind")
    sim.say("ready")
    sim.say("now")  # "Partner, lift now." and the hold
    assert sim.state is State.HOLD
    return sim


@pytest.mark.parametrize("text", ["stop", "it hurts", "end session"])
def test_a_partner_hears_to_set_you_down_before_anything_else(text: str) -> None:
    sim = _partner_lift()
    mark = sim.mark()
    sim.say(text)
    first = next(a for _, a in sim.log[mark:] if isinstance(a, Say))
    assert first.text == lines.PARTNER_LET_GO and first.kind is SayKind.PARTNER


def test_end_of_input_mid_lift_tells_the_partner_and_says_come_up_slowly() -> None:
    sim = _partner_lift()
    actions = sim.coach.finish(sim.now)
    said = [a.text for a in actions if isinstance(a, Say)]
    assert said[:2] == [lines.PARTNER_LET_GO, lines.COME_UP_SLOWLY]
    assert isinstance(actions[0], FlushSpeech) or isinstance(actions[1], FlushSpeech)


def test_no_partner_line_in_a_routine_without_a_partner() -> None:
    sim = _in("hold")
    mark = sim.mark()
    sim.say("stop")
    assert lines.PARTNER_LET_GO not in sim.said(mark)


def _play_until(sim: Sim, state: State) -> None:
    """Finish the queued lines one at a time until the coach is in `state`."""
    while sim.state is not state:
        assert sim.pending, sim.state
        sim.feed(SpeechDone(sim.now, sim.pending.pop(0)))


def test_now_said_while_the_coach_speaks_cuts_the_line_and_goes_on() -> None:
    sim = Sim.new(SafetyMemory(screening=SCREENED))
    sim.auto_speech = False
    sim.say("start hug from behind")
    _play_until(sim, State.WAITING)
    sim.say("ready")  # rep one: "Breathe all the way out, and say now ..." is being said
    assert sim.state is State.STEP and sim.coach._await is not None
    mark = sim.mark()
    actions = sim.say("now")
    assert any(isinstance(a, FlushSpeech) for a in actions)
    assert sim.said(mark) == ["Partner, lift now."]
    assert not sim.stops()


def test_ready_said_while_a_step_is_spoken_starts_it() -> None:
    sim = Sim.new(SafetyMemory(screening=SCREENED))
    sim.auto_speech = False
    sim.say("start hand extension")
    _play_until(sim, State.STEP)  # the first step's instruction, which asks for ready
    assert sim.coach._await is not None
    actions = sim.say("ready")
    assert any(isinstance(a, FlushSpeech) for a in actions)
    run = sim.coach._run
    assert run is not None and (run.signalled or run.index > 0)
    assert sim.state in (State.HOLD, State.STEP)


def test_ready_during_the_partner_briefing_does_not_cut_it() -> None:
    sim = Sim.new(SafetyMemory(screening=SCREENED))
    sim.auto_speech = False
    sim.say("start tight hug")
    assert sim.state is State.BRIEFING
    actions = sim.say("ready")
    assert not any(isinstance(a, FlushSpeech) for a in actions)
    assert not [a for a in actions if isinstance(a, Say)]  # no "Sorry, I didn't catch that"
    sim.done()  # the partner hears every instruction, then the first step follows
    said = sim.said()
    for line in book().get("tight_hug").partner.instructions:  # type: ignore[union-attr]
        assert line in said


def test_ready_during_a_briefing_that_asks_for_ready_goes_straight_on() -> None:
    # A routine (your own, say) whose first step does not wait for ready: its
    # briefing ends with "Say ready when you are in position"; an early ready answers it.
    import dataclasses

    from voice.coach.dialogue import Coach
    from voice.coach.routines import RoutineBook

    rotation = book().get("rotation")
    first = dataclasses.replace(rotation.steps[0], wait_for=None)
    own = dataclasses.replace(rotation, steps=(first, *rotation.steps[1:]))
    variant = RoutineBook({**book().routines, "rotation": own}, book().precautions)
    sim = Sim(Coach(variant, SafetyMemory(screening=SCREENED)), now=T0)
    sim.auto_speech = False
    sim.feed(SessionStart(T0))
    sim.say("start rotation")
    assert sim.state is State.BRIEFING
    sim.say("ready")
    sim.done()
    assert lines.SAY_READY in sim.said()  # it was already queued
    run = sim.coach._run
    assert run is not None and run.briefed  # nobody waits for a second ready


def test_the_screening_answer_cannot_be_changed_in_the_pain_questions() -> None:
    sim = _in("pain_followup")
    sim.say("change my screening answer")
    assert sim.state is State.PAIN_FOLLOWUP
    sim.say("five")
    assert [r.rating for r in sim.records() if isinstance(r, PainReported)] == [5]


def test_a_stop_while_confirming_a_screening_change_leaves_no_stale_question() -> None:
    memory = SafetyMemory(screening=SCREENED, last_worked={"lumbar": T0 - 60})
    sim = Sim.new(memory)
    sim.say("change my screening answer")
    sim.say("stop")
    sim.say("no")  # it did not hurt
    sim.say("start rotation")  # within the cooldown: "do you want to start anyway?"
    sim.say("yes")
    assert sim.coach.routine is not None and sim.coach.routine.id == "rotation"
    assert not [r for r in sim.records() if isinstance(r, ScreeningAnswered)]


def test_the_exhale_line_is_said_once() -> None:
    sim = Sim.new(SafetyMemory(screening=SCREENED))
    sim.say("start hug from behind")
    mark = sim.mark()
    sim.say("ready")
    said = sim.said(mark)
    assert sum("Breathe all the way out" in line for line in said) == 1


@pytest.mark.parametrize("answer", ["okay", "sure", "no pain"])
def test_screening_takes_only_a_clear_yes_or_no(answer: str) -> None:
    sim = Sim.new(screened=False)
    mark = sim.mark()
    sim.say(answer)
    assert sim.state is State.SCREENING
    assert not [r for r in sim.records() if isinstance(r, ScreeningAnswered)]
    assert any(lines.SCREENING_CLEAR_ANSWER in line for line in sim.said(mark))
    sim.say("yes")
    assert [r.has_condition for r in sim.records() if isinstance(r, ScreeningAnswered)] == [True]


def test_the_screening_answer_can_be_changed_after_a_confirmation() -> None:
    sim = Sim.new(SafetyMemory(screening=Screening(True, T0 - 1, "yes")))
    sim.say("change my screening answer")
    assert sim.state is State.CONFIRM and lines.CHANGE_SCREENING_CONFIRM in sim.said()
    sim.say("yes")
    assert sim.state is State.SCREENING
    sim.say("no")
    answers = [r for r in sim.records() if isinstance(r, ScreeningAnswered)]
    assert [a.has_condition for a in answers] == [False]
    sim.say("start rotation")
    assert sim.coach.routine is not None


def test_declining_to_change_the_screening_answer_keeps_it() -> None:
    sim = Sim.new(SafetyMemory(screening=Screening(True, T0 - 1, "yes")))
    sim.say("change my answer")
    sim.say("no")
    assert sim.state is State.IDLE and lines.SCREENING_KEPT in sim.said()
    assert not [r for r in sim.records() if isinstance(r, ScreeningAnswered)]
    sim.say("start rotation")
    assert sim.coach.routine is None


def test_start_the_hug_asks_which_hug() -> None:
    sim = Sim.new(SafetyMemory(screening=SCREENED))
    sim.say("start the hug")
    assert sim.coach.routine is None
    question = sim.said()[-1]
    assert "hug from behind" in question and "tight hug" in question


def test_repeat_repeats_the_instruction_not_a_confirmation() -> None:
    sim = _in("waiting")
    instruction = sim.coach._last_spoken
    sim.say("slower")
    assert sim.said()[-1] == "Slower."
    sim.say("can you repeat that")
    assert sim.said()[-1] == instruction != "Slower."
    sim.say("blah blah")  # "Sorry, I didn't catch that" is not repeated either
    sim.say("repeat")
    assert sim.said()[-1] == instruction


def test_precautions_are_read_at_a_first_session_and_skip_skips_them() -> None:
    sim = Sim.new(screened=False)
    sim.auto_speech = False
    sim.done()
    sim.say("no")
    assert sim.state is State.PRECAUTIONS
    said = sim.said()
    for line in book().precautions.spoken():
        assert line in said
    sim.say("skip")
    assert sim.state is State.IDLE
    assert isinstance(sim.log[-2][1], FlushSpeech) or any(
        isinstance(a, FlushSpeech) for _, a in sim.log[-3:]
    )


def test_precautions_read_to_the_end_leave_the_coach_ready() -> None:
    sim = Sim.new(screened=False)
    sim.say("no")
    assert sim.state is State.IDLE
    assert book().precautions.red_flags[-1] in sim.said()


def test_precautions_are_not_read_again_once_screened() -> None:
    sim = Sim.new(SafetyMemory(screening=SCREENED))
    assert book().precautions.intro not in sim.said()


def test_status_counts_the_coachs_speaking_time() -> None:
    sim = _in("waiting", "rotation")
    run = sim.coach._run
    assert run is not None
    holds_and_rests = (
        sum(m.step.hold_s + m.step.rest_s for m in run.moves) - run.moves[-1].step.rest_s
    )
    talk = sum(speaking_s(m.step.say) for m in run.moves if m.first_of_step)
    left = sim.coach._seconds_left(sim.now)
    assert left >= holds_and_rests + talk - 0.5
    assert talk > 5  # the instructions are long enough to matter


def test_trouble_hearing_is_said_once() -> None:
    from voice.coach.actions import HearingFailed

    sim = _in("hold")
    sim.feed(HearingFailed(sim.now, "RuntimeError('engine crashed')"))
    sim.feed(HearingFailed(sim.now + 1, "RuntimeError('engine crashed')"))
    assert sim.said().count(lines.TROUBLE_HEARING) == 1
    assert sim.state is State.HOLD  # the routine goes on; stop still works
