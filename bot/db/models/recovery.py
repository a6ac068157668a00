"""The recovery tables: stages, care tips, pain check-ins."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Time,
    UniqueConstraint,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models.core import Base
from bot.db.types import UTCDateTime


class CheckinState(StrEnum):
    """A daily check-in: asked → (nudged →) answered, or missed (a helper may be asked to look
    in), or cancelled when the patient turns check-ins off."""

    ASKED = "asked"
    NUDGED = "nudged"
    ANSWERED = "answered"
    MISSED = "missed"
    CANCELLED = "cancelled"


class RecoveryPlan(Base):
    """A circle's recovery: the stage, and when the daily tip and check-in fall due."""

    __tablename__ = "recovery_plans"

    circle_id: Mapped[int] = mapped_column(
        ForeignKey("circles.id", ondelete="CASCADE"), primary_key=True, autoincrement=False
    )
    stage: Mapped[str] = mapped_column(String(20))
    stage_since: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # The daily tip, in the patient's local time. The run also serves opted-in helpers, so it
    # stays scheduled while the patient's own tips are off.
    tips_on: Mapped[bool] = mapped_column(default=True, server_default=true())
    tip_time: Mapped[dt.time] = mapped_column(Time)
    next_tip_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    # The patient's local date of the last daily tip: never two in one day.
    last_tip_day: Mapped[dt.date | None] = mapped_column(Date)
    checkins_on: Mapped[bool] = mapped_column(default=True, server_default=true())
    checkin_time: Mapped[dt.time] = mapped_column(Time)
    next_checkin_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    # "Not now" to a suggested stage: not offered again until then.
    declined_stage: Mapped[str | None] = mapped_column(String(20))
    declined_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # "Back to acute?" after a flare-up, asked then and not answered yet: exercise tips wait.
    flare_asked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class StageChange(Base):
    """Each stage the patient entered, for the /progress chart."""

    __tablename__ = "stage_changes"
    __table_args__ = (Index("ix_stage_changes_circle_at", "circle_id", "changed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    from_stage: Mapped[str | None] = mapped_column(String(20))
    to_stage: Mapped[str] = mapped_column(String(20))
    changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class TipShown(Base):
    """A tip shown in a circle (to the patient, or to its helpers): the rotation's memory."""

    __tablename__ = "tips_shown"
    __table_args__ = (Index("ix_tips_shown_circle_audience", "circle_id", "audience", "tip_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    audience: Mapped[str] = mapped_column(String(8))
    tip_id: Mapped[str] = mapped_column(String(64))
    shown_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class PainReport(Base):
    """A 0–10 pain score. The key (a check-in, a message, a button prompt) makes a resent
    update or a double tap one report; a second tap on the same prompt corrects it."""

    __tablename__ = "pain_reports"
    __table_args__ = (Index("ix_pain_reports_circle_at", "circle_id", "reported_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(80), unique=True)
    score: Mapped[int] = mapped_column(SmallInteger)
    reported_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    local_date: Mapped[dt.date] = mapped_column(Date)
    source: Mapped[str] = mapped_column(String(16))


class DailyCheckin(Base):
    """One day's "How's your back today?": at most one per circle and local date."""

    __tablename__ = "daily_checkins"
    __table_args__ = (UniqueConstraint("circle_id", "local_date"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    local_date: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(16))
    asked_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # The evening nudge (None when asked too late in the day for one) and the next-morning
    # look-in request; due_at is the next of them still to come, None once settled.
    nudge_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    lookin_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The helper asked first to look in; once someone taps "I'll check on them", that helper
    # (and lookin_claimed_at says when: the first tap wins). While the look-in waits for a
    # tap, due_at is when the others are asked too.
    lookin_user_id: Mapped[int | None] = mapped_column(BigInteger)
    lookin_claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class HelperTipOptIn(Base):
    """A helper who asked for helper tips in this circle (per circle: one may help in several)."""

    __tablename__ = "helper_tip_optins"
    __table_args__ = (UniqueConstraint("circle_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
