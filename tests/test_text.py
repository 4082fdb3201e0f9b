import pytest

from voice.text import normalize_for_speech, number_to_words, ordinal_to_words


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Hold 5–10 s", "Hold five to ten seconds"),
        ("1-2 min", "one to two minutes"),
        ("Hold 1 s", "Hold one second"),
        ("Rest 30s.", "Rest thirty seconds."),
        ("e.g. slowly", "for example slowly"),
        ("i.e. gently", "that is gently"),
        ("50% & more", "fifty percent and more"),
        ("left/right", "left or right"),
        ("Rate your pain 7/10", "Rate your pain seven out of ten"),
        ("2x/day", "two times per day"),
        ("Do it x3", "Do it three times"),
        ("Repeat 1x", "Repeat once"),
        ("3 x 10 reps", "three by ten reps"),
        ("the 1st, 2nd, 3rd and 22nd", "the first, second, third and twenty second"),
        ("At 7:05", "At seven oh five"),
        ("90° turn", "ninety degrees turn"),
        ("1,500 steps", "one thousand five hundred steps"),
        ("1, 2, 3", "one, two, three"),
        ("0.5 s", "zero point five seconds"),
        ("2.5 kg", "two point five kilograms"),
        ("knee — slowly", "knee, slowly"),
        ("etc. and w/o pain", "et cetera and without pain"),
        ("Lie down for 2 minutes", "Lie down for two minutes"),
        ("5 sets", "five sets"),
        ("  spaced   out  ", "spaced out"),
        ("no digits here", "no digits here"),
    ],
)
def test_normalize(text, spoken):
    assert normalize_for_speech(text) == spoken


def test_numbers():
    assert number_to_words(0) == "zero"
    assert number_to_words(13) == "thirteen"
    assert number_to_words(40) == "forty"
    assert number_to_words(101) == "one hundred one"
    assert number_to_words(2024) == "two thousand twenty four"
    assert number_to_words(1_000_000) == "one million"
    assert number_to_words(-3) == "minus three"
    assert ordinal_to_words(12) == "twelfth"
    assert ordinal_to_words(20) == "twentieth"


def test_no_digits_or_symbols_left():
    text = "Hold 5–10 s, e.g. 3x per side; 50% & 2/3 of 1,000 at 10:30 (1st)"
    spoken = normalize_for_speech(text)
    assert not any(c.isdigit() for c in spoken)
    assert not set("%&/–") & set(spoken)
