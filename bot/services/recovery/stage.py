"""Recovery: the stage, chosen by the patient or suggested by their reports."""

from __future__ import annotations

import logging

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import flows
from bot.db.circles import require_patient
from bot.db.models import RecoveryPlan, StageChange, User
from bot.db.statements import rowcount
from bot.domain.errors import StaleAction
from bot.domain.flows import Awaiting
from bot.domain.recovery import Stage
from bot.events import log_event
from bot.services.recovery.core import _Core
from bot.services.recovery.views import StageView

log = logging.getLogger(__name__)


class _Stage(_Core):
    """The patient's stage, and the suggestions to change it."""

    # --- the stage ---------------------------------------------------------------------

    async def ask_first_stage(self, user_id: int) -> None:
        """Onboarding: the next answer we wait for is how their back is (a button or words)."""
        async with self._db.transaction() as session:
            await require_patient(session, user_id)
            await flows.start(session, user_id, Awaiting.STAGE, None, self._clock.now())

    async def stage(self, user_id: int) -> StageView:
        async with self._db.transaction() as session:
            circle_id = await require_patient(session, user_id)
            plan, timezone = await self._plan(session, circle_id)
            return StageView(Stage(plan.stage), plan.stage_since, timezone)

    async def choose_stage(self, user_id: int, stage: Stage) -> StageView:
        """The patient picks a stage (/stage, its buttons, or the onboarding question)."""
        async with self._db.transaction() as session:
            circle_id = await require_patient(session, user_id)
            # Conditional: only the press that ends onboarding gets first=True (a double tap
            # sends one invite link, not two).
            finished = await session.execute(
                update(User)
                .where(User.id == user_id, User.awaiting == Awaiting.STAGE)
                .values(awaiting=None, draft=None, flow_rev=User.flow_rev + 1, flow_at=None)
            )
            plan, timezone, created = await self._ensure_plan(session, circle_id, stage=stage)
            changed = await self._change_stage(session, plan, stage) or created
            # Picking a stage, even the one they are in, answers "Back to acute?".
            await self._end_flare_pause(session, plan)
            return StageView(
                Stage(plan.stage), plan.stage_since, timezone, changed, rowcount(finished) == 1
            )

    async def accept_suggestion(self, user_id: int, target: Stage, from_stage: Stage) -> StageView:
        """ "Yes, switch": only if the stage is still the one the suggestion was made in."""
        async with self._db.transaction() as session:
            circle_id = await require_patient(session, user_id)
            plan, timezone = await self._plan(session, circle_id)
            if plan.stage == target:
                return StageView(target, plan.stage_since, timezone)
            if plan.stage != from_stage:
                raise StaleAction()
            changed = await self._change_stage(session, plan, target)
            if not changed and plan.stage != target:
                raise StaleAction()
            return StageView(target, plan.stage_since, timezone, changed=changed)

    async def decline_suggestion(self, user_id: int, target: Stage) -> None:
        """ "Not now": the same suggestion waits a few days."""
        async with self._db.transaction() as session:
            circle_id = await require_patient(session, user_id)
            await self._plan(session, circle_id)
            until = self._clock.now() + self._config.suggestion_pause
            answered = {"flare_asked_at": None} if target == Stage.ACUTE else {}
            await session.execute(
                update(RecoveryPlan)
                .where(RecoveryPlan.circle_id == circle_id)
                .values(declined_stage=target.value, declined_until=until, **answered)
            )
            log_event(log, "recovery.suggestion_declined", circle_id=circle_id, stage=target)

    async def _change_stage(self, session: AsyncSession, plan: RecoveryPlan, stage: Stage) -> bool:
        """Move to `stage` if the plan is still where we read it; True if this call moved it."""
        current = plan.stage
        if current == stage:
            return False
        now = self._clock.now()
        result = await session.execute(
            update(RecoveryPlan)
            .where(RecoveryPlan.circle_id == plan.circle_id, RecoveryPlan.stage == current)
            .values(
                stage=stage.value,
                stage_since=now,
                declined_stage=None,
                declined_until=None,
                flare_asked_at=None,
            )
            .execution_options(synchronize_session="fetch")
        )
        if rowcount(result) != 1:
            # Someone else moved it first (a double tap on another connection): read what won.
            await session.refresh(plan)
            return False
        session.add(
            StageChange(
                circle_id=plan.circle_id, from_stage=current, to_stage=stage, changed_at=now
            )
        )
        await session.refresh(plan)
        log_event(log, "recovery.stage_changed", circle_id=plan.circle_id, stage=stage)
        return True

    async def _end_flare_pause(self, session: AsyncSession, plan: RecoveryPlan) -> None:
        """The patient answered "Back to acute?" (or picked a stage): exercise tips resume."""
        if plan.flare_asked_at is None:
            return
        await session.execute(
            update(RecoveryPlan)
            .where(RecoveryPlan.circle_id == plan.circle_id)
            .values(flare_asked_at=None)
            .execution_options(synchronize_session="fetch")
        )
