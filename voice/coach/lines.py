"""Every sentence the coach says, and the fixed lines synthesized once so counts are on time.

Pure functions of the facts they mention; the dialogue decides when to say them.
"""

from __future__ import annotations

from voice.text import number_to_words, ordinal_to_words

__all__ = [
    "BREATH_LINES",
    "COUNTS",
    "GET_READY",
    "HALFWAY",
    "HOLD",
    "KEEP_ROLLING",
    "RELAX",
    "START_ROLLING",
    "TIMED_PHRASES",
    "and_list",
    "see_professional_reason",
    "spoken_duration",
    "spoken_minutes",
]

HOLD = "Hold."
HALFWAY = "Halfway. Keep breathing."
START_ROLLING = "Start rolling."
KEEP_ROLLING = "Keep rolling, back and forth."
"""A rolling step's cues in place of HOLD and HALFWAY: rolling is not holding still."""
GET_READY = "Get ready."
RELAX = "Relax."
COUNTS = tuple(number_to_words(n) for n in range(21))
"""Numbers as the coach says them in a count ('three', 'two', 'one')."""

BREATH_LINES = {
    "in": "Breathe in.",
    "out": "Breathe out.",
    "full": "Breathe fully in, and all the way out.",
}
"""Breathing cue value (as in the routine files) -> what the coach says."""

TIMED_PHRASES: tuple[str, ...] = (
    *COUNTS,
    HOLD,
    HALFWAY,
    START_ROLLING,
    KEEP_ROLLING,
    GET_READY,
    RELAX,
    *BREATH_LINES.values(),
)
"""Every line spoken at a fixed moment of a hold, exactly as the dialogue manager says it."""

# ----- session -----

GREETING = (
    "Hello, I am your back coach. You can say list routines, read precautions, "
    "or start and a routine name, like start rotation. Say stop at any time, "
    "and say pain if anything hurts."
)
MIC_BACK = "The microphone is back. Say resume to go on."
MIC_LOST = "I can no longer hear you: the microphone was lost. Waiting for it to come back."
GOODBYE = "Goodbye. Take it easy on your back."
START_HINT = "Say list routines to hear what we can do, or start a routine."
SCREENING_THANKS = "Thank you. " + START_HINT
SCREENING_YES_REASON = "yes to the screening question"
STRONG_PAIN_LAST_TIME = "You reported strong pain last time."


def see_professional_before(reason: str) -> str:
    return (
        f"Before we go on: {reason} Please see a chiropractor, "
        "a physical therapist or a doctor before your next session."
    )


def see_professional_reason(worst_rating: int | None, pain_stops: int) -> str:
    """Why a professional is due (the store's facts of the last 7 days), spoken; "" for none.

    The facts only count once they reach the thresholds (`voice.coach.safety`).
    """
    from voice.coach.safety import PAIN_STOPS_SEE_PROFESSIONAL, RATING_SEE_PROFESSIONAL

    reasons = []
    if worst_rating is not None and worst_rating >= RATING_SEE_PROFESSIONAL:
        reasons.append(f"You rated your pain {worst_rating} out of 10 in the last 7 days.")
    if pain_stops >= PAIN_STOPS_SEE_PROFESSIONAL:
        reasons.append(f"You stopped for pain {pain_stops} times in the last 7 days.")
    return " ".join(reasons)


def screening_lock(reason: str) -> str:
    told = f" You told me: {reason}." if reason else ""
    return (
        "The routines stay locked, because you reported osteoarthritis, osteopenia, "
        f"osteoporosis, or a recent back injury or surgery.{told} Please get guidance "
        "from a professional first. The profile can be reset with backcoach profile reset."
    )


# ----- helpers -----


def spoken_minutes(minutes: int) -> str:
    return "one minute" if minutes == 1 else f"{number_to_words(minutes)} minutes"


def spoken_duration(seconds: float) -> str:
    s = round(seconds)
    if s < 60:
        return f"{number_to_words(s)} seconds"
    minutes, rest = divmod(s, 60)
    text = spoken_minutes(minutes)
    return text + (f" and {number_to_words(rest)} seconds" if rest else "")


def and_list(items: tuple[str, ...]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


# ----- moves -----


def move_intro(side: str | None, side_number: int, rep: int, reps: int) -> str:
    """Side and repetition announcements spoken before a move's instruction."""
    parts = []
    if side is not None and rep == 1:
        parts.append(f"{side.capitalize()} side." if side_number == 0 else f"Now the {side} side.")
    if reps > 1:
        parts.append(f"Rep {number_to_words(rep)} of {number_to_words(reps)}.")
    return " ".join(parts)


# ----- starting a routine -----


def region_locked(region: str) -> str:
    return (
        f"Your {region} is resting for the rest of today, because it hurt "
        "earlier. Please give it time, and see a professional if the pain stays."
    )


def cooldown_question(region: str, minutes_ago: int, minutes_left: int) -> str:
    return (
        f"You worked your {region} {spoken_minutes(minutes_ago)} ago. "
        "A joint that has released may not release again for twenty to thirty minutes. "
        f"It may release again in about {spoken_minutes(minutes_left)}. "
        "Do you want to start anyway? Say yes or no."
    )


def too_often_today(run_number: int, region: str) -> str:
    return (
        f"A reminder: this is the {ordinal_to_words(run_number)} time today for your "
        f"{region}. Do not crack your back too often. If you need it "
        "this often, please see a chiropractor or a physical therapist."
    )


EVERY_DAY_THIS_WEEK = (
    "A reminder: you have done this every day this week. Do not crack your back "
    "too often. A chiropractor or physical therapist can help with the cause."
)


# ----- pain -----

PAIN_HOW_STRONG = "How strong is the pain, from zero to ten?"


def pain_rated(rating: int) -> str:
    return f"Thank you. You rated the pain {number_to_words(rating)}. Rest now, and move gently."


PAIN_NO_RATING = "All right. Rest now, and move gently."


def region_done_today(region: str) -> str:
    return f"Your {region} is done for today."


# ----- prompts, hints and help -----

SCREENING_FIRST = "Please answer yes or no first. "
"""Said before the screening question when something else was heard."""
PAIN_RATING_PROMPT = "Please tell me how strong the pain is, from zero to ten."
LEAVE_IT = "All right, we will leave it for now."

HINT_SCREENING = "Please say yes or no."
HINT_PRECAUTIONS = "Say skip to skip the precautions."
SCREENING_AFTER_ROUTINE = "Let us finish this first; then say change my screening answer."
HINT_PAIN_RATING = "Say a number from zero to ten."
HINT_STOPPED = "Did it hurt? Say yes or no."
HINT_CONFIRM = "Say yes to start anyway, or no."
HINT_PAUSED = "Say resume to go on, next to skip, or end session."
HINT_IN_ROUTINE = "You can say pause, next, repeat, or stop."
HINT_IDLE = "Say help to hear what you can say."


def not_understood(hint: str) -> str:
    return f"Sorry, I didn't catch that. {hint}"


HELP_IN_ROUTINE = (
    "During a routine you can say: pause, resume, next, go back, repeat, "
    "how long is left, slower, faster, louder, quieter, or stop. Say pain if it hurts."
)
HELP_IDLE = (
    "You can say: list routines, start and a routine name, read precautions, "
    "slower, faster, louder, quieter, or end session. Say stop or pain at any time."
)
NOTHING_TO_REPEAT = "There is nothing to repeat yet."


def routine_entry(name: str, region: str, partner: bool) -> str:
    """One routine in the list: its name, region, and whether it needs a partner."""
    return f"{name}, for the {region}{', with a partner' if partner else ''}"


def routine_list(entries: list[str]) -> str:
    return "I can guide you through: " + "; ".join(entries) + ". Say start and a name."


# ----- status -----

NO_ROUTINE_RUNNING = "No routine is running. Say list routines to hear what we can do."
WE_ARE_PAUSED = "We are paused."


def status(
    routine: str, step: int, steps: int, side: str | None, seconds_left: float, paused: bool
) -> str:
    """Where the routine is: step of steps, side, time left, paused."""
    parts = [f"{routine.capitalize()}, step {number_to_words(step)} of {number_to_words(steps)}."]
    if side:
        parts.append(f"{side.capitalize()} side.")
    parts.append(
        f"About {spoken_duration(seconds_left)} left." if seconds_left >= 1 else "Almost done."
    )
    if paused:
        parts.append(WE_ARE_PAUSED)
    return " ".join(parts)


# ----- a routine -----

UNKNOWN_ROUTINE = "I don't know that routine. Say list routines to hear them."
SAY_READY = "Say ready when you are in position."
SAY_NOW = "Say now when you have breathed out."
SAY_NOW_FOR_PARTNER = "Say now when you have breathed out, and your partner will go."
SAY_START = "Say start and a routine name, or list routines."
SAME_AGAIN = "Same again."
"""A repetition after the first: the instruction is not read again."""


def starting(name: str, intro: str) -> str:
    return f"Starting the {name}. {intro}"


def briefing_needs(equipment: tuple[str, ...], partner_size: str | None, position: str) -> str:
    """What the routine needs (equipment, a partner of some size) and where to start."""
    needs = []
    if equipment:
        needs.append("You need " + and_list(equipment) + ".")
    if partner_size is not None:
        needs.append(f"You need a partner {partner_size}.")
    needs.append(f"Start {position}.")
    return " ".join(needs)


def finished(name: str, steps: int, holds: int, sides: list[str], region: str) -> str:
    done = f"You finished the {name}: {number_to_words(steps)} steps"
    if holds:
        done += f", {number_to_words(holds)} holds"
    if sides:
        done += f", on the {' and '.join(sides)} sides"
    return (
        f"Well done. {done}. Your {region} may not release again for twenty "
        "to thirty minutes, so let it rest now. Say list routines, or end session."
    )


# ----- pause, resume, jumps -----

NOTHING_TO_PAUSE = "Nothing is running to pause."
PAUSED = "Paused. Say resume when you are ready."
NOTHING_PAUSED = "Nothing is paused."
NOT_PAUSED = "We are not paused."
RESUMING = "Resuming."
NO_ROUTINE_TO_JUMP = "No routine is running. Say start and a routine name."
SKIPPING_AHEAD = "Skipping ahead."
GOING_BACK = "Going back."


# ----- stop -----

STOPPED = "Stopped. Did that hurt? Say yes or no."
NOT_PAIN_PAUSED = "Good. The routine is paused. Say resume to go on, next to skip, or end session."
NOT_PAIN = "Good. "
"""Said before the screening question when a stop did not hurt."""
NOT_PAIN_IDLE = "Good. Say help to hear what you can say."

# ----- safe understanding -----

TROUBLE_HEARING = (
    "I am having trouble hearing you. Stop still works: say stop, or type your "
    "commands and press Enter."
)
MEMORY_RECOVERED = (
    "Your safety memory was damaged, so I started a new one. Today's pain limits "
    "and your safety answer were recovered."
)
MEMORY_LOST = (
    "Your safety memory was damaged, so I started a new, empty one. "
    "I will ask the safety question again."
)
NOT_SAVING = (
    "I cannot save your history right now. Your safety limits still hold for this "
    "session. The message on the screen says what to fix."
)

PARTNER_LET_GO = "Partner, set them down gently and let go."
"""Said first, before anything else, when a partner routine is stopped or ended."""
COME_UP_SLOWLY = "We are stopping here. Come back up slowly, and rest in a comfortable position."
"""The closing safety line when a session ends in the middle of a routine."""
PAIN_ZERO = "Good, no pain. Take a moment, and move gently."
SCREENING_CLEAR_ANSWER = "I need a clear yes or no for this one. "
CHANGE_SCREENING_CONFIRM = "Do you want to answer the safety question again? Say yes or no."
NO_SCREENING_YET = "You have not answered the safety question yet."
SCREENING_KEPT = "All right, your answer stays as it was."
PRECAUTIONS_FIRST = (
    "Thank you. First, the precautions, because this is your first session. Say skip to skip them."
)
PRECAUTIONS_DONE = "That is all of the precautions. " + START_HINT
PRECAUTIONS_SKIPPED = "All right. " + START_HINT


def which_routine(names: tuple[str, ...]) -> str:
    choices = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
    return f"Which one: the {choices}? Say start and its name."


def no_routines_today(rating: int | None) -> str:
    strong = "strong pain"
    if rating is not None:
        strong = f"a pain of {number_to_words(rating)} out of ten"
    return (
        f"You reported {strong} today, so we will not do any routine again today. "
        "Rest, and if the pain stays or gets worse, see a doctor."
    )
