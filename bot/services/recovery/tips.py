"""Recovery: care tips on request, and the rotation that picks the next one."""

from __future__ import annotations

import logging

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.circles import active_membership, circle_and_patient, display_name, require_patient
from bot.db.models import (
    HelperTipOptIn,
    Membership,
    MemberStatus,
    RecoveryPlan,
    Role,
    TipShown,
    User,
)
from bot.domain.errors import NotInCircle, StaleAction
from bot.domain.recovery import Stage
from bot.domain.tips import Tip
from bot.events import log_event
from bot.services.recovery.core import _Core
from bot.services.recovery.views import HELPER, PATIENT, TipView

log = logging.getLogger(__name__)


class _Tips(_Core):
    """Tips for the patient and their helpers, rotated per circle."""

    # --- tips on request ---------------------------------------------------------------

    async def tip_now(self, user_id: int) -> TipView:
        """One tip for the patient's stage, not repeated until the stage's tips are used up."""
        async with self._db.transaction() as session:
            circle_id = await require_patient(session, user_id)
            plan, _ = await self._plan(session, circle_id, lock=True)
            stage = Stage(plan.stage)
            paused = plan.flare_asked_at is not None
            tip = await self._pick_tip(session, circle_id, PATIENT, stage, exercise=not paused)
            assert tip is not None, "every stage has patient tips (tests/unit/test_tips_file.py)"
            user = await session.get(User, user_id)
            assert user is not None
            log_event(log, "recovery.tip_shown", circle_id=circle_id, audience=PATIENT)
            return TipView(tip.id, tip.text, stage, circle_id, display_name(user), paused)

    async def helper_tip_now(self, user_id: int, circle_id: int) -> TipView:
        """A helper's "Another": a helper tip for the stage of the patient they help."""
        async with self._db.transaction() as session:
            membership = await active_membership(session, circle_id, user_id)
            if membership is None or membership.role != Role.HELPER:
                raise NotInCircle()
            pair = await circle_and_patient(session, circle_id)
            assert pair is not None
            _, patient = pair
            plan = await session.get(RecoveryPlan, circle_id, with_for_update=True)
            stage = Stage(plan.stage) if plan else Stage.ACUTE
            paused = plan is not None and plan.flare_asked_at is not None
            tip = await self._pick_tip(session, circle_id, HELPER, stage, exercise=not paused)
            if tip is None:
                raise StaleAction()
            log_event(log, "recovery.tip_shown", circle_id=circle_id, audience=HELPER)
            return TipView(tip.id, tip.text, stage, circle_id, display_name(patient))

    async def _pick_tip(
        self,
        session: AsyncSession,
        circle_id: int,
        audience: str,
        stage: Stage,
        *,
        exercise: bool = True,
    ) -> Tip | None:
        """The stage's next tip: never shown in this circle first (file order), then the one
        shown longest ago. The caller holds the plan's row lock, so two picks don't race.
        Without `exercise`, tips about exercise are left out (a flare-up question waits)."""
        candidates = self._tips.for_stage(stage, audience, exercise=exercise)
        if not candidates:
            return None
        rows = await session.execute(
            select(TipShown.tip_id, func.max(TipShown.id))
            .where(
                TipShown.circle_id == circle_id,
                TipShown.audience == audience,
                TipShown.tip_id.in_([t.id for t in candidates]),
            )
            .group_by(TipShown.tip_id)
        )
        last_shown = {tip_id: int(row_id) for tip_id, row_id in rows.all()}
        never = [t for t in candidates if t.id not in last_shown]
        tip = never[0] if never else min(candidates, key=lambda t: last_shown[t.id])
        session.add(
            TipShown(
                circle_id=circle_id, audience=audience, tip_id=tip.id, shown_at=self._clock.now()
            )
        )
        await session.flush()
        return tip

    async def _opted_in_helpers(self, session: AsyncSession, circle_id: int) -> list[int]:
        """Active helpers of the circle who asked for helper tips."""
        rows = await session.scalars(
            select(HelperTipOptIn.user_id)
            .join(
                Membership,
                and_(
                    Membership.circle_id == HelperTipOptIn.circle_id,
                    Membership.user_id == HelperTipOptIn.user_id,
                ),
            )
            .where(
                HelperTipOptIn.circle_id == circle_id,
                Membership.status == MemberStatus.ACTIVE,
                Membership.role == Role.HELPER,
            )
            .order_by(HelperTipOptIn.id)
        )
        return list(rows.all())
