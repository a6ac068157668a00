"""Queries about needs and the offers that asked helpers about them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Membership, MemberStatus, Need, NeedOffer, Role, User
from bot.domain.needs import NeedState


async def done_counts(session: AsyncSession, circle_id: int, since: dt.datetime) -> dict[int, int]:
    """How many of the circle's needs each helper has done since `since`."""
    rows = await session.execute(
        select(Need.owner_id, func.count())
        .where(
            Need.circle_id == circle_id,
            Need.state == NeedState.DONE,
            Need.done_at >= since,
        )
        .group_by(Need.owner_id)
    )
    return {owner: count for owner, count in rows.all() if owner is not None}


async def on_it_counts(session: AsyncSession, circle_id: int) -> dict[int, int]:
    """How many of the circle's needs each helper has taken and not finished yet."""
    rows = await session.execute(
        select(Need.owner_id, func.count())
        .where(Need.circle_id == circle_id, Need.state == NeedState.CLAIMED)
        .group_by(Need.owner_id)
    )
    return {owner: count for owner, count in rows.all() if owner is not None}


async def live_offers(session: AsyncSession, need_id: int) -> list[tuple[NeedOffer, User]]:
    """Offers whose messages still ask the helper (any round), oldest first, with who."""
    rows = await session.execute(
        select(NeedOffer, User)
        .join(User, User.id == NeedOffer.helper_id)
        .where(NeedOffer.need_id == need_id, NeedOffer.closed_at.is_(None))
        .order_by(NeedOffer.id)
    )
    return [(offer, user) for offer, user in rows.all()]


async def owner_views(session: AsyncSession, need_id: int, owner_id: int) -> list[NeedOffer]:
    """The owner's own messages about this need that show "Done" / "Can't make it"."""
    return list(
        await session.scalars(
            select(NeedOffer).where(
                NeedOffer.need_id == need_id,
                NeedOffer.helper_id == owner_id,
                NeedOffer.owner_view.is_(True),
            )
        )
    )


async def round_offers(
    session: AsyncSession, need_id: int, route_round: int
) -> list[tuple[NeedOffer, User]]:
    """Everyone asked in this round, with who they are."""
    rows = await session.execute(
        select(NeedOffer, User)
        .join(User, User.id == NeedOffer.helper_id)
        .where(NeedOffer.need_id == need_id, NeedOffer.route_round == route_round)
        .order_by(NeedOffer.id)
    )
    return [(offer, user) for offer, user in rows.all()]


async def own_needs(
    session: AsyncSession, circle_id: int, done_since: dt.datetime, limit: int
) -> list[Need]:
    """The patient's open and taken needs, and those done since `done_since`; newest first."""
    return list(
        await session.scalars(
            select(Need)
            .where(
                Need.circle_id == circle_id,
                or_(
                    Need.state.in_((NeedState.OPEN, NeedState.CLAIMED)),
                    and_(
                        Need.state == NeedState.DONE,
                        Need.done_at >= done_since,
                    ),
                ),
            )
            .order_by(Need.created_at.desc(), Need.id.desc())
            .limit(limit)
        )
    )


async def open_needs_in(session: AsyncSession, circle_ids: Sequence[int], limit: int) -> list[Need]:
    """The open needs of these circles: urgent first, then oldest first."""
    return list(
        await session.scalars(
            select(Need)
            .where(Need.circle_id.in_(circle_ids), Need.state == NeedState.OPEN)
            .order_by(Need.urgent.desc(), Need.created_at, Need.id)
            .limit(limit)
        )
    )


async def taken_by(
    session: AsyncSession, circle_ids: Sequence[int], user_id: int, limit: int
) -> list[Need]:
    """What this helper has taken in these circles and not finished, in the order taken."""
    return list(
        await session.scalars(
            select(Need)
            .where(
                Need.circle_id.in_(circle_ids),
                Need.owner_id == user_id,
                Need.state == NeedState.CLAIMED,
            )
            .order_by(Need.claimed_at, Need.id)
            .limit(limit)
        )
    )


async def done_by(
    session: AsyncSession, circle_ids: Sequence[int], user_id: int, since: dt.datetime
) -> int:
    """How many needs of these circles this helper has done since `since`."""
    return (
        await session.scalar(
            select(func.count()).where(
                Need.circle_id.in_(circle_ids),
                Need.owner_id == user_id,
                Need.state == NeedState.DONE,
                Need.done_at >= since,
            )
        )
        or 0
    )


async def owned_in_circle(session: AsyncSession, circle_id: int, user_id: int) -> list[Need]:
    """The circle's needs this person has taken and not finished (in no particular order)."""
    return list(
        await session.scalars(
            select(Need).where(
                Need.circle_id == circle_id,
                Need.owner_id == user_id,
                Need.state == NeedState.CLAIMED,
            )
        )
    )


async def live_offers_to(
    session: AsyncSession, circle_id: int, user_id: int
) -> list[tuple[NeedOffer, Need]]:
    """The offers still asking this person about the circle's needs, with the need."""
    rows = await session.execute(
        select(NeedOffer, Need)
        .join(Need, Need.id == NeedOffer.need_id)
        .where(
            Need.circle_id == circle_id,
            NeedOffer.helper_id == user_id,
            NeedOffer.closed_at.is_(None),
        )
    )
    return [(offer, need) for offer, need in rows.all()]


async def first_step_at(session: AsyncSession) -> dt.datetime | None:
    """When the clock next has something to do for any need."""
    result: dt.datetime | None = await session.scalar(
        select(Need.next_step_at)
        .where(Need.next_step_at.is_not(None))
        .order_by(Need.next_step_at)
        .limit(1)
    )
    return result


def due_needs(now: dt.datetime, skip: set[int]) -> Select[Any]:
    """Needs whose next step is due by `now`, soonest first, but for those in `skip`."""
    query = select(Need.id).where(Need.next_step_at <= now)
    if skip:
        query = query.where(Need.id.not_in(skip))
    return query.order_by(Need.next_step_at, Need.id)


async def helping_circles(session: AsyncSession, user_id: int) -> list[int]:
    """The circles this person is an active helper of."""
    return list(
        await session.scalars(
            select(Membership.circle_id).where(
                Membership.user_id == user_id,
                Membership.status == MemberStatus.ACTIVE,
                Membership.role == Role.HELPER,
            )
        )
    )


async def memberships_of(session: AsyncSession, user_id: int) -> list[tuple[int, str]]:
    """Each circle this person is an active member of, with their role in it."""
    rows = await session.execute(
        select(Membership.circle_id, Membership.role).where(
            Membership.user_id == user_id, Membership.status == MemberStatus.ACTIVE
        )
    )
    return [(circle_id, role) for circle_id, role in rows.all()]
