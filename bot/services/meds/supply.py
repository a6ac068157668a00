"""Medication: the supply on hand, the refill offer, and asking helpers to pick one up."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards, texts
from bot.db import doses as doses_db
from bot.db import meds as meds_db
from bot.db.circles import active_helpers, display_name
from bot.db.models import Access, Medication
from bot.domain import doses as rules
from bot.domain.errors import MedicationGone, RefillUnavailable, StaleAction
from bot.domain.meds import AS_NEEDED
from bot.events import log_event
from bot.notify import OutMessage
from bot.services.meds.core import _Ctx, log
from bot.services.meds.state import _State
from bot.views.meds import RefillPosted


class _Supply(_State):
    """Counting doses off the supply, offering a refill, and the refill need."""

    async def request_refill(self, user_id: int, med_id: int) -> RefillPosted:
        """ "Ask helpers to pick up a refill": one pharmacy need, however often it is tapped."""
        if self._refills is None:
            raise RefillUnavailable()
        async with self._db.transaction() as session:
            ctx = await self._ctx(session, med_id)
            await self._require_patient_of(session, user_id, ctx)
            if ctx.med.deleted_at is not None:
                raise MedicationGone()
            if not await meds_db.request_refill(session, med_id):
                raise StaleAction()
            name = ctx.med.name
            deadline = await self._runs_out_at(session, ctx)
        try:
            # The need goes to every helper, errand helpers too: it names no medication.
            need_id = await self._refills.post_need(
                user_id, texts.REFILL_NEED, category="pharmacy", deadline=deadline
            )
        except Exception:
            async with self._db.transaction() as session:
                await meds_db.move_refill(session, med_id, "requested", "offered")
            raise
        log_event(log, "med.refill_requested", medication_id=med_id, need_id=need_id)
        return RefillPosted(need_id, name)

    async def decline_refill(self, user_id: int, med_id: int) -> None:
        async with self._db.transaction() as session:
            ctx = await self._ctx(session, med_id)
            await self._require_patient_of(session, user_id, ctx)
            await meds_db.move_refill(session, med_id, "offered", "declined")

    async def _use_supply(self, session: AsyncSession, ctx: _Ctx) -> None:
        med = ctx.med
        if not await meds_db.use_one(session, med.id):
            return
        await session.refresh(med)
        await self._check_supply(session, ctx)

    async def _check_supply(self, session: AsyncSession, ctx: _Ctx) -> None:
        """Offer the refill once the forecast says the supply runs out soon; tell close
        family when it has run out."""
        med = ctx.med
        if med.supply_on_hand is None:
            return
        stamp = int((med.supply_set_at or med.created_at).timestamp())
        per_day = await self._per_day(session, med)
        if med.refill_state is None and rules.refill_due(
            med.supply_on_hand, per_day, self._timing.refill_lead_days
        ):
            med.refill_state = "offered"
            left = rules.days_left(med.supply_on_hand, per_day)
            await self._notifier.send(
                session,
                key=f"med:{med.id}:refill:{stamp}",
                chat_id=ctx.patient.id,
                message=OutMessage(
                    texts.refill_offer(med.name, med.supply_on_hand, left),
                    keyboards.refill_offer(med.id, self._refills is not None),
                ),
                kind="med.refill",
                circle_id=ctx.circle.id,
            )
        if med.supply_on_hand == 0:
            patient = display_name(ctx.patient)
            for _m, helper in await active_helpers(session, ctx.circle.id, Access.CLOSE):
                await self._notifier.send(
                    session,
                    key=f"med:{med.id}:empty:{stamp}:{helper.id}",
                    chat_id=helper.id,
                    message=OutMessage(texts.supply_empty_to_family(patient, med.name)),
                    kind="med.empty",
                    circle_id=ctx.circle.id,
                )

    async def _per_day(self, session: AsyncSession, med: Medication) -> float:
        if med.kind != AS_NEEDED:
            return 0.0 if med.paused else float(len(med.times))
        since = self._clock.now() - dt.timedelta(days=7)
        return await doses_db.taken_count(session, med.id, since) / 7

    async def _runs_out_at(self, session: AsyncSession, ctx: _Ctx) -> dt.datetime | None:
        left = rules.days_left(ctx.med.supply_on_hand, await self._per_day(session, ctx.med))
        if left is None:
            return None
        return self._clock.now() + dt.timedelta(days=left)
