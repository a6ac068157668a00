"""Medication: adding one, by the /addmed walk-through or in one line."""

from __future__ import annotations

import contextlib
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db import meds as meds_db
from bot.db.circles import display_name, patient_circle_id
from bot.db.models import Medication
from bot.db.session import after_commit
from bot.domain import meds as parse
from bot.domain.errors import (
    DuplicateMedication,
    FlowMoved,
    MedInputError,
    NeedTimezone,
    StaleAction,
)
from bot.domain.flows import Awaiting
from bot.domain.meds import Schedule
from bot.events import log_event
from bot.services.meds.core import _Ctx, log
from bot.services.meds.state import _State
from bot.views.meds import AddPrompt, MedDetail

ADD_STEPS = ("name", "dose", "times", "note", "max", "gap", "confirm")
OPTIONAL_STEPS = ("note", "max", "gap")


class _Adding(_State):
    """The /addmed walk-through, the one-line /addmed, and the answers of open flows."""

    async def start_add(self, user_id: int, circle_id: int | None = None) -> AddPrompt:
        """Begin /addmed: for the patient themselves, or a helper the patient allowed."""
        async with self._db.transaction() as session:
            if circle_id is None:
                circle_id = await patient_circle_id(session, user_id)
            if circle_id is None:
                choices = await self._managed_circles(session, user_id)
                if len(choices) != 1:
                    return AddPrompt("choose", "", False, {}, tuple(choices))
                circle_id = choices[0][0]
            ctx_circle, patient, for_patient = await self._manage_circle(
                session, user_id, circle_id
            )
        draft: dict[str, Any] = {"c": ctx_circle.id, "step": "name"}
        await self._circles.set_awaiting(user_id, Awaiting.ADD_MED, draft)
        return AddPrompt("name", display_name(patient), for_patient, draft)

    async def add_answer(self, user_id: int, text: str) -> AddPrompt:
        """The answer typed for the current step; a bad answer leaves the step as it was."""
        draft, rev = await self._draft(user_id, Awaiting.ADD_MED)
        step = draft.get("step")
        if step == "name":
            name = parse.parse_name(text)
            async with self._db.transaction() as session:
                await self._manage_circle(session, user_id, draft["c"])
                await self._refuse_duplicate(session, draft["c"], name)
            draft["name"] = name
        elif step == "dose":
            draft["dose"] = parse.parse_dose(text)
        elif step == "times":
            schedule = parse.parse_schedule(text)
            draft.update(
                kind=schedule.kind, times=schedule.time_strings(), every=schedule.every_hours
            )
        elif step == "note":
            draft["note"] = parse.parse_note(text)
        elif step == "max":
            draft["max"] = parse.parse_max_per_day(text)
        elif step == "gap":
            draft["gap"] = parse.parse_min_hours(text)
        elif step != "confirm":
            raise StaleAction()
        return await self._advance(user_id, draft, step, rev)

    async def add_skip(self, user_id: int) -> AddPrompt:
        """Skip an optional step (note, the label's maximum, the minimum gap)."""
        draft, rev = await self._draft(user_id, Awaiting.ADD_MED)
        step = draft.get("step")
        if step not in OPTIONAL_STEPS:
            raise StaleAction()
        draft[step] = None
        return await self._advance(user_id, draft, step, rev)

    async def add_as_needed(self, user_id: int) -> AddPrompt:
        draft, _rev = await self._draft(user_id, Awaiting.ADD_MED)
        if draft.get("step") != "times":
            raise StaleAction()
        return await self.add_answer(user_id, "as needed")

    async def add_save(self, user_id: int) -> MedDetail:
        draft, rev = await self._draft(user_id, Awaiting.ADD_MED)
        if draft.get("step") != "confirm":
            raise StaleAction()
        schedule = parse.schedule_from_stored(
            draft["kind"], draft.get("times", []), draft.get("every")
        )
        view = await self._create(
            user_id,
            draft["c"],
            name=parse.parse_name(draft["name"]),
            dose=parse.parse_dose(draft["dose"]),
            schedule=schedule,
            note=draft.get("note"),
            max_per_24h=draft.get("max"),
            min_hours=draft.get("gap"),
        )
        await self._end_flow(user_id, rev)
        return view

    async def _end_flow(self, user_id: int, rev: int) -> None:
        """Close the flow that just finished, unless a newer one has started since."""
        with contextlib.suppress(FlowMoved):
            await self._circles.advance_flow(user_id, rev, None)

    async def add_cancel(self, user_id: int) -> None:
        standing = await self._circles.standing(user_id)
        if standing.awaiting in (Awaiting.ADD_MED, Awaiting.MED_EDIT, Awaiting.DOSE_TIME):
            await self._circles.set_awaiting(user_id, None)

    async def add_line(self, user_id: int, text: str) -> MedDetail:
        """`/addmed Medicine A | 1 tablet | 08:00, 20:00 [| with food] [| max 4] [| gap 6h]`:
        saved at once."""
        line = parse.parse_one_line(text)
        async with self._db.transaction() as session:
            circle_id = await patient_circle_id(session, user_id)
            if circle_id is None:
                choices = await self._managed_circles(session, user_id)
                if len(choices) != 1:
                    raise MedInputError("which_patient")
                circle_id = choices[0][0]
        return await self._create(
            user_id,
            circle_id,
            name=line.name,
            dose=line.dose,
            schedule=line.schedule,
            note=line.note,
            max_per_24h=line.max_per_24h,
            min_hours=line.min_hours,
        )

    async def _advance(self, user_id: int, draft: dict[str, Any], step: str, rev: int) -> AddPrompt:
        index = ADD_STEPS.index(step)
        following = ADD_STEPS[min(index + 1, len(ADD_STEPS) - 1)]
        draft["step"] = following
        await self._circles.advance_flow(user_id, rev, Awaiting.ADD_MED, draft)
        async with self._db.transaction() as session:
            _circle, patient, for_patient = await self._manage_circle(session, user_id, draft["c"])
        return AddPrompt(following, display_name(patient), for_patient, draft)

    async def _draft(self, user_id: int, awaiting: Awaiting) -> tuple[dict[str, Any], int]:
        """The open flow's answers so far, and its revision (to write the next step only if
        no other answer moved it meanwhile)."""
        standing = await self._circles.standing(user_id)
        if standing.awaiting != awaiting or not standing.draft:
            raise StaleAction()
        return dict(standing.draft), standing.flow_rev

    async def _create(
        self,
        user_id: int,
        circle_id: int,
        *,
        name: str,
        dose: str,
        schedule: Schedule,
        note: str | None,
        max_per_24h: int | None,
        min_hours: float | None,
    ) -> MedDetail:
        now = self._clock.now()
        try:
            async with self._db.transaction() as session:
                circle, patient, for_patient = await self._manage_circle(
                    session, user_id, circle_id
                )
                await self._refuse_duplicate(session, circle.id, name)
                if not schedule.as_needed and patient.timezone is None:
                    raise NeedTimezone()
                med = Medication(
                    circle_id=circle.id,
                    name=name,
                    name_key=parse.name_key(name),
                    dose=dose,
                    note=note,
                    kind=schedule.kind,
                    times=schedule.time_strings(),
                    every_hours=schedule.every_hours,
                    max_per_24h=max_per_24h,
                    min_hours_between=min_hours,
                    paused=False,
                    created_by=user_id,
                    created_at=now,
                    updated_at=now,
                )
                if not schedule.as_needed:
                    assert patient.timezone is not None
                    slot = parse.next_slot(schedule.times, patient.timezone, now)
                    med.next_due_at = slot.at if slot else None
                session.add(med)
                await session.flush()
                ctx = _Ctx(med, circle, patient)
                if not for_patient:
                    await self._tell_patient(session, ctx, user_id, "added")
                after_commit(session, self._wake)
                log_event(log, "med.added", medication_id=med.id, circle_id=circle.id)
                view = await self._view(session, ctx)
                reach = await self._reach(session, circle)
                return MedDetail(view, display_name(patient), for_patient, True, reach)
        except IntegrityError:
            raise DuplicateMedication(name) from None

    async def _refuse_duplicate(self, session: AsyncSession, circle_id: int, name: str) -> None:
        existing = await meds_db.name_taken(session, circle_id, parse.name_key(name))
        if existing is not None:
            raise DuplicateMedication(existing)
