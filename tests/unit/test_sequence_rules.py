"""Gap detection on device sequence numbers (finding 4 of issue 8): the pure rule."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from gwanje.situations.rules import SEQ_RESTART_AFTER, sequence_step

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=timezone.utc)
SOON = T0 + timedelta(seconds=5)


def test_a_device_counts_from_one():
    assert sequence_step(None, None, 0, 1, False, T0).missing == 0
    step = sequence_step(None, None, 0, 42, False, T0)  # first heard at 42: 1-41 never arrived
    assert (step.last_seq, step.missing, step.gap, step.restarted) == (42, 41, (1, 41), False)


def test_the_next_number_is_in_order():
    step = sequence_step(7, T0, 0, 8, False, SOON)
    assert (step.last_seq, step.missing, step.gap) == (8, 0, None)


def test_a_jump_counts_every_skipped_number_and_names_the_gap():
    step = sequence_step(7, T0, 0, 12, False, SOON)
    assert (step.last_seq, step.missing, step.gap) == (12, 4, (8, 11))


def test_a_late_number_fills_one_missing_and_does_not_move_back():
    step = sequence_step(12, T0, 4, 9, False, SOON)
    assert (step.last_seq, step.missing, step.filled, step.restarted) == (12, 0, 1, False)


def test_a_late_number_with_nothing_missing_fills_nothing():
    assert sequence_step(12, T0, 0, 12, False, SOON).filled == 0


def test_a_restart_marker_starts_the_count_again():
    assert sequence_step(500, T0, 0, 1, True, SOON) == sequence_step(500, T0, 0, 1, True, SOON)
    step = sequence_step(500, T0, 0, 1, True, SOON)
    assert (step.last_seq, step.missing, step.restarted) == (1, 0, True)
    lost_after_restart = sequence_step(500, T0, 0, 4, True, SOON)
    assert (lost_after_restart.missing, lost_after_restart.gap) == (3, (1, 3))


def test_a_lower_number_after_a_long_silence_is_a_restart_without_a_marker():
    later = T0 + SEQ_RESTART_AFTER + timedelta(seconds=1)
    step = sequence_step(500, T0, 0, 1, False, later)
    assert (step.last_seq, step.missing, step.restarted) == (1, 0, True)
    # the same number after a short silence is a late message, not a restart
    assert sequence_step(500, T0, 0, 1, False, SOON).restarted is False
