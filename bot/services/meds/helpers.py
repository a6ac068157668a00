"""Medication: close family's answer to a missed-dose alert ("I'll check on them")."""

from __future__ import annotations

from bot import keyboards, texts
from bot.db import doses as doses_db
from bot.db.circles import display_name
from bot.db.models import Access
from bot.domain.doses import DoseState
from bot.domain.errors import MedsPrivate, StaleAction
from bot.events import log_event
from bot.notify import OutMessage, Priority
from bot.services.meds.core import log
from bot.services.meds.state import _State
from bot.views.meds import CheckOn


class _Helpers(_State):
    """Close family answering the alert about a missed dose."""

    async def check_on(
        self, helper_id: int, occurrence_id: int, *, message_id: int | None = None
    ) -> CheckOn:
        """ "I'll check on them": the first helper to say so is the one; the others are told."""
        async with self._db.transaction() as session:
            ctx, occ = await self._dose(session, occurrence_id)
            role = await self._role(session, helper_id, ctx.circle)
            if role != Access.CLOSE:
                raise MedsPrivate() if role == Access.ERRAND else StaleAction()
            view = await self._dose_view(session, ctx, occ)
            patient = display_name(ctx.patient)
            can_give = ctx.circle.helpers_mark_given
            if occ.state != DoseState.MISSED:
                checker = await self._name_of(session, occ.checker_id) or ""
                return CheckOn(patient, checker, occ.checker_id == helper_id, True, False, view)
            if not await doses_db.claim_check(session, occ.id, helper_id):
                checker_id = await doses_db.checker_of(session, occ.id)
                checker = await self._name_of(session, checker_id) or ""
                return CheckOn(patient, checker, checker_id == helper_id, False, can_give, view)
            me = await self._name_of(session, helper_id) or ""
            await self._edit_alerts(
                session,
                ctx,
                occ,
                texts.dose_someone_checking(view, me),
                helper_id,
                key_suffix="checking",
                buttons=keyboards.dose_give(occ.id) if can_give else (),
            )
            await self._edit_lookins(session, occ.id, patient, me, None)
            await self._notifier.send(
                session,
                key=f"dose:{occ.id}:checking",
                chat_id=ctx.patient.id,
                message=OutMessage(texts.dose_checking_to_patient(me)),
                kind="dose.checking",
                priority=Priority.URGENT,
                circle_id=ctx.circle.id,
            )
            log_event(log, "dose.checking", occurrence_id=occ.id, user_id=helper_id)
            return CheckOn(patient, me, True, False, can_give, view)
