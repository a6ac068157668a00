"""Medication: the lists, one medication, and changing it (pause, alert, edit, delete)."""

from __future__ import annotations

from bot.db import doses as doses_db
from bot.db import meds as meds_db
from bot.db.circles import patient_circle_id
from bot.db.models import Access
from bot.db.session import after_commit
from bot.domain import meds as parse
from bot.domain.doses import ALERT_CHOICES
from bot.domain.errors import (
    MedicationGone,
    MedsPrivate,
    NeedTimezone,
    NotRegistered,
    StaleAction,
)
from bot.domain.flows import Awaiting
from bot.events import log_event
from bot.services.meds.adding import _Adding
from bot.services.meds.core import log
from bot.services.meds.supply import _Supply
from bot.services.meds.timezone import _TimeZone
from bot.views.meds import EditPrompt, MedDetail, MedList, MedView

EDIT_FIELDS = ("times", "supply", "max", "gap")


class _Catalog(_Adding, _TimeZone, _Supply):
    """/meds, one medication's card, and the changes made from it."""

    async def overview(self, user_id: int) -> list[MedList]:
        """/meds: the patient's own list and, for close family, the lists of those they help."""
        async with self._db.reading() as session:
            circle_ids: list[int] = []
            own = await patient_circle_id(session, user_id)
            if own is not None:
                circle_ids.append(own)
            memberships = await meds_db.helper_memberships(session, user_id)
            errand_only = False
            for membership in memberships:
                if membership.access == Access.CLOSE:
                    circle_ids.append(membership.circle_id)
                else:
                    errand_only = True
            if not circle_ids:
                if errand_only:
                    raise MedsPrivate()
                raise NotRegistered()
            return [await self._list(session, user_id, cid) for cid in circle_ids]

    async def circle_list(self, user_id: int, circle_id: int) -> MedList:
        """One circle's list (the "Back" button of a medication)."""
        async with self._db.reading() as session:
            return await self._list(session, user_id, circle_id)

    async def medication(self, user_id: int, med_id: int) -> MedDetail:
        async with self._db.reading() as session:
            ctx = await self._ctx(session, med_id)
            if ctx.med.deleted_at is not None:
                raise MedicationGone()
            return await self._detail(session, user_id, ctx)

    async def managed(self, user_id: int, med_id: int) -> MedDetail:
        """A medication about to be changed (its alert choices, "Delete?"): only for someone
        who may manage it; anyone else holds a button that was never theirs."""
        detail = await self.medication(user_id, med_id)
        if not detail.can_manage:
            raise StaleAction()
        return detail

    async def set_paused(self, user_id: int, med_id: int, paused: bool) -> MedDetail:
        async with self._db.transaction() as session:
            ctx, for_patient = await self._editable(session, user_id, med_id)
            med = ctx.med
            if med.paused != paused:
                med.paused = paused
                med.updated_at = self._clock.now()
                med.next_due_at = (
                    None
                    if paused
                    else await self._next_free_slot(session, med, ctx.zone, self._clock.now())
                )
                if paused:
                    await doses_db.stop_chasing(session, med.id)
                if not for_patient:
                    change = "paused" if paused else "resumed"
                    await self._tell_patient(session, ctx, user_id, change)
                after_commit(session, self._wake)
                log_event(log, "med.paused" if paused else "med.resumed", medication_id=med.id)
            return await self._detail(session, user_id, ctx)

    async def set_alert_minutes(self, user_id: int, med_id: int, minutes: int | None) -> MedDetail:
        """How long before close family hears about an unconfirmed dose (None: the default)."""
        if minutes is not None and minutes not in ALERT_CHOICES:
            raise StaleAction()
        async with self._db.transaction() as session:
            ctx, for_patient = await self._editable(session, user_id, med_id)
            ctx.med.alert_minutes = float(minutes) if minutes is not None else None
            ctx.med.updated_at = self._clock.now()
            if not for_patient:
                await self._tell_patient(session, ctx, user_id, "alert")
            return await self._detail(session, user_id, ctx)

    async def delete(self, user_id: int, med_id: int) -> str:
        """Remove a medication; its open doses are cancelled and old buttons stop working."""
        now = self._clock.now()
        async with self._db.transaction() as session:
            ctx, for_patient = await self._editable(session, user_id, med_id)
            if not await meds_db.mark_deleted(session, med_id, now):
                raise MedicationGone()
            for occ in await doses_db.answerable_doses(session, med_id):
                await self._cancel(session, ctx, occ)
            if not for_patient:
                await self._tell_patient(session, ctx, user_id, "deleted")
            after_commit(session, self._wake)
            log_event(log, "med.deleted", medication_id=med_id)
            return ctx.med.name

    async def begin_edit(self, user_id: int, med_id: int, field: str) -> EditPrompt:
        """Start changing the times, supply count or label limits; the value is typed next."""
        if field not in EDIT_FIELDS:
            raise StaleAction()
        async with self._db.transaction() as session:
            ctx, _ = await self._editable(session, user_id, med_id)
            view = await self._view(session, ctx)
        await self._circles.set_awaiting(user_id, Awaiting.MED_EDIT, {"m": med_id, "f": field})
        return EditPrompt(field, view)

    async def edit_answer(self, user_id: int, text: str | None) -> EditPrompt:
        """The typed value (None: the Skip button, i.e. no limit) for the field being edited."""
        draft, rev = await self._draft(user_id, Awaiting.MED_EDIT)
        field, med_id = draft.get("f"), draft.get("m")
        if field not in EDIT_FIELDS or not isinstance(med_id, int):
            raise StaleAction()
        if text is None and field not in ("max", "gap"):
            raise StaleAction()
        now = self._clock.now()
        following: str | None = None
        changed = True
        async with self._db.transaction() as session:
            ctx, for_patient = await self._editable(session, user_id, med_id)
            med = ctx.med
            if field == "times":
                assert text is not None
                schedule = parse.parse_schedule(text)
                if not schedule.as_needed and ctx.patient.timezone is None:
                    raise NeedTimezone()
                med.kind = schedule.kind
                med.times = schedule.time_strings()
                med.every_hours = schedule.every_hours
                med.next_due_at = await self._next_free_slot(session, med, ctx.zone, now)
                await doses_db.stop_chasing(session, med.id)
                after_commit(session, self._wake)
            elif field == "supply":
                assert text is not None
                med.supply_on_hand = parse.parse_supply(text)
                med.supply_set_at = now
                med.refill_state = None
                await self._check_supply(session, ctx)
            elif field == "max":
                limit = parse.parse_max_per_day(text) if text is not None else None
                changed = med.max_per_24h != limit
                med.max_per_24h = limit
                following = "gap"
            else:
                gap = parse.parse_min_hours(text) if text is not None else None
                changed = med.min_hours_between != gap
                med.min_hours_between = gap
            if changed:
                med.updated_at = now
                if not for_patient:
                    await self._tell_patient(session, ctx, user_id, field)
            view = await self._view(session, ctx)
        return await self._edit_next(user_id, rev, med_id, following, view, field)

    async def edit_keep(self, user_id: int) -> EditPrompt:
        """The "Keep as it is" button on a label limit: nothing changes; max moves on to gap."""
        draft, rev = await self._draft(user_id, Awaiting.MED_EDIT)
        field, med_id = draft.get("f"), draft.get("m")
        if field not in ("max", "gap") or not isinstance(med_id, int):
            raise StaleAction()
        async with self._db.transaction() as session:
            ctx, _ = await self._editable(session, user_id, med_id)
            view = await self._view(session, ctx)
        following = "gap" if field == "max" else None
        return await self._edit_next(user_id, rev, med_id, following, view, field)

    async def _edit_next(
        self,
        user_id: int,
        rev: int,
        med_id: int,
        following: str | None,
        view: MedView,
        saved: str,
    ) -> EditPrompt:
        step = {"m": med_id, "f": following} if following is not None else None
        await self._circles.advance_flow(user_id, rev, Awaiting.MED_EDIT if step else None, step)
        return EditPrompt(following, view, saved)
