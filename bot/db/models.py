"""The tables: people, care circles, invites and the outbox of messages to send."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    Float,
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
    state: Mapped[str] = mapped_column(String(16), default=OutboxState.PENDING)
    not_before: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(String(200))
    circle_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


# --- recovery: stages, care tips, pain check-ins ---------------------------------------------


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


# --- needs ---------------------------------------------------------------------------------


class Need(Base):
    """Something the patient asked for, who took it and when; kept afterwards, for history.

    `state` moves only by conditional updates (see bot.domain.needs). While a need is open,
    `next_step_at` is when the clock next has something to do for it (widen the ladder, remind
    helpers, tell the patient honestly, expire at the deadline); it is NULL otherwise.
    """

    __tablename__ = "needs"
    __table_args__ = (
        Index("ix_needs_circle_state", "circle_id", "state"),
        Index("ix_needs_owner_state", "owner_id", "state"),
        Index("ix_needs_next_step_at", "next_step_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    circle_id: Mapped[int] = mapped_column(ForeignKey("circles.id", ondelete="CASCADE"))
    posted_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    category: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(String(1000))
    note: Mapped[str | None] = mapped_column(String(500))
    media_kind: Mapped[str | None] = mapped_column(String(16))
    media_file_id: Mapped[str | None] = mapped_column(String(255))
    urgent: Mapped[bool] = mapped_column(default=False, server_default=false())
    deadline_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    state: Mapped[str] = mapped_column(String(16))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Each time the need is sent out (posted, sent again, reopened) is a new round.
    route_round: Mapped[int] = mapped_column(Integer, default=1)
    routed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # How far "one at a time" has widened this round: 1, 2 helpers, or 3 = everyone.
    ask_level: Mapped[int] = mapped_column(SmallInteger, default=3)
    widened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    reminded: Mapped[bool] = mapped_column(default=False, server_default=false())
    patient_told: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Who last said "Can't make it after all": not asked again in the round that follows.
    released_by: Mapped[int | None] = mapped_column(BigInteger)
    next_step_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Bumped by every change, so the clock's conditional updates lose to a person's.
    version: Mapped[int] = mapped_column(Integer, default=0)
    # What produced it (a message or a button press), so a resent update posts it once.
    source_ref: Mapped[str | None] = mapped_column(String(80), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    done_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    expired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    thanked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class NeedOffer(Base):
    """One helper asked about one need in one round, and the messages that asked them."""

    __tablename__ = "need_offers"
    __table_args__ = (UniqueConstraint("need_id", "route_round", "helper_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    need_id: Mapped[int] = mapped_column(ForeignKey("needs.id", ondelete="CASCADE"))
    route_round: Mapped[int] = mapped_column(Integer)
    helper_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # Outbox keys of the offer and of the reminder, so both can be edited later.
    offer_key: Mapped[str] = mapped_column(String(200))
    remind_key: Mapped[str | None] = mapped_column(String(200))
    offered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    # Set when quiet hours hold the offer back until then.
    held_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    declined_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # Set once the messages stop offering the need (taken, cancelled, expired).
    closed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # The owner's own messages: they show "Done" / "Can't make it" until the end.
    owner_view: Mapped[bool] = mapped_column(default=False, server_default=false())


# --- meds ---


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


# --- privacy: /export and /deletemydata ---


# Stands in for a helper who deleted their data, in history that must say "a helper did this"
# without saying who (e.g. `dose_occurrences.recorded_by`: a dose given, not taken). Telegram
# user ids are positive, so 0 is never a person.
FORMER_HELPER_ID = 0

# Deleting someone's data clears the outbox rows of their circle and those addressed to them.
Index("ix_outbox_circle_id", OutboxMessage.circle_id)
Index("ix_outbox_chat_id", OutboxMessage.chat_id)
