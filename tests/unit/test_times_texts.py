"""Local times in messages read one way everywhere: the day first, then the time."""

from __future__ import annotations

import datetime as dt

import pytest

from bot import texts
from bot.domain.needs import NeedCard, Routed

BERLIN = "Europe/Berlin"
# Monday 2 March 2026, 11:00 in Berlin (UTC+1).
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)


def berlin(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """An instant given as a Berlin wall-clock time in March 2026 (UTC+1)."""
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=dt.UTC) - dt.timedelta(hours=1)


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (berlin(2, 14), "today 14:00"),
        (berlin(3, 8), "tomorrow 08:00"),
        (berlin(1, 20), "yesterday 20:00"),
        (berlin(4, 8, 5), "Wed 04 Mar, 08:05"),
        (berlin(3, 0, 30), "tomorrow 00:30"),  # past midnight in Berlin, not yet in UTC
    ],
)
def test_a_time_with_its_day_names_the_day_first(instant: dt.datetime, expected: str) -> None:
    assert texts.day_clock(instant, BERLIN, NOW) == expected


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (berlin(2, 19), "19:00"),  # "by 19:00": today goes without saying
        (berlin(3, 19), "tomorrow 19:00"),
        (berlin(5, 19), "Thu 05 Mar, 19:00"),
    ],
)
def test_a_deadline_reads_like_any_other_time(instant: dt.datetime, expected: str) -> None:
    assert texts.by_time(instant, BERLIN, NOW) == expected


def test_a_date_and_time_without_a_nearby_day_reads_the_same_everywhere() -> None:
    far = berlin(12, 8)
    assert texts.when_local(far, BERLIN) == "Thu 12 Mar, 08:00"
    assert texts.day_clock(far, BERLIN, NOW) == "Thu 12 Mar, 08:00"
    assert texts.by_time(far, BERLIN, NOW) == "Thu 12 Mar, 08:00"
    assert texts.date_local(far, BERLIN) == "Thu 12 Mar"


def test_without_a_time_zone_times_read_in_utc() -> None:
    assert texts.clock(NOW, None) == "10:00"
    assert texts.by_time(NOW + dt.timedelta(days=1), None, NOW) == "tomorrow 10:00"


def test_quiet_hours_say_until_when_with_the_day_first() -> None:
    routed = Routed(asked=(), held=(("Anna", berlin(3, 7)),))
    assert "has quiet hours until tomorrow 07:00 and will see it then" in texts.need_routing(
        routed, BERLIN, NOW
    )


def test_a_need_wanted_tomorrow_says_tomorrow_first() -> None:
    card = NeedCard(id=1, category="water", text="Some water", deadline_at=berlin(3, 19))
    assert "⏰ by tomorrow 19:00" in texts.need_summary(card, BERLIN, NOW)
    assert "⏰ by tomorrow 19:00" in texts.need_line(card, BERLIN, NOW)
    assert " by 19:00, so" in texts.need_expired_for_patient(card, BERLIN)
