"""The label's limits as people type them: read exactly, or refused with a hint."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot import texts
from bot.domain.errors import MedInputError
from bot.domain.meds import (
    MAX_GAP_HOURS,
    MAX_PER_DAY,
    MIN_GAP_HOURS,
    format_gap,
    format_max,
    parse_max_per_day,
    parse_min_hours,
    parse_one_line,
    schedule_vs_label,
)

_NUMBER = re.compile(r"[0-9]+(?:[.,][0-9]+)?")


def reason(call: object, *args: str) -> str:
    assert callable(call)
    with pytest.raises(MedInputError) as refused:
        call(*args)
    return refused.value.reason


# --- the maximum doses in 24 hours --------------------------------------------------------


@pytest.mark.parametrize(
    "typed, value",
    [
        ("4", 4),
        (" 4 ", 4),
        ("4 doses", 4),
        ("1 dose", 1),
        ("max 4", 4),
        ("Max: 4", 4),
        ("at most 4", 4),
        ("no more than 4 doses", 4),
        ("48", 48),
        ("skip", None),
        ("no limit", None),
    ],
)
def test_the_maximum_reads_a_bare_number_or_a_number_of_doses(typed: str, value: int) -> None:
    assert parse_max_per_day(typed) == value


@pytest.mark.parametrize(
    "typed, why",
    [
        # The examples from the issue: each stored a wrong number before.
        ("in 24 hours at most 4", "max_numbers"),
        ("8 tablets (4 doses)", "max_numbers"),
        ("-4", "max_range"),
        ("0", "max_range"),
        ("2.5", "max_range"),
        ("4,0", "max_range"),
        ("49", "max_range"),
        ("4 tablets", "max_unit"),
        ("max 4 tablets", "max_unit"),
        ("800 mg", "max_unit"),
        ("4 or 5", "max_numbers"),
        ("4-6", "max_numbers"),
        ("four", "max_bad"),
        ("", "max_bad"),
        ("about 4", "max_bad"),
        ("4 a day", "max_unit"),
    ],
)
def test_anything_else_for_the_maximum_is_refused_with_a_hint(typed: str, why: str) -> None:
    assert reason(parse_max_per_day, typed) == why
    assert texts.MED_INPUT[why]


# --- the minimum gap in hours --------------------------------------------------------------


@pytest.mark.parametrize(
    "typed, value",
    [
        ("6", 6.0),
        ("6 hours", 6.0),
        ("6h", 6.0),
        ("6 h", 6.0),
        ("6 hrs", 6.0),
        ("1 hour", 1.0),
        ("4.5", 4.5),
        ("4,5 hours", 4.5),
        ("at least 6 hours", 6.0),
        ("gap 6h", 6.0),
        ("0.25", 0.25),
        ("48", 48.0),
        ("skip", None),
    ],
)
def test_the_gap_reads_hours_only(typed: str, value: float) -> None:
    assert parse_min_hours(typed) == value


@pytest.mark.parametrize(
    "typed, why",
    [
        ("1 day", "gap_unit"),
        ("90 minutes", "gap_unit"),
        ("30 min", "gap_unit"),
        ("min 6", "gap_bad"),  # minimum, or minutes? Not guessed.
        ("1 hour 30 min", "gap_numbers"),
        ("4-6 hours", "gap_numbers"),
        ("4 to 6", "gap_numbers"),
        ("every 4 to 6 hours", "gap_numbers"),
        ("-4", "gap_range"),
        ("0", "gap_range"),
        ("0.1", "gap_range"),
        ("49", "gap_range"),
        ("4.555", "gap_range"),
        ("never", "gap_bad"),
        ("", "gap_bad"),
        ("6 hours apart maybe", "gap_bad"),
    ],
)
def test_anything_else_for_the_gap_is_refused_with_a_hint(typed: str, why: str) -> None:
    assert reason(parse_min_hours, typed) == why
    assert texts.MED_INPUT[why]


# --- properties ------------------------------------------------------------------------------

_WORDS = st.sampled_from(
    ["", "max", "at most", "doses", "hours", "h", "in", "tablets", "(", ")", "-", "every", "gap"]
)
_PIECES = st.one_of(_WORDS, st.integers(-100, 100).map(str), st.text(max_size=6))


@given(st.lists(_PIECES, max_size=6).map(" ".join))
def test_any_accepted_value_is_in_range_and_only_from_one_number(text: str) -> None:
    for parser, low, high in (
        (parse_max_per_day, 1, MAX_PER_DAY),
        (parse_min_hours, MIN_GAP_HOURS, MAX_GAP_HOURS),
    ):
        try:
            value = parser(text)
        except MedInputError as refused:
            assert refused.reason in texts.MED_INPUT
            continue
        if value is not None:
            assert low <= value <= high
            assert len(_NUMBER.findall(text)) == 1


@given(
    st.integers(0, 100),
    st.integers(0, 100),
    st.sampled_from(["", " ", " and ", " or ", "-", " to ", " doses in ", " hours ", "/"]),
    st.sampled_from(["", "max ", "at most ", "gap "]),
    st.sampled_from(["", " hours", " doses", "h"]),
)
def test_any_text_with_two_numbers_is_refused(
    first: int, second: int, between: str, before: str, after: str
) -> None:
    text = f"{before}{first}{between}{second}{after}"
    if len(_NUMBER.findall(text)) < 2:
        return  # "4" + "" + "5" is one number, 45
    for parser in (parse_max_per_day, parse_min_hours):
        with pytest.raises(MedInputError):
            parser(text)


@given(st.integers(1, MAX_PER_DAY))
def test_the_maximum_round_trips_through_its_echo(value: int) -> None:
    assert parse_max_per_day(format_max(value)) == value
    echo = texts.label_limits(value, None)
    assert parse_max_per_day(_NUMBER.findall(echo)[0]) == value
    assert f"at most {value} dose" in echo


@given(st.decimals(Decimal(MIN_GAP_HOURS), Decimal(MAX_GAP_HOURS), places=2))
def test_the_gap_round_trips_through_its_echo(typed: Decimal) -> None:
    value = parse_min_hours(str(typed))
    assert value == float(typed)
    assert value is not None
    assert parse_min_hours(format_gap(value)) == value
    echo = texts.label_limits(None, value)
    assert parse_min_hours(_NUMBER.findall(echo)[0]) == value
    assert f"at least {format_gap(value)} hour" in echo


# --- the one-line form ---------------------------------------------------------------------


def test_the_one_line_form_takes_named_limits_in_any_order() -> None:
    line = parse_one_line("Medicine A | 1 tablet | 08:00, 20:00 | with food | max 4 | gap 6h")
    assert (line.note, line.max_per_24h, line.min_hours) == ("with food", 4, 6.0)
    line = parse_one_line("Medicine A | 1 tablet | as needed | gap 4.5 | max 3 doses")
    assert (line.note, line.max_per_24h, line.min_hours) == (None, 3, 4.5)
    line = parse_one_line("Medicine A | 1 tablet | 08:00 | max 2")
    assert (line.note, line.max_per_24h, line.min_hours) == (None, 2, None)


def test_the_three_and_four_part_forms_still_work() -> None:
    line = parse_one_line("Medicine A | 1 tablet | 08:00, 20:00")
    assert (line.note, line.max_per_24h, line.min_hours) == (None, None, None)
    line = parse_one_line("Medicine A | 1 tablet | 08:00 | with food")
    assert (line.note, line.max_per_24h, line.min_hours) == ("with food", None, None)


@pytest.mark.parametrize(
    "typed, why",
    [
        ("Medicine A | 1 tablet | 08:00 | max 4 | max 5", "one_line_twice"),
        ("Medicine A | 1 tablet | 08:00 | with food | after meals", "one_line_twice"),
        ("Medicine A | 1 tablet | 08:00 | max in 24 hours at most 4", "max_numbers"),
        ("Medicine A | 1 tablet | 08:00 | gap 1 day", "gap_unit"),
        ("Medicine A | 1 tablet | 08:00 | max", "max_bad"),
        ("Medicine A | 1 tablet | 08:00 | max skip", "max_bad"),
        ("Medicine A | 1 tablet | 08:00 | at most 4 a day", "one_line_limits"),
        ("Medicine A | 1 tablet | 08:00 | no more than 4", "one_line_limits"),
        ("Medicine A | 1 tablet | 08:00 | every 6 hours", "one_line_limits"),
        ("Medicine A | 1 tablet | 08:00 | a | max 4 | gap 6 | b", "one_line"),
    ],
)
def test_an_unclear_one_line_limit_is_refused(typed: str, why: str) -> None:
    assert reason(parse_one_line, typed) == why
    assert texts.MED_INPUT[why]


# --- what the person reads back --------------------------------------------------------------


def test_the_saved_limits_are_echoed_in_words() -> None:
    assert (
        texts.label_limits(4, 6.0) == "at most 4 doses in 24 hours; at least 6 hours between doses"
    )
    assert (
        texts.label_limits(1, 4.5) == "at most 1 dose in 24 hours; at least 4.5 hours between doses"
    )
    assert texts.label_limits(None, 1.0) == "no maximum saved; at least 1 hour between doses"
    assert texts.label_limits(2, None) == "at most 2 doses in 24 hours; no minimum gap saved"
    assert texts.label_limits(None, None) == "not saved"


# --- a schedule that already passes its own label -------------------------------------------


def test_times_closer_than_the_gap_or_more_than_the_maximum_are_pointed_out() -> None:
    t = dt.time
    assert schedule_vs_label((t(8), t(20)), 2, 6.0) is None
    assert schedule_vs_label((t(8), t(20)), None, None) is None
    found = schedule_vs_label((t(8), t(10, 30), t(20)), 2, 6.0)
    assert found is not None
    assert found.doses_a_day == 3 and found.close_pair == (t(8), t(10, 30))
    assert found.close_hours == 2.5
    # The last time of a day and the first of the next are neighbours too.
    found = schedule_vs_label((t(2), t(12), t(23)), None, 4.0)
    assert found is not None and found.close_pair == (t(23), t(2)) and found.close_hours == 3
    # One time a day is 24 hours from the next.
    assert schedule_vs_label((t(8),), 1, 24.0) is None
    found = schedule_vs_label((t(8),), None, 36.0)
    assert found is not None and found.close_hours == 24

    text = texts.schedule_heads_up(["08:00", "10:30", "20:00"], 2, 6.0)
    assert "These times are 3 doses a day; the label says at most 2 doses in 24 hours." in text
    assert "08:00 and 10:30 are 2 h 30 min apart; the label says at least 6 hours" in text
    assert "doctor or pharmacist" in text
    assert texts.schedule_heads_up(["08:00", "20:00"], 2, 6.0) == ""
