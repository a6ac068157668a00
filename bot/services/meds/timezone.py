"""Medication: keeping reminders on the patient's local times when their zone changes."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import doses as doses_db
from bot.db import meds as meds_db
from bot.db.circles import patient_circle_id
from bot.db.models import Medication
from bot.db.session import after_commit
from bot.domain import meds as parse
from bot.events import log_event
from bot.services.meds.core import log
from bot.services.meds.state import _State


class _TimeZone(_State):
    """A new time zone moves future reminders; a slot never gets its dose twice."""

    async def timezone_changed(self, session: AsyncSession, user_id: int) -> None:
        """Move the patient's future reminders to the same local times in their new zone."""
        circle_id = await patient_circle_id(session, user_id)
        if circle_id is None:
            return
        zone = await meds_db.user_timezone(session, user_id)
        if zone is None:
            return
        meds = await meds_db.scheduled_meds(session, circle_id)
        now = self._clock.now()
        for med in meds:
            med.next_due_at = await self._next_free_slot(session, med, zone, now)
        after_commit(session, self._wake)
        log_event(log, "meds.timezone_moved", circle_id=circle_id)

    async def _next_free_slot(
        self, session: AsyncSession, med: Medication, zone: str, after: dt.datetime
    ) -> dt.datetime | None:
        """The next slot after `after` whose local date and time has not had its dose yet
        (so moving zones or changing times never repeats today's 08:00 dose)."""
        schedule = self._schedule(med)
        if schedule.as_needed or med.paused:
            return None
        slot = parse.next_slot(schedule.times, zone, after)
        for _ in range(64):
            if slot is None:
                return None
            exists = await doses_db.slot_dose_id(session, med.id, slot.key)
            if exists is None:
                return slot.at
            slot = parse.next_slot(schedule.times, zone, slot.at)
        return None
