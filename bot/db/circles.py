"""Queries about circles and their members, shared by every service."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Circle, Membership, MemberStatus, Role, User
from bot.domain.errors import NotPatient, NotRegistered


def display_name(user: User) -> str:
    return user.first_name or (f"@{user.username}" if user.username else "Someone")


async def patient_circle_id(session: AsyncSession, user_id: int) -> int | None:
    """The circle this person is the patient of, if any."""
    result: int | None = await session.scalar(select(Circle.id).where(Circle.patient_id == user_id))
    return result


async def require_patient(session: AsyncSession, user_id: int) -> int:
    """The circle this person is the patient of. Anyone else is refused: a helper (someone in
    a circle) with NotPatient, someone in no circle yet with NotRegistered."""
    circle_id = await patient_circle_id(session, user_id)
    if circle_id is not None:
        return circle_id
    member = await session.scalar(
        select(Membership.id).where(
            Membership.user_id == user_id, Membership.status == MemberStatus.ACTIVE
        )
    )
    raise NotPatient() if member is not None else NotRegistered()


async def circle_and_patient(session: AsyncSession, circle_id: int) -> tuple[Circle, User] | None:
    row = (
        await session.execute(
            select(Circle, User)
            .join(User, User.id == Circle.patient_id)
            .where(Circle.id == circle_id)
        )
    ).one_or_none()
    return (row[0], row[1]) if row else None


async def active_membership(
    session: AsyncSession, circle_id: int, user_id: int
) -> Membership | None:
    """This person's membership of that circle, only while it is active."""
    result: Membership | None = (
        await session.scalars(
            select(Membership).where(
                Membership.circle_id == circle_id,
                Membership.user_id == user_id,
                Membership.status == MemberStatus.ACTIVE,
            )
        )
    ).one_or_none()
    return result


async def active_helpers(
    session: AsyncSession, circle_id: int, access: str | None = None
) -> list[tuple[Membership, User]]:
    """The circle's active helpers (optionally only close family or errand helpers)."""
    query = (
        select(Membership, User)
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.circle_id == circle_id,
            Membership.status == MemberStatus.ACTIVE,
            Membership.role == Role.HELPER,
        )
        .order_by(Membership.joined_at, Membership.id)
    )
    if access is not None:
        query = query.where(Membership.access == access)
    return [(m, u) for m, u in (await session.execute(query)).all()]


def can_be_reached(user: User, now: dt.datetime) -> bool:
    """Messages reach them now: they have not blocked the bot (403) and are not away."""
    return user.reachable and (user.away_until is None or user.away_until <= now)


async def reachable_helpers(
    session: AsyncSession, circle_id: int, access: str, now: dt.datetime
) -> list[User]:
    """The circle's active helpers of this kind who can be reached now, longest-standing
    first."""
    return [
        u for _m, u in await active_helpers(session, circle_id, access) if can_be_reached(u, now)
    ]
