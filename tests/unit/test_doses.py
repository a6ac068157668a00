"""The dose state machine, when a dose next needs attention, and the label's limits."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.doses import (
    ANSWERABLE,
    FINAL,
    TRANSITIONS,
    Action,
    DoseEvent,
    DoseState,
    action_due,
    alert_at,
    check_label,
    days_left,
    next_action,
    refill_due,
    transition,
)

UTC = dt.UTC
DUE = dt.datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
NUDGE = dt.timedelta(minutes=15)
ALERT = dt.timedelta(minutes=45)
M = dt.timedelta(minutes=1)


@given(st.lists(st.sampled_from(list(DoseEvent)), max_size=12))
def test_no_event_sequence_leaves_the_state_machine(events: list[DoseEvent]) -> None:
    state = DoseState.SENT
    taken = 0
    for event in events:
        new = transition(state, event)
        if new is None:
            continue
        if new == DoseState.TAKEN:
            taken += 1
        assert (state, event) in TRANSITIONS
        # Nothing leaves a final state: a dose is taken (or skipped, or cancelled) once.
        assert state not in FINAL
        state = new
    assert taken <= 1


def test_a_late_answer_still_counts_but_nothing_reopens_a_final_state() -> None:
    assert transition(DoseState.MISSED, DoseEvent.TAKE) == DoseState.TAKEN
    assert transition(DoseState.MISSED, DoseEvent.SNOOZE) is None
    for state in FINAL:
        assert all(transition(state, event) is None for event in DoseEvent)
    assert transition("nonsense", DoseEvent.TAKE) is None
    assert DoseState.MISSED in ANSWERABLE


def test_nudge_then_alert_on_time() -> None:
    limit = alert_at(DUE, DUE, ALERT)
    assert limit == DUE + ALERT
    kw = {"reminded_at": DUE, "snoozed_until": None, "alert_at": limit, "nudge": NUDGE}
    assert next_action(DoseState.SENT, nudged=False, **kw) == DUE + NUDGE
    assert next_action(DoseState.SENT, nudged=True, **kw) == DUE + ALERT
    assert action_due(DoseState.SENT, DUE + NUDGE - M, nudged=False, **kw) is None
    assert action_due(DoseState.SENT, DUE + NUDGE, nudged=False, **kw) is Action.NUDGE
    assert action_due(DoseState.SENT, DUE + NUDGE, nudged=True, **kw) is None
    assert action_due(DoseState.SENT, DUE + ALERT, nudged=True, **kw) is Action.ALERT
    assert action_due(DoseState.TAKEN, DUE + ALERT, nudged=True, **kw) is None


def test_a_reminder_sent_late_gets_the_full_limit_from_when_it_was_sent() -> None:
    sent = DUE + dt.timedelta(minutes=90)
    assert alert_at(DUE, sent, ALERT) == sent + ALERT


def test_no_nudge_when_the_alert_comes_first() -> None:
    limit = alert_at(DUE, DUE, dt.timedelta(minutes=10))
    kw = {"reminded_at": DUE, "snoozed_until": None, "alert_at": limit, "nudge": NUDGE}
    assert next_action(DoseState.SENT, nudged=False, **kw) == limit


@given(
    st.lists(st.tuples(st.integers(0, 44), st.sampled_from([10, 30, 60])), max_size=6),
)
def test_snoozing_never_pushes_the_alert_past_its_limit(snoozes: list[tuple[int, int]]) -> None:
    """Whatever the patient snoozes, and whenever: the alert is due at due + limit."""
    limit = alert_at(DUE, DUE, ALERT)
    state, reminded, nudged, until = DoseState.SENT, DUE, False, None
    for at_minute, length in sorted(snoozes):
        now = DUE + at_minute * M
        if now >= limit:
            break
        state, until = DoseState.SNOOZED, now + length * M
        wake = next_action(
            state,
            reminded_at=reminded,
            nudged=nudged,
            snoozed_until=until,
            alert_at=limit,
            nudge=NUDGE,
        )
        assert wake is not None and wake <= limit
    kw = {"reminded_at": reminded, "nudged": nudged, "snoozed_until": until, "nudge": NUDGE}
    assert action_due(state, limit, alert_at=limit, **kw) is Action.ALERT
    assert action_due(state, limit - M, alert_at=limit, **kw) is not Action.ALERT


def test_snooze_wakes_before_the_limit() -> None:
    limit = alert_at(DUE, DUE, ALERT)
    until = DUE + 10 * M
    kw = {"reminded_at": DUE, "nudged": False, "snoozed_until": until, "nudge": NUDGE}
    assert next_action(DoseState.SNOOZED, alert_at=limit, **kw) == until
    assert action_due(DoseState.SNOOZED, until, alert_at=limit, **kw) is Action.WAKE


# --- the label ---------------------------------------------------------------------------------

H = dt.timedelta(hours=1)
NOW = dt.datetime(2026, 3, 2, 18, 0, tzinfo=UTC)


def test_label_check_counts_24_hours_and_finds_the_earliest_next_time() -> None:
    taken = [NOW - 30 * H, NOW - 20 * H, NOW - 14 * H, NOW - 8 * H, NOW - 2 * H]
    check = check_label(taken, NOW, max_per_24h=4, min_hours=6)
    assert check.count_24h == 4
    assert check.last_taken_at == NOW - 2 * H
    assert check.over_max and check.too_soon(NOW) and check.needs_confirm(NOW)
    # One more is allowed when the oldest of the four (20 h ago) leaves the window: in 4 h.
    assert check.earliest_next == NOW + 4 * H


def test_label_check_without_limits_never_blocks() -> None:
    check = check_label([NOW - H] * 10, NOW, None, None)
    assert not check.needs_confirm(NOW) and check.earliest_next is None


def test_min_gap_alone() -> None:
    check = check_label([NOW - 2 * H], NOW, None, 6)
    assert not check.over_max and check.too_soon(NOW)
    assert check.earliest_next == NOW + 4 * H
    assert not check_label([NOW - 7 * H], NOW, None, 6).too_soon(NOW)


@given(
    st.lists(st.integers(1, 60 * 48), max_size=12),
    st.integers(1, 8),
    st.one_of(st.none(), st.integers(1, 12)),
)
def test_at_the_earliest_next_time_the_label_is_kept(
    minutes_ago: list[int], max_per_24h: int, min_hours: int | None
) -> None:
    taken = [NOW - m * M for m in minutes_ago]
    check = check_label(taken, NOW, max_per_24h, min_hours)
    if check.earliest_next is None:
        assert not check.needs_confirm(NOW)
        return
    # An earliest time already past means "within the limits now".
    at = max(check.earliest_next, NOW)
    assert check.needs_confirm(NOW) == (check.earliest_next > NOW)
    assert not check_label(taken, at, max_per_24h, min_hours).needs_confirm(at)
    # And a minute before it, one of the limits would still be passed.
    if check.earliest_next > NOW:
        before = check.earliest_next - M
        assert check_label(taken, before, max_per_24h, min_hours).needs_confirm(before)


def test_a_back_dated_dose_is_checked_against_the_doses_after_it_too() -> None:
    # Logged at 12:00 and 18:00; a dose back-dated to 14:00 sits 2 h before the 18:00 one.
    taken = [NOW - 6 * H, NOW]
    check = check_label(taken, NOW - 4 * H, None, 6)
    assert check.last_taken_at == NOW - 6 * H and check.next_taken_at == NOW
    assert check.too_soon(NOW - 4 * H)
    # Back-dated to 05:00: only the one 7 h later is near it, and 7 h is enough.
    assert not check_label(taken, NOW - 13 * H, None, 6).too_soon(NOW - 13 * H)


def test_a_back_dated_dose_counts_the_24_hours_that_follow_it() -> None:
    # Four doses in the evening; a fifth back-dated to the morning shares 24 h with all of
    # them, though only one of them is before it.
    taken = [NOW - 10 * H, NOW - 3 * H, NOW - 2 * H, NOW - H]
    check = check_label(taken, NOW - 11 * H, 4, None)
    assert check.count_24h == 0 and check.busiest_24h == 4 and check.over_max


def test_a_stored_zero_or_negative_limit_reads_as_not_saved() -> None:
    for maximum, gap in ((0, 0.0), (-3, -1.0)):
        check = check_label([NOW - H, NOW - 2 * H], NOW, maximum, gap)
        assert check.max_per_24h is None and check.min_hours is None
        assert not check.needs_confirm(NOW) and check.earliest_next is None


@given(
    st.lists(st.integers(-60 * 30, 60 * 30), max_size=10),
    st.integers(-60 * 30, 60 * 30),
)
def test_the_busiest_24_hours_holding_a_moment_match_a_brute_force_count(
    offsets: list[int], at_offset: int
) -> None:
    taken = [NOW + m * M for m in offsets]
    at = NOW + at_offset * M
    # Every 24 h window [s, s + 24 h) that holds `at`, on a one-minute grid.
    brute = max(
        sum(1 for t in taken if s <= t < s + 24 * H)
        for s in (at - k * M for k in range(0, 24 * 60))
    )
    assert check_label(taken, at, 4, None).busiest_24h == brute


def test_refill_forecast() -> None:
    assert days_left(6, 3) == 2
    assert refill_due(6, 3, lead_days=3)
    assert not refill_due(30, 3, lead_days=3)
    assert refill_due(0, 0, lead_days=3)
    assert not refill_due(None, 3, lead_days=3)
    assert not refill_due(5, 0, lead_days=3)  # as needed, never used: no forecast
