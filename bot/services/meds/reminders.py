"""Medication: the scheduler's side — reminders on the minute, nudges, wake-ups after a
snooze, catching up after downtime."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards, texts
from bot.db import doses as doses_db
from bot.db import meds as meds_db
from bot.db.due import drain
from bot.db.models import DoseOccurrence
from bot.db.session import after_commit
from bot.domain import doses as rules
from bot.domain import meds as parse
from bot.domain.doses import DoseEvent, DoseState
from bot.domain.meds import Slot
from bot.events import log_event
from bot.notify import LateNote, OutMessage, Priority
from bot.services.meds.core import _Ctx, _label, _patient_keys, log
from bot.services.meds.grouping import LATE_AFTER, _Grouping, _Send

# After a long outage, slots older than this are not recorded at all.
CATCH_UP_LIMIT = dt.timedelta(days=7)
# Due work is handled in batches; a poison row is skipped for the rest of the run.
BATCH = 200


class _Reminders(_Grouping):
    """The scheduler's `DueSource`: what is due next, and handling it."""

    async def next_due(self) -> dt.datetime | None:
        async with self._db.transaction() as session:
            reminder = await meds_db.first_reminder_at(session)
            action = await doses_db.first_action_at(session)
        return min((t for t in (reminder, action) if t is not None), default=None)

    async def run_due(self, now: dt.datetime) -> int:
        handled = await drain(
            self._db,
            lambda skip: meds_db.due_circles(now, skip),
            lambda circle_id: self._materialise(circle_id, now),
            batch=BATCH,
            area="meds",
        )
        handled += await drain(
            self._db,
            lambda skip: doses_db.due_doses(now, skip),
            lambda occurrence_id: self._act(occurrence_id, now),
            batch=BATCH,
            area="meds",
        )
        return handled

    async def _materialise(self, circle_id: int, now: dt.datetime) -> int:
        """Queue the reminders of a patient's medications that fell due, in one transaction:
        doses due in the same minute go as one message. Should that fail, each medication
        is tried in a transaction of its own, so that one bad row holds up no other."""
        try:
            return await self._materialise_meds(circle_id, None, now)
        except Exception:
            log_event(log, "meds.due_retry_each", circle_id=circle_id)
        async with self._db.transaction() as session:
            med_ids = [ctx.med.id for ctx in await self._due_in_circle(session, circle_id, now)]
        handled, failed = 0, None
        for med_id in med_ids:
            try:
                handled += await self._materialise_meds(circle_id, med_id, now)
            except Exception as error:
                failed = error
        if failed is not None:
            raise failed  # the sweep logs it and tries again next time
        return handled

    async def _materialise_meds(self, circle_id: int, med_id: int | None, now: dt.datetime) -> int:
        """Record the circle's due doses (or only `med_id`'s) and queue their reminders."""
        async with self._db.transaction() as session:
            handled, sends, missed = 0, [], []
            for ctx in await self._due_in_circle(session, circle_id, now):
                if med_id is not None and ctx.med.id != med_id:
                    continue
                count, send, alert = await self._materialise_one(session, ctx, now)
                handled += count
                sends += [send] if send is not None else []
                missed += [alert] if alert is not None else []
            await self._send_reminders(session, sends, now)
            await self._alert_missed(session, missed)
            after_commit(session, self._wake)
            return handled

    async def _due_in_circle(
        self, session: AsyncSession, circle_id: int, now: dt.datetime
    ) -> list[_Ctx]:
        rows = await meds_db.due_in_circle(session, circle_id, now)
        return [_Ctx(med, circle, patient) for med, circle, patient in rows]

    async def _materialise_one(
        self, session: AsyncSession, ctx: _Ctx, now: dt.datetime
    ) -> tuple[int, _Send | None, _Send | None]:
        """Record the doses of one medication that fell due, and move it to its next slot;
        returns how many slots it handled, the dose to remind now and the missed dose to
        alert close family about, if any.

        After downtime: the newest slot within the grace window is sent (marked late); older
        ones are recorded as missed and close family hears once about the newest of those.
        """
        med = ctx.med
        due_at = med.next_due_at
        if due_at is None or due_at > now:
            return 0, None, None
        schedule = self._schedule(med)
        if med.deleted_at or med.paused or schedule.as_needed or not schedule.times:
            await meds_db.move_next_due(session, med.id, due_at, None)
            return 0, None, None
        zone = ctx.zone
        since = max(due_at - dt.timedelta(microseconds=1), now - CATCH_UP_LIMIT)
        slots = await self._uncovered(
            session, ctx, parse.slots_between(schedule.times, zone, since, now)
        )
        following = parse.next_slot(schedule.times, zone, now)
        if not await meds_db.move_next_due(
            session, med.id, due_at, following.at if following else None
        ):
            return 0, None, None  # someone else handled this slot
        fresh = [s for s in slots if now - s.at <= self._timing.grace]
        stale = [s for s in slots if now - s.at > self._timing.grace]
        send = fresh[-1] if fresh else None
        missed = None
        for slot in stale + fresh[:-1]:
            # Close family hears once, about the newest dose that went unanswered; older
            # ones (and any superseded by a newer reminder) are recorded quietly.
            alert = bool(stale) and slot is stale[-1]
            occurrence_id = await self._insert_slot(
                session, ctx, slot, now, missed=True, alerted=alert
            )
            if occurrence_id is not None and alert:
                missed = _Send(ctx, occurrence_id, slot)
        queued = None
        if send is not None:
            occurrence_id = await self._insert_slot(
                session, ctx, send, now, missed=False, alerted=False
            )
            if occurrence_id is not None:
                queued = _Send(ctx, occurrence_id, send)
        log_event(log, "meds.due", medication_id=med.id, sent=send is not None, missed=len(stale))
        return len(slots), queued, missed

    async def _send_reminders(
        self, session: AsyncSession, sends: list[_Send], now: dt.datetime
    ) -> None:
        """One message per minute of reminders: a dose alone as before, several as a group."""
        for batch in self._together(sends):
            if len(batch) > 1:
                await self._send_group(session, batch, now)
            else:
                one = batch[0]
                await self._send_reminder(session, one.ctx, one.occurrence_id, one.slot, now)

    async def _alert_missed(self, session: AsyncSession, missed: list[_Send]) -> None:
        """Doses found missed after downtime: close family hears once per minute of them."""
        for batch in self._together(missed):
            lead = min(s.occurrence_id for s in batch)
            if len(batch) > 1:
                await doses_db.set_group(session, [s.occurrence_id for s in batch], lead)
            first = next(s for s in batch if s.occurrence_id == lead)
            await self._alert_family(session, first.ctx, lead, first.slot.label)

    async def _uncovered(self, session: AsyncSession, ctx: _Ctx, slots: list[Slot]) -> list[Slot]:
        """The slots no dose was taken for yet: after the times changed (11:00 taken, then
        moved to 12:00), the 12:00 reminder would be a second dose for one time."""
        if not slots:
            return slots
        taken = await self._taken_near(session, ctx.med, slots[0].at, slots[-1].at, None)
        covered = {self._owner(ctx, dose) for dose in taken}
        return [slot for slot in slots if slot.key not in covered]

    async def _insert_slot(
        self,
        session: AsyncSession,
        ctx: _Ctx,
        slot: Slot,
        now: dt.datetime,
        *,
        missed: bool,
        alerted: bool,
    ) -> int | None:
        """Create the dose for a slot once; None if it exists (e.g. after a zone change)."""
        late = now - slot.at > LATE_AFTER
        base = now if late else slot.at
        alert = self._alert_delta(ctx.med)
        alert_limit = self._alert_limit(ctx, slot, now)
        values: dict[str, Any] = {
            "medication_id": ctx.med.id,
            "slot": slot.key,
            "scheduled": True,
            "due_at": slot.at,
            "version": 0,
            "resends": 0,
            "late": late,
        }
        if missed:
            values.update(
                state=DoseState.MISSED,
                reminded_at=None,
                alert_at=slot.at + alert,
                alerted_at=now if alerted else None,
                next_action_at=None,
            )
        else:
            values.update(
                state=DoseState.SENT,
                reminded_at=base,
                alert_at=alert_limit,
                next_action_at=rules.next_action(
                    DoseState.SENT,
                    reminded_at=base,
                    nudged=False,
                    snoozed_until=None,
                    alert_at=alert_limit,
                    nudge=self._timing.nudge,
                ),
            )
        return await doses_db.insert_dose(session, values)

    async def _send_reminder(
        self, session: AsyncSession, ctx: _Ctx, occurrence_id: int, slot: Slot, now: dt.datetime
    ) -> None:
        """The reminder matters until its dose counts as missed: held up by a Telegram outage
        beyond that, it is dropped (the missed-dose flow has taken over); sent late, it says so.
        """
        med = ctx.med
        late = now - slot.at > LATE_AFTER
        await self._notifier.send(
            session,
            key=f"dose:{occurrence_id}:reminder",
            chat_id=ctx.patient.id,
            message=OutMessage(
                texts.dose_reminder(med.name, med.dose, med.note, slot.label if late else None),
                keyboards.dose_reminder(occurrence_id),
            ),
            kind="dose.reminder",
            priority=Priority.URGENT,
            circle_id=ctx.circle.id,
            relevant_until=self._alert_limit(ctx, slot, now),
            late=None if late else LateNote(slot.at + LATE_AFTER, texts.late_note(slot.label)),
        )

    async def _act(self, occurrence_id: int, now: dt.datetime) -> int:
        """The nudge, the wake-up after a snooze, or the family alert of one dose."""
        async with self._db.transaction() as session:
            ctx, occ = await self._dose(session, occurrence_id)
            if occ.next_action_at is None or occ.next_action_at > now:
                return 0
            if ctx.med.deleted_at is not None:
                await self._cancel(session, ctx, occ)
                return 1
            assert occ.reminded_at is not None and occ.alert_at is not None
            action = self._due_action(occ, now)
            after_commit(session, self._wake)
            # A snoozed dose came back alone, and is nudged alone; but it is missed with the
            # rest of its group, in one alert.
            grouped = occ.group_id is not None and (
                occ.resends == 0 or action is rules.Action.ALERT
            )
            if grouped and action in (rules.Action.ALERT, rules.Action.NUDGE):
                return await self._act_on_group(session, ctx, occ, action, now)
            if action is rules.Action.ALERT:
                won = await self._transition(
                    session,
                    occ,
                    DoseEvent.MISS,
                    alerted_at=now,
                    next_action_at=None,
                    snoozed_until=None,
                )
                if won:
                    await self._alert_family(session, ctx, occ.id, _label(occ, ctx.zone))
                    log_event(log, "dose.missed", occurrence_id=occ.id, circle_id=ctx.circle.id)
                return int(won)
            if action is rules.Action.NUDGE:
                won = await self._bump(
                    session,
                    occ,
                    nudged_at=now,
                    next_action_at=occ.alert_at,
                )
                # A reminder still held up by a Telegram outage will say it is late; a nudge
                # right behind it would only repeat it.
                if won and not await doses_db.message_waiting(session, _patient_keys(occ)):
                    await self._notifier.send(
                        session,
                        key=f"dose:{occ.id}:nudge",
                        chat_id=ctx.patient.id,
                        message=OutMessage(
                            texts.dose_nudge(ctx.med.name, ctx.med.dose, _label(occ, ctx.zone)),
                            keyboards.dose_reminder(occ.id),
                        ),
                        kind="dose.nudge",
                        priority=Priority.URGENT,
                        circle_id=ctx.circle.id,
                        relevant_until=occ.alert_at,
                    )
                return int(won)
            if action is rules.Action.WAKE:
                won = await self._transition(
                    session,
                    occ,
                    DoseEvent.WAKE,
                    resends=occ.resends + 1,
                    reminded_at=now,
                    snoozed_until=None,
                    next_action_at=rules.next_action(
                        DoseState.SENT,
                        reminded_at=now,
                        nudged=occ.nudged_at is not None,
                        snoozed_until=None,
                        alert_at=occ.alert_at,
                        nudge=self._timing.nudge,
                    ),
                )
                if won:
                    med = ctx.med
                    late = LateNote(now + LATE_AFTER, texts.late_note(texts.clock(now, ctx.zone)))
                    await self._notifier.send(
                        session,
                        key=f"dose:{occ.id}:again:{occ.resends}",
                        chat_id=ctx.patient.id,
                        message=OutMessage(
                            texts.dose_reminder(med.name, med.dose, med.note, None),
                            keyboards.dose_reminder(occ.id),
                        ),
                        kind="dose.reminder",
                        priority=Priority.URGENT,
                        circle_id=ctx.circle.id,
                        relevant_until=occ.alert_at,
                        late=late,
                    )
                    # Its line in the group no longer says "snoozed until …".
                    await self._edit_patient_messages(session, occ, "", None, singles=False)
                return int(won)
            # Nothing due after all (the state moved on): re-aim or clear the wake-up.
            await self._bump(session, occ, next_action_at=self._next_action(occ))
            return 0

    def _next_action(self, occ: DoseOccurrence) -> dt.datetime | None:
        if occ.state not in rules.WAITING or occ.reminded_at is None or occ.alert_at is None:
            return None
        return rules.next_action(
            occ.state,
            reminded_at=occ.reminded_at,
            nudged=occ.nudged_at is not None,
            snoozed_until=occ.snoozed_until,
            alert_at=occ.alert_at,
            nudge=self._timing.nudge,
        )
