"""Queries about needs and the offers that asked helpers about them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Need, NeedOffer, User
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
