"""Medication: a grouped reminder's own answers — "Took all", a line's "Later", and the
message redrawn."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import doses as doses_db
from bot.db.models import DoseOccurrence
from bot.domain import doses as rules
from bot.domain.errors import DomainError, DoseNotOpen, StaleAction
from bot.events import log_event
from bot.services.meds.core import _group_keys, log
from bot.services.meds.doses import _Doses
from bot.views.meds import DoseGroupView, DoseView, DoseWarning, GroupOutcome


class _Groups(_Doses):
    """Doses of one patient reminded together in one message."""

    async def take_all(
        self, user_id: int, lead_id: int, *, message_id: int | None = None
    ) -> GroupOutcome:
        """ "Took all": each dose still waiting is taken as if tapped on its own (one
        conditional update each, the label's checks included); a dose the label asks to look
        at first is left waiting and comes back as a warning, one already answered stays as
        it was."""
        now = self._clock.now()
        async with self._db.transaction() as session:
            members = await self._group_members(session, user_id, lead_id)
            warnings: list[DoseWarning] = []
            taken = 0
            for member in members:
                if member.state not in rules.ANSWERABLE:
                    continue
                try:
                    outcome = await self._take(
                        session,
                        user_id,
                        member.id,
                        now,
                        (False, None),
                        message_id,
                        by_patient=True,
                        redraw=False,
                    )
                except DomainError:
                    continue  # answered or removed meanwhile: it stays as it is
                if outcome.warning is not None:
                    warnings.append(outcome.warning)
                else:
                    taken += 1
            members = await doses_db.group_members(session, lead_id)
            stamp = "-".join(f"{m.id}v{m.version}" for m in members)
            for key in await doses_db.sent_keys(session, _group_keys(members[0])):
                await self._edit_group_message(
                    session, key, members[0], message_id, suffix=f"all:{stamp}"
                )
            log_event(log, "dose.took_all", group_id=lead_id, taken=taken, warned=len(warnings))
            group = await self._group_view(session, lead_id)
            return GroupOutcome(group, tuple(warnings), taken)

    async def group(self, user_id: int, lead_id: int) -> DoseGroupView:
        """The grouped reminder as it stands (after a line's "Later" choices, "‹ Back")."""
        async with self._db.transaction() as session:
            await self._group_members(session, user_id, lead_id)
            return await self._group_view(session, lead_id)

    async def later(self, user_id: int, occurrence_id: int) -> tuple[DoseView, int]:
        """A line's "Later": the dose (still waiting) and its group's lead."""
        async with self._db.transaction() as session:
            ctx, occ = await self._dose(session, occurrence_id)
            await self._require_patient_of(session, user_id, ctx)
            await self._require_answerable(session, user_id, ctx, occ)
            if occ.group_id is None:
                raise StaleAction()
            if occ.state not in rules.WAITING:
                raise DoseNotOpen()  # missed: it can be taken or skipped, not snoozed
            return await self._dose_view(session, ctx, occ), occ.group_id

    async def _group_members(
        self, session: AsyncSession, user_id: int, lead_id: int
    ) -> list[DoseOccurrence]:
        """The group's doses, for its patient only; a forged or single id is stale."""
        members = await doses_db.group_members(session, lead_id)
        if len(members) < 2:
            raise StaleAction()
        ctx = await self._ctx(session, members[0].medication_id)
        await self._require_patient_of(session, user_id, ctx)
        return members
