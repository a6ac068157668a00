"""Stage suggestions and the parsers behind /stage, /pain, /tips and /checkin."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.domain.clocktime import parse_time_of_day
from bot.domain.recovery import (
    Reading,
    Reason,
    Stage,
    Suggestion,
    daily_highs,
    is_severe,
    parse_pain,
    parse_schedule_choice,
    parse_stage,
    parse_tips_command,
    suggest,
)

DAY = dt.date(2026, 3, 2)
WEEK = dt.timedelta(days=7)


def same_day(*scores: int) -> list[Reading]:
    return [Reading(DAY, s) for s in scores]


def one_a_day(*scores: int) -> list[Reading]:
    return [Reading(DAY + dt.timedelta(days=i), s) for i, s in enumerate(scores)]


# --- suggestions ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scores", "expected"),
    [
        ((3, 3), Stage.EASING),
        ((4, 4), Stage.EASING),
        ((7, 2, 1), Stage.EASING),
        ((3,), None),
        ((5, 3), None),
        ((3, 5), None),
        ((3, 5, 3), None),
    ],
)
def test_acute_to_easing_after_two_days_of_four_or_less(
    scores: tuple[int, ...], expected: Stage | None
) -> None:
    found = suggest(Stage.ACUTE, one_a_day(*scores), dt.timedelta(days=3))
    assert (found.target if found else None) == expected


def test_two_low_scores_minutes_apart_are_one_day_not_two() -> None:
    assert suggest(Stage.ACUTE, same_day(3, 3), dt.timedelta(hours=5)) is None
    assert suggest(Stage.ACUTE, same_day(7, 2, 1, 1, 0), dt.timedelta(hours=5)) is None


def test_a_day_with_a_high_score_is_not_a_low_day_for_easing() -> None:
    # Day one: 7 in the morning, 3 in the evening; day two: 3. Day one's highest is 7.
    readings = [Reading(DAY, 7), Reading(DAY, 3), Reading(DAY + dt.timedelta(days=1), 3)]
    assert suggest(Stage.ACUTE, readings, dt.timedelta(days=2)) is None
    readings.append(Reading(DAY + dt.timedelta(days=2), 4))
    found = suggest(Stage.ACUTE, readings, dt.timedelta(days=3))
    assert found == Suggestion(Stage.EASING, Reason.EASING_READY)


def test_not_getting_better_to_easing_too() -> None:
    found = suggest(Stage.NOT_IMPROVING, one_a_day(3, 2), dt.timedelta(days=2))
    assert found == Suggestion(Stage.EASING, Reason.EASING_READY)
    assert suggest(Stage.NOT_IMPROVING, same_day(3, 2), dt.timedelta(days=2)) is None


@pytest.mark.parametrize("stage", [Stage.STRENGTHENING, Stage.STAYING_WELL, Stage.EASING])
def test_low_pain_in_later_stages_does_not_suggest_going_back_to_easing(stage: Stage) -> None:
    assert suggest(stage, same_day(1, 1), dt.timedelta(days=1)) is None


def test_easing_to_strengthening_after_three_days_of_two_or_less() -> None:
    assert suggest(Stage.EASING, one_a_day(2, 1), WEEK) is None
    found = suggest(Stage.EASING, one_a_day(2, 1, 0), WEEK)
    assert found == Suggestion(Stage.STRENGTHENING, Reason.STRENGTHENING_READY)


def test_a_day_counts_by_its_highest_score() -> None:
    readings = [*one_a_day(2, 1), Reading(DAY + dt.timedelta(days=2), 1)]
    readings.append(Reading(DAY + dt.timedelta(days=2), 3))  # a worse moment that day
    assert suggest(Stage.EASING, readings, WEEK) is None
    assert daily_highs(readings)[-1] == (DAY + dt.timedelta(days=2), 3)


def test_only_the_last_three_days_count_for_strengthening() -> None:
    assert suggest(Stage.EASING, one_a_day(5, 2, 2, 1), WEEK) is not None
    assert suggest(Stage.EASING, one_a_day(1, 1, 3, 1, 1), WEEK) is None


@pytest.mark.parametrize(
    "stage", [Stage.ACUTE, Stage.EASING, Stage.STRENGTHENING, Stage.STAYING_WELL]
)
def test_rising_pain_suggests_the_not_getting_better_tips(stage: Stage) -> None:
    found = suggest(stage, one_a_day(3, 5, 7), dt.timedelta(days=3))
    assert found == Suggestion(Stage.NOT_IMPROVING, Reason.RISING)


@pytest.mark.parametrize("scores", [(1, 2, 3), (5, 5, 6), (6, 5, 7), (4, 6)])
def test_small_or_uneven_rises_are_not_raised(scores: tuple[int, ...]) -> None:
    found = suggest(Stage.STRENGTHENING, one_a_day(*scores), dt.timedelta(days=3))
    assert found is None or found.reason != Reason.RISING  # (6, 5, 7) is high again: a flare


def test_rising_is_not_suggested_when_already_not_getting_better() -> None:
    assert suggest(Stage.NOT_IMPROVING, one_a_day(3, 5, 7), WEEK) is None


def test_no_improvement_after_a_week_in_the_acute_stage() -> None:
    readings = one_a_day(6, 7, 6, 6, 7, 6, 6, 6)
    assert suggest(Stage.ACUTE, readings, WEEK - dt.timedelta(hours=1)) is None
    found = suggest(Stage.ACUTE, readings, WEEK)
    assert found == Suggestion(Stage.NOT_IMPROVING, Reason.NO_IMPROVEMENT)


def test_some_improvement_within_the_week_is_not_no_improvement() -> None:
    assert suggest(Stage.ACUTE, one_a_day(8, 7, 7, 7, 6, 6, 6, 6), WEEK) is None


def test_nothing_to_suggest_without_reports() -> None:
    for stage in Stage:
        assert suggest(stage, [], WEEK * 4) is None


@given(
    stage=st.sampled_from(list(Stage)),
    scores=st.lists(st.integers(0, 10), max_size=30),
    days=st.integers(0, 60),
)
def test_a_suggestion_always_names_another_stage(
    stage: Stage, scores: list[int], days: int
) -> None:
    found = suggest(stage, one_a_day(*scores), dt.timedelta(days=days))
    assert found is None or found.target != stage


# --- flare-ups: back to acute -------------------------------------------------------------

LATER = [Stage.EASING, Stage.STRENGTHENING, Stage.STAYING_WELL]


@pytest.mark.parametrize("stage", LATER)
@pytest.mark.parametrize("score", [8, 9, 10])
def test_severe_pain_in_a_later_stage_suggests_going_back_to_acute(
    stage: Stage, score: int
) -> None:
    found = suggest(stage, one_a_day(1, 1, score), WEEK)
    assert found == Suggestion(Stage.ACUTE, Reason.FLARE)
    assert suggest(stage, same_day(score), dt.timedelta(minutes=5)) == found


@pytest.mark.parametrize("stage", LATER)
def test_high_pain_on_two_of_the_last_three_days_suggests_acute(stage: Stage) -> None:
    assert suggest(stage, one_a_day(6, 2, 6), WEEK) == Suggestion(Stage.ACUTE, Reason.HIGH_AGAIN)
    assert suggest(stage, one_a_day(6, 7), WEEK) == Suggestion(Stage.ACUTE, Reason.HIGH_AGAIN)


@pytest.mark.parametrize(
    "readings",
    [
        same_day(6, 7, 6),  # one bad day, reported three times
        one_a_day(6, 2, 2, 6),  # four days apart: not "repeated"
        one_a_day(6, 5),  # 5 is not high
        one_a_day(6, 7, 3),  # high before, but the latest score is low
    ],
)
def test_high_pain_once_or_long_ago_is_not_a_flare(readings: list[Reading]) -> None:
    found = suggest(Stage.STRENGTHENING, readings, WEEK)
    assert found is None or found.target != Stage.ACUTE


@pytest.mark.parametrize("stage", [Stage.ACUTE, Stage.NOT_IMPROVING])
def test_no_flare_suggestion_from_acute_or_not_getting_better(stage: Stage) -> None:
    found = suggest(stage, one_a_day(6, 7, 9), WEEK)
    assert found is None or found.target != Stage.ACUTE


def test_a_flare_comes_before_rising_pain() -> None:
    # Rising over three days, ending at 8: a flare-up first, it's the more urgent change.
    found = suggest(Stage.EASING, one_a_day(3, 5, 8), WEEK)
    assert found == Suggestion(Stage.ACUTE, Reason.FLARE)


def days_and_scores(max_size: int = 20) -> st.SearchStrategy[list[Reading]]:
    """Reports oldest first: each on the day of the one before or up to three days later."""
    steps = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 10)), max_size=max_size)

    def readings(pairs: list[tuple[int, int]]) -> list[Reading]:
        day, out = DAY, []
        for gap, score in pairs:
            day += dt.timedelta(days=gap)
            out.append(Reading(day, score))
        return out

    return steps.map(readings)


@given(
    stage=st.sampled_from(list(Stage)),
    scores=st.lists(st.integers(0, 10), max_size=30),
    hours=st.integers(0, 24 * 60),
)
def test_reports_on_one_day_never_suggest_moving_forward(
    stage: Stage, scores: list[int], hours: int
) -> None:
    found = suggest(stage, same_day(*scores), dt.timedelta(hours=hours))
    assert found is None or found.target in (Stage.ACUTE, Stage.NOT_IMPROVING)


@given(stage=st.sampled_from(list(Stage)), readings=days_and_scores(), days=st.integers(0, 60))
def test_moving_forward_needs_low_days_not_low_reports(
    stage: Stage, readings: list[Reading], days: int
) -> None:
    found = suggest(stage, readings, dt.timedelta(days=days))
    highs = [high for _, high in daily_highs(readings)]
    if found is not None and found.target == Stage.EASING:
        assert stage in (Stage.ACUTE, Stage.NOT_IMPROVING)
        assert len(highs) >= 2 and max(highs[-2:]) <= 4
    if found is not None and found.target == Stage.STRENGTHENING:
        assert stage == Stage.EASING
        assert len(highs) >= 3 and max(highs[-3:]) <= 2


@given(
    stage=st.sampled_from(LATER),
    before=days_and_scores(),
    gap=st.integers(0, 3),
    score=st.integers(8, 10),
    days=st.integers(0, 60),
)
def test_severe_pain_in_a_later_stage_always_suggests_acute(
    stage: Stage, before: list[Reading], gap: int, score: int, days: int
) -> None:
    last = before[-1].day if before else DAY
    readings = [*before, Reading(last + dt.timedelta(days=gap), score)]
    assert suggest(stage, readings, dt.timedelta(days=days)) == Suggestion(
        Stage.ACUTE, Reason.FLARE
    )


@given(stage=st.sampled_from(list(Stage)), readings=days_and_scores(), days=st.integers(0, 60))
def test_back_to_acute_only_from_a_later_stage_and_only_on_high_pain(
    stage: Stage, readings: list[Reading], days: int
) -> None:
    found = suggest(stage, readings, dt.timedelta(days=days))
    if found is None or found.target != Stage.ACUTE:
        return
    assert stage in LATER
    latest = readings[-1]
    if found.reason == Reason.FLARE:
        assert latest.score >= 8
    else:
        assert found.reason == Reason.HIGH_AGAIN
        high_days = {r.day for r in readings if r.score >= 6 and (latest.day - r.day).days < 3}
        assert latest.score >= 6 and len(high_days) >= 2


@pytest.mark.parametrize(("score", "severe"), [(8, False), (9, True), (10, True), (0, False)])
def test_nine_and_ten_are_severe(score: int, severe: bool) -> None:
    assert is_severe(score) is severe


# --- parsers -------------------------------------------------------------------------------

STAGE_WORDS = {
    Stage.ACUTE: "acute",
    Stage.EASING: "easing",
    Stage.STRENGTHENING: "strengthening",
    Stage.STAYING_WELL: "staying well",
    Stage.NOT_IMPROVING: "not getting better",
}


@given(
    stage=st.sampled_from(list(Stage)),
    upper=st.lists(st.booleans(), min_size=30, max_size=30),
    separator=st.sampled_from([" ", "-", "_", "  ", " - "]),
    padding=st.sampled_from(["", " ", "\t", "  \n"]),
)
def test_stage_names_in_any_case_and_with_any_separator(
    stage: Stage, upper: list[bool], separator: str, padding: str
) -> None:
    word = STAGE_WORDS[stage].replace(" ", separator)
    cased = "".join(c.upper() if up else c for c, up in zip(word, upper, strict=False))
    assert parse_stage(f"{padding}{cased}{padding}") == stage


@pytest.mark.parametrize(
    ("typed", "stage"),
    [
        ("staying-well", Stage.STAYING_WELL),
        ("Staying_Well", Stage.STAYING_WELL),
        ("flare-up", Stage.ACUTE),
        ("STRENGTH", Stage.STRENGTHENING),
        ("not-improving", Stage.NOT_IMPROVING),
        ("worse", Stage.NOT_IMPROVING),
    ],
)
def test_stage_synonyms(typed: str, stage: Stage) -> None:
    assert parse_stage(typed) == stage


@pytest.mark.parametrize("typed", ["", "recovered", "acute!", "<b>acute</b>", "🙂", "אקוטי", "1"])
def test_unknown_stage_words_are_refused(typed: str) -> None:
    assert parse_stage(typed) is None


@given(st.text(max_size=40))
def test_parse_stage_never_fails(text: str) -> None:
    assert parse_stage(text) in (None, *Stage)


@given(st.integers(0, 10), st.sampled_from(["", " ", "  "]), st.booleans())
def test_pain_scores_zero_to_ten(score: int, pad: str, out_of_ten: bool) -> None:
    typed = f"{pad}{score}{' /10' if out_of_ten else ''}{pad}"
    assert parse_pain(typed) == score


@given(st.integers().filter(lambda n: not 0 <= n <= 10))
def test_pain_outside_zero_to_ten_is_refused(score: int) -> None:
    assert parse_pain(str(score)) is None


@pytest.mark.parametrize(
    "typed", ["11", "-1", "ten", "3.5", "+3", "", "3 4", "½", "١١", "10/10/10"]
)
def test_pain_needs_digits_zero_to_ten(typed: str) -> None:
    assert parse_pain(typed) is None


def test_pain_in_other_scripts_digits_is_understood() -> None:
    assert parse_pain("٣") == 3  # Arabic-Indic three
    assert parse_pain("３") == 3  # full-width three


@given(st.text(max_size=12))
def test_parse_pain_is_none_or_in_range(text: str) -> None:
    value = parse_pain(text)
    assert value is None or 0 <= value <= 10


@given(st.text(max_size=20))
def test_schedule_choice_matches_the_time_parser(text: str) -> None:
    choice = parse_schedule_choice(text)
    assert choice.action in ("show", "on", "off", "time", "invalid")
    if choice.action == "time":
        assert choice.at == parse_time_of_day(text.strip().lower())
    if choice.action == "invalid":
        assert parse_time_of_day(text.strip().lower()) is None


@pytest.mark.parametrize(
    ("typed", "helper", "action", "at"),
    [
        ("", False, "show", None),
        ("09:00", False, "time", dt.time(9, 0)),
        ("7:30 pm", False, "time", dt.time(19, 30)),
        ("off", False, "off", None),
        ("ON", False, "on", None),
        ("helper on", True, "on", None),
        ("Helper OFF", True, "off", None),
        ("helper", True, "show", None),
        ("helper 09:00", True, "invalid", None),
        ("9", False, "invalid", None),
        ("25:00", False, "invalid", None),
        ("tomorrow", False, "invalid", None),
    ],
)
def test_tips_command(typed: str, helper: bool, action: str, at: dt.time | None) -> None:
    command = parse_tips_command(typed)
    assert (command.helper, command.choice.action, command.choice.at) == (helper, action, at)
