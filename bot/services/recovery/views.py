"""Recovery's plain data: its settings, the views handlers render, and small helpers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from bot.domain.recovery import Stage, Suggestion

PATIENT, HELPER = "patient", "helper"
UTC = "UTC"


class DoseCounter(Protocol):
    """Doses taken per day, for the /progress chart (the medication feature provides it)."""

    async def doses_per_day(
        self, circle_id: int, days: Sequence[dt.date]
    ) -> Mapping[dt.date, int] | None:
        """Doses taken on each of these local dates of the patient; None if they have no
        medications (then the chart shows pain only)."""
        ...


@dataclass(frozen=True)
class RecoveryConfig:
    tip_time: dt.time
    checkin_time: dt.time
    nudge_time: dt.time
    lookin_time: dt.time
    late_grace: dt.timedelta
    suggestion_pause: dt.timedelta
    # Nobody tapped "I'll check on them" this long after a look-in request: ask the others.
    lookin_escalate: dt.timedelta = dt.timedelta(minutes=60)


@dataclass(frozen=True)
class StageView:
    stage: Stage
    since: dt.datetime
    timezone: str | None
    changed: bool = False
    # True when this choice finished onboarding (the invite link comes next).
    first: bool = False


@dataclass(frozen=True)
class TipView:
    tip_id: str
    text: str
    stage: Stage
    circle_id: int
    patient_name: str
    # "Back to acute?" after a flare-up waits for an answer: no exercise tips until then.
    exercise_paused: bool = False


@dataclass(frozen=True)
class PainResult:
    report_id: int
    score: int
    stage: Stage
    severe: bool
    suggestion: Suggestion | None
    checkin: bool


@dataclass(frozen=True)
class ScheduleView:
    """A daily time (tips or check-ins): on or off, in the patient's zone."""

    on: bool
    at: dt.time
    timezone: str | None


@dataclass(frozen=True)
class HelperTips:
    circle_id: int
    patient_name: str
    on: bool


@dataclass(frozen=True)
class TipSettings:
    patient: ScheduleView | None
    helping: tuple[HelperTips, ...]


@dataclass(frozen=True)
class ProgressView:
    days: tuple[dt.date, ...]
    # The day's highest score, for days with a report.
    pain: Mapping[dt.date, int]
    reports: int
    # (local date, stage entered) within the window.
    stage_marks: tuple[tuple[dt.date, Stage], ...]
    stage: Stage
    stage_since: dt.datetime
    timezone: str
    doses: Mapping[dt.date, int] | None
