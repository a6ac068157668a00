"""Medication: reading a medication's schedule and the label's limits, and the views
handlers get back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import doses as doses_db
from bot.db import meds as meds_db
from bot.db.circles import display_name
from bot.db.models import Circle, DoseOccurrence, Medication, Role, User
from bot.domain import doses as rules
from bot.domain import meds as parse
from bot.domain.doses import LabelCheck
from bot.domain.errors import StaleAction
from bot.domain.meds import Schedule, Slot
from bot.services.meds.access import _Access
from bot.services.meds.core import _Ctx, _label
from bot.services.reach import alert_reach, look_in_people
from bot.views.meds import DoseView, DoseWarning, MedDetail, MedList, MedView, OpenDose, OtherDose
from bot.views.reach import AlertReach

# An as-needed medication has no scheduled times to tell two doses apart: one logged this
# close to another is questioned even when the label's minimum gap isn't saved.
AS_NEEDED_CLOSE = dt.timedelta(hours=1)
# "Log it anyway" counts this long after its warning was shown; later, it asks again.
CONFIRM_FRESH = dt.timedelta(minutes=10)
# Yes/no, and when the warning being answered was shown (None: not from a button).
Confirmation = tuple[bool, dt.datetime | None]
# How far either side of a moment the label's checks look for logged doses.
LABEL_REACH = dt.timedelta(hours=48)


class _Views(_Access):
    """Schedules, the label's checks, and the views of medications, lists and doses."""

    def _schedule(self, med: Medication) -> Schedule:
        return parse.schedule_from_stored(med.kind, list(med.times or []), med.every_hours)

    def _alert_delta(self, med: Medication) -> dt.timedelta:
        if med.alert_minutes is not None:
            return dt.timedelta(minutes=med.alert_minutes)
        return self._timing.alert

    def _slot_for(self, ctx: _Ctx, at: dt.datetime) -> Slot | None:
        """The scheduled time a dose at `at` stands for; None for as-needed medications."""
        schedule = self._schedule(ctx.med)
        if schedule.as_needed or not schedule.times:
            return None
        return parse.slot_for(schedule.times, ctx.zone, at)

    def _owner(self, ctx: _Ctx, dose: DoseOccurrence) -> str | None:
        """The scheduled time a taken dose stands for: its own slot while that time is still
        on the schedule; otherwise (an extra dose, or the times changed) the one its time
        falls in."""
        schedule = self._schedule(ctx.med)
        if dose.slot and dose.slot.rsplit("T", 1)[-1] in schedule.time_strings():
            return dose.slot
        if dose.taken_at is None:
            return dose.slot
        mapped = self._slot_for(ctx, dose.taken_at)
        return mapped.key if mapped is not None else dose.slot

    def _times_of(self, ctx: _Ctx, dose: DoseOccurrence) -> set[str]:
        """Every scheduled time a taken dose stands for: the one it was recorded for, and
        the one whose window it was taken in."""
        assert dose.taken_at is not None
        window = self._slot_for(ctx, dose.taken_at)
        return {k for k in (self._owner(ctx, dose), window and window.key) if k}

    async def _label_check(
        self, session: AsyncSession, med: Medication, at: dt.datetime
    ) -> LabelCheck:
        """The log around `at` (both sides: a dose may be back-dated) against the label."""
        doses = await self._taken_near(session, med, at, at, None, same_name=True)
        return _check(med, doses, at)

    async def _taken_near(
        self,
        session: AsyncSession,
        med: Medication,
        start: dt.datetime,
        end: dt.datetime,
        exclude: int | None,
        *,
        same_name: bool = False,
    ) -> list[DoseOccurrence]:
        """Doses of this medication taken within `LABEL_REACH` of [start, end]; with
        `same_name`, also those of a deleted medication of the same name in the circle (it
        is the same medicine, deleted and added again)."""
        return await doses_db.taken_between(
            session, med, start - LABEL_REACH, end + LABEL_REACH, exclude, same_name=same_name
        )

    async def _dose_warning(
        self,
        session: AsyncSession,
        ctx: _Ctx,
        user_id: int,
        at: dt.datetime,
        occ: DoseOccurrence | None,
    ) -> DoseWarning | None:
        """What to ask before logging a dose taken at `at` (for `occ`, or a new one): the
        label's limits on both sides of `at`, and any dose already logged for the same
        scheduled time — limits or not (as needed: within `AS_NEEDED_CLOSE` of `at`)."""
        slot = self._slot_for(ctx, at)
        # The times this dose stands for: its own scheduled time, and the one whose window
        # `at` falls in (Taken on an old reminder, minutes after today's dose, is a second
        # dose for today's time too).
        keys = {k for k in (occ.slot if occ is not None else None, slot and slot.key) if k}
        centre = occ.due_at if occ is not None and occ.slot else (slot.at if slot else at)
        exclude = occ.id if occ is not None else None
        doses = await self._taken_near(
            session, ctx.med, min(at, centre), max(at, centre), exclude, same_name=True
        )
        check = _check(ctx.med, doses, at)

        def same_time(dose: DoseOccurrence) -> bool:
            assert dose.taken_at is not None
            if not keys:
                return abs(dose.taken_at - at) < AS_NEEDED_CLOSE
            return bool(keys & self._times_of(ctx, dose))

        same = [d for d in doses if same_time(d)]
        if not same and not check.needs_confirm(at):
            return None
        other = None
        if same:
            nearest = min(same, key=lambda d: abs((d.taken_at or at) - at))
            assert nearest.taken_at is not None
            other = OtherDose(
                at=nearest.taken_at,
                by_name=await self._name_of(session, nearest.recorded_by),
                by_patient=nearest.recorded_by in (None, ctx.circle.patient_id),
                by_self=nearest.recorded_by == user_id,
            )
        recorded = [d.recorded_at for d in doses if d.recorded_at is not None]
        return DoseWarning(
            ctx.med.id,
            exclude,
            ctx.med.name,
            ctx.med.dose,
            check,
            at,
            ctx.zone,
            other,
            shown_at=self._clock.now(),
            last_recorded=max(recorded, default=None),
        )

    def _confirms(self, confirmed: Confirmation, warning: DoseWarning) -> bool:
        """ "Log it anyway" counts only for the log it was shown against: pressed within
        `CONFIRM_FRESH` of the warning, and with no dose recorded since. An old button (a
        warning left on screen while another dose was logged) asks again instead."""
        yes, warned_at = confirmed
        if not yes or warned_at is None:
            return yes
        if self._clock.now() - warned_at > CONFIRM_FRESH:
            return False
        return warning.last_recorded is None or warning.last_recorded <= warned_at

    async def _detail(self, session: AsyncSession, user_id: int, ctx: _Ctx) -> MedDetail:
        role = await self._require_view(session, user_id, ctx.circle)
        can_manage = role == Role.PATIENT or ctx.circle.helpers_manage_meds
        view = await self._view(session, ctx)
        return MedDetail(view, display_name(ctx.patient), role == Role.PATIENT, can_manage)

    async def _reach(self, session: AsyncSession, circle: Circle) -> AlertReach:
        """Who would hear about a missed dose if it happened now."""
        people, errand = await look_in_people(session, circle, self._clock.now())
        return alert_reach(people, errand)

    async def _view(self, session: AsyncSession, ctx: _Ctx) -> MedView:
        med = ctx.med
        last = await doses_db.last_taken(session, med.id)
        return MedView(
            id=med.id,
            circle_id=med.circle_id,
            name=med.name,
            dose=med.dose,
            note=med.note,
            kind=med.kind,
            times=tuple(med.times or ()),
            every_hours=med.every_hours,
            max_per_24h=med.max_per_24h,
            min_hours_between=med.min_hours_between,
            supply_on_hand=med.supply_on_hand,
            alert_minutes=self._alert_delta(med).total_seconds() / 60,
            custom_alert=med.alert_minutes is not None,
            paused=med.paused,
            next_due_at=med.next_due_at,
            last_taken_at=last,
            timezone=ctx.zone,
        )

    async def _list(self, session: AsyncSession, user_id: int, circle_id: int) -> MedList:
        circle = await session.get(Circle, circle_id)
        if circle is None:
            raise StaleAction()
        role = await self._require_view(session, user_id, circle)
        patient = await session.get(User, circle.patient_id)
        assert patient is not None
        meds = await meds_db.active_meds(session, circle_id)
        views = [await self._view(session, _Ctx(m, circle, patient)) for m in meds]
        open_doses: list[OpenDose] = []
        if role != Role.PATIENT and circle.helpers_mark_given and meds:
            by_id = {m.id: m for m in meds}
            occurrences = await doses_db.open_doses(
                session, list(by_id), self._clock.now() - dt.timedelta(hours=24)
            )
            zone = patient.timezone or "UTC"
            open_doses = [
                OpenDose(o.id, by_id[o.medication_id].name, _label(o, zone)) for o in occurrences
            ]
        return MedList(
            circle_id=circle.id,
            patient_name=display_name(patient),
            timezone=patient.timezone or "UTC",
            for_patient=role == Role.PATIENT,
            can_manage=role == Role.PATIENT or circle.helpers_manage_meds,
            can_give=role != Role.PATIENT and circle.helpers_mark_given,
            meds=tuple(views),
            open_doses=tuple(open_doses),
            reach=await self._reach(session, circle),
        )

    async def _dose_view(self, session: AsyncSession, ctx: _Ctx, occ: DoseOccurrence) -> DoseView:
        by_name = await self._name_of(session, occ.recorded_by)
        return DoseView(
            occurrence_id=occ.id,
            medication_id=ctx.med.id,
            name=ctx.med.name,
            dose=ctx.med.dose,
            note=ctx.med.note,
            scheduled=occ.scheduled,
            due_at=occ.due_at,
            due_label=_label(occ, ctx.zone),
            state=occ.state,
            taken_at=occ.taken_at,
            snoozed_until=occ.snoozed_until,
            alert_at=occ.alert_at,
            late=occ.late,
            by_name=by_name,
            by_patient=occ.recorded_by in (None, ctx.circle.patient_id),
            patient_name=display_name(ctx.patient),
            timezone=ctx.zone,
        )


def _check(med: Medication, doses: Sequence[DoseOccurrence], at: dt.datetime) -> LabelCheck:
    times = [d.taken_at for d in doses if d.taken_at is not None]
    return rules.check_label(times, at, med.max_per_24h, med.min_hours_between)
