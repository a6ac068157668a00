"""Care circles: helpers joining, leaving, removed, unreachable."""

from __future__ import annotations

import datetime as dt
import math
import time

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards, texts
from bot.db.circles import active_membership, display_name, require_patient
from bot.db.models import Circle, Invite, InviteStatus, Membership, MemberStatus, Role, User
from bot.domain.errors import InviteError, StaleAction, TooManyAttempts
from bot.events import log_event
from bot.notify import OutMessage, Priority
from bot.services.circles.core import _Core, log
from bot.services.circles.views import Joined, _stint

# Wrong codes allowed per person per window before /join waits: enough for typos,
# far too few to guess 96 bits.
JOIN_FAILURES_ALLOWED = 5
JOIN_WINDOW = dt.timedelta(minutes=15)


class _Helpers(_Core):
    """Helpers come and go: joining by invite (with a budget for wrong codes), leaving, removal."""

    # --- helpers -----------------------------------------------------------------------

    async def join(self, user_id: int, code: str) -> Joined:
        """Use an invite code to join a circle as a helper."""
        await self._check_join_budget(user_id)
        try:
            return await self._join(user_id, code.strip())
        except InviteError as error:
            if error.reason in ("unknown", "used", "replaced", "expired"):
                await self._count_join_failure(user_id)
            raise

    async def _check_join_budget(self, user_id: int) -> None:
        async with self._db.transaction() as session:
            user = await session.get(User, user_id)
            if user is None or user.join_window_start is None:
                return
            window_ends = user.join_window_start + JOIN_WINDOW
            now = self._clock.now()
            if user.join_failures >= JOIN_FAILURES_ALLOWED and now < window_ends:
                minutes = max(1, math.ceil((window_ends - now).total_seconds() / 60))
                log_event(log, "circle.join_throttled", user_id=user_id)
                raise TooManyAttempts(minutes)

    async def _count_join_failure(self, user_id: int) -> None:
        now = self._clock.now()
        async with self._db.transaction() as session:
            user = await session.get(User, user_id)
            if user is None:
                return
            if user.join_window_start is None or now >= user.join_window_start + JOIN_WINDOW:
                user.join_window_start, user.join_failures = now, 0
            user.join_failures += 1

    async def _join(self, user_id: int, code: str) -> Joined:
        async with self._db.transaction() as session:
            invite = (
                await session.scalars(select(Invite).where(Invite.code == code))
            ).one_or_none()
            if invite is None:
                raise InviteError("unknown")
            circle = await session.get(Circle, invite.circle_id)
            assert circle is not None
            patient = await session.get(User, circle.patient_id)
            assert patient is not None
            patient_name = display_name(patient)
            if circle.patient_id == user_id:
                raise InviteError("own", patient_name)
            membership = (
                await session.scalars(
                    select(Membership).where(
                        Membership.circle_id == circle.id, Membership.user_id == user_id
                    )
                )
            ).one_or_none()
            if membership is not None and membership.status == MemberStatus.ACTIVE:
                raise InviteError("already_member", patient_name)
            if invite.status == InviteStatus.USED:
                raise InviteError("used", patient_name)
            if invite.status == InviteStatus.REPLACED:
                raise InviteError("replaced", patient_name)
            now = self._clock.now()
            if invite.expires_at <= now:
                raise InviteError("expired", patient_name)

            # The conditional update decides who gets a single-use code if two try at once.
            claimed = await session.execute(
                update(Invite)
                .where(Invite.id == invite.id, Invite.status == InviteStatus.ACTIVE)
                .values(status=InviteStatus.USED, used_by=user_id, used_at=now)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                raise InviteError("used", patient_name)
            if membership is None:
                membership = Membership(circle_id=circle.id, user_id=user_id, role=Role.HELPER)
                session.add(membership)
            membership.role = Role.HELPER
            membership.access = invite.access
            membership.status = MemberStatus.ACTIVE
            membership.joined_at = now
            membership.ended_at = None

            helper = await session.get(User, user_id)
            assert helper is not None
            helper.awaiting = None
            helper.draft = None
            if helper.timezone is None:
                helper.timezone = patient.timezone
            await self._notifier.send(
                session,
                key=f"circle:{circle.id}:joined:{user_id}:{invite.id}",
                chat_id=circle.patient_id,
                message=OutMessage(
                    texts.helper_joined(display_name(helper), invite.access),
                    keyboards.invite_another(invite.access),
                ),
                kind="circle.joined",
                priority=Priority.NORMAL,
                circle_id=circle.id,
            )
            log_event(log, "circle.joined", circle_id=circle.id, user_id=user_id)
            return Joined(circle.id, patient_name, invite.access)

    async def leave(self, user_id: int, circle_id: int) -> str:
        """A helper steps out of a circle; returns the patient's name."""
        async with self._db.transaction() as session:
            membership = await active_membership(session, circle_id, user_id)
            if membership is None or membership.role != Role.HELPER:
                raise StaleAction()
            return await self._leave(session, membership)

    async def leave_all_in(self, session: AsyncSession, user_id: int) -> int:
        """In the caller's transaction, step this helper out of every circle they help in,
        exactly as /leave does (patient told, what they held goes out again); returns how
        many circles they left."""
        memberships = list(
            await session.scalars(
                select(Membership).where(
                    Membership.user_id == user_id,
                    Membership.role == Role.HELPER,
                    Membership.status == MemberStatus.ACTIVE,
                )
            )
        )
        for membership in memberships:
            await self._leave(session, membership)
        return len(memberships)

    def forget(self, user_id: int) -> None:
        """Drop this person from the name cache (their row was deleted): the next update
        stores them afresh."""
        self._known.pop(user_id, None)

    async def _leave(self, session: AsyncSession, membership: Membership) -> str:
        circle_id, user_id = membership.circle_id, membership.user_id
        await self._end_membership(session, membership, MemberStatus.LEFT)
        circle = await session.get(Circle, circle_id)
        assert circle is not None
        patient = await session.get(User, circle.patient_id)
        helper = await session.get(User, user_id)
        assert patient is not None and helper is not None
        await self._notifier.send(
            session,
            key=f"circle:{circle_id}:left:{user_id}:{_stint(membership)}",
            chat_id=circle.patient_id,
            message=OutMessage(texts.helper_left(display_name(helper))),
            kind="circle.left",
            circle_id=circle_id,
        )
        log_event(log, "circle.left", circle_id=circle_id, user_id=user_id)
        return display_name(patient)

    async def remove_helper(self, patient_id: int, helper_id: int) -> str:
        """The patient removes a helper; returns the helper's name."""
        async with self._db.transaction() as session:
            circle_id = await require_patient(session, patient_id)
            membership = await active_membership(session, circle_id, helper_id)
            if membership is None or membership.role != Role.HELPER:
                raise StaleAction()
            await self._end_membership(session, membership, MemberStatus.REMOVED)
            patient = await session.get(User, patient_id)
            helper = await session.get(User, helper_id)
            assert patient is not None and helper is not None
            await self._notifier.send(
                session,
                key=f"circle:{circle_id}:removed:{helper_id}:{_stint(membership)}",
                chat_id=helper_id,
                message=OutMessage(texts.you_were_removed(display_name(patient))),
                kind="circle.removed",
                circle_id=circle_id,
            )
            log_event(log, "circle.helper_removed", circle_id=circle_id, user_id=helper_id)
            return display_name(helper)

    async def member_name(self, patient_id: int, helper_id: int) -> str:
        """The name of an active helper in the patient's circle (for a confirm question)."""
        async with self._db.transaction() as session:
            circle_id = await require_patient(session, patient_id)
            membership = await active_membership(session, circle_id, helper_id)
            if membership is None or membership.role != Role.HELPER:
                raise StaleAction()
            helper = await session.get(User, helper_id)
            assert helper is not None
            return display_name(helper)

    async def mark_unreachable(self, user_id: int) -> None:
        """Telegram refused to deliver to this person (403): stop trying, tell their patients.

        Unless they wrote to us since this was asked (touch looked at them after): their
        writing is newer than the refusal. touch only reads when nothing changed, so without
        this a refusal waiting for the writer's turn would land after it and win."""
        asked = time.monotonic()
        async with self._db.transaction() as session:
            known = self._known.get(user_id)
            if known is not None and known[1] >= asked:
                log_event(log, "user.unreachable_superseded", user_id=user_id)
                return
            result = await session.execute(
                update(User)
                .where(User.id == user_id, User.reachable.is_(True))
                .values(reachable=False, updated_at=self._clock.now())
            )
            if result.rowcount != 1:  # type: ignore[attr-defined]
                return  # already known
            log_event(log, "user.unreachable", user_id=user_id)
            self._known.pop(user_id, None)
            standing = await self._standing(session, user_id)
            stamp = int(self._clock.now().timestamp())
            for helping in standing.helping:
                await self._notifier.send(
                    session,
                    key=f"circle:{helping.circle_id}:unreachable:{user_id}:{stamp}",
                    chat_id=helping.patient_id,
                    message=OutMessage(texts.helper_unreachable(standing.name)),
                    kind="circle.unreachable",
                    circle_id=helping.circle_id,
                )
            for listener in self._unreachable_listeners:
                await listener(session, user_id)
