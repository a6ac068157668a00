"""Care circles: the core every part stands on: dependencies, hooks, checks, views."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db import flows
from bot.db.circles import display_name, require_patient
from bot.db.models import Circle, Membership, MemberStatus, Role, User
from bot.db.session import Database
from bot.domain.errors import NotInCircle, StaleAction
from bot.notify import Notifier
from bot.services.circles.views import CircleView, HelpingIn, Member, Standing

log = logging.getLogger(__package__)  # one logger for the service, named as before the split

# Called with (session, circle_id, user_id) when a helper leaves or is removed.
MemberGoneHook = Callable[[AsyncSession, int, int], Awaitable[None]]

# Told, in the same transaction, that someone's time zone changed: (session, user_id).
TimezoneListener = Callable[[AsyncSession, int], Awaitable[None]]

# Told, in the same transaction, that Telegram refused to deliver to someone (403):
# (session, user_id). What was on its way to them will never arrive.
UnreachableListener = Callable[[AsyncSession, int], Awaitable[None]]

# An unanswered question is let go after this long (Settings.flow_expire_minutes).
DEFAULT_FLOW_TTL = dt.timedelta(minutes=60)


class _Core:
    """The service's dependencies and hooks, where a person stands, the circle's views."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        notifier: Notifier,
        invite_ttl: dt.timedelta,
        flow_ttl: dt.timedelta = DEFAULT_FLOW_TTL,
    ) -> None:
        self._db = db
        self._clock = clock
        self._notifier = notifier
        self._invite_ttl = invite_ttl
        self._flow_ttl = flow_ttl
        # Names we stored recently, so most updates cost no write. A cache, not the truth:
        # entries expire, because another replica may have deleted the person since.
        self._known: dict[int, tuple[tuple[str, str | None, str | None], float]] = {}
        self._member_gone: list[MemberGoneHook] = []
        self._timezone_listeners: list[TimezoneListener] = []
        self._unreachable_listeners: list[UnreachableListener] = []

    def on_member_gone(self, hook: MemberGoneHook) -> None:
        """Run `hook(session, circle_id, user_id)` in the transaction that ends a helper's
        membership (left or removed), so other areas can let go of what they held."""
        self._member_gone.append(hook)

    def on_timezone_changed(self, listener: TimezoneListener) -> None:
        """Call `listener(session, user_id)` inside the transaction that changes a time zone
        (e.g. to move medication reminders to the new local times)."""
        self._timezone_listeners.append(listener)

    def on_unreachable(self, listener: UnreachableListener) -> None:
        """Call `listener(session, user_id)` inside the transaction that marks someone
        unreachable (e.g. so a missed-dose alert that can no longer arrive reaches someone
        else)."""
        self._unreachable_listeners.append(listener)

    # --- where a person stands ---------------------------------------------------------

    async def standing(self, user_id: int) -> Standing:
        async with self._db.reading() as session:
            return await self._standing(session, user_id)

    # --- views -------------------------------------------------------------------------

    async def circle(self, circle_id: int) -> CircleView:
        async with self._db.transaction() as session:
            return await self._circle_view(session, circle_id)

    async def my_circle(self, patient_id: int) -> CircleView:
        async with self._db.transaction() as session:
            circle_id = await require_patient(session, patient_id)
            return await self._circle_view(session, circle_id)

    async def require_helper_in(self, user_id: int, circle_id: int) -> HelpingIn:
        """Re-check, at the moment of acting, that this person helps in that circle."""
        standing = await self.standing(user_id)
        for helping in standing.helping:
            if helping.circle_id == circle_id:
                return helping
        raise NotInCircle()

    # --- internals ---------------------------------------------------------------------

    async def _standing(self, session: AsyncSession, user_id: int) -> Standing:
        user = await session.get(User, user_id)
        if user is None:
            return Standing(user_id, "", None, None, None, None, ())
        rows = (
            await session.execute(
                select(Membership, Circle, User)
                .join(Circle, Circle.id == Membership.circle_id)
                .join(User, User.id == Circle.patient_id)
                .where(Membership.user_id == user_id, Membership.status == MemberStatus.ACTIVE)
                .order_by(Membership.joined_at)
            )
        ).all()
        patient_circle_id = None
        helping = []
        for membership, circle, patient in rows:
            if membership.role == Role.PATIENT:
                patient_circle_id = circle.id
            else:
                helping.append(
                    HelpingIn(circle.id, patient.id, display_name(patient), membership.access)
                )
        expired = flows.expired(user, self._clock.now(), self._flow_ttl)
        return Standing(
            user_id=user.id,
            name=display_name(user),
            timezone=user.timezone,
            awaiting=None if expired else user.awaiting,
            draft=None if expired else user.draft,
            patient_circle_id=patient_circle_id,
            helping=tuple(helping),
            flow_rev=user.flow_rev,
            expired=user.awaiting if expired else None,
        )

    async def _end_membership(
        self, session: AsyncSession, membership: Membership, status: MemberStatus
    ) -> None:
        # Conditional, so a double tap or a resent update ends it only once.
        result = await session.execute(
            update(Membership)
            .where(Membership.id == membership.id, Membership.status == MemberStatus.ACTIVE)
            .values(status=status, ended_at=self._clock.now())
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise StaleAction()
        for hook in self._member_gone:
            await hook(session, membership.circle_id, membership.user_id)

    async def _circle_view(self, session: AsyncSession, circle_id: int) -> CircleView:
        circle = await session.get(Circle, circle_id)
        if circle is None:
            raise StaleAction()
        patient = await session.get(User, circle.patient_id)
        assert patient is not None
        rows = (
            await session.execute(
                select(Membership, User)
                .join(User, User.id == Membership.user_id)
                .where(Membership.circle_id == circle_id, Membership.status == MemberStatus.ACTIVE)
                .order_by(Membership.joined_at, Membership.id)
            )
        ).all()
        members = tuple(
            Member(u.id, display_name(u), m.role, m.access, m.joined_at, u.reachable)
            for m, u in rows
        )
        return CircleView(circle.id, patient.id, display_name(patient), patient.timezone, members)
