"""Medication: changing a dose's state, and showing the change on the messages about it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot import keyboards, texts
from bot.db import doses as doses_db
from bot.db.circles import active_helpers, display_name
from bot.db.models import Access, DoseOccurrence
from bot.domain import doses as rules
from bot.domain.doses import DoseEvent, DoseState
from bot.events import log_event
from bot.notify import OutMessage, Priority
from bot.services.meds.core import _Ctx, _label, _patient_keys, log
from bot.services.meds.views import _Views
from bot.views.meds import DoseGroupView, DoseView


@dataclass(frozen=True)
class _Claim:
    """ "I'll check on them": whether this helper became the one, or who is."""

    won: bool
    resolved: bool  # nothing is unconfirmed any more
    checker: str
    by_me: bool


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
        self,
        session: AsyncSession,
        occ: DoseOccurrence,
        text: str,
        skip_message_id: int | None,
        *,
        groups: bool = True,
        singles: bool = True,
    ) -> None:
        """Show the outcome on every reminder of this dose (not the one the button was on:
        the handler edits that one at once). A grouped reminder is redrawn whole, buttons
        and all, unless the caller redraws it once for several doses (`groups=False`)."""
        keys = await doses_db.sent_keys(session, _patient_keys(occ))
        for key in keys:
            if key.startswith("doses:"):
                if groups:
                    await self._edit_group_message(session, key, occ, skip_message_id)
                continue
            if not singles:
                continue
            await self._notifier.edit(
                session,
                key=f"{key}:v{occ.version}",
                ref_key=key,
                message=OutMessage(text),
                kind="dose.update",
                skip_message_id=skip_message_id,
            )

    async def _edit_group_message(
        self,
        session: AsyncSession,
        key: str,
        occ: DoseOccurrence,
        skip_message_id: int | None,
        *,
        suffix: str | None = None,
    ) -> None:
        """Redraw a grouped reminder (or its nudge) after `occ` changed."""
        assert occ.group_id is not None
        view = await self._group_view(session, occ.group_id)
        await self._notifier.edit(
            session,
            key=f"{key}:{suffix or f'o{occ.id}v{occ.version}'}",
            ref_key=key,
            message=OutMessage(texts.dose_group(view, redraw=True), keyboards.dose_group(view)),
            kind="dose.update",
            skip_message_id=skip_message_id,
        )

    async def _group_view(
        self, session: AsyncSession, lead_id: int, *, late_label: str | None = None
    ) -> DoseGroupView:
        """The doses of one grouped reminder as they stand now."""
        views = await self._views_of(session, await doses_db.group_members(session, lead_id))
        label = views[0].due_label if views else ""
        return DoseGroupView(lead_id, label, views, late_label)

    async def _views_of(
        self, session: AsyncSession, doses: list[DoseOccurrence]
    ) -> tuple[DoseView, ...]:
        """Doses of several medications (a group, an alert's batch), each as it stands."""
        views: list[DoseView] = []
        for dose in doses:
            ctx = await self._ctx(session, dose.medication_id)
            views.append(await self._dose_view(session, ctx, dose))
        return tuple(views)

    async def _group_of(self, session: AsyncSession, occ: DoseOccurrence) -> DoseGroupView | None:
        """The grouped reminder this dose is a line of, as it stands now (None if alone)."""
        return None if occ.group_id is None else await self._group_view(session, occ.group_id)

    async def _alert_batch(
        self, session: AsyncSession, occ: DoseOccurrence
    ) -> list[DoseOccurrence]:
        """The doses one family alert was about: those of the dose's group alerted in the
        same moment (all the same reminder's doses left unconfirmed), else the dose alone.
        The first of them (the anchor) names the alert's messages."""
        if occ.group_id is None or occ.alerted_at is None:
            return [occ]
        members = await doses_db.group_members(session, occ.group_id)
        batch = [m for m in members if m.alerted_at == occ.alerted_at]
        return batch or [occ]

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
        """Update the family alert of every helper who is still close family. An alert about
        several doses of one reminder is redrawn whole (`text` and `buttons` are one dose's)."""
        suffix = key_suffix or f"v{occ.version}"
        anchor = occ.id
        batch = await self._alert_batch(session, occ)
        if len(batch) > 1:
            anchor, suffix = batch[0].id, f"o{occ.id}:{suffix}"
            text, buttons = await self._batch_alert(session, ctx, batch)
        for _m, helper in await active_helpers(session, ctx.circle.id, Access.CLOSE):
            if helper.id == skip_helper:
                continue
            ref = f"dose:{anchor}:alert:{helper.id}"
            await self._notifier.edit(
                session,
                key=f"{ref}:{suffix}",
                ref_key=ref,
                message=OutMessage(text, buttons),
                kind="dose.update",
            )

    async def _batch_alert(
        self, session: AsyncSession, ctx: _Ctx, batch: list[DoseOccurrence]
    ) -> tuple[str, keyboards.Rows]:
        """A family alert about several doses of one reminder, as they stand now."""
        views = await self._views_of(session, batch)
        checker_id = next((m.checker_id for m in batch if m.checker_id is not None), None)
        checker = await self._name_of(session, checker_id)
        patient = display_name(ctx.patient)
        label = _label(batch[0], ctx.zone)
        text = texts.dose_group_alert(patient, views, label, checker)
        buttons = keyboards.dose_group_alert(
            batch[0].id, views, ctx.circle.helpers_mark_given, checker_id is not None
        )
        return text, buttons

    async def _claim_check(
        self, session: AsyncSession, ctx: _Ctx, occ: DoseOccurrence, helper_id: int
    ) -> _Claim:
        """The first helper to say "I'll check on them" is the one, for every dose of the
        alert still unconfirmed (claimed in id order, so two helpers at once cannot split
        them)."""
        batch = await self._alert_batch(session, occ)
        waiting = [m for m in batch if m.state == DoseState.MISSED]
        if not waiting:
            checker = await self._name_of(session, occ.checker_id) or ""
            return _Claim(False, True, checker, occ.checker_id == helper_id)
        if not await doses_db.claim_check(session, waiting[0].id, helper_id):
            checker_id = await doses_db.checker_of(session, waiting[0].id)
            checker = await self._name_of(session, checker_id) or ""
            return _Claim(False, False, checker, checker_id == helper_id)
        for member in waiting[1:]:
            await doses_db.claim_check(session, member.id, helper_id)
        return _Claim(True, False, await self._name_of(session, helper_id) or "", True)

    async def _announce_checker(
        self,
        session: AsyncSession,
        ctx: _Ctx,
        occ: DoseOccurrence,
        checker: str,
        helper_id: int,
        *,
        skip_alert: int | None,
        skip_lookin: int | None,
    ) -> None:
        """Everyone asked hears who is checking on the patient, and so does the patient."""
        view = await self._dose_view(session, ctx, occ)
        await self._edit_alerts(
            session,
            ctx,
            occ,
            texts.dose_someone_checking(view, checker),
            skip_alert,
            key_suffix="checking",
            buttons=keyboards.dose_give(occ.id) if ctx.circle.helpers_mark_given else (),
        )
        await self._edit_lookins(session, occ.id, display_name(ctx.patient), checker, skip_lookin)
        await self._notifier.send(
            session,
            key=f"dose:{occ.id}:checking",
            chat_id=ctx.patient.id,
            message=OutMessage(texts.dose_checking_to_patient(checker)),
            kind="dose.checking",
            priority=Priority.URGENT,
            circle_id=ctx.circle.id,
        )
        log_event(log, "dose.checking", occurrence_id=occ.id, user_id=helper_id)

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
        batch = await self._alert_batch(session, occ)
        if any(m.state == DoseState.MISSED for m in batch):
            return  # another dose of the same alert is still unconfirmed
        for key, _chat_id in await doses_db.lookin_messages(session, batch[0].id):
            await self._notifier.edit(
                session,
                key=f"{key}:settled",
                ref_key=key,
                message=OutMessage(texts.lookin_settled(display_name(ctx.patient))),
                kind="dose.lookin_update",
            )
