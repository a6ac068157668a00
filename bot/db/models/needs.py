"""The needs tables: what the patient asked for, and who was asked."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from bot.db.models.core import Base
from bot.db.types import UTCDateTime


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
