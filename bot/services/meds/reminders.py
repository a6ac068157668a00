"""Medication: the scheduler's side — reminders on the minute, nudges, wake-ups after a
snooze, catching up after downtime."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
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
from bot.notify import LateNote, OutMessage, Priority, Queued
from bot.services.meds.core import _Ctx, _label, _patient_keys, log
from bot.services.meds.grouping import LATE_AFTER, _Grouping, _Send
from bot.services.meds.views import LABEL_REACH

# After a long outage, slots older than this are not recorded at all.
CATCH_UP_LIMIT = dt.timedelta(days=7)
# Due work is handled in batches; a poison row is skipped for the rest of the run.
BATCH = 200
# Patients whose reminders are queued in one transaction: a few statements for them all
# instead of a dozen each (the morning peak), short enough not to hold up the writes of
# someone tapping a button meanwhile. Measured at 10,000 patients (bench/README.md): 50 held
# SQLite's writer ~50 ms at a time and an answer waited behind two or three of them (p99
# 130 ms while the peak was queued); 20 keeps that under a third, at the same throughput
# when sending at 30/s is the bound. With nobody being answered (bot.foreground), 50: with
# paid broadcast queueing is the bound, and 50 at a time queued 10,000 patients 12 % sooner.
CIRCLES_AT_ONCE = 20
CIRCLES_AT_ONCE_QUIET = 50


@dataclass(frozen=True)
class _Due:
    """What to record for one medication whose reminder fell due."""

    ctx: _Ctx
    slots: list[Slot]  # the slots handled: none was taken already
    send: Slot | None  # the one to remind now
    quiet: list[Slot]  # recorded as missed without a reminder
    alert: Slot | None  # of those, the one close family hears about
    stale: int  # how many were past the grace window


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
            together=lambda circle_ids: self._materialise_meds(circle_ids, None, now),
            chunk=self._circles_at_once,
            pause=self._foreground.gap,
        )
        handled += await drain(
            self._db,
            lambda skip: doses_db.due_doses(now, skip),
            lambda occurrence_id: self._act(occurrence_id, now),
            batch=BATCH,
            area="meds",
        )
        return handled

    def _circles_at_once(self) -> int:
        return CIRCLES_AT_ONCE_QUIET if self._foreground.quiet() else CIRCLES_AT_ONCE

    async def _materialise(self, circle_id: int, now: dt.datetime) -> int:
        """One patient's reminders, when the circles around it could not be done together:
        in one transaction, or, should that fail too, each medication in a transaction of
        its own, so that one bad row holds up no other."""
        try:
            return await self._materialise_meds([circle_id], None, now)
        except Exception:
            log_event(log, "meds.due_retry_each", circle_id=circle_id)
        async with self._db.transaction() as session:
            med_ids = [ctx.med.id for ctx in await self._due_in_circles(session, [circle_id], now)]
        handled, failed = 0, None
        for med_id in med_ids:
            try:
                handled += await self._materialise_meds([circle_id], med_id, now)
            except Exception as error:
                failed = error
        if failed is not None:
            raise failed  # the sweep logs it and tries again next time
        return handled

    async def _materialise_meds(
        self, circle_ids: Sequence[int], med_id: int | None, now: dt.datetime
    ) -> int:
        """Record the due doses of the circles' medications (or only `med_id`'s), move each
        medication to its next slot and queue the reminders, in one transaction and a few
        statements whatever the number of circles: doses of a patient due in the same minute
        go as one message. Returns how many slots were handled.

        After downtime: the newest slot within the grace window is sent (marked late); older
        ones are recorded as missed and close family hears once about the newest of those.
        """
        async with self._db.transaction() as session:
            ctxs = [
                ctx
                for ctx in await self._due_in_circles(session, circle_ids, now)
                if med_id is None or ctx.med.id == med_id
            ]
            plans, moves = await self._plan(session, ctxs, now)
            moved = await meds_db.move_next_due(session, moves)
            plans = [p for p in plans if p.ctx.med.id in moved]  # others: handled elsewhere
            ids = await doses_db.insert_slots(
                session,
                [
                    self._slot_row(p.ctx, slot, now, missed=missed, alerted=slot is p.alert)
                    for p in plans
                    for slot, missed in [(s, True) for s in p.quiet] + [(p.send, False)]
                    if slot is not None
                ],
            )
            sends, missed_alerts, events = [], [], []
            for p in plans:
                med = p.ctx.med
                if p.alert is not None and (dose_id := ids.get((med.id, p.alert.key))):
                    missed_alerts.append(_Send(p.ctx, dose_id, p.alert))
                if p.send is not None and (dose_id := ids.get((med.id, p.send.key))):
                    sends.append(_Send(p.ctx, dose_id, p.send))
                sent = p.send is not None
                events.append({"medication_id": med.id, "sent": sent, "missed": p.stale})
            if not missed_alerts:
                await self._send_reminders(session, sends, now)
            else:
                # After downtime: each patient's reminders, then their family's alert, as when
                # circles went one at a time (someone who is both patient and family gets them
                # in that order).
                for circle_id in dict.fromkeys(p.ctx.circle.id for p in plans):
                    await self._send_reminders(
                        session, [s for s in sends if s.ctx.circle.id == circle_id], now
                    )
                    await self._alert_missed(
                        session, [s for s in missed_alerts if s.ctx.circle.id == circle_id]
                    )
            after_commit(session, functools.partial(_log_all, "meds.due", events))
            after_commit(session, self._wake)
            return sum(len(p.slots) for p in plans)

    async def _due_in_circles(
        self, session: AsyncSession, circle_ids: Sequence[int], now: dt.datetime
    ) -> list[_Ctx]:
        """The circles' due medications, circle by circle in the order given (the sweep's:
        the earliest due first), each circle's by id."""
        rows = await meds_db.due_in_circles(session, circle_ids, now)
        order = {circle_id: place for place, circle_id in enumerate(circle_ids)}
        rows.sort(key=lambda row: order[row[1].id])  # stable: by id within a circle
        return [_Ctx(med, circle, patient) for med, circle, patient in rows]

    async def _plan(
        self, session: AsyncSession, ctxs: list[_Ctx], now: dt.datetime
    ) -> tuple[list[_Due], list[tuple[int, dt.datetime, dt.datetime | None]]]:
        """What to record for each medication that fell due, and where each moves next (as
        (id, from, to)). A slot some dose was already taken for is left out: after the times
        changed (11:00 taken, then moved to 12:00), the 12:00 reminder would be a second
        dose for one time."""
        moves: list[tuple[int, dt.datetime, dt.datetime | None]] = []
        open_slots: list[tuple[_Ctx, list[Slot]]] = []
        for ctx in ctxs:
            med, due_at = ctx.med, ctx.med.next_due_at
            if due_at is None or due_at > now:
                continue
            schedule = self._schedule(med)
            if med.deleted_at or med.paused or schedule.as_needed or not schedule.times:
                moves.append((med.id, due_at, None))
                continue
            since = max(due_at - dt.timedelta(microseconds=1), now - CATCH_UP_LIMIT)
            open_slots.append((ctx, parse.slots_between(schedule.times, ctx.zone, since, now)))
            following = parse.next_slot(schedule.times, ctx.zone, now)
            moves.append((med.id, due_at, following.at if following else None))
        taken = await doses_db.taken_within(
            session,
            {
                ctx.med.id: (slots[0].at - LABEL_REACH, slots[-1].at + LABEL_REACH)
                for ctx, slots in open_slots
                if slots
            },
        )
        plans = []
        for ctx, slots in open_slots:
            covered = {self._owner(ctx, dose) for dose in taken.get(ctx.med.id, [])}
            plans.append(self._due(ctx, [s for s in slots if s.key not in covered], now))
        return plans, moves

    def _due(self, ctx: _Ctx, slots: list[Slot], now: dt.datetime) -> _Due:
        fresh = [s for s in slots if now - s.at <= self._timing.grace]
        stale = [s for s in slots if now - s.at > self._timing.grace]
        # Close family hears once, about the newest dose that went unanswered; older ones
        # (and any superseded by a newer reminder) are recorded quietly.
        return _Due(
            ctx,
            slots,
            send=fresh[-1] if fresh else None,
            quiet=stale + fresh[:-1],
            alert=stale[-1] if stale else None,
            stale=len(stale),
        )

    async def _send_reminders(
        self, session: AsyncSession, sends: list[_Send], now: dt.datetime
    ) -> None:
        """One message per patient and minute of reminders: a dose alone as before, several
        as a group; all queued in one statement."""
        leads: dict[int, int] = {}
        messages, grouped = [], []
        for batch in self._together(sends):
            if len(batch) > 1:
                lead = min(s.occurrence_id for s in batch)
                leads |= {s.occurrence_id: lead for s in batch}
                messages.append(self._group_message(batch, lead, now))
                grouped.append({"group_id": lead, "doses": len(batch)})
            else:
                messages.append(self._reminder_message(batch[0], now))
        await doses_db.set_groups(session, leads)
        await self._notifier.send_all(session, messages)
        after_commit(session, functools.partial(_log_all, "dose.grouped", grouped))

    async def _alert_missed(self, session: AsyncSession, missed: list[_Send]) -> None:
        """Doses found missed after downtime: close family hears once per minute of them."""
        for batch in self._together(missed):
            lead = min(s.occurrence_id for s in batch)
            if len(batch) > 1:
                await doses_db.set_groups(session, {s.occurrence_id: lead for s in batch})
            first = next(s for s in batch if s.occurrence_id == lead)
            await self._alert_family(session, first.ctx, lead, first.slot.label)

    def _slot_row(
        self, ctx: _Ctx, slot: Slot, now: dt.datetime, *, missed: bool, alerted: bool
    ) -> dict[str, Any]:
        """The dose of a slot, as a row to insert: sent now, or recorded as missed."""
        late = now - slot.at > LATE_AFTER
        base = now if late else slot.at
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
                alert_at=slot.at + self._alert_delta(ctx.med),
                alerted_at=now if alerted else None,
                next_action_at=None,
            )
        else:
            values.update(
                state=DoseState.SENT,
                reminded_at=base,
                alert_at=alert_limit,
                alerted_at=None,
                next_action_at=rules.next_action(
                    DoseState.SENT,
                    reminded_at=base,
                    nudged=False,
                    snoozed_until=None,
                    alert_at=alert_limit,
                    nudge=self._timing.nudge,
                ),
            )
        return values

    def _reminder_message(self, send: _Send, now: dt.datetime) -> Queued:
        """The reminder matters until its dose counts as missed: held up by a Telegram outage
        beyond that, it is dropped (the missed-dose flow has taken over); sent late, it says so.
        """
        ctx, slot, med = send.ctx, send.slot, send.ctx.med
        late = now - slot.at > LATE_AFTER
        return Queued(
            key=f"dose:{send.occurrence_id}:reminder",
            chat_id=ctx.patient.id,
            message=OutMessage(
                texts.dose_reminder(med.name, med.dose, med.note, slot.label if late else None),
                keyboards.dose_reminder(send.occurrence_id),
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


def _log_all(event: str, fields: list[dict[str, Any]]) -> None:
    """Log one line per entry (after the commit: a batch rolled back and retried alone would
    otherwise log its work twice)."""
    for entry in fields:
        log_event(log, event, **entry)
