"""The medication tables: medications and their dose occurrences."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models.core import Base
from bot.db.types import UTCDateTime


class Medication(Base):
    """One medication on the patient's list, with its schedule in their local wall-clock time.

    `next_due_at` is the UTC instant of the next reminder (NULL when paused, deleted or taken
    as needed): the scheduler asks only for the smallest one, over an index.
    """

    __tablename__ = "medications"
    __table_args__ = (
        # One active medication per name in a circle: `name_key` is NULL once deleted.
        UniqueConstraint("circle_id", "name_key"),
        # No label says "at most 0 doses" or "0 hours apart": such a value is a typo, and a
        # stored 0 once broke the label check. NULL is "not saved".
        CheckConstraint("max_per_24h >= 1", name="max_per_24h_positive"),
        CheckConstraint("min_hours_between > 0", name="min_hours_between_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(60))
    name_key: Mapped[str | None] = mapped_column(String(60))
    dose: Mapped[str] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(String(120))
    # "fixed" times, an "interval" expanded to fixed times, or "as_needed".
    kind: Mapped[str] = mapped_column(String(16))
    # Local wall-clock times, "HH:MM", in the patient's time zone.
    times: Mapped[list[str]] = mapped_column(JSON)
    every_hours: Mapped[int | None] = mapped_column(SmallInteger)
    # From the label: maximum doses in 24 hours and minimum hours between doses.
    max_per_24h: Mapped[int | None] = mapped_column(SmallInteger)
    min_hours_between: Mapped[float | None] = mapped_column(Float)
    # Doses on hand (None: not counted), and where the refill offer stands.
    supply_on_hand: Mapped[int | None] = mapped_column(Integer)
    supply_set_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    refill_state: Mapped[str | None] = mapped_column(String(16))
    # Minutes until close family is alerted about an unconfirmed dose; None: the default.
    alert_minutes: Mapped[float | None] = mapped_column(Float)
    paused: Mapped[bool] = mapped_column(default=False, server_default=false())
    next_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    # NULL once the helper who added it deleted their data (see bot.services.privacy).
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class DoseOccurrence(Base):
    """One dose: a scheduled slot (created when its reminder is queued) or an extra dose logged
    with /took. Its `state` changes only by conditional updates on `version` (see
    bot.domain.doses); `next_action_at` is when the scheduler next has work for it.
    """

    __tablename__ = "dose_occurrences"
    __table_args__ = (
        # A slot is materialised once, whatever restarts or replicas do.
        UniqueConstraint("medication_id", "slot"),
        Index("ix_dose_occurrences_medication_due", "medication_id", "due_at"),
        Index("ix_dose_occurrences_medication_taken", "medication_id", "taken_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    medication_id: Mapped[int] = mapped_column(ForeignKey("medications.id", ondelete="CASCADE"))
    # Local date and time of a scheduled dose ("2026-03-29T08:00"); NULL for an extra dose.
    slot: Mapped[str | None] = mapped_column(String(16))
    # For an extra dose: the request that logged it, so a resent update logs it once.
    request_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    scheduled: Mapped[bool] = mapped_column(default=True, server_default=true())
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=0)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # How many times the reminder was sent again after a snooze (each is its own message).
    resends: Mapped[int] = mapped_column(SmallInteger, default=0)
    alert_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    next_action_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime, index=True)
    snoozed_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    nudged_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    alerted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    taken_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    recorded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    recorded_by: Mapped[int | None] = mapped_column(BigInteger)
    # Sent late (after downtime) or confirmed after the alert limit.
    late: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Logged after the person was warned (the label's limits, or another dose for the same
    # time) and chose "Log it anyway": the record says so, and the checks can tell.
    past_warning: Mapped[bool] = mapped_column(default=False, server_default=false())
    # The close-family helper who said "I'll check on them".
    checker_id: Mapped[int | None] = mapped_column(BigInteger)
    # Doses of one patient reminded in one message share the id of the group's first dose
    # (its "lead"); NULL for a dose reminded on its own.
    group_id: Mapped[int | None] = mapped_column(Integer, index=True)
