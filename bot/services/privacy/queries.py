"""Data rights: the queries behind export and deletion (counts, names, locks)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.circles import active_helpers, display_name
from bot.db.models import (
    Circle,
    DailyCheckin,
    DoseOccurrence,
    Medication,
    Membership,
    MemberStatus,
    Need,
    PainReport,
    StageChange,
    TipShown,
    User,
)
from bot.domain.privacy import CircleCounts


async def _run(session: AsyncSession, statement: Any) -> None:
    await session.execute(statement.execution_options(synchronize_session=False))


async def _all(session: AsyncSession, model: Any, where: Any, order: Any) -> Sequence[Any]:
    return (await session.scalars(select(model).where(where).order_by(order))).all()


async def _names_in(session: AsyncSession, circle_id: int) -> dict[int, str]:
    """The names of everyone who is or was in the circle (those who deleted their data are
    not: they show as a former helper)."""
    users = await session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.circle_id == circle_id)
    )
    return {user.id: display_name(user) for user in users}


async def _lock_circles(session: AsyncSession, user_id: int) -> None:
    """Lock (PostgreSQL) every circle this person is active in, in id order, before changing
    anything: a patient and their helper deleting at once then take turns, never deadlock."""
    theirs = select(Membership.circle_id).where(
        Membership.user_id == user_id, Membership.status == MemberStatus.ACTIVE
    )
    await session.execute(
        select(Circle.id).where(Circle.id.in_(theirs)).order_by(Circle.id).with_for_update()
    )


async def _counts(session: AsyncSession, circle_id: int) -> CircleCounts:
    async def count(model: Any, *where: Any) -> int:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    meds = select(Medication.id).where(Medication.circle_id == circle_id)
    helpers = await active_helpers(session, circle_id)
    return CircleCounts(
        helpers=tuple(display_name(user) for _, user in helpers),
        needs=await count(Need, Need.circle_id == circle_id),
        medications=await count(Medication, Medication.circle_id == circle_id),
        doses=await count(DoseOccurrence, DoseOccurrence.medication_id.in_(meds)),
        pain_reports=await count(PainReport, PainReport.circle_id == circle_id),
        stage_changes=await count(StageChange, StageChange.circle_id == circle_id),
        checkins=await count(DailyCheckin, DailyCheckin.circle_id == circle_id),
        tips=await count(TipShown, TipShown.circle_id == circle_id),
    )


async def _has_data(session: AsyncSession, user: User) -> bool:
    """More than the name Telegram shows us with every update: a membership (even an ended
    one, or their own circle's), or settings of their own."""
    if any((user.timezone, user.quiet_start, user.away_until, user.awaiting, user.draft)):
        return True
    return bool(await session.scalar(select(exists().where(Membership.user_id == user.id))))
