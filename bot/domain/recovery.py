"""Recovery stages, pain scores and when to suggest a change: pure rules, no I/O.

The bot only ever *suggests* a stage change; the patient decides. The rules, first match wins:

- a flare-up in a later stage (easing, strengthening, staying well) → back to acute: the new
  score is 8 or more ("flare"), or it is 6 or more and another of the last three local days
  (the new score's day and the two before) had a score of 6 or more too ("high again");
- rising pain → "not getting better": the day's highest pain went up on each of the last three
  days reported, ending above 4 (a rise from 1 to 3 is not a worry worth raising);
- acute (or not getting better) → easing: the day's highest pain 4 or lower on the last two
  days reported — two days, so two scores minutes apart are not enough;
- easing → strengthening: the day's highest pain 2 or lower on the last three days reported;
- no improvement after 7 days in the acute stage → "not getting better": the latest report is
  still above 4 and no lower than the first one in this stage.

Days are the patient's local dates. Only reports made since the current stage began count.
Pain 9–10 is severe: suggest a doctor, whatever the stage.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.clocktime import parse_time_of_day


class Stage(StrEnum):
    ACUTE = "acute"
    EASING = "easing"
    STRENGTHENING = "strengthening"
    STAYING_WELL = "staying-well"
    NOT_IMPROVING = "not-improving"


PAIN_MIN, PAIN_MAX = 0, 10
SEVERE_PAIN = 9
# A score this high in a later stage is a flare-up: back to acute?
FLARE_PAIN = 8
# Scores this high on HIGH_PAIN_DAYS of the last HIGH_PAIN_WINDOW local days are one too.
HIGH_PAIN = 6
HIGH_PAIN_DAYS = 2
HIGH_PAIN_WINDOW = 3
LATER_STAGES = (Stage.EASING, Stage.STRENGTHENING, Stage.STAYING_WELL)
EASING_READY_PAIN = 4
EASING_READY_DAYS = 2
STRENGTHENING_READY_DAYS = 3
STRENGTHENING_READY_PAIN = 2
RISING_WORRY_PAIN = 5
ACUTE_TOO_LONG = dt.timedelta(days=7)

# What people type for each stage (lower case, single spaces, "-" and "_" as spaces).
_STAGE_WORDS: dict[str, Stage] = {
    **dict.fromkeys(["acute", "acute flare", "flare", "flare up", "flareup", "spasm"], Stage.ACUTE),
    **dict.fromkeys(["easing", "easing off", "eased", "easier"], Stage.EASING),
    **dict.fromkeys(
        ["strengthening", "strengthen", "strength", "stronger", "building strength"],
        Stage.STRENGTHENING,
    ),
    **dict.fromkeys(
        ["staying well", "stayingwell", "well", "staying", "prevention", "preventing"],
        Stage.STAYING_WELL,
    ),
    **dict.fromkeys(
        ["not improving", "not getting better", "no better", "worse", "getting worse"],
        Stage.NOT_IMPROVING,
    ),
}
_SEPARATORS = re.compile(r"[\s_\-]+")
_PAIN = re.compile(r"^\s*(?P<n>[+-]?\d{1,3})\s*(?:/\s*10)?\s*$")


def parse_stage(text: str) -> Stage | None:
    """ "acute", "Staying well", "staying_well", "STRENGTH" … → a stage; anything else → None."""
    cleaned = _SEPARATORS.sub(" ", text.strip().lower()).strip()
    return _STAGE_WORDS.get(cleaned)


def parse_pain(text: str) -> int | None:
    """ "3", " 7 ", "7/10" → the score; "11", "-1", "ten", "3.5" → None."""
    match = _PAIN.match(text)
    if not match:
        return None
    value = int(match["n"])
    if match["n"].startswith(("+", "-")) or not PAIN_MIN <= value <= PAIN_MAX:
        return None
    return value


def is_severe(score: int) -> bool:
    return score >= SEVERE_PAIN


@dataclass(frozen=True)
class Reading:
    """One pain report: the patient's local date and the 0–10 score."""

    day: dt.date
    score: int


class Reason(StrEnum):
    FLARE = "flare"
    HIGH_AGAIN = "high_again"
    EASING_READY = "easing_ready"
    STRENGTHENING_READY = "strengthening_ready"
    RISING = "rising"
    NO_IMPROVEMENT = "no_improvement"


@dataclass(frozen=True)
class Suggestion:
    """A stage change the bot offers (never makes), and why."""

    target: Stage
    reason: Reason


def daily_highs(readings: Sequence[Reading]) -> list[tuple[dt.date, int]]:
    """Each reported day's highest score, oldest day first."""
    highs: dict[dt.date, int] = {}
    for reading in readings:
        highs[reading.day] = max(reading.score, highs.get(reading.day, PAIN_MIN))
    return sorted(highs.items())


def suggest(
    stage: Stage, readings: Sequence[Reading], in_stage_for: dt.timedelta
) -> Suggestion | None:
    """What to suggest after a new report, given every report since `stage` began (oldest first)."""
    if not readings:
        return None
    flare = _flare(readings) if stage in LATER_STAGES else None
    if flare is not None:
        return Suggestion(Stage.ACUTE, flare)
    highs = [score for _, score in daily_highs(readings)]
    if stage != Stage.NOT_IMPROVING and _rising(highs):
        return Suggestion(Stage.NOT_IMPROVING, Reason.RISING)
    if stage in (Stage.ACUTE, Stage.NOT_IMPROVING) and _low_days(
        highs, EASING_READY_DAYS, EASING_READY_PAIN
    ):
        return Suggestion(Stage.EASING, Reason.EASING_READY)
    if stage == Stage.EASING and _low_days(
        highs, STRENGTHENING_READY_DAYS, STRENGTHENING_READY_PAIN
    ):
        return Suggestion(Stage.STRENGTHENING, Reason.STRENGTHENING_READY)
    if stage == Stage.ACUTE and in_stage_for >= ACUTE_TOO_LONG:
        latest, first = readings[-1].score, readings[0].score
        if latest > EASING_READY_PAIN and latest >= first:
            return Suggestion(Stage.NOT_IMPROVING, Reason.NO_IMPROVEMENT)
    return None


def _flare(readings: Sequence[Reading]) -> Reason | None:
    """Is the newest report a flare-up: severe now, or high again within a few days?"""
    latest = readings[-1]
    if latest.score >= FLARE_PAIN:
        return Reason.FLARE
    if latest.score < HIGH_PAIN:
        return None
    since = latest.day - dt.timedelta(days=HIGH_PAIN_WINDOW - 1)
    high_days = {r.day for r in readings if r.score >= HIGH_PAIN and since <= r.day <= latest.day}
    return Reason.HIGH_AGAIN if len(high_days) >= HIGH_PAIN_DAYS else None


def _low_days(highs: Sequence[int], days: int, at_most: int) -> bool:
    """The day's highest pain at most `at_most` on each of the last `days` days reported."""
    return len(highs) >= days and all(high <= at_most for high in highs[-days:])


def _rising(highs: Sequence[int]) -> bool:
    if len(highs) < 3:
        return False
    a, b, c = highs[-3:]
    return a < b < c and c >= RISING_WORRY_PAIN


# --- the one-line commands' arguments ----------------------------------------------------


@dataclass(frozen=True)
class ScheduleChoice:
    """What `/tips …` or `/checkin …` asked for: show, on, off, or a new daily time."""

    action: str  # "show", "on", "off", "time" or "invalid"
    at: dt.time | None = None


def parse_schedule_choice(text: str) -> ScheduleChoice:
    """ "" → show; "on"/"off" (and yes/no, stop) → on/off; "09:00", "9am" → that time."""
    cleaned = text.strip().lower()
    if not cleaned:
        return ScheduleChoice("show")
    if cleaned in ("on", "yes", "start", "resume"):
        return ScheduleChoice("on")
    if cleaned in ("off", "no", "stop", "none", "pause"):
        return ScheduleChoice("off")
    at = parse_time_of_day(cleaned)
    if at is None:
        return ScheduleChoice("invalid")
    return ScheduleChoice("time", at)


@dataclass(frozen=True)
class TipsCommand:
    """`/tips …`: the patient's daily tip (`helper=False`) or a helper's tips (`helper=True`)."""

    helper: bool
    choice: ScheduleChoice


def parse_tips_command(text: str) -> TipsCommand:
    """ "09:00", "off", "" for the patient's own tips; "helper on" / "helper off" for helpers."""
    words = text.strip().split(maxsplit=1)
    if words and words[0].lower() in ("helper", "helpers", "helping"):
        choice = parse_schedule_choice(words[1] if len(words) > 1 else "")
        if choice.action == "time":
            choice = ScheduleChoice("invalid")  # helper tips follow the patient's time
        return TipsCommand(True, choice)
    return TipsCommand(False, parse_schedule_choice(text))
