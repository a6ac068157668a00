"""Recovery's core: what the service is built from, and the patient's plan."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db.circles import circle_and_patient
from bot.db.models import RecoveryPlan, StageChange
from bot.db.session import Database, after_commit
from bot.db.statements import insert_or_ignore, rowcount
from bot.domain.clocktime import local_date, next_local_time
from bot.domain.recovery import Stage
from bot.domain.tips import TipBook
from bot.events import log_event
from bot.notify import Notifier
from bot.services.recovery.views import DoseCounter, RecoveryConfig

log = logging.getLogger(__name__)


class _Core:
    """The service's parts and the plan every use case starts from."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        notifier: Notifier,
        tips: TipBook,
        config: RecoveryConfig,
        *,
        wake: Callable[[], None] | None = None,
        doses: DoseCounter | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._notifier = notifier
        self._tips = tips
        self._config = config
        self._wake = wake or (lambda: None)
        self._doses = doses

    # --- internals ---------------------------------------------------------------------

    async def _plan(
        self,
        session: AsyncSession,
        circle_id: int,
        *,
        stage: Stage = Stage.ACUTE,
        lock: bool = False,
    ) -> tuple[RecoveryPlan, str | None]:
        """The circle's plan (made on first use) and the patient's time zone."""
        plan, timezone, _ = await self._ensure_plan(session, circle_id, stage=stage, lock=lock)
        return plan, timezone

    async def _ensure_plan(
        self,
        session: AsyncSession,
        circle_id: int,
        *,
        stage: Stage = Stage.ACUTE,
        lock: bool = False,
    ) -> tuple[RecoveryPlan, str | None, bool]:
        """The plan (made on first use, in `stage`), the patient's zone, and whether we made it."""
        pair = await circle_and_patient(session, circle_id)
        assert pair is not None
        timezone = pair[1].timezone
        plan = await session.get(RecoveryPlan, circle_id, with_for_update=lock)
        if plan is not None:
            return plan, timezone, False
        now = self._clock.now()
        draft = RecoveryPlan(
            circle_id=circle_id,
            stage=stage.value,
            stage_since=now,
            tips_on=True,
            tip_time=self._config.tip_time,
            checkins_on=True,
            checkin_time=self._config.checkin_time,
        )
        draft.next_tip_at = self._next_tip(draft, timezone, now)
        draft.next_checkin_at = self._next_checkin(draft, timezone, now)
        values = {c.name: getattr(draft, c.name) for c in RecoveryPlan.__table__.columns}
        created = await self._insert_ignore(session, RecoveryPlan, **values)
        if created:
            session.add(
                StageChange(circle_id=circle_id, from_stage=None, to_stage=stage, changed_at=now)
            )
            after_commit(session, self._wake)
            log_event(log, "recovery.plan_created", circle_id=circle_id, stage=stage)
        plan = await session.get(
            RecoveryPlan, circle_id, with_for_update=lock, populate_existing=True
        )
        assert plan is not None
        return plan, timezone, created

    def _next_tip(
        self,
        plan: RecoveryPlan,
        timezone: str | None,
        now: dt.datetime,
        sent_on: dt.date | None = None,
    ) -> dt.datetime | None:
        """The next daily tip run: the tip time after `now`, never on a day that had one."""
        if timezone is None:
            return None
        when = next_local_time(plan.tip_time, timezone, now)
        done = max(d for d in (plan.last_tip_day, sent_on, dt.date.min) if d is not None)
        while local_date(when, timezone) <= done:
            when = next_local_time(plan.tip_time, timezone, when)
        return when

    def _next_checkin(
        self, plan: RecoveryPlan, timezone: str | None, now: dt.datetime
    ) -> dt.datetime | None:
        if timezone is None or not plan.checkins_on:
            return None
        return next_local_time(plan.checkin_time, timezone, now)

    async def _insert_ignore(self, session: AsyncSession, model: type[Any], **values: Any) -> bool:
        """INSERT … ON CONFLICT DO NOTHING on either database; True if a row was added."""
        result = await session.execute(insert_or_ignore(session, model, **values))
        return rowcount(result) == 1
