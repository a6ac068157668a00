"""Medication: changing a dose's state, and showing the change on the messages about it."""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards, texts
from bot.db import doses as doses_db
from bot.db.circles import active_helpers, display_name
from bot.db.models import Access, DoseOccurrence
from bot.domain import doses as rules
from bot.domain.doses import DoseEvent
from bot.notify import OutMessage
from bot.services.meds.core import _Ctx, _patient_keys
from bot.services.meds.views import _Views


class _State(_Views):
    """Conditional updates of a dose, and the edits and notes that follow them."""

    async def _transition(
        self, session: AsyncSession, occ: DoseOccurrence, event: DoseEvent, **values: Any
    ) -> bool:
        """One conditional update: this caller wins only if nobody changed the dose since it
        was read."""
        new = rules.transition(occ.state, event)
        if new is None:
            return False
        return await self._bump(session, occ, state=new, **values)

    async def _bump(self, session: AsyncSession, occ: DoseOccurrence, **values: Any) -> bool:
        if not await doses_db.bump_dose(session, occ, values):
            return False
        await session.refresh(occ)
        return True

    async def _cancel(self, session: AsyncSession, ctx: _Ctx, occ: DoseOccurrence) -> None:
        was_alerted = occ.alerted_at is not None
        if not await self._transition(session, occ, DoseEvent.CANCEL, next_action_at=None):
            return
        keys = _patient_keys(occ)
        for key in keys:
            await self._notifier.cancel(session, key)
        view = await self._dose_view(session, ctx, occ)
        await self._edit_patient_messages(session, occ, texts.dose_removed(view), None)
        if was_alerted:
            await self._edit_alerts(session, ctx, occ, texts.dose_removed(view), None)
            await self._settle_lookins(session, ctx, occ)

    async def _edit_patient_messages(
        self, session: AsyncSession, occ: DoseOccurrence, text: str, skip_message_id: int | None
    ) -> None:
        """Show the outcome on every reminder of this dose (not the one the button was on:
        the handler edits that one at once)."""
        keys = await doses_db.sent_keys(session, _patient_keys(occ))
        for key in keys:
            await self._notifier.edit(
                session,
                key=f"{key}:v{occ.version}",
                ref_key=key,
                message=OutMessage(text),
                kind="dose.update",
                skip_message_id=skip_message_id,
            )

    async def _edit_alerts(
        self,
        session: AsyncSession,
        ctx: _Ctx,
        occ: DoseOccurrence,
        text: str,
        skip_helper: int | None,
        *,
        key_suffix: str | None = None,
        buttons: keyboards.Rows = (),
    ) -> None:
        """Update the family alert of every helper who is still close family."""
        suffix = key_suffix or f"v{occ.version}"
        for _m, helper in await active_helpers(session, ctx.circle.id, Access.CLOSE):
            if helper.id == skip_helper:
                continue
            ref = f"dose:{occ.id}:alert:{helper.id}"
            await self._notifier.edit(
                session,
                key=f"{ref}:{suffix}",
                ref_key=ref,
                message=OutMessage(text, buttons),
                kind="dose.update",
            )

    async def _tell_patient(
        self, session: AsyncSession, ctx: _Ctx, helper_id: int, change: str
    ) -> None:
        """A helper changed the patient's medications: the patient always hears of it."""
        helper = await self._name_of(session, helper_id) or ""
        stamp = int(self._clock.now().timestamp() * 1000)
        view = await self._view(session, ctx)
        await self._notifier.send(
            session,
            key=f"med:{ctx.med.id}:changed:{change}:{helper_id}:{stamp}",
            chat_id=ctx.patient.id,
            message=OutMessage(texts.med_changed_by_helper(helper, change, view)),
            kind="med.changed",
            circle_id=ctx.circle.id,
        )

    async def _edit_lookins(
        self,
        session: AsyncSession,
        occurrence_id: int,
        patient: str,
        checker: str,
        skip_helper: int | None,
    ) -> None:
        """Errand helpers asked to look in hear who took it on (still nothing about why)."""
        for key, chat_id in await doses_db.lookin_messages(session, occurrence_id):
            if chat_id == skip_helper:
                continue
            await self._notifier.edit(
                session,
                key=f"{key}:checking",
                ref_key=key,
                message=OutMessage(texts.someone_checking(patient, checker)),
                kind="dose.lookin_update",
            )

    async def _settle_lookins(self, session: AsyncSession, ctx: _Ctx, occ: DoseOccurrence) -> None:
        """The dose was answered after all: look-in requests stop asking (still saying
        nothing about medication), so nobody sets out for nothing."""
        for key, _chat_id in await doses_db.lookin_messages(session, occ.id):
            await self._notifier.edit(
                session,
                key=f"{key}:settled",
                ref_key=key,
                message=OutMessage(texts.lookin_settled(display_name(ctx.patient))),
                kind="dose.lookin_update",
            )
