"""Data rights: a person's data as one JSON document (/export)."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.db.circles import display_name
from bot.db.models import (
    Access,
    Circle,
    DailyCheckin,
    DoseOccurrence,
    HelperTipOptIn,
    Invite,
    Medication,
    Membership,
    MemberStatus,
    Need,
    PainReport,
    RecoveryPlan,
    Role,
    StageChange,
    TipShown,
    User,
)
from bot.domain.errors import ExportTooLarge
from bot.events import log_event
from bot.services.circles import CIRCLE_SETTINGS
from bot.services.privacy.core import _Core, log
from bot.services.privacy.queries import _all, _names_in
from bot.services.privacy.rendering import _iso, _need, _plan, _profile, _who

EXPORT_FORMAT = "carecircle-export/1"
# Telegram lets a bot upload files of up to 50 MB; stay well inside it.
MAX_EXPORT_BYTES = 45 * 1024 * 1024


@dataclass(frozen=True)
class ExportFile:
    """The export, ready to send as a document."""

    filename: str
    content: bytes


class _Export(_Core):
    """/export: everything kept about a person, as JSON."""

    # --- export --------------------------------------------------------------------------

    async def export(self, user_id: int) -> dict[str, Any]:
        """Everything we keep about this person, as plain JSON-ready data."""
        async with self._db.transaction() as session:
            user = await session.get(User, user_id)
            document: dict[str, Any] = {
                "format": EXPORT_FORMAT,
                "exported_at": _iso(self._clock.now()),
                "about": texts.EXPORT_ABOUT,
                "profile": _profile(user) if user is not None else None,
                "memberships": [],
                "my_circle": None,
                "helping": [],
            }
            if user is None:
                return document
            rows = (
                await session.execute(
                    select(Membership, Circle, User)
                    .join(Circle, Circle.id == Membership.circle_id)
                    .join(User, User.id == Circle.patient_id)
                    .where(Membership.user_id == user_id)
                    .order_by(Membership.joined_at, Membership.id)
                )
            ).all()
            for membership, circle, patient in rows:
                is_own = membership.role == Role.PATIENT
                document["memberships"].append(
                    {
                        "circle_id": circle.id,
                        "patient": texts.EXPORT_YOU if is_own else display_name(patient),
                        "role": membership.role,
                        "access": membership.access,
                        "status": membership.status,
                        "joined_at": _iso(membership.joined_at),
                        "ended_at": _iso(membership.ended_at),
                    }
                )
                if is_own:
                    document["my_circle"] = await self._circle_export(session, circle, user)
                else:
                    document["helping"].append(
                        await self._helping_export(session, membership, circle, patient)
                    )
            return document

    async def export_file(self, user_id: int) -> ExportFile:
        """The export as a JSON file named after today's date (UTC)."""
        document = await self.export(user_id)
        content = json.dumps(document, ensure_ascii=False, indent=2).encode()
        if len(content) > MAX_EXPORT_BYTES:
            content = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
        if len(content) > MAX_EXPORT_BYTES:
            log_event(log, "privacy.export_too_large", user_id=user_id, size=len(content))
            raise ExportTooLarge()
        log_event(log, "privacy.exported", user_id=user_id, size=len(content))
        day = self._clock.now().astimezone(dt.UTC).date().isoformat()
        return ExportFile(f"carecircle-export-{day}.json", content)

    async def _circle_export(
        self, session: AsyncSession, circle: Circle, patient: User
    ) -> dict[str, Any]:
        names = await _names_in(session, circle.id)
        names[patient.id] = texts.EXPORT_YOU
        optins = {
            o.user_id: o.created_at
            for o in await session.scalars(
                select(HelperTipOptIn).where(HelperTipOptIn.circle_id == circle.id)
            )
        }
        members = (
            await session.execute(
                select(Membership, User)
                .join(User, User.id == Membership.user_id)
                .where(Membership.circle_id == circle.id)
                .order_by(Membership.joined_at, Membership.id)
            )
        ).all()
        plan = await session.get(RecoveryPlan, circle.id)
        return {
            "circle_id": circle.id,
            "created_at": _iso(circle.created_at),
            "settings": {name: getattr(circle, name) for name in CIRCLE_SETTINGS},
            "members": [
                {
                    "name": names[u.id],
                    "role": m.role,
                    "access": m.access,
                    "status": m.status,
                    "joined_at": _iso(m.joined_at),
                    "ended_at": _iso(m.ended_at),
                    "helper_tips_since": _iso(optins.get(u.id)),
                }
                for m, u in members
            ],
            "invites": [
                {
                    "access": i.access,
                    "status": i.status,
                    "created_at": _iso(i.created_at),
                    "expires_at": _iso(i.expires_at),
                    "used_by": _who(names, i.used_by, gone_if_none=i.used_at is not None),
                    "used_at": _iso(i.used_at),
                }
                for i in await _all(session, Invite, Invite.circle_id == circle.id, Invite.id)
            ],
            "needs": [
                _need(need, names)
                for need in await _all(session, Need, Need.circle_id == circle.id, Need.id)
            ],
            "medications": await self._medications(session, circle.id, names),
            "recovery": _plan(plan, patient.timezone) if plan is not None else None,
            "stage_changes": [
                {"from": s.from_stage, "to": s.to_stage, "changed_at": _iso(s.changed_at)}
                for s in await _all(
                    session, StageChange, StageChange.circle_id == circle.id, StageChange.id
                )
            ],
            "pain_reports": [
                {
                    "score": p.score,
                    "reported_at": _iso(p.reported_at),
                    "local_date": p.local_date.isoformat(),
                    "source": p.source,
                }
                for p in await _all(
                    session, PainReport, PainReport.circle_id == circle.id, PainReport.id
                )
            ],
            "checkins": [
                {
                    "local_date": c.local_date.isoformat(),
                    "state": c.state,
                    "asked_at": _iso(c.asked_at),
                    "answered_at": _iso(c.answered_at),
                }
                for c in await _all(
                    session, DailyCheckin, DailyCheckin.circle_id == circle.id, DailyCheckin.id
                )
            ],
            "tips_shown": [
                {"tip_id": t.tip_id, "audience": t.audience, "shown_at": _iso(t.shown_at)}
                for t in await _all(session, TipShown, TipShown.circle_id == circle.id, TipShown.id)
            ],
        }

    async def _medications(
        self, session: AsyncSession, circle_id: int, names: dict[int, str]
    ) -> list[dict[str, Any]]:
        meds = await _all(session, Medication, Medication.circle_id == circle_id, Medication.id)
        doses: dict[int, list[dict[str, Any]]] = {med.id: [] for med in meds}
        if meds:
            for occ in await session.scalars(
                select(DoseOccurrence)
                .where(DoseOccurrence.medication_id.in_(list(doses)))
                .order_by(DoseOccurrence.medication_id, DoseOccurrence.due_at, DoseOccurrence.id)
            ):
                doses[occ.medication_id].append(
                    {
                        "slot_local": occ.slot,
                        "scheduled": occ.scheduled,
                        "due_at": _iso(occ.due_at),
                        "state": occ.state,
                        "reminded_at": _iso(occ.reminded_at),
                        "snoozed_until": _iso(occ.snoozed_until),
                        "taken_at": _iso(occ.taken_at),
                        "recorded_at": _iso(occ.recorded_at),
                        "recorded_by": _who(names, occ.recorded_by),
                        "late": occ.late,
                        "family_alerted_at": _iso(occ.alerted_at),
                    }
                )
        return [
            {
                "name": med.name,
                "dose": med.dose,
                "note": med.note,
                "kind": med.kind,
                "times_local": list(med.times or ()),
                "every_hours": med.every_hours,
                "max_per_24h": med.max_per_24h,
                "min_hours_between": med.min_hours_between,
                "supply_on_hand": med.supply_on_hand,
                "alert_minutes": med.alert_minutes,
                "paused": med.paused,
                "added_by": _who(names, med.created_by, gone_if_none=True),
                "created_at": _iso(med.created_at),
                "updated_at": _iso(med.updated_at),
                "deleted_at": _iso(med.deleted_at),
                "doses": doses[med.id],
            }
            for med in meds
        ]

    async def _helping_export(
        self, session: AsyncSession, membership: Membership, circle: Circle, patient: User
    ) -> dict[str, Any]:
        """Only what this helper did themselves in the patient's circle; the names and doses of
        medications only while they are still close family there."""
        helper_id = membership.user_id
        sees_meds = membership.access == Access.CLOSE and membership.status == MemberStatus.ACTIVE
        taken = list(
            await session.scalars(
                select(Need)
                .where(Need.circle_id == circle.id, Need.owner_id == helper_id)
                .order_by(Need.id)
            )
        )
        doses = (
            await session.execute(
                select(DoseOccurrence, Medication)
                .join(Medication, Medication.id == DoseOccurrence.medication_id)
                .where(
                    Medication.circle_id == circle.id,
                    (DoseOccurrence.recorded_by == helper_id)
                    | (DoseOccurrence.checker_id == helper_id),
                )
                .order_by(DoseOccurrence.due_at, DoseOccurrence.id)
            )
        ).all()
        if membership.access != Access.CLOSE:
            # Errand helpers never see medication, not even here: one may have looked in on
            # a missed dose without being told what it was, so only doses they recorded
            # themselves (when they were close family) are listed, by time alone.
            doses = [row for row in doses if row[0].recorded_by == helper_id]
        optin = await session.scalar(
            select(HelperTipOptIn.created_at).where(
                HelperTipOptIn.circle_id == circle.id, HelperTipOptIn.user_id == helper_id
            )
        )
        return {
            "circle_id": circle.id,
            "patient": display_name(patient),
            "access": membership.access,
            "status": membership.status,
            "helper_tips_since": _iso(optin),
            "needs_taken": [
                {
                    "category": need.category,
                    "text": need.text,
                    "state": need.state,
                    "created_at": _iso(need.created_at),
                    "claimed_at": _iso(need.claimed_at),
                    "done_at": _iso(need.done_at),
                    "thanked_at": _iso(need.thanked_at),
                }
                for need in taken
            ],
            "thanks_received": sum(1 for need in taken if need.thanked_at is not None),
            "medication_details": None if sees_meds else texts.EXPORT_MEDS_WITHHELD,
            "doses_you_acted_on": [
                {
                    **({"medication": med.name, "dose": med.dose} if sees_meds else {}),
                    "due_at": _iso(occ.due_at),
                    "action": "recorded" if occ.recorded_by == helper_id else "checked_on",
                    "state": occ.state if occ.recorded_by == helper_id else None,
                    "taken_at": _iso(occ.taken_at) if occ.recorded_by == helper_id else None,
                    "recorded_at": _iso(occ.recorded_at) if occ.recorded_by == helper_id else None,
                }
                for occ, med in doses
            ],
        }
