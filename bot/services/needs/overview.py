"""Needs: the lists people see, and a helper leaving."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.db.circles import circle_and_patient, display_name, patient_circle_id
from bot.db.models import Need, Role, User
from bot.db.needs import (
    done_by,
    done_counts,
    helping_circles,
    live_offers_to,
    memberships_of,
    open_needs_in,
    own_needs,
    owned_in_circle,
    taken_by,
)
from bot.domain.errors import NotRegistered
from bot.notify import OutMessage
from bot.services.needs.routing import _Routing
from bot.services.needs.views import WEEK, Overview, WeekInCircle, _card, _media

RECENTLY_DONE = dt.timedelta(days=3)
LIST_LIMIT = 15


class _Overview(_Routing):
    """What each person sees in their lists, and what happens when a helper leaves."""

    # --- lists -------------------------------------------------------------------------

    async def overview(self, user_id: int) -> Overview:
        """/needs and /mytasks: a patient's own needs; a helper's open and taken ones."""
        async with self._db.transaction() as session:
            user = await session.get(User, user_id)
            if user is None:
                raise NotRegistered()
            now = self._clock.now()
            own_circle = await patient_circle_id(session, user_id)
            helping = await helping_circles(session, user_id)
            if own_circle is None and not helping:
                raise NotRegistered()
            own: list[Need] = []
            if own_circle is not None:
                own = await own_needs(session, own_circle, now - RECENTLY_DONE, LIST_LIMIT)
            open_needs: list[Need] = []
            mine: list[Need] = []
            done = 0
            if helping:
                open_needs = await open_needs_in(session, helping, LIST_LIMIT)
                mine = await taken_by(session, helping, user_id, LIST_LIMIT)
                done = await done_by(session, helping, user_id, now - WEEK)
            return Overview(
                timezone=user.timezone,
                is_patient=own_circle is not None,
                is_helper=bool(helping),
                own=tuple([await self._view(session, n) for n in own]),
                open=tuple([await self._view(session, n) for n in open_needs]),
                mine=tuple([await self._view(session, n) for n in mine]),
                done_this_week=done,
            )

    async def helped_this_week(self, user_id: int) -> tuple[WeekInCircle, ...]:
        """For /circle: who helped in each of this person's circles in the last 7 days."""
        async with self._db.transaction() as session:
            rows = await memberships_of(session, user_id)
            since = self._clock.now() - WEEK
            weeks = []
            for circle_id, role in rows:
                pair = await circle_and_patient(session, circle_id)
                if pair is None:
                    continue
                counts = await done_counts(session, circle_id, since)
                helpers = []
                for helper_id, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
                    helper = await session.get(User, helper_id)
                    if helper is not None:
                        helpers.append((display_name(helper), count))
                weeks.append(
                    WeekInCircle(
                        circle_id, display_name(pair[1]), role == Role.PATIENT, tuple(helpers)
                    )
                )
            return tuple(weeks)

    # --- a helper leaves or is removed -------------------------------------------------

    async def member_gone(self, session: AsyncSession, circle_id: int, user_id: int) -> None:
        """Called in the transaction that ends a membership: what they had taken goes out
        again, and their messages stop offering anything."""
        pair = await circle_and_patient(session, circle_id)
        if pair is None:
            return
        circle, patient = pair
        owned = await owned_in_circle(session, circle_id, user_id)
        for need in owned:
            await self._reopen(session, need, circle, patient, user_id, gone=True)
        offers = await live_offers_to(session, circle_id, user_id)
        now = self._clock.now()
        for offer, need in offers:
            message = OutMessage(
                texts.need_finished_view(display_name(patient), _card(need), "gone"),
                media=_media(need),
            )
            await self._withdraw(session, offer, need, message, now)
