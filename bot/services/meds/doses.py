"""Medication: the patient's answers to a dose — taken (now or at a typed time), given by
close family, snoozed, skipped."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.db import meds as meds_db
from bot.db.models import DoseOccurrence
from bot.db.session import after_commit
from bot.domain import doses as rules
from bot.domain import meds as parse
from bot.domain.clocktime import local_date, local_instant, parse_time_of_day
from bot.domain.doses import SNOOZE_CHOICES, DoseEvent
from bot.domain.errors import DoseNotOpen, MedInputError, StaleAction
from bot.domain.flows import Awaiting
from bot.events import log_event
from bot.notify import OutMessage, Priority
from bot.services.meds.adding import _Adding
from bot.services.meds.core import _Ctx, log, until_won
from bot.services.meds.supply import _Supply
from bot.services.meds.views import Confirmation
from bot.views.meds import DoseOutcome, DoseView

# A typed "I took it at …" time is read no earlier than this before the dose was due.
TYPED_EARLIEST = dt.timedelta(hours=12)


# What resolving a dose won: the dose, and whether it had been alerted and was late.
_Taken = tuple[_Ctx, DoseOccurrence, bool, bool]


class _Doses(_Adding, _Supply):
    """Answering one dose: Taken, Mark as given, Snooze, Skip, "I took it at …"."""

    async def take(
        self,
        user_id: int,
        occurrence_id: int,
        *,
        at: dt.datetime | None = None,
        confirmed: bool = False,
        warned_at: dt.datetime | None = None,
        message_id: int | None = None,
    ) -> DoseOutcome:
        """The patient's "Taken" (optionally back-dated to `at`). `confirmed` with the time
        the warning was shown (`warned_at`) is "Log it anyway" (see `_confirms`)."""
        now = self._clock.now()
        if at is not None and at > now:
            raise MedInputError("time_future")
        async with self._db.transaction() as session:
            outcome = await self._take(
                session,
                user_id,
                occurrence_id,
                at or now,
                (confirmed, warned_at),
                message_id,
                by_patient=True,
            )
            if outcome.dose is not None:
                # A typed time that ended in "Log it anyway" is answered too.
                await self._circles.end_flow_about(
                    session, user_id, Awaiting.DOSE_TIME, "o", occurrence_id
                )
            return outcome

    async def give(
        self,
        helper_id: int,
        occurrence_id: int,
        *,
        confirmed: bool = False,
        warned_at: dt.datetime | None = None,
        message_id: int | None = None,
    ) -> DoseOutcome:
        """A close-family helper at the bedside marks the dose as given."""
        async with self._db.transaction() as session:
            return await self._take(
                session,
                helper_id,
                occurrence_id,
                self._clock.now(),
                (confirmed, warned_at),
                message_id,
                by_patient=False,
            )

    async def _take(
        self,
        session: AsyncSession,
        user_id: int,
        occurrence_id: int,
        taken_at: dt.datetime,
        confirmed: Confirmation,
        message_id: int | None,
        *,
        by_patient: bool,
        request_key: str | None = None,
        redraw: bool = True,
    ) -> DoseOutcome:
        """Resolve one scheduled dose (Taken, /took, "Mark as given", a typed time), also
        after the family was alerted; a second answer is refused, saying who and when."""
        now = self._clock.now()

        async def attempt() -> _Taken | DoseOutcome | None:
            ctx, occ = await self._dose(session, occurrence_id)
            if by_patient:
                await self._require_patient_of(session, user_id, ctx)
            else:
                await self._require_giver(session, user_id, ctx)
            await meds_db.lock_medication(session, ctx.med.id)
            await self._require_answerable(session, user_id, ctx, occ)
            warning = await self._dose_warning(session, ctx, user_id, taken_at, occ)
            if warning is not None and not self._confirms(confirmed, warning):
                return DoseOutcome(warning=warning)
            was_alerted = occ.alerted_at is not None
            late = occ.late or (occ.alert_at is not None and taken_at > occ.alert_at)
            extra: dict[str, Any] = {"request_key": request_key} if request_key else {}
            won = await self._transition(
                session,
                occ,
                DoseEvent.TAKE,
                taken_at=taken_at,
                recorded_at=now,
                recorded_by=user_id,
                late=late,
                past_warning=warning is not None,
                next_action_at=None,
                snoozed_until=None,
                **extra,
            )
            return (ctx, occ, was_alerted, late) if won else None

        won: _Taken | DoseOutcome = await until_won(attempt)
        if isinstance(won, DoseOutcome):
            return won
        ctx, occ, was_alerted, late = won
        view = await self._dose_view(session, ctx, occ)
        final = texts.dose_done(view)
        pressed = message_id if by_patient else None
        await self._edit_patient_messages(session, occ, final, pressed, groups=redraw)
        batch_alert = was_alerted and len(await self._alert_batch(session, occ)) > 1
        if was_alerted:
            # A helper's own alert is redrawn by the outbox when it lists other doses too.
            skip = None if by_patient or batch_alert else user_id
            await self._edit_alerts(session, ctx, occ, texts.dose_resolved(view), skip)
            await self._settle_lookins(session, ctx, occ)
        if not by_patient:
            await self._notifier.send(
                session,
                key=f"dose:{occ.id}:given",
                chat_id=ctx.patient.id,
                message=OutMessage(texts.dose_given_to_patient(view)),
                kind="dose.given",
                priority=Priority.URGENT,
                circle_id=ctx.circle.id,
            )
        await self._use_supply(session, ctx)
        log_event(log, "dose.taken", occurrence_id=occ.id, by_patient=by_patient, late=late)
        return DoseOutcome(
            dose=view, group=await self._group_of(session, occ), batch_alert=batch_alert
        )

    async def snooze(
        self, user_id: int, occurrence_id: int, minutes: int, *, message_id: int | None = None
    ) -> DoseOutcome:
        if minutes not in SNOOZE_CHOICES:
            raise StaleAction()
        now = self._clock.now()
        async with self._db.transaction() as session:

            async def attempt() -> tuple[_Ctx, DoseOccurrence] | None:
                ctx, occ = await self._dose(session, occurrence_id)
                await self._require_patient_of(session, user_id, ctx)
                await self._require_answerable(session, user_id, ctx, occ)
                if occ.state not in rules.WAITING or occ.alert_at is None:
                    raise DoseNotOpen()
                until = now + dt.timedelta(minutes=minutes)
                won = await self._transition(
                    session,
                    occ,
                    DoseEvent.SNOOZE,
                    snoozed_until=until,
                    next_action_at=min(until, occ.alert_at),
                )
                return (ctx, occ) if won else None

            ctx, occ = await until_won(attempt)
            after_commit(session, self._wake)
            await self._edit_patient_messages(session, occ, "", message_id, singles=False)
            log_event(log, "dose.snoozed", occurrence_id=occ.id, minutes=minutes)
            view = await self._dose_view(session, ctx, occ)
            return DoseOutcome(dose=view, group=await self._group_of(session, occ))

    async def skip(
        self, user_id: int, occurrence_id: int, *, message_id: int | None = None
    ) -> DoseOutcome:
        now = self._clock.now()
        async with self._db.transaction() as session:

            async def attempt() -> tuple[_Ctx, DoseOccurrence, bool] | None:
                ctx, occ = await self._dose(session, occurrence_id)
                await self._require_patient_of(session, user_id, ctx)
                await self._require_answerable(session, user_id, ctx, occ)
                was_alerted = occ.alerted_at is not None
                won = await self._transition(
                    session,
                    occ,
                    DoseEvent.SKIP,
                    recorded_at=now,
                    recorded_by=user_id,
                    next_action_at=None,
                    snoozed_until=None,
                )
                return (ctx, occ, was_alerted) if won else None

            ctx, occ, was_alerted = await until_won(attempt)
            view = await self._dose_view(session, ctx, occ)
            await self._edit_patient_messages(session, occ, texts.dose_done(view), message_id)
            if was_alerted:
                await self._edit_alerts(session, ctx, occ, texts.dose_resolved(view), None)
                await self._settle_lookins(session, ctx, occ)
            log_event(log, "dose.skipped", occurrence_id=occ.id)
            return DoseOutcome(dose=view, group=await self._group_of(session, occ))

    async def reminder(self, user_id: int, occurrence_id: int) -> DoseView:
        """The dose as it stands (to show its reminder again after "Not now")."""
        async with self._db.transaction() as session:
            ctx, occ = await self._dose(session, occurrence_id)
            await self._require_patient_of(session, user_id, ctx)
            await self._require_answerable(session, user_id, ctx, occ)
            return await self._dose_view(session, ctx, occ)

    async def not_now(self, user_id: int, occurrence_id: int) -> DoseView:
        """ "Not now" to a warning: nothing logged; a typed-time question about this dose
        is closed too (the next words typed are not a time for it)."""
        view = await self.reminder(user_id, occurrence_id)
        async with self._db.transaction() as session:
            await self._circles.end_flow_about(
                session, user_id, Awaiting.DOSE_TIME, "o", occurrence_id
            )
        return view

    async def begin_take_at(self, user_id: int, occurrence_id: int) -> DoseView:
        """ "I took it at …": wait for the time to be typed."""
        view = await self.reminder(user_id, occurrence_id)
        await self._circles.set_awaiting(user_id, Awaiting.DOSE_TIME, {"o": occurrence_id})
        return view

    async def take_typed_time(self, user_id: int, text: str) -> tuple[DoseOutcome, int]:
        """The time typed after "I took it at …"; returns the outcome and the dose's id."""
        draft, rev = await self._draft(user_id, Awaiting.DOSE_TIME)
        occurrence_id = draft.get("o")
        if not isinstance(occurrence_id, int):
            raise StaleAction()
        at = await self._typed_instant(user_id, occurrence_id, text)
        outcome = await self.take(user_id, occurrence_id, at=at)
        if outcome.dose is not None:
            await self._end_flow(user_id, rev)
        return outcome, occurrence_id

    async def _typed_instant(self, user_id: int, occurrence_id: int, text: str) -> dt.datetime:
        # "08:10", "at 8:10 am" or "I took it at 08:10": the time is what follows the last "at".
        cleaned = parse.clean(text)
        _, _, after_at = f" {cleaned}".lower().rpartition(" at ")
        value = parse_time_of_day(after_at or cleaned)
        if value is None:
            if cleaned.isdigit() and int(cleaned) <= 24:
                raise MedInputError("time_bare_hour", cleaned)
            raise MedInputError("time_bad", cleaned[:20])
        now = self._clock.now()
        async with self._db.transaction() as session:
            ctx, occ = await self._dose(session, occurrence_id)
            await self._require_patient_of(session, user_id, ctx)
        day = local_date(occ.due_at, ctx.zone)
        candidates = [
            local_instant(day + dt.timedelta(days=d), value, ctx.zone) for d in (-1, 0, 1)
        ]
        # A time that has happened, and not before the dose was due (an hour early at most):
        # "00:30" for a 23:00 dose is the next day, "21:00" for a missed 08:00 one is tonight,
        # not the evening before it was due. Only a time earlier than that reads as taken
        # early, the nearest such one.
        # Half a day early is as far back as a reading goes ("06:00" for an 08:00 dose is
        # that morning; "13:00" typed at noon for an 11:00 dose is not yesterday's).
        past = [c for c in candidates if occ.due_at - TYPED_EARLIEST <= c <= now]
        if not past:
            raise MedInputError("time_future")
        after_due = [c for c in past if c >= occ.due_at - parse.EARLY]
        return min(after_due) if after_due else max(past)
