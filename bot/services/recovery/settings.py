"""Recovery: the daily tip and check-in settings (/tips, /checkin)."""

from __future__ import annotations

import logging

from sqlalchemy import and_, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.db.circles import display_name, patient_circle_id, require_patient
from bot.db.models import (
    CheckinState,
    Circle,
    DailyCheckin,
    HelperTipOptIn,
    Membership,
    MemberStatus,
    RecoveryPlan,
    Role,
    User,
)
from bot.db.session import after_commit
from bot.domain.errors import BadTime, NotHelper, NotInCircle, NotRegistered
from bot.domain.recovery import ScheduleChoice
from bot.events import log_event
from bot.services.recovery.core import _Core
from bot.services.recovery.views import HelperTips, ScheduleView, TipSettings

log = logging.getLogger(__name__)


class _Settings(_Core):
    """Who gets a daily tip or check-in, and when."""

    # --- daily tip and check-in settings ----------------------------------------------

    async def tip_settings(self, user_id: int) -> TipSettings:
        """The patient's daily tip and, for a helper, their helper tips in each circle."""
        async with self._db.transaction() as session:
            return await self._tip_settings(session, user_id)

    async def set_tips(self, user_id: int, choice: ScheduleChoice) -> ScheduleView:
        """`/tips 09:00`, `/tips off`, `/tips on` for the patient's own daily tip."""
        if choice.action not in ("on", "off", "time"):
            raise BadTime()
        async with self._db.transaction() as session:
            circle_id = await require_patient(session, user_id)
            plan, timezone = await self._plan(session, circle_id, lock=True)
            plan.tips_on = choice.action != "off"
            if choice.at is not None:
                plan.tip_time = choice.at
            plan.next_tip_at = self._next_tip(plan, timezone, self._clock.now())
            after_commit(session, self._wake)
            log_event(log, "recovery.tips_set", circle_id=circle_id, on=plan.tips_on)
            return ScheduleView(plan.tips_on, plan.tip_time, timezone)

    async def set_helper_tips(
        self, user_id: int, on: bool, circle_id: int | None = None
    ) -> TipSettings:
        """A helper turns helper tips on or off: in one circle, or (None) every circle."""
        async with self._db.transaction() as session:
            helping = await self._helper_tips(session, user_id)
            if not helping:
                raise NotHelper()
            targets = [h.circle_id for h in helping if circle_id in (None, h.circle_id)]
            if not targets:
                raise NotInCircle()
            for target in targets:
                if on:
                    await self._insert_ignore(
                        session,
                        HelperTipOptIn,
                        circle_id=target,
                        user_id=user_id,
                        created_at=self._clock.now(),
                    )
                else:
                    await session.execute(
                        delete(HelperTipOptIn).where(
                            HelperTipOptIn.circle_id == target, HelperTipOptIn.user_id == user_id
                        )
                    )
                log_event(log, "recovery.helper_tips_set", circle_id=target, user_id=user_id, on=on)
            return await self._tip_settings(session, user_id)

    async def checkin_settings(self, user_id: int) -> ScheduleView:
        async with self._db.transaction() as session:
            circle_id = await require_patient(session, user_id)
            plan, timezone = await self._plan(session, circle_id)
            return ScheduleView(plan.checkins_on, plan.checkin_time, timezone)

    async def set_checkin(self, user_id: int, choice: ScheduleChoice) -> ScheduleView:
        """`/checkin 09:30`, `/checkin off`, `/checkin on`."""
        if choice.action not in ("on", "off", "time"):
            raise BadTime()
        async with self._db.transaction() as session:
            circle_id = await require_patient(session, user_id)
            plan, timezone = await self._plan(session, circle_id, lock=True)
            plan.checkins_on = choice.action != "off"
            if choice.at is not None:
                plan.checkin_time = choice.at
            plan.next_checkin_at = self._next_checkin(plan, timezone, self._clock.now())
            if not plan.checkins_on:
                # Off means off: no nudge or look-in for a question already asked.
                await session.execute(
                    update(DailyCheckin)
                    .where(
                        DailyCheckin.circle_id == circle_id,
                        DailyCheckin.state.in_((CheckinState.ASKED, CheckinState.NUDGED)),
                    )
                    .values(state=CheckinState.CANCELLED, due_at=None)
                )
            after_commit(session, self._wake)
            log_event(log, "recovery.checkins_set", circle_id=circle_id, on=plan.checkins_on)
            return ScheduleView(plan.checkins_on, plan.checkin_time, timezone)

    async def timezone_changed(self, session: AsyncSession, user_id: int) -> None:
        """The patient's time zone changed: their daily times now follow the new zone.

        Runs inside the transaction that changed it (CircleService.on_timezone_changed).
        """
        circle_id = await patient_circle_id(session, user_id)
        if circle_id is None:
            return
        plan = await session.get(RecoveryPlan, circle_id, with_for_update=True)
        zone = await session.scalar(select(User.timezone).where(User.id == user_id))
        if plan is None:
            return
        now = self._clock.now()
        plan.next_tip_at = self._next_tip(plan, zone, now)
        plan.next_checkin_at = self._next_checkin(plan, zone, now)
        after_commit(session, self._wake)

    async def _tip_settings(self, session: AsyncSession, user_id: int) -> TipSettings:
        circle_id = await patient_circle_id(session, user_id)
        patient = None
        if circle_id is not None:
            plan, timezone = await self._plan(session, circle_id)
            patient = ScheduleView(plan.tips_on, plan.tip_time, timezone)
        helping = await self._helper_tips(session, user_id)
        if patient is None and not helping:
            raise NotRegistered()
        return TipSettings(patient, helping)

    async def _helper_tips(self, session: AsyncSession, user_id: int) -> tuple[HelperTips, ...]:
        patient = aliased(User)
        rows = await session.execute(
            select(Circle.id, patient, HelperTipOptIn.id)
            .join(Membership, Membership.circle_id == Circle.id)
            .join(patient, patient.id == Circle.patient_id)
            .outerjoin(
                HelperTipOptIn,
                and_(HelperTipOptIn.circle_id == Circle.id, HelperTipOptIn.user_id == user_id),
            )
            .where(
                Membership.user_id == user_id,
                Membership.status == MemberStatus.ACTIVE,
                Membership.role == Role.HELPER,
            )
            .order_by(Membership.joined_at, Circle.id)
        )
        return tuple(
            HelperTips(circle_id, display_name(user), opt is not None)
            for circle_id, user, opt in rows.all()
        )
