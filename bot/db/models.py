"""The tables: people, care circles, invites and the outbox of messages to send."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.db.types import UTCDateTime

# Deterministic constraint names keep Alembic migrations identical on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base with the shared naming convention."""

    metadata = MetaData(naming_convention=NAMING)


class Role(StrEnum):
    PATIENT = "patient"
    HELPER = "helper"


class Access(StrEnum):
    """What a helper may see: close family sees medication, errand helpers only needs."""

    CLOSE = "close"
    ERRAND = "errand"


class MemberStatus(StrEnum):
    ACTIVE = "active"
    REMOVED = "removed"
    LEFT = "left"


class InviteStatus(StrEnum):
    ACTIVE = "active"
    USED = "used"
    REPLACED = "replaced"


class OutboxState(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"


class User(Base):
    """Someone who has talked to the bot; the id is their Telegram user id."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    first_name: Mapped[str] = mapped_column(String(128))
    last_name: Mapped[str | None] = mapped_column(String(128))
    username: Mapped[str | None] = mapped_column(String(64))
    timezone: Mapped[str | None] = mapped_column(String(64))
    # Which free-text answer the bot is waiting for (e.g. "timezone"); kept here, not in
    # memory, so a restart or another replica carries the conversation on.
    awaiting: Mapped[str | None] = mapped_column(String(32))
    # The answers so far of a multi-step flow (e.g. posting a need), for the same reason.
    draft: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # False once Telegram answered 403: they blocked the bot or never pressed Start.
    reachable: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class Circle(Base):
    """One patient and the helpers around them."""

    __tablename__ = "circles"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("users.id"), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    # The patient's choices (see CIRCLE_SETTINGS in bot.services.circles).
    # Ask helpers one at a time, least busy first, instead of everyone at once.
    one_at_a_time: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Close family may add or change the patient's medications.
    helpers_manage_meds: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Close family at the bedside may mark a dose as given.
    helpers_mark_given: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Ask a close-family helper to look in when the daily check-in goes unanswered.
    lookin_requests: Mapped[bool] = mapped_column(default=True, server_default=true())


class Membership(Base):
    """A person's place in a circle; rows are kept when someone leaves, for history."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("circle_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    access: Mapped[str] = mapped_column(String(16), default=Access.CLOSE)
    status: Mapped[str] = mapped_column(String(16), default=MemberStatus.ACTIVE)
    joined_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Invite(Base):
    """A single-use code that lets one helper join a circle."""

    __tablename__ = "invites"
    __table_args__ = (Index("ix_invites_circle_status", "circle_id", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    access: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=InviteStatus.ACTIVE)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class OutboxMessage(Base):
    """A message to someone other than the person acting, written with the change it reports.

    The key makes each effect exactly-once: the same notification cannot be queued twice.
    """

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "state", "priority", "not_before", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(40))
    chat_id: Mapped[int] = mapped_column(BigInteger)
    # "send" a new message, or "edit" the message an earlier row (ref_key) sent.
    op: Mapped[str] = mapped_column(String(8), default="send")
    ref_key: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    priority: Mapped[int] = mapped_column(SmallInteger)
    state: Mapped[str] = mapped_column(String(16), default=OutboxState.PENDING)
    not_before: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(String(200))
    circle_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


# --- meds ---


class Medication(Base):
    """One medication on the patient's list, with its schedule in their local wall-clock time.

    `next_due_at` is the UTC instant of the next reminder (NULL when paused, deleted or taken
    as needed): the scheduler asks only for the smallest one, over an index.
    """

    __tablename__ = "medications"
    # One active medication per name in a circle: `name_key` is NULL once deleted.
    __table_args__ = (UniqueConstraint("circle_id", "name_key"),)

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
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
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
    # The close-family helper who said "I'll check on them".
    checker_id: Mapped[int | None] = mapped_column(BigInteger)
