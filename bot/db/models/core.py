"""The tables: people, care circles, invites and the outbox of messages to send."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Time,
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
    # Bumped by every change of `awaiting`/`draft` (see bot.db.flows), and when it was made.
    flow_rev: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    flow_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # False once Telegram answered 403: they blocked the bot or never pressed Start.
    reachable: Mapped[bool] = mapped_column(default=True)
    # Failed invite codes in the current window: guessing codes is slowed down per person.
    join_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    join_window_start: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)

    # --- needs: a helper's availability ---
    # Quiet hours, wall-clock times in the person's own time zone (may cross midnight):
    # non-urgent requests wait until they end.
    quiet_start: Mapped[dt.time | None] = mapped_column(Time)
    quiet_end: Mapped[dt.time | None] = mapped_column(Time)
    # Away until this instant (or "until /back", stored far in the future): not asked at all.
    away_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


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
    # When no close family can be reached, ask errand helpers to look in (never saying why).
    errand_lookins: Mapped[bool] = mapped_column(default=False, server_default=false())


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


class Replica(Base):
    """A running bot process, by its heartbeat: live ones share Telegram's flood budget."""

    __tablename__ = "replicas"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


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
    # How many messages of the same priority were waiting for this chat when it was queued:
    # at a peak every chat's first goes before anyone's second (see bot.delivery.outbox).
    place: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    state: Mapped[str] = mapped_column(String(16), default=OutboxState.PENDING)
    not_before: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(String(200))
    circle_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


# --- privacy: /export and /deletemydata ---


# Stands in for a helper who deleted their data, in history that must say "a helper did this"
# without saying who (e.g. `dose_occurrences.recorded_by`: a dose given, not taken). Telegram
# user ids are positive, so 0 is never a person.
FORMER_HELPER_ID = 0

# Deleting someone's data clears the outbox rows of their circle and those addressed to them.
Index("ix_outbox_circle_id", OutboxMessage.circle_id)
Index("ix_outbox_chat_id", OutboxMessage.chat_id)
