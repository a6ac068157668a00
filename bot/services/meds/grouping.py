"""Medication: the scheduler's side of grouped reminders — which doses go in one message,
the message itself, and the group's nudge and family alert."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards, texts
from bot.db import doses as doses_db
from bot.db.circles import display_name
from bot.db.models import DoseOccurrence
from bot.domain import doses as rules
from bot.domain.doses import DoseEvent, DoseState
from bot.domain.meds import Slot
from bot.events import log_event
from bot.notify import LateNote, OutMessage, Priority, Queued
from bot.services.meds.alerts import _Alerts
from bot.services.meds.core import _Ctx, _group_keys, _label, log
from bot.views.meds import DoseGroupView, DoseView

# A reminder queued later than this after its minute was sent late (the bot was down).
LATE_AFTER = dt.timedelta(minutes=1)
# The most doses one grouped message lists: ten lines of the longest name, dose and note,
# with three buttons each, stay well within Telegram's 4,096 characters and 100 buttons.
GROUP_MAX = 10


@dataclass(frozen=True)
class _Send:
    """A dose whose reminder is to go out now."""

    ctx: _Ctx
    occurrence_id: int
    slot: Slot


class _Grouping(_Alerts):
    """Doses due together: one message, one nudge, one alert per helper."""

    def _alert_limit(self, ctx: _Ctx, slot: Slot, now: dt.datetime) -> dt.datetime:
        """When a dose reminded at `now` counts as missed if unanswered."""
        base = now if now - slot.at > LATE_AFTER else slot.at
        return rules.alert_at(slot.at, base, self._alert_delta(ctx.med))

    def _together(self, doses: list[_Send]) -> list[list[_Send]]:
        """The doses that go in one message: one patient's due at the same minute (by the clock and
        by the time they stand for: on the night clocks go forward, 02:30 and 03:00 fall on
        one instant but are two times), at most GROUP_MAX to a message so that it stays
        within Telegram's limits on text and buttons; each alone with grouping off."""
        if not self._timing.group:
            return [[d] for d in doses]
        by_minute: dict[tuple[int, dt.datetime, str], list[_Send]] = {}
        for dose in doses:
            minute = (dose.ctx.circle.id, dose.slot.at, dose.slot.label)
            by_minute.setdefault(minute, []).append(dose)
        return [
            batch[start : start + GROUP_MAX]
            for batch in by_minute.values()
            for start in range(0, len(batch), GROUP_MAX)
        ]

    def _group_message(self, batch: list[_Send], lead: int, now: dt.datetime) -> Queued:
        """Doses of one patient due in the same minute: one message, a line and buttons per
        medication and "Took all". Each dose keeps its own state machine."""
        first, slot = batch[0], batch[0].slot
        late = now - slot.at > LATE_AFTER
        # Drawn from what was just written rather than read back: this runs once per patient
        # at the morning peak, and the doses are new (sent, nobody has answered yet).
        views = tuple(self._new_view(s, now) for s in sorted(batch, key=lambda s: s.occurrence_id))
        view = DoseGroupView(lead, slot.label, views, slot.label if late else None)
        return Queued(
            key=f"doses:{lead}:reminder",
            chat_id=first.ctx.patient.id,
            message=OutMessage(texts.dose_group(view), keyboards.dose_group(view)),
            kind="dose.reminder",
            priority=Priority.URGENT,
            circle_id=first.ctx.circle.id,
            relevant_until=max(self._alert_limit(s.ctx, s.slot, now) for s in batch),
            late=None if late else LateNote(slot.at + LATE_AFTER, texts.late_note(slot.label)),
        )

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
        due = [
            m
            for m in members
            if (m.resends == 0 or action is rules.Action.ALERT)
            and self._due_action(m, now) is action
        ]
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
