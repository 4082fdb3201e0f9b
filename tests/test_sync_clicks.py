"""The live harness pairs each measured word with its own sync click, by time."""

from __future__ import annotations

from tests.support.live_harness import paired_clicks

PLAYED = [100.0, 112.0, 126.5, 137.0, 150.0]
"""`time.monotonic()` of five clicks: the recorder's start click, then four words."""


def test_each_play_is_paired_with_the_click_found_at_its_time() -> None:
    found = [0.5, 12.6, 27.0, 37.4, 50.6]  # the recording drifts a little
    assert paired_clicks(PLAYED, found) == found


def test_a_lost_click_leaves_its_word_unpaired_and_the_later_words_on_their_own() -> None:
    found = [0.5, 12.6, 50.6]  # the clicks at 27.0 and 37.5 did not reach this recording
    assert paired_clicks(PLAYED, found)[1:] == [12.6, None, None, 50.6]


def test_a_lost_start_click_shifts_nothing() -> None:
    found = [12.6, 27.0, 37.4, 50.6]
    assert paired_clicks(PLAYED, found) == [None, *found]


def test_nothing_is_paired_without_clicks() -> None:
    assert paired_clicks([], [0.5, 12.6]) == []
    assert paired_clicks(PLAYED, []) == [None] * len(PLAYED)
