"""Medication: /took and "Log a dose" — the dose of a scheduled time, early or late, or an
extra (as-needed) one — and "Can I take another?"."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import doses as doses_db
from bot.db import meds as meds_db
from bot.db.circles import require_patient
from bot.db.models import DoseOccurrence, Medication
from bot.domain import doses as rules
from bot.domain.doses import DoseState
from bot.domain.errors import MedicationGone
from bot.domain.meds import Slot
from bot.domain.requests import Request, request_key
from bot.events import log_event
from bot.services.meds.core import _Ctx, log, until_won
from bot.services.meds.doses import _Doses
from bot.views.meds import AsNeededAnswer, DoseOutcome, MedView


class _AsNeeded(_Doses):
    """Logging a dose without a reminder to answer, and the label's answer about another."""

    async def took(
        self,
        user_id: int,
        *,
        name: str | None = None,
        med_id: int | None = None,
        request_key: str,
        confirmed: bool = False,
        warned_at: dt.datetime | None = None,
    ) -> DoseOutcome:
        """/took <name>: the dose of the scheduled time it stands for (see
        `bot.domain.meds.slot_for`) — answered late if it was waiting or missed, early if it
        is due within the hour — else an extra (as-needed) dose. A second dose for one time,
        or one past the label's limits, is asked about first. `request_key` makes a resent
        update log it once."""
        now = self._clock.now()
        async with self._db.transaction() as session:
            circle_id = await require_patient(session, user_id)
            ctx = await self._find(session, circle_id, name=name, med_id=med_id)
            await meds_db.lock_medication(session, ctx.med.id)

            async def attempt() -> tuple[int, Slot | None] | DoseOutcome | None:
                existing = await doses_db.dose_by_request(session, request_key)
                if existing is not None:
                    view = await self._dose_view(session, ctx, existing)
                    return DoseOutcome(dose=view, already_logged=True)
                slot = self._slot_for(ctx, now)
                occ = await self._slot_dose(session, ctx.med.id, slot)
                if occ is not None and occ.state in rules.ANSWERABLE:
                    return await self._take(
                        session,
                        user_id,
                        occ.id,
                        now,
                        (confirmed, warned_at),
                        None,
                        by_patient=True,
                        request_key=request_key,
                    )
                warning = await self._dose_warning(session, ctx, user_id, now, None)
                if warning is not None and not self._confirms((confirmed, warned_at), warning):
                    return DoseOutcome(warning=warning)
                early = slot if occ is None and self._not_yet_reminded(ctx.med, slot) else None
                new_id = await self._insert_taken(
                    session, ctx, user_id, now, request_key, early, warning is not None
                )
                # None: the scheduler or a twin request made that dose just now; look again.
                return None if new_id is None else (new_id, early)

            won: tuple[int, Slot | None] | DoseOutcome = await until_won(attempt)
            if isinstance(won, DoseOutcome):
                return won
            new_id, early = won
            _ctx, occ = await self._dose(session, new_id)
            await self._use_supply(session, ctx)
            log_event(
                log,
                "dose.early" if early else "dose.extra",
                occurrence_id=new_id,
                medication_id=ctx.med.id,
                past_warning=occ.past_warning,
            )
            after = await self._label_check(session, ctx.med, now)
            return DoseOutcome(dose=await self._dose_view(session, ctx, occ), check=after)

    async def took_named(self, user_id: int, name: str, message_id: int) -> DoseOutcome:
        """/took <name>, in the message `message_id`."""
        key = request_key(Request.TOOK, user_id, message_id)
        return await self.took(user_id, name=name, request_key=key)

    async def log_pressed(
        self,
        user_id: int,
        med_id: int,
        message_id: int | None,
        *,
        confirmed: bool = False,
        warned_at: dt.datetime | None = None,
    ) -> DoseOutcome:
        """ "Log a dose" (or, `confirmed`, "Log it anyway") on the message `message_id`."""
        kind = Request.LOG_ANYWAY if confirmed else Request.LOG
        key = request_key(kind, user_id, message_id)
        return await self.took(
            user_id, med_id=med_id, request_key=key, confirmed=confirmed, warned_at=warned_at
        )

    async def _slot_dose(
        self, session: AsyncSession, med_id: int, slot: Slot | None
    ) -> DoseOccurrence | None:
        if slot is None:
            return None
        return await doses_db.slot_dose(session, med_id, slot.key)

    def _not_yet_reminded(self, med: Medication, slot: Slot | None) -> bool:
        """The scheduler has yet to reach this slot, so logging it now stops its reminder."""
        if slot is None or med.next_due_at is None or med.paused:
            return False
        return slot.at >= med.next_due_at

    async def _insert_taken(
        self,
        session: AsyncSession,
        ctx: _Ctx,
        user_id: int,
        now: dt.datetime,
        request_key: str,
        early: Slot | None,
        past_warning: bool,
    ) -> int | None:
        """Log a dose taken now: the scheduled dose of `early` (its reminder then never goes
        out) or an extra one. None if a twin row got there first."""
        values: dict[str, Any] = {
            "medication_id": ctx.med.id,
            "slot": early.key if early else None,
            "request_key": request_key,
            "scheduled": early is not None,
            "due_at": early.at if early else now,
            "state": DoseState.TAKEN,
            "version": 0,
            "resends": 0,
            "taken_at": now,
            "recorded_at": now,
            "recorded_by": user_id,
            "late": False,
            "past_warning": past_warning,
        }
        return await doses_db.insert_dose(session, values)

    async def can_i_take(self, user_id: int, med_id: int) -> AsNeededAnswer:
        """ "Can I take another?": the log against the label — facts, never advice."""
        now = self._clock.now()
        async with self._db.transaction() as session:
            ctx = await self._ctx(session, med_id)
            if ctx.med.deleted_at is not None:
                raise MedicationGone()
            await self._require_view(session, user_id, ctx.circle)
            check = await self._label_check(session, ctx.med, now)
            return AsNeededAnswer(ctx.med.name, ctx.med.dose, check, now, ctx.zone)

    async def took_choices(self, user_id: int) -> list[MedView]:
        """The patient's medications, as-needed first, for a one-tap /took."""
        async with self._db.transaction() as session:
            circle_id = await require_patient(session, user_id)
            listing = await self._list(session, user_id, circle_id)
            return sorted(listing.meds, key=lambda m: (not m.as_needed, m.name.casefold()))
