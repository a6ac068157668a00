"""Medication: the scheduler's side — reminders on the minute, nudges, wake-ups after a
snooze, catching up after downtime."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards, texts
from bot.db import doses as doses_db
from bot.db import meds as meds_db
from bot.db.circles import display_name
from bot.db.due import drain
from bot.db.models import DoseOccurrence
from bot.db.session import after_commit
from bot.domain import doses as rules
from bot.domain import meds as parse
from bot.domain.doses import DoseEvent, DoseState
from bot.domain.meds import Slot
from bot.events import log_event
from bot.notify import LateNote, OutMessage, Priority
from bot.services.meds.alerts import _Alerts
from bot.services.meds.core import _Ctx, _group_keys, _label, _patient_keys, log
from bot.views.meds import DoseGroupView, DoseView

# A reminder queued later than this after its minute was sent late (the bot was down).
LATE_AFTER = dt.timedelta(minutes=1)
# After a long outage, slots older than this are not recorded at all.
CATCH_UP_LIMIT = dt.timedelta(days=7)
# Due work is handled in batches; a poison row is skipped for the rest of the run.
BATCH = 200


@dataclass(frozen=True)
class _Send:
    """A dose whose reminder is to go out now."""

    ctx: _Ctx
    occurrence_id: int
    slot: Slot


class _Reminders(_Alerts):
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
            handled, sends = 0, []
            for ctx in await self._due_in_circle(session, circle_id, now):
                if med_id is not None and ctx.med.id != med_id:
                    continue
                count, send = await self._materialise_one(session, ctx, now)
                handled += count
                if send is not None:
                    sends.append(send)
            await self._send_reminders(session, sends, now)
            after_commit(session, self._wake)
            return handled

    async def _due_in_circle(
        self, session: AsyncSession, circle_id: int, now: dt.datetime
    ) -> list[_Ctx]:
        rows = await meds_db.due_in_circle(session, circle_id, now)
        return [_Ctx(med, circle, patient) for med, circle, patient in rows]

    async def _materialise_one(
        self, session: AsyncSession, ctx: _Ctx, now: dt.datetime
    ) -> tuple[int, _Send | None]:
        """Record the doses of one medication that fell due, and move it to its next slot;
        returns how many slots it handled and the dose to remind now, if any.

        After downtime: the newest slot within the grace window is sent (marked late); older
        ones are recorded as missed and close family hears once about the newest of those.
        """
        med = ctx.med
        due_at = med.next_due_at
        if due_at is None or due_at > now:
            return 0, None
        schedule = self._schedule(med)
        if med.deleted_at or med.paused or schedule.as_needed or not schedule.times:
            await meds_db.move_next_due(session, med.id, due_at, None)
            return 0, None
        zone = ctx.zone
        since = max(due_at - dt.timedelta(microseconds=1), now - CATCH_UP_LIMIT)
        slots = await self._uncovered(
            session, ctx, parse.slots_between(schedule.times, zone, since, now)
        )
        following = parse.next_slot(schedule.times, zone, now)
        if not await meds_db.move_next_due(
            session, med.id, due_at, following.at if following else None
        ):
            return 0, None  # someone else handled this slot
        fresh = [s for s in slots if now - s.at <= self._timing.grace]
        stale = [s for s in slots if now - s.at > self._timing.grace]
        send = fresh[-1] if fresh else None
        for slot in stale + fresh[:-1]:
            # Close family hears once, about the newest dose that went unanswered; older
            # ones (and any superseded by a newer reminder) are recorded quietly.
            alert = bool(stale) and slot is stale[-1]
            occurrence_id = await self._insert_slot(
                session, ctx, slot, now, missed=True, alerted=alert
            )
            if occurrence_id is not None and alert:
                await self._alert_family(session, ctx, occurrence_id, slot.label)
        queued = None
        if send is not None:
            occurrence_id = await self._insert_slot(
                session, ctx, send, now, missed=False, alerted=False
            )
            if occurrence_id is not None:
                queued = _Send(ctx, occurrence_id, send)
        log_event(log, "meds.due", medication_id=med.id, sent=send is not None, missed=len(stale))
        return len(slots), queued

    async def _send_reminders(
        self, session: AsyncSession, sends: list[_Send], now: dt.datetime
    ) -> None:
        """One message per minute of reminders: a dose alone as before, several as a group."""
        by_minute: dict[dt.datetime, list[_Send]] = {}
        for send in sends:
            by_minute.setdefault(send.slot.at, []).append(send)
        for batch in by_minute.values():
            if len(batch) > 1 and self._timing.group:
                await self._send_group(session, batch, now)
                continue
            for one in batch:
                await self._send_reminder(session, one.ctx, one.occurrence_id, one.slot, now)

    async def _send_group(
        self, session: AsyncSession, batch: list[_Send], now: dt.datetime
    ) -> None:
        """Doses of one patient due in the same minute: one message, a line and buttons per
        medication and "Took all". Each dose keeps its own state machine."""
        lead = min(s.occurrence_id for s in batch)
        await doses_db.set_group(session, [s.occurrence_id for s in batch], lead)
        first, slot = batch[0], batch[0].slot
        late = now - slot.at > LATE_AFTER
        # Drawn from what was just written rather than read back: this runs once per patient
        # at the morning peak, and the doses are new (sent, nobody has answered yet).
        views = tuple(self._new_view(s, now) for s in sorted(batch, key=lambda s: s.occurrence_id))
        view = DoseGroupView(lead, slot.label, views, slot.label if late else None)
        await self._notifier.send(
            session,
            key=f"doses:{lead}:reminder",
            chat_id=first.ctx.patient.id,
            message=OutMessage(texts.dose_group(view), keyboards.dose_group(view)),
            kind="dose.reminder",
            priority=Priority.URGENT,
            circle_id=first.ctx.circle.id,
            relevant_until=max(self._alert_limit(s.ctx, s.slot, now) for s in batch),
            late=None if late else LateNote(slot.at + LATE_AFTER, texts.late_note(slot.label)),
        )
        log_event(log, "dose.grouped", group_id=lead, doses=len(batch))

    def _new_view(self, send: _Send, now: dt.datetime) -> DoseView:
        """A dose whose reminder is being queued, as `_dose_view` would read it back."""
        ctx, slot = send.ctx, send.slot
        return DoseView(
            occurrence_id=send.occurrence_id,
            medication_id=ctx.med.id,
            name=ctx.med.name,
            dose=ctx.med.dose,
            note=ctx.med.note,
            scheduled=True,
            due_at=slot.at,
            due_label=slot.label,
            state=DoseState.SENT,
            taken_at=None,
            snoozed_until=None,
            alert_at=self._alert_limit(ctx, slot, now),
            late=now - slot.at > LATE_AFTER,
            by_name=None,
            by_patient=True,
            patient_name=display_name(ctx.patient),
            timezone=ctx.zone,
        )

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

    def _alert_limit(self, ctx: _Ctx, slot: Slot, now: dt.datetime) -> dt.datetime:
        """When a dose reminded at `now` counts as missed if unanswered."""
        base = now if now - slot.at > LATE_AFTER else slot.at
        return rules.alert_at(slot.at, base, self._alert_delta(ctx.med))

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
            grouped = occ.group_id is not None and occ.resends == 0
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
                return int(won)
            # Nothing due after all (the state moved on): re-aim or clear the wake-up.
            await self._bump(session, occ, next_action_at=self._next_action(occ))
            return 0

    async def _act_on_group(
        self,
        session: AsyncSession,
        ctx: _Ctx,
        occ: DoseOccurrence,
        action: rules.Action,
        now: dt.datetime,
    ) -> int:
        """The nudge or the family alert of a grouped reminder: every dose of the group due
        for the same step now takes it (one conditional update each), and one message says
        so — the nudge redraws the group, the alert lists what is unconfirmed."""
        assert occ.group_id is not None
        members = await doses_db.group_members(session, occ.group_id)
        due = [m for m in members if m.resends == 0 and self._due_action(m, now) is action]
        won: list[DoseOccurrence] = []
        for member in due:
            if action is rules.Action.ALERT:
                changed = await self._transition(
                    session,
                    member,
                    DoseEvent.MISS,
                    alerted_at=now,
                    next_action_at=None,
                    snoozed_until=None,
                )
            else:
                changed = await self._bump(
                    session, member, nudged_at=now, next_action_at=member.alert_at
                )
            if changed:
                won.append(member)
        if not won:
            return 0
        if action is rules.Action.ALERT:
            first = await self._ctx(session, won[0].medication_id)
            await self._alert_family(session, first, won[0].id, _label(won[0], ctx.zone))
            log_event(log, "dose.missed", occurrence_id=won[0].id, circle_id=ctx.circle.id)
        elif not await doses_db.message_waiting(session, _group_keys(occ)):
            view = await self._group_view(session, occ.group_id)
            await self._notifier.send(
                session,
                key=f"doses:{occ.group_id}:nudge",
                chat_id=ctx.patient.id,
                message=OutMessage(texts.dose_group(view, nudge=True), keyboards.dose_group(view)),
                kind="dose.nudge",
                priority=Priority.URGENT,
                circle_id=ctx.circle.id,
                relevant_until=max(m.alert_at or now for m in won),
            )
        return len(won)

    def _due_action(self, occ: DoseOccurrence, now: dt.datetime) -> rules.Action | None:
        """What the scheduler has to do for this dose now, if anything."""
        if occ.state not in rules.WAITING or occ.next_action_at is None:
            return None
        if occ.next_action_at > now or occ.reminded_at is None or occ.alert_at is None:
            return None
        return rules.action_due(
            occ.state,
            now,
            reminded_at=occ.reminded_at,
            nudged=occ.nudged_at is not None,
            snoozed_until=occ.snoozed_until,
            alert_at=occ.alert_at,
            nudge=self._timing.nudge,
        )

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
