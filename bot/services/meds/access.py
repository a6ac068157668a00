"""Medication: loading a medication or dose, and who may see, change or answer it."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.db import doses as doses_db
from bot.db import meds as meds_db
from bot.db.circles import active_membership, display_name
from bot.db.models import FORMER_HELPER_ID, Access, Circle, DoseOccurrence, Role, User
from bot.domain import doses as rules
from bot.domain import meds as parse
from bot.domain.doses import DoseState
from bot.domain.errors import (
    DoseAlreadyRecorded,
    GiveNotAllowed,
    MedicationGone,
    MedsNotAllowed,
    MedsPrivate,
    NotPatient,
    NotRegistered,
    StaleAction,
    UnknownMedication,
)
from bot.services.meds.core import _Core, _Ctx


class _Access(_Core):
    """Loading what a request names, and checking who is asking."""

    async def _ctx(self, session: AsyncSession, med_id: int) -> _Ctx:
        row = await meds_db.med_with_patient(session, med_id)
        if row is None:
            raise StaleAction()
        return _Ctx(row[0], row[1], row[2])

    async def _dose(self, session: AsyncSession, occurrence_id: int) -> tuple[_Ctx, DoseOccurrence]:
        occ = await doses_db.fresh_dose(session, occurrence_id)
        if occ is None:
            raise StaleAction()
        return await self._ctx(session, occ.medication_id), occ

    async def _find(
        self, session: AsyncSession, circle_id: int, *, name: str | None, med_id: int | None
    ) -> _Ctx:
        rows = await meds_db.active_names(session, circle_id)
        if med_id is not None:
            if med_id not in {r[0] for r in rows}:
                raise MedicationGone()
            return await self._ctx(session, med_id)
        typed = parse.name_key(name or "")
        exact = [r for r in rows if r[2] == typed]
        starts = [r for r in rows if typed and (r[2] or "").startswith(typed)]
        found = exact or (starts if len(starts) == 1 else [])
        if not found:
            raise UnknownMedication(parse.clean(name or "")[:40], tuple(r[1] for r in rows))
        return await self._ctx(session, found[0][0])

    async def _role(self, session: AsyncSession, user_id: int, circle: Circle) -> str | None:
        """ "patient", "close" or "errand" in this circle; None for anyone else."""
        if circle.patient_id == user_id:
            return Role.PATIENT
        membership = await active_membership(session, circle.id, user_id)
        if membership is None or membership.role != Role.HELPER:
            return None
        return membership.access

    async def _require_view(self, session: AsyncSession, user_id: int, circle: Circle) -> str:
        role = await self._role(session, user_id, circle)
        if role is None:
            raise StaleAction()
        if role == Access.ERRAND:
            raise MedsPrivate()
        return role

    async def _manage_circle(
        self, session: AsyncSession, user_id: int, circle_id: int
    ) -> tuple[Circle, User, bool]:
        """The circle, its patient, and whether the one acting is the patient; refuses
        helpers the patient has not allowed, and errand helpers always."""
        circle = await session.get(Circle, circle_id)
        if circle is None:
            raise StaleAction()
        role = await self._require_view(session, user_id, circle)
        if role != Role.PATIENT and not circle.helpers_manage_meds:
            raise MedsNotAllowed()
        patient = await session.get(User, circle.patient_id)
        assert patient is not None
        return circle, patient, role == Role.PATIENT

    async def _managed_circles(self, session: AsyncSession, user_id: int) -> list[tuple[int, str]]:
        """Circles where this helper may add medications (close family, allowed)."""
        rows = await meds_db.managed_patients(session, user_id)
        if not rows:
            await self._not_patient(session, user_id)
        return [(cid, display_name(patient)) for cid, patient in rows]

    async def _not_patient(self, session: AsyncSession, user_id: int) -> None:
        """Raise the right refusal for someone who is not a patient here."""
        memberships = await meds_db.helper_memberships(session, user_id)
        if not memberships:
            raise NotRegistered()
        if all(m.access == Access.ERRAND for m in memberships):
            raise MedsPrivate()
        if any(m.access == Access.CLOSE for m in memberships):
            raise MedsNotAllowed()
        raise NotPatient()

    async def _editable(
        self, session: AsyncSession, user_id: int, med_id: int
    ) -> tuple[_Ctx, bool]:
        ctx = await self._ctx(session, med_id)
        if ctx.med.deleted_at is not None:
            raise MedicationGone()
        _circle, _patient, for_patient = await self._manage_circle(session, user_id, ctx.circle.id)
        return ctx, for_patient

    async def _require_patient_of(self, session: AsyncSession, user_id: int, ctx: _Ctx) -> None:
        if ctx.circle.patient_id != user_id:
            raise StaleAction()

    async def _require_giver(self, session: AsyncSession, user_id: int, ctx: _Ctx) -> None:
        role = await self._role(session, user_id, ctx.circle)
        if role == Access.ERRAND:
            raise MedsPrivate()
        if role != Access.CLOSE:
            raise StaleAction()
        if not ctx.circle.helpers_mark_given:
            raise GiveNotAllowed()

    async def _require_answerable(
        self, session: AsyncSession, user_id: int, ctx: _Ctx, occ: DoseOccurrence
    ) -> None:
        if occ.state == DoseState.CANCELLED or ctx.med.deleted_at is not None:
            raise MedicationGone()
        if occ.state in (DoseState.TAKEN, DoseState.SKIPPED):
            who = await self._name_of(session, occ.recorded_by)
            raise DoseAlreadyRecorded(
                occ.state,
                who,
                by_self=occ.recorded_by == user_id,
                by_patient=occ.recorded_by in (None, ctx.circle.patient_id),
                at=occ.taken_at or occ.recorded_at,
                zone=ctx.zone,
            )
        if occ.state not in rules.ANSWERABLE:
            raise StaleAction()

    async def _name_of(self, session: AsyncSession, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        if user_id == FORMER_HELPER_ID:  # --- privacy: a helper who deleted their data ---
            return texts.FORMER_HELPER
        user = await session.get(User, user_id)
        return display_name(user) if user else None
