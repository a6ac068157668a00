"""Which scheduled time a dose stands for: one window per time, across days and DST."""

from __future__ import annotations

import datetime as dt

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.meds import next_slot, prev_slot, slot_for

UTC = dt.UTC
BERLIN = "Europe/Berlin"
H = dt.timedelta(hours=1)
M = dt.timedelta(minutes=1)
START = dt.datetime(2026, 3, 27, 12, 0, tzinfo=UTC)  # DST begins in Berlin on the 29th


def at_local(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def test_a_dose_belongs_to_the_last_time_unless_the_next_is_within_an_hour() -> None:
    times = (dt.time(8, 0), dt.time(20, 0))
    assert slot_for(times, BERLIN, at_local(2, 12)).key == "2026-03-02T08:00"
    assert slot_for(times, BERLIN, at_local(2, 18, 59)).key == "2026-03-02T08:00"
    assert slot_for(times, BERLIN, at_local(2, 19, 0)).key == "2026-03-02T20:00"  # early
    assert slot_for(times, BERLIN, at_local(3, 1)).key == "2026-03-02T20:00"  # late
    assert slot_for(times, BERLIN, at_local(3, 7, 30)).key == "2026-03-03T08:00"


def test_close_times_split_the_gap_between_them() -> None:
    times = (dt.time(8, 0), dt.time(9, 0))
    assert slot_for(times, BERLIN, at_local(2, 8, 29)).key == "2026-03-02T08:00"
    assert slot_for(times, BERLIN, at_local(2, 8, 30)).key == "2026-03-02T09:00"


def test_prev_slot_mirrors_next_slot() -> None:
    times = (dt.time(8, 0), dt.time(20, 0))
    at = at_local(2, 12)
    before = prev_slot(times, BERLIN, at)
    assert before is not None and before.key == "2026-03-02T08:00"
    following = next_slot(times, BERLIN, before.at - M)
    assert following is not None and following.at == before.at
    assert prev_slot((), BERLIN, at) is None and slot_for((), BERLIN, at) is None


TIMES = st.lists(
    st.builds(dt.time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45])),
    min_size=1,
    max_size=4,
    unique=True,
).map(lambda ts: tuple(sorted(ts)))


@given(TIMES, st.integers(0, 4 * 24 * 60), st.integers(1, 6 * 60))
def test_windows_never_go_backwards_and_each_holds_its_time(
    times: tuple[dt.time, ...], start_minute: int, step_minutes: int
) -> None:
    """Through the spring-forward night: later doses never stand for an earlier time, and a
    dose taken exactly at a scheduled time stands for that time."""
    earlier = START + start_minute * M
    later = earlier + step_minutes * M
    first, second = slot_for(times, BERLIN, earlier), slot_for(times, BERLIN, later)
    assert first is not None and second is not None
    assert first.at <= second.at
    assert first.at - H <= earlier and second.at - H <= later
    exact = next_slot(times, BERLIN, earlier)
    assert exact is not None
    owner = slot_for(times, BERLIN, exact.at)
    assert owner is not None and owner.at == exact.at
