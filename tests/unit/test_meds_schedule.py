"""Medication schedules as typed, and reminder slots across DST in three kinds of zone."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.domain.errors import MedInputError
from bot.domain.meds import (
    AS_NEEDED,
    FIXED,
    INTERVAL,
    clean,
    name_key,
    next_slot,
    parse_dose,
    parse_max_per_day,
    parse_min_hours,
    parse_name,
    parse_note,
    parse_one_line,
    parse_schedule,
    parse_supply,
    parse_times,
    slots_between,
)

T = dt.time
UTC = dt.UTC


def reason(call: object, *args: str) -> str:
    assert callable(call)
    with pytest.raises(MedInputError) as refused:
        call(*args)
    return refused.value.reason


# --- what people type ----------------------------------------------------------------------


def test_times_in_friendly_forms() -> None:
    assert parse_schedule("08:00, 14:00, 20:00").times == (T(8), T(14), T(20))
    assert parse_schedule("8am and 8:30 pm").times == (T(8), T(20, 30))
    assert parse_schedule("20:00 08:00").times == (T(8), T(20))  # spaces, any order
    assert parse_schedule("noon").times == (T(12),)
    assert parse_schedule("08:00").kind == FIXED


def test_every_n_hours_expands_to_fixed_local_times() -> None:
    schedule = parse_schedule("every 8 hours from 07:00")
    assert schedule.kind == INTERVAL and schedule.every_hours == 8
    assert schedule.times == (T(7), T(15), T(23))
    assert parse_schedule("Every 6h starting at 9pm").times == (T(3), T(9), T(15), T(21))


@pytest.mark.parametrize("typed", ["as needed", "As Needed", "PRN", "when needed"])
def test_as_needed(typed: str) -> None:
    assert parse_schedule(typed).kind == AS_NEEDED


@pytest.mark.parametrize(
    "typed, expected",
    [
        ("25:00", "time_bad"),
        ("8", "time_bare_hour"),
        ("08:00, 8", "time_bare_hour"),
        ("08:00,,", "times_gap"),
        (",08:00", "times_gap"),
        ("08:00, 08:00", "time_twice"),
        ("", "times_empty"),
        ("   ", "times_empty"),
        ("soonish", "time_bad"),
        ("every 5 hours from 07:00", "every_hours"),
        ("every 8 hours", "every_start"),
        ("every 8 hours from 8", "time_bare_hour"),
        ("every day", "every_form"),
    ],
)
def test_unclear_times_get_a_specific_complaint(typed: str, expected: str) -> None:
    assert reason(parse_schedule, typed) == expected


def test_the_bare_hour_is_named_in_the_complaint() -> None:
    with pytest.raises(MedInputError) as refused:
        parse_times("08:00, 8")
    assert refused.value.detail == "8"


def test_names_doses_and_notes() -> None:
    assert parse_name("  Ibu*pro_fen  `x` ") == "Ibu*pro_fen `x`"  # Markdown kept, as typed
    assert parse_name("ибупрофен") == "ибупрофен"
    assert parse_name("💊") == "💊"
    assert reason(parse_name, "") == "name_empty"
    assert reason(parse_name, "\n\t ") == "name_empty"
    assert reason(parse_name, "x" * 200) == "name_long"
    assert parse_dose("400 mg") == "400 mg"
    assert reason(parse_dose, "") == "dose_empty"
    assert parse_note("skip") is None and parse_note("with food") == "with food"
    assert name_key(" IBUPROFEN  ") == name_key("ibuprofen")
    assert clean("a\x00b\nc") == "a b c"


def test_label_numbers() -> None:
    # More cases, and the refusals, in test_label_limits.py.
    assert parse_max_per_day("4") == 4 and parse_max_per_day("max 4 doses") == 4
    assert parse_max_per_day("skip") is None
    assert parse_min_hours("6") == 6 and parse_min_hours("4,5 hours") == 4.5
    assert reason(parse_min_hours, "never") == "gap_bad"
    assert parse_supply("30 tablets") == 30 and parse_supply("off") is None
    assert reason(parse_supply, "lots") == "supply_bad"


def test_the_one_line_form() -> None:
    line = parse_one_line("Ibuprofen | 400 mg | 08:00, 14:00, 20:00 | with food")
    assert (line.name, line.dose, line.note) == ("Ibuprofen", "400 mg", "with food")
    assert line.schedule.times == (T(8), T(14), T(20))
    assert reason(parse_one_line, "Ibuprofen | 400 mg") == "one_line"
    assert reason(parse_one_line, " | 400 mg | 08:00") == "name_empty"
    assert reason(parse_one_line, "Ibuprofen | 400 mg | 25:00") == "time_bad"


@given(st.text(max_size=60))
def test_parsers_never_fail_except_with_a_clear_reason(text: str) -> None:
    for parser in (
        parse_schedule,
        parse_name,
        parse_dose,
        parse_note,
        parse_max_per_day,
        parse_min_hours,
        parse_supply,
        parse_one_line,
    ):
        try:
            parser(text)
        except MedInputError as refused:
            assert refused.reason


@given(
    st.lists(
        st.times().map(lambda t: t.replace(second=0, microsecond=0)),
        min_size=1,
        max_size=24,
        unique=True,
    )
)
def test_any_list_of_times_round_trips(times: list[dt.time]) -> None:
    typed = ", ".join(t.strftime("%H:%M") for t in reversed(times))
    assert parse_schedule(typed).times == tuple(sorted(times))


@given(st.sampled_from([1, 2, 3, 4, 6, 8, 12, 24]), st.integers(0, 23), st.integers(0, 59))
def test_every_n_hours_spreads_evenly_over_the_day(n: int, hour: int, minute: int) -> None:
    schedule = parse_schedule(f"every {n} hours from {hour:02d}:{minute:02d}")
    assert len(schedule.times) == 24 // n
    assert T(hour, minute) in schedule.times


# --- slots across DST ------------------------------------------------------------------------


def local_times(zone: str, start: dt.datetime, end: dt.datetime, times: list[str]) -> list[str]:
    schedule = parse_schedule(", ".join(times))
    tz = ZoneInfo(zone)
    return [
        s.at.astimezone(tz).strftime("%m-%d %H:%M")
        for s in slots_between(schedule.times, zone, start, end)
    ]


@pytest.mark.parametrize(
    "zone, change_day",
    [
        ("America/New_York", dt.date(2026, 3, 8)),  # spring forward
        ("America/New_York", dt.date(2026, 11, 1)),  # fall back
        ("Europe/Berlin", dt.date(2026, 3, 29)),
        ("Europe/Berlin", dt.date(2026, 10, 25)),
        ("Asia/Kolkata", dt.date(2026, 3, 29)),  # no DST: nothing moves
    ],
)
def test_eight_am_stays_eight_am_every_day_across_the_change(
    zone: str, change_day: dt.date
) -> None:
    start = dt.datetime.combine(change_day - dt.timedelta(days=2), T(0), ZoneInfo(zone))
    end = start + dt.timedelta(days=5)
    got = local_times(zone, start, end, ["08:00", "20:00"])
    days = [change_day + dt.timedelta(days=d) for d in range(-2, 3)]
    assert got == [f"{d:%m-%d} {t}" for d in days for t in ("08:00", "20:00")]


@pytest.mark.parametrize(
    "zone, day, typed, expected_utc",
    [
        # Clocks jump 02:00 → 03:00: 02:30 fires at the first valid instant, 03:00 local.
        ("America/New_York", dt.date(2026, 3, 8), "02:30", dt.datetime(2026, 3, 8, 7, 0)),
        ("Europe/Berlin", dt.date(2026, 3, 29), "02:30", dt.datetime(2026, 3, 29, 1, 0)),
    ],
)
def test_a_skipped_time_fires_once_at_the_first_valid_instant(
    zone: str, day: dt.date, typed: str, expected_utc: dt.datetime
) -> None:
    schedule = parse_schedule(typed)
    start = dt.datetime.combine(day, T(0), ZoneInfo(zone))
    slots = slots_between(schedule.times, zone, start, start + dt.timedelta(hours=24))
    assert [s.at for s in slots] == [expected_utc.replace(tzinfo=UTC)]
    assert slots[0].key == f"{day.isoformat()}T{typed}"


@pytest.mark.parametrize(
    "zone, day, typed",
    [
        ("America/New_York", dt.date(2026, 11, 1), "01:30"),  # 01:00–02:00 happens twice
        ("Europe/Berlin", dt.date(2026, 10, 25), "02:30"),  # 02:00–03:00 happens twice
    ],
)
def test_a_repeated_time_fires_once(zone: str, day: dt.date, typed: str) -> None:
    schedule = parse_schedule(typed)
    start = dt.datetime.combine(day, T(0), ZoneInfo(zone))
    slots = slots_between(schedule.times, zone, start, start + dt.timedelta(hours=24))
    assert len(slots) == 1


@pytest.mark.parametrize("first_fold", [0, 1])
def test_the_two_0230s_of_the_autumn_night_have_their_own_next_slot(first_fold: int) -> None:
    """In Berlin on 25 October 2026, 02:30 happens at 00:30 and at 01:30 UTC. Given as local
    times, the two compare equal (Python ignores `fold` within one zone): the answer kept
    for one must not be handed out for the other, whichever was asked first."""
    berlin = ZoneInfo("Europe/Berlin")
    times = (T(2, 45),)
    asked = [
        dt.datetime(2026, 10, 25, 2, 30, tzinfo=berlin, fold=fold)
        for fold in (first_fold, 1 - first_fold)
    ]
    answers = {after.fold: next_slot(times, "Europe/Berlin", after) for after in asked}
    # The first 02:45 is at 00:45 UTC; it fires once, so after the second 02:30, the next day.
    assert answers[0] is not None and answers[1] is not None
    assert answers[0].at == dt.datetime(2026, 10, 25, 0, 45, tzinfo=UTC)
    assert answers[1].at == dt.datetime(2026, 10, 26, 1, 45, tzinfo=UTC)


def test_a_naive_instant_is_refused_rather_than_read_in_the_servers_zone() -> None:
    """07:30 without a zone could be UTC or the server's local time: a wrong guess would
    schedule a morning's dose twice, so it is refused, as comparing it always was."""
    with pytest.raises(TypeError):
        next_slot((T(8, 0),), "Europe/Berlin", dt.datetime(2026, 3, 2, 7, 30))


def test_times_given_as_a_list_still_work() -> None:
    after = dt.datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
    listed = next_slot([T(8, 0)], "Europe/Berlin", after)  # type: ignore[arg-type]
    assert listed == next_slot((T(8, 0),), "Europe/Berlin", after)


def test_two_times_landing_on_one_instant_make_one_reminder() -> None:
    # Berlin, 29 March 2026: 02:30 does not exist and becomes 03:00, like the 03:00 dose.
    schedule = parse_schedule("02:30, 03:00")
    start = dt.datetime(2026, 3, 28, 23, 0, tzinfo=UTC)
    slots = slots_between(schedule.times, "Europe/Berlin", start, start + dt.timedelta(hours=6))
    assert len(slots) == 1 and slots[0].label == "02:30"


def test_kolkata_half_hour_offset() -> None:
    schedule = parse_schedule("08:00")
    after = dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    slot = next_slot(schedule.times, "Asia/Kolkata", after)
    assert slot is not None
    assert slot.at == dt.datetime(2026, 6, 2, 2, 30, tzinfo=UTC)


@given(
    st.sampled_from(["America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Sydney"]),
    st.datetimes(min_value=dt.datetime(2025, 1, 1), max_value=dt.datetime(2028, 1, 1)),
    st.lists(st.integers(0, 24 * 4 - 1), min_size=1, max_size=6, unique=True),
)
@example(
    "Australia/Sydney", dt.datetime(2025, 10, 1, 21, 0), [29, 30]
)  # found by a run of the suite
def test_slots_are_increasing_distinct_and_about_a_day_apart(
    zone: str, start: dt.datetime, quarters: list[int]
) -> None:
    times = tuple(sorted(T(q // 4, (q % 4) * 15) for q in quarters))
    after = start.replace(tzinfo=UTC)
    slots = slots_between(times, zone, after, after + dt.timedelta(days=3))
    instants = [s.at for s in slots]
    assert instants == sorted(set(instants))
    assert all(s.at > after for s in slots)
    assert len({s.key for s in slots}) == len(slots)
    # Each day has each time at most once. Three days hold at least two full days' worth,
    # and each time at most four times: across a spring-forward 72 hours span 73 local ones
    # (Sydney, 2 October 2025 07:00 to 5 October 08:00: a 07:15 dose falls on four days).
    assert len(slots) >= 2 * len(times) - 2
    assert max(Counter(s.time for s in slots).values(), default=0) <= 4
    assert len(slots) <= 3 * len(times) + sum(
        1 for t in times if _within_an_hour_after(after, zone, t)
    )


def _within_an_hour_after(after: dt.datetime, zone: str, t: dt.time) -> bool:
    """Whether local time `t` comes within the hour after `after`'s local time of day (such
    a time may fall on a fourth day, when a spring-forward makes 72 hours 73 local ones)."""
    local = after.astimezone(ZoneInfo(zone))
    minutes = (t.hour * 60 + t.minute) - (local.hour * 60 + local.minute)
    return 0 < minutes % (24 * 60) <= 60
