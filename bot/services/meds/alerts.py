"""Medication: the family alert about a missed dose, and the look-ins when no close family
can be told."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards, texts
from bot.buttons import LookVerb
from bot.db import doses as doses_db
from bot.db.circles import display_name
from bot.db.models import Access, DoseOccurrence, OutboxState, User
from bot.domain.doses import DoseState
from bot.domain.errors import StaleAction
from bot.events import log_event
from bot.notify import OutMessage, Priority
from bot.services.meds.core import _Ctx, _label, log
from bot.services.meds.state import _State
from bot.services.reach import look_in_people
from bot.views.reach import LookIn

# A 403 on a missed-dose alert older than this changes nothing any more.
ALERT_RELEVANT = dt.timedelta(days=1)


class _Alerts(_State):
    """Telling close family about a missed dose, and asking someone to look in."""

    async def _alert_family(
        self, session: AsyncSession, ctx: _Ctx, occurrence_id: int, due_label: str
    ) -> None:
        """Tell every close-family helper who can be reached now (not blocked, not away);
        errand helpers never hear about medication. With nobody in close family to tell,
        the patient is told plainly instead. Doses of one reminder alerted in the same
        moment are one alert, named by the first of them (`occurrence_id`).

        Keys make it safe to call again (after a 403): only the newly reachable are told.
        """
        people, errand = await look_in_people(session, ctx.circle, self._clock.now())
        occ = await session.get(DoseOccurrence, occurrence_id)
        batch = await self._alert_batch(session, occ) if occ is not None else []
        meds = [(ctx.med.name, ctx.med.dose)]
        text = texts.dose_alert(display_name(ctx.patient), ctx.med.name, ctx.med.dose, due_label)
        buttons = keyboards.dose_alert(occurrence_id, ctx.circle.helpers_mark_given)
        if len(batch) > 1:
            text, buttons = await self._batch_alert(session, ctx, batch)
            # A dose of the batch answered since (before a 403 brought us back) is not
            # "unconfirmed" any more.
            meds = [
                await self._name_and_dose(session, m) for m in batch if m.state == DoseState.MISSED
            ]
        if errand or not people:
            await self._nobody_told(session, ctx, occurrence_id, due_label, people, meds)
            return
        for helper in people:
            await self._notifier.send(
                session,
                key=f"dose:{occurrence_id}:alert:{helper.id}",
                chat_id=helper.id,
                message=OutMessage(text, buttons),
                kind="dose.alert",
                priority=Priority.URGENT,
                circle_id=ctx.circle.id,
            )

    async def _name_and_dose(self, session: AsyncSession, occ: DoseOccurrence) -> tuple[str, str]:
        med = (await self._ctx(session, occ.medication_id)).med
        return med.name, med.dose

    async def _nobody_told(
        self,
        session: AsyncSession,
        ctx: _Ctx,
        occurrence_id: int,
        due_label: str,
        errand: Sequence[User],
        meds: Sequence[tuple[str, str]],
    ) -> None:
        """No close family can be told: the patient hears it, and errand helpers (if the
        patient allows it) are asked to look in — with no word about medication."""
        patient = display_name(ctx.patient)
        for helper in errand:
            await self._notifier.send(
                session,
                key=f"dose:{occurrence_id}:lookin:{helper.id}",
                chat_id=helper.id,
                message=OutMessage(
                    texts.errand_lookin(patient),
                    keyboards.look_in(LookVerb.DOSE, occurrence_id),
                ),
                kind="dose.lookin",
                priority=Priority.URGENT,
                circle_id=ctx.circle.id,
            )
        told = await self._notifier.send(
            session,
            key=f"dose:{occurrence_id}:nobody",
            chat_id=ctx.patient.id,
            message=OutMessage(
                texts.nobody_told_of_dose(meds, due_label, [display_name(h) for h in errand])
            ),
            kind="dose.nobody",
            priority=Priority.URGENT,
            circle_id=ctx.circle.id,
        )
        if told:
            log_event(log, "dose.nobody_told", occurrence_id=occurrence_id, errand=len(errand))

    async def helper_unreachable(self, session: AsyncSession, user_id: int) -> None:
        """Telegram refused a message to this helper (403), in the transaction recording it.

        A missed-dose alert of theirs that never arrived may have been the only one: if no
        alert of that dose reached (or can still reach) anyone, it is handled as if nobody
        could be told at alert time — newly reachable close family, else the patient.
        """
        since = self._clock.now() - ALERT_RELEVANT
        keys = await doses_db.undelivered_alert_keys(session, user_id, since)
        for key in keys:
            found = await session.get(DoseOccurrence, int(key.split(":")[1]))
            if found is None:
                continue  # gone with its circle
            ctx, occ = await self._dose(session, found.id)
            batch = await self._alert_batch(session, occ)
            if not any(m.state == DoseState.MISSED and m.checker_id is None for m in batch):
                continue  # answered, or someone is already on their way
            if not await self._alert_heard(session, occ.id):
                await self._alert_family(session, ctx, occ.id, _label(occ, ctx.zone))

    async def _alert_heard(self, session: AsyncSession, occurrence_id: int) -> bool:
        """Did a family alert of this dose arrive, or can one still arrive?"""
        rows = await doses_db.alert_states(session, occurrence_id)
        waiting = (OutboxState.PENDING, OutboxState.SENDING)
        return any(
            state == OutboxState.SENT or (state in waiting and reachable is not False)
            for state, reachable in rows
        )

    async def look_in(self, helper_id: int, occurrence_id: int) -> LookIn:
        """ "I'll check on them" from a helper asked to look in about a missed dose (an
        errand helper: nothing here or in what follows names the medication). The first tap
        wins, as on close family's alert; the others are told."""
        async with self._db.transaction() as session:
            ctx, occ = await self._dose(session, occurrence_id)
            role = await self._role(session, helper_id, ctx.circle)
            asked = await doses_db.outbox_id(session, f"dose:{occ.id}:lookin:{helper_id}")
            if role not in (Access.CLOSE, Access.ERRAND) or asked is None:
                raise StaleAction()
            patient = display_name(ctx.patient)
            claim = await self._claim_check(session, ctx, occ, helper_id)
            if claim.resolved:
                return LookIn(patient, "", False, True)
            if not claim.won:
                return LookIn(patient, claim.checker, claim.by_me, False)
            await self._announce_checker(
                session, ctx, occ, claim.checker, helper_id, skip_alert=None, skip_lookin=helper_id
            )
            return LookIn(patient, claim.checker, True, False)
