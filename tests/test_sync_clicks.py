"""The live harness pairs each measured word with its own sync click, by time."""

from __future__ import annotations

from tests.support.live_harness import click_for

PLAYED = [100.0, 112.0, 124.5, 137.0, 149.0]
"""`time.monotonic()` of five clicks: the recorder's start click, then four words."""


def test_each_play_is_paired_with_the_click_found_at_its_time() -> None:
    found = [0.5, 12.6, 25.0, 37.4, 49.6]  # the recording drifts a little
    assert [click_for(t, PLAYED, found) for t in PLAYED] == found


def test_a_lost_click_leaves_its_word_unpaired_and_the_later_words_on_their_own() -> None:
    found = [0.5, 12.6, 49.6]  # the clicks at 25.0 and 37.5 did not reach this recording
    paired = [click_for(t, PLAYED, found) for t in PLAYED[1:]]
    assert paired == [12.6, None, None, 49.6]


def test_nothing_is_paired_without_a_start_click() -> None:
    assert click_for(112.0, [], [0.5, 12.6]) is None
    assert click_for(112.0, PLAYED, []) is None
