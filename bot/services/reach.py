"""Who can be asked to look in on the patient now: close family first, errand helpers only if
the patient allowed it (and then without a word about medication)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.circles import display_name, reachable_helpers
from bot.db.models import Access, Circle, User
from bot.views.reach import AlertReach


async def look_in_people(
    session: AsyncSession, circle: Circle, now: dt.datetime
) -> tuple[list[User], bool]:
    """Who may be asked now, longest-standing first, and whether they are errand helpers.

    Close family who can be reached (not blocked, not away); with none, errand helpers who
    can be reached, if the patient allows it; else nobody, and the patient is to be told.
    """
    close = await reachable_helpers(session, circle.id, Access.CLOSE, now)
    if close or not circle.errand_lookins:
        return close, False
    return await reachable_helpers(session, circle.id, Access.ERRAND, now), True


def alert_reach(people: list[User], errand: bool) -> AlertReach:
    """What look_in_people found, as names."""
    names = tuple(display_name(p) for p in people)
    return AlertReach(close=() if errand else names, errand=names if errand else ())
