"""Recovery: the daily tip and check-in clock (the scheduler's DueSource)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import Select, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from bot import keyboards, texts
from bot.buttons import PainVerb
from bot.db.circles import circle_and_patient, display_name
from bot.db.due import drain
from bot.db.models import CheckinState, DailyCheckin, PainReport, RecoveryPlan
from bot.db.statements import rowcount
from bot.domain.clocktime import local_date, local_instant, next_local_time
from bot.domain.recovery import Stage
from bot.events import log_event
from bot.notify import OutMessage, Priority
from bot.services.recovery.lookin import _LookIn
from bot.services.recovery.tips import _Tips
from bot.services.recovery.views import HELPER, PATIENT

log = logging.getLogger(__name__)

# A nudge needs some time after the question; asked later than this before the evening, the
# day has no nudge and the next step is the morning look-in request.
NUDGE_MIN_GAP = dt.timedelta(hours=1)
DUE_BATCH = 100


class _Daily(_Tips, _LookIn):
    """The due work behind the daily tip and check-in."""

    # --- due work (the scheduler's DueSource) -------------------------------------------

    async def next_due(self) -> dt.datetime | None:
        async with self._db.transaction() as session:
            instants = [
                await session.scalar(select(func.min(RecoveryPlan.next_tip_at))),
                await session.scalar(select(func.min(RecoveryPlan.next_checkin_at))),
                await session.scalar(select(func.min(DailyCheckin.due_at))),
            ]
        return min((i for i in instants if i is not None), default=None)

    async def run_due(self, now: dt.datetime) -> int:
        # No scheduler pokes from here: after a sweep the scheduler re-arms from next_due().
        handled = await self._drain(RecoveryPlan.next_tip_at, self._daily_tip, now)
        handled += await self._drain(RecoveryPlan.next_checkin_at, self._daily_checkin, now)
        handled += await self._drain(DailyCheckin.due_at, self._checkin_step, now)
        return handled

    async def _drain(
        self,
        column: InstrumentedAttribute[Any],
        step: Callable[[int, dt.datetime, dt.datetime], Awaitable[bool]],
        now: dt.datetime,
    ) -> int:
        """Everything due by `now` on one column, each row once; a bad row waits a sweep."""

        def due(skip: set[int]) -> Select[Any]:
            return _due_rows(column, now, skip)

        def handle(row: tuple[int, dt.datetime]) -> Awaitable[bool]:
            return step(row[0], row[1], now)

        return await drain(
            self._db, due, handle, batch=DUE_BATCH, area="recovery", key=lambda row: row[0]
        )

    async def _daily_tip(self, circle_id: int, due: dt.datetime, now: dt.datetime) -> bool:
        async with self._db.transaction() as session:
            plan = await self._plan_due(session, RecoveryPlan.next_tip_at, circle_id, due)
            if plan is None:
                return False
            pair = await circle_and_patient(session, circle_id)
            assert pair is not None
            _, patient = pair
            zone = patient.timezone
            if zone is None:
                await self._move(session, RecoveryPlan.next_tip_at, circle_id, due, None)
                return False
            day = local_date(due, zone)
            intended = local_instant(day, plan.tip_time, zone)
            if intended > now:
                # The zone changed since this was armed: wait for the new zone's time.
                await self._move(session, RecoveryPlan.next_tip_at, circle_id, due, intended)
                return False
            already = plan.last_tip_day is not None and plan.last_tip_day >= day
            following = self._next_tip(plan, zone, now, sent_on=day)
            won = await self._move(
                session,
                RecoveryPlan.next_tip_at,
                circle_id,
                due,
                following,
                last_tip_day=plan.last_tip_day if already else day,
            )
            if not won:
                return False
            if already or now - intended > self._config.late_grace:
                log_event(log, "recovery.tip_skipped", circle_id=circle_id, late=not already)
                return True
            stage = Stage(plan.stage)
            paused = plan.flare_asked_at is not None
            if plan.tips_on:
                tip = await self._pick_tip(session, circle_id, PATIENT, stage, exercise=not paused)
                assert tip is not None
                await self._notifier.send(
                    session,
                    key=f"tip:{circle_id}:{day.isoformat()}",
                    chat_id=patient.id,
                    message=OutMessage(
                        texts.daily_tip(tip.text, stage, paused), keyboards.another_tip()
                    ),
                    kind="recovery.tip",
                    priority=Priority.LOW,
                    circle_id=circle_id,
                )
            helpers = await self._opted_in_helpers(session, circle_id)
            helper_tip = (
                await self._pick_tip(session, circle_id, HELPER, stage, exercise=not paused)
                if helpers
                else None
            )
            if helper_tip is not None:
                for helper_id in helpers:
                    await self._notifier.send(
                        session,
                        key=f"tip:{circle_id}:{day.isoformat()}:helper:{helper_id}",
                        chat_id=helper_id,
                        message=OutMessage(
                            texts.helper_tip(display_name(patient), helper_tip.text),
                            keyboards.another_helper_tip(circle_id),
                        ),
                        kind="recovery.helper_tip",
                        priority=Priority.LOW,
                        circle_id=circle_id,
                    )
            log_event(
                log,
                "recovery.daily_tip",
                circle_id=circle_id,
                patient=plan.tips_on,
                helpers=len(helpers) if helper_tip else 0,
            )
            return True

    async def _daily_checkin(self, circle_id: int, due: dt.datetime, now: dt.datetime) -> bool:
        async with self._db.transaction() as session:
            plan = await self._plan_due(session, RecoveryPlan.next_checkin_at, circle_id, due)
            if plan is None:
                return False
            pair = await circle_and_patient(session, circle_id)
            assert pair is not None
            _, patient = pair
            zone = patient.timezone
            if zone is None or not plan.checkins_on:
                await self._move(session, RecoveryPlan.next_checkin_at, circle_id, due, None)
                return False
            day = local_date(due, zone)
            intended = local_instant(day, plan.checkin_time, zone)
            if intended > now:
                await self._move(session, RecoveryPlan.next_checkin_at, circle_id, due, intended)
                return False
            following = next_local_time(plan.checkin_time, zone, max(now, intended))
            if local_date(following, zone) <= day:
                following = next_local_time(plan.checkin_time, zone, following)
            if not await self._move(
                session, RecoveryPlan.next_checkin_at, circle_id, due, following
            ):
                return False
            if now - intended > self._config.late_grace:
                log_event(log, "recovery.checkin_skipped", circle_id=circle_id, reason="late")
                return True
            reported = await session.scalar(
                select(
                    exists().where(PainReport.circle_id == circle_id, PainReport.local_date == day)
                )
            )
            if reported:
                # They told us already today: asking again would be nagging.
                log_event(log, "recovery.checkin_skipped", circle_id=circle_id, reason="reported")
                return True
            nudge_at: dt.datetime | None = local_instant(day, self._config.nudge_time, zone)
            assert nudge_at is not None
            if nudge_at < now + NUDGE_MIN_GAP:
                nudge_at = None
            lookin_at = local_instant(day + dt.timedelta(days=1), self._config.lookin_time, zone)
            added = await self._insert_ignore(
                session,
                DailyCheckin,
                circle_id=circle_id,
                local_date=day,
                state=CheckinState.ASKED,
                asked_at=now,
                nudge_at=nudge_at,
                lookin_at=lookin_at,
                due_at=nudge_at or lookin_at,
            )
            if not added:
                return True
            checkin_id = await session.scalar(
                select(DailyCheckin.id).where(
                    DailyCheckin.circle_id == circle_id, DailyCheckin.local_date == day
                )
            )
            assert checkin_id is not None
            await self._notifier.send(
                session,
                key=f"checkin:{circle_id}:{day.isoformat()}",
                chat_id=patient.id,
                message=OutMessage(
                    texts.CHECKIN_QUESTION, keyboards.pain_scale(PainVerb.CHECKIN, checkin_id)
                ),
                kind="recovery.checkin",
                priority=Priority.NORMAL,
                circle_id=circle_id,
            )
            log_event(log, "recovery.checkin_asked", circle_id=circle_id, checkin_id=checkin_id)
            return True

    async def _checkin_step(self, checkin_id: int, due: dt.datetime, now: dt.datetime) -> bool:
        """An unanswered check-in: the evening nudge, then the next-morning look-in request."""
        async with self._db.transaction() as session:
            checkin = (
                await session.scalars(
                    select(DailyCheckin)
                    .where(
                        DailyCheckin.id == checkin_id,
                        DailyCheckin.due_at == due,
                        DailyCheckin.state.in_(
                            (CheckinState.ASKED, CheckinState.NUDGED, CheckinState.MISSED)
                        ),
                    )
                    .with_for_update()
                )
            ).one_or_none()
            if checkin is None:
                return False
            pair = await circle_and_patient(session, checkin.circle_id)
            assert pair is not None
            circle, patient = pair
            if checkin.state == CheckinState.MISSED:
                return await self._escalate_lookin(session, checkin, circle, patient, due, now)
            nudging = checkin.state == CheckinState.ASKED and checkin.nudge_at == due
            state = CheckinState.NUDGED if nudging else CheckinState.MISSED
            result = await session.execute(
                update(DailyCheckin)
                .where(
                    DailyCheckin.id == checkin_id,
                    DailyCheckin.state == checkin.state,
                    DailyCheckin.due_at == due,
                )
                .values(state=state, due_at=checkin.lookin_at if nudging else None)
            )
            if rowcount(result) != 1:
                return False
            if nudging:
                if now - due <= self._config.late_grace:
                    await self._notifier.send(
                        session,
                        key=f"checkin:{checkin_id}:nudge",
                        chat_id=patient.id,
                        message=OutMessage(
                            texts.CHECKIN_NUDGE, keyboards.pain_scale(PainVerb.CHECKIN, checkin_id)
                        ),
                        kind="recovery.checkin_nudge",
                        priority=Priority.NORMAL,
                        circle_id=circle.id,
                    )
                    log_event(log, "recovery.checkin_nudged", circle_id=circle.id)
                return True
            # The morning after: a look-in request. One due while the bot was down goes when
            # it is back, however late: the patient has been unheard even longer.
            if not circle.lookin_requests:
                return True
            return await self._request_lookin(session, checkin, circle, patient, now)

    async def _plan_due(
        self,
        session: AsyncSession,
        column: InstrumentedAttribute[Any],
        circle_id: int,
        due: dt.datetime,
    ) -> RecoveryPlan | None:
        """The plan, locked, only if that due time is still what we found (else: done)."""
        result: RecoveryPlan | None = (
            await session.scalars(
                select(RecoveryPlan)
                .where(RecoveryPlan.circle_id == circle_id, column == due)
                .with_for_update()
            )
        ).one_or_none()
        return result

    async def _move(
        self,
        session: AsyncSession,
        column: InstrumentedAttribute[Any],
        circle_id: int,
        due: dt.datetime,
        to: dt.datetime | None,
        **values: Any,
    ) -> bool:
        """The conditional update that claims a due item: True if this caller moved it."""
        result = await session.execute(
            update(RecoveryPlan)
            .where(RecoveryPlan.circle_id == circle_id, column == due)
            .values({column.key: to, **values})
            .execution_options(synchronize_session=False)
        )
        return rowcount(result) == 1


def _due_rows(column: InstrumentedAttribute[Any], now: dt.datetime, skip: set[int]) -> Select[Any]:
    """Everything due by `now` on one indexed column, oldest first, but for `skip`."""
    key = RecoveryPlan.circle_id if column.class_ is RecoveryPlan else DailyCheckin.id
    query = select(key, column).where(column <= now)
    if skip:
        query = query.where(key.not_in(skip))
    return query.order_by(column, key)
