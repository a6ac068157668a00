"""Medication: close family's answer to a missed-dose alert ("I'll check on them")."""

from __future__ import annotations

from bot.db.circles import display_name
from bot.db.models import Access
from bot.domain.doses import DoseState
from bot.domain.errors import MedsPrivate, StaleAction
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
            claim = await self._claim_check(session, ctx, occ, helper_id)
            batch = await self._alert_batch(session, occ)
            if len(batch) > 1 and can_give:
                views = await self._views_of(session, batch)
                gives = tuple(v for v in views if v.state == DoseState.MISSED)
            else:
                gives = ()
            if claim.resolved or not claim.won:
                resolved = claim.resolved
                return CheckOn(
                    patient,
                    claim.checker,
                    claim.by_me,
                    resolved,
                    can_give and not resolved,
                    view,
                    gives,
                )
            await self._announce_checker(
                session, ctx, occ, claim.checker, helper_id, skip_alert=helper_id, skip_lookin=None
            )
            return CheckOn(patient, claim.checker, True, False, can_give, view, gives)
