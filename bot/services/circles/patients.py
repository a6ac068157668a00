"""Care circles: becoming a patient, time zones and invites."""

from __future__ import annotations

import asyncio
import secrets

from sqlalchemy import select, update

from bot.db import flows
from bot.db.circles import patient_circle_id, require_patient
from bot.db.models import Access, Circle, Invite, InviteStatus, Membership, MemberStatus, Role, User
from bot.domain.errors import UnknownTimezone
from bot.domain.flows import Awaiting
from bot.domain.timezones import Refusal, read_timezone, zone_at
from bot.events import log_event
from bot.services.circles.core import _Core, log
from bot.services.circles.views import InviteView, TimezoneSet

# 12 random bytes: 96 bits, 16 URL-safe characters, fits a /start deep-link payload.
INVITE_CODE_BYTES = 12


class _Patients(_Core):
    """A patient's circle, anyone's time zone, the patient's invites."""

    # --- patients ----------------------------------------------------------------------

    async def become_patient(self, user_id: int) -> int:
        """Give this person a circle of their own (once); returns its id."""
        async with self._db.transaction() as session:
            circle_id = await patient_circle_id(session, user_id)
            if circle_id is not None:
                return circle_id
            now = self._clock.now()
            circle = Circle(patient_id=user_id, created_at=now)
            session.add(circle)
            await session.flush()
            session.add(
                Membership(
                    circle_id=circle.id,
                    user_id=user_id,
                    role=Role.PATIENT,
                    access=Access.CLOSE,
                    status=MemberStatus.ACTIVE,
                    joined_at=now,
                )
            )
            await flows.start(session, user_id, Awaiting.TIMEZONE, None, now)
            log_event(log, "circle.created", circle_id=circle.id, user_id=user_id)
            return circle.id

    async def set_timezone(self, user_id: int, text: str) -> TimezoneSet:
        """Set someone's time zone from what they typed or tapped."""
        name = read_timezone(text)
        if isinstance(name, Refusal):
            raise UnknownTimezone(text, name)
        return await self._store_timezone(user_id, name)

    async def set_timezone_at(self, user_id: int, latitude: float, longitude: float) -> TimezoneSet:
        """Set someone's time zone from a location they shared.

        The coordinates are used for this lookup only: never stored, never logged.
        """
        # The first lookup loads the borders (tens of ms): off the event loop.
        name = await asyncio.to_thread(zone_at, latitude, longitude)
        if name is None:
            raise UnknownTimezone("", "location")
        return await self._store_timezone(user_id, name)

    async def _store_timezone(self, user_id: int, name: str) -> TimezoneSet:
        async with self._db.transaction() as session:
            first = await session.execute(
                update(User)
                .where(User.id == user_id, User.timezone.is_(None))
                .values(timezone=name)
            )
            is_first = first.rowcount == 1  # type: ignore[attr-defined]
            if not is_first:
                await session.execute(update(User).where(User.id == user_id).values(timezone=name))
            await flows.end_step(session, user_id, Awaiting.TIMEZONE, self._clock.now())
            for listener in self._timezone_listeners:
                await listener(session, user_id)
            is_patient = await patient_circle_id(session, user_id) is not None
        log_event(log, "user.timezone_set", user_id=user_id)
        return TimezoneSet(name, is_first, is_patient)

    async def invite(self, user_id: int, access: str, *, replace: bool = False) -> InviteView:
        """The patient's current invite for this kind of helper, made (or replaced) if needed."""
        async with self._db.transaction() as session:
            circle_id = await require_patient(session, user_id)
            now = self._clock.now()
            current = (
                await session.scalars(
                    select(Invite)
                    .where(
                        Invite.circle_id == circle_id,
                        Invite.access == access,
                        Invite.status == InviteStatus.ACTIVE,
                    )
                    .order_by(Invite.id.desc())
                )
            ).first()
            if current is not None and current.expires_at > now and not replace:
                return InviteView(current.code, current.access, current.expires_at)
            await session.execute(
                update(Invite)
                .where(
                    Invite.circle_id == circle_id,
                    Invite.access == access,
                    Invite.status == InviteStatus.ACTIVE,
                )
                .values(status=InviteStatus.REPLACED)
            )
            invite = Invite(
                circle_id=circle_id,
                code=secrets.token_urlsafe(INVITE_CODE_BYTES),
                access=access,
                status=InviteStatus.ACTIVE,
                created_at=now,
                expires_at=now + self._invite_ttl,
            )
            session.add(invite)
            log_event(log, "invite.created", circle_id=circle_id, access=access)
            return InviteView(invite.code, invite.access, invite.expires_at)
