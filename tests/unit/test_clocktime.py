"""Times of day as typed, and local wall-clock times across DST in three kinds of zone."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.clocktime import (
    in_time_range,
    local_instant,
    next_local_time,
    parse_time_of_day,
    parse_time_range,
)

T = dt.time
UTC = dt.UTC


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("08:00", T(8, 0)),
        ("8:05", T(8, 5)),
        ("20.30", T(20, 30)),
        ("8am", T(8, 0)),
        ("8:30 pm", T(20, 30)),
        ("12am", T(0, 0)),
        ("12 PM", T(12, 0)),
        ("noon", T(12, 0)),
        ("00:00", T(0, 0)),
    ],
)
def test_friendly_times_are_understood(typed: str, expected: dt.time) -> None:
    assert parse_time_of_day(typed) == expected


@pytest.mark.parametrize("typed", ["25:00", "8", "08:60", "13pm", "0am", "", "soon", "8:5"])
def test_unclear_times_are_refused(typed: str) -> None:
    assert parse_time_of_day(typed) is None


def test_ranges_may_cross_midnight() -> None:
    assert parse_time_range("22:00-07:00") == (T(22), T(7))
    assert parse_time_range("10pm to 7am") == (T(22), T(7))
    assert parse_time_range("22:00-22:00") is None
    late = dt.datetime(2026, 1, 10, 22, 30, tzinfo=UTC)
    assert in_time_range(late, T(22), T(7), "UTC")
    assert not in_time_range(late.replace(hour=12), T(22), T(7), "UTC")


@given(st.text(max_size=30))
def test_parsers_never_raise(text: str) -> None:
    parse_time_of_day(text)
    parse_time_range(text)


@pytest.mark.parametrize(
    "zone, day_before, day_after",
    [
        ("America/New_York", dt.date(2026, 3, 7), dt.date(2026, 3, 8)),  # spring forward
        ("America/New_York", dt.date(2026, 10, 31), dt.date(2026, 11, 1)),  # fall back
        ("Europe/Berlin", dt.date(2026, 3, 28), dt.date(2026, 3, 29)),
        ("Europe/Berlin", dt.date(2026, 10, 24), dt.date(2026, 10, 25)),
        ("Asia/Kolkata", dt.date(2026, 3, 28), dt.date(2026, 3, 29)),  # no DST at all
    ],
)
def test_eight_am_stays_eight_am_across_the_change(
    zone: str, day_before: dt.date, day_after: dt.date
) -> None:
    from zoneinfo import ZoneInfo

    for day in (day_before, day_after):
        instant = local_instant(day, T(8), zone)
        assert instant.astimezone(ZoneInfo(zone)).time() == T(8)
        assert instant.tzinfo == UTC


def test_a_time_skipped_by_spring_forward_fires_at_the_first_valid_instant() -> None:
    # Berlin, 29 March 2026: 02:00 → 03:00. 02:30 does not exist; 03:00 CEST = 01:00 UTC.
    assert local_instant(dt.date(2026, 3, 29), T(2, 30), "Europe/Berlin") == dt.datetime(
        2026, 3, 29, 1, 0, tzinfo=UTC
    )
    # New York, 8 March 2026: 02:00 → 03:00 EDT = 07:00 UTC.
    assert local_instant(dt.date(2026, 3, 8), T(2, 15), "America/New_York") == dt.datetime(
        2026, 3, 8, 7, 0, tzinfo=UTC
    )


def test_a_time_repeated_by_fall_back_happens_once() -> None:
    # Berlin, 25 October 2026: 03:00 → 02:00, so 02:30 happens twice; we take the first.
    first = local_instant(dt.date(2026, 10, 25), T(2, 30), "Europe/Berlin")
    assert first == dt.datetime(2026, 10, 25, 0, 30, tzinfo=UTC)
    after_first = next_local_time(T(2, 30), "Europe/Berlin", first)
    assert after_first.date() == dt.date(2026, 10, 26)  # not again an hour later


def test_next_local_time_walks_day_by_day() -> None:
    now = dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # 14:00 in Berlin
    assert next_local_time(T(15), "Europe/Berlin", now) == dt.datetime(
        2026, 6, 1, 13, 0, tzinfo=UTC
    )
    assert next_local_time(T(9), "Europe/Berlin", now) == dt.datetime(2026, 6, 2, 7, 0, tzinfo=UTC)
    # Kolkata is UTC+05:30: half-hour offsets come through.
    assert next_local_time(T(8), "Asia/Kolkata", now) == dt.datetime(2026, 6, 2, 2, 30, tzinfo=UTC)
