"""Data rights: a person's data as one JSON document (/export), and deleting it (/deletemydata).

What an export holds. Everyone: their profile and settings, and their memberships. A patient:
their whole circle (members, requests and who took them, medications and every dose, pain
scores, stages, check-ins, tips shown, invites, settings). A helper: only what they did
themselves — requests they took, doses they marked given or said they would check on, thanks
received — never the patient's medication list, pain scores, stages or other requests; and the
name and dose of a medication only while they are still close family in that circle (an
errand helper, or one who left or was removed, gets those doses by time only).

What deleting does, in one transaction. A patient: the circle and every row in it go (found
from the tables' metadata, so a table added later is not forgotten), with the outbox rows of
the circle, so nothing about it is sent afterwards; each helper is told first, and any helper
half-way through a flow about the circle (/addmed for the patient) loses that draft. A helper:
they leave every circle exactly as /leave does (the patient is told, what they held goes out
again), then their own rows go (user, memberships, offers, tip opt-ins, messages to them).
Messages to others that name them or carry their id forget them (bot.services.retention); one
still waiting, like the patient's "Anna has left your circle", goes out as written and only
its stored copy forgets. What they did stays in the patient's history without saying who:
foreign keys are set to NULL (`needs.owner_id`, `invites.used_by`, `medications.created_by`),
and `recorded_by` / `lookin_user_id` become `FORMER_HELPER_ID` (a dose given by "a former
helper" is still not a dose the patient took); ids kept only to steer the clock
(`needs.released_by`, `dose_occurrences.checker_id`) are cleared. The patient's goodbye to
each helper names them; its stored copy does not, once sent.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Delete, Table, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.clock import Clock
from bot.db.circles import active_helpers, display_name, patient_circle_id
from bot.db.models import (
    FORMER_HELPER_ID,
    Access,
    Base,
    Circle,
    DailyCheckin,
    DoseOccurrence,
    HelperTipOptIn,
    Invite,
    Medication,
    Membership,
    MemberStatus,
    Need,
    NeedOffer,
    OutboxMessage,
    PainReport,
    RecoveryPlan,
    Role,
    StageChange,
    TipShown,
    User,
)
from bot.db.session import Database
from bot.domain.errors import ExportTooLarge
from bot.domain.needs import NeedState
from bot.domain.privacy import CircleCounts, Forgotten
from bot.events import log_event
from bot.notify import Notifier, OutMessage, Priority
from bot.services.circles import CIRCLE_SETTINGS, CircleService
from bot.services.retention import Pruned, forget_in_outbox, prune_outbox

log = logging.getLogger(__name__)

EXPORT_FORMAT = "carecircle-export/1"
# Telegram lets a bot upload files of up to 50 MB; stay well inside it.
MAX_EXPORT_BYTES = 45 * 1024 * 1024
DEFAULT_RETENTION = dt.timedelta(days=30)


@dataclass(frozen=True)
class ExportFile:
    """The export, ready to send as a document."""

    filename: str
    content: bytes


@dataclass(frozen=True)
class DeletionPreview:
    """What /deletemydata would delete, for the confirmation question."""

    has_data: bool  # anything beyond the name Telegram shows us whenever they write
    circle: CircleCounts | None  # their own circle, as patient
    helping: tuple[str, ...]  # the patients whose circles they would leave
    taken_needs: int  # requests they hold, which go back to the other helpers


@dataclass(frozen=True)
class Deleted:
    """What deleting did. `nothing_left`: there was nothing but a name (already deleted)."""

    nothing_left: bool
    circle_closed: bool = False
    helpers_told: int = 0
    circles_left: int = 0


class PrivacyService:
    """Use cases for a person's own data: export it, delete it."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        notifier: Notifier,
        circles: CircleService,
        retention: dt.timedelta = DEFAULT_RETENTION,
    ) -> None:
        self._db = db
        self._clock = clock
        self._notifier = notifier
        self._circles = circles
        self._retention = retention

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

    # --- retention -----------------------------------------------------------------------

    async def prune_outbox(self) -> Pruned:
        """Delete the outbox rows settled longer ago than the retention (bot.services.retention);
        the scheduler runs this daily."""
        return await prune_outbox(self._db, self._clock.now(), self._retention)

    # --- deletion ------------------------------------------------------------------------

    async def deletion_preview(self, user_id: int) -> DeletionPreview:
        async with self._db.transaction() as session:
            user = await session.get(User, user_id)
            if user is None:
                return DeletionPreview(False, None, (), 0)
            circle_id = await patient_circle_id(session, user_id)
            counts = await _counts(session, circle_id) if circle_id is not None else None
            helping = (
                await session.scalars(
                    select(User)
                    .join(Circle, Circle.patient_id == User.id)
                    .join(Membership, Membership.circle_id == Circle.id)
                    .where(
                        Membership.user_id == user_id,
                        Membership.role == Role.HELPER,
                        Membership.status == MemberStatus.ACTIVE,
                    )
                    .order_by(Membership.joined_at, Membership.id)
                )
            ).all()
            taken = await session.scalar(
                select(func.count())
                .select_from(Need)
                .where(Need.owner_id == user_id, Need.state == NeedState.CLAIMED)
            )
            return DeletionPreview(
                has_data=await _has_data(session, user),
                circle=counts,
                helping=tuple(display_name(p) for p in helping),
                taken_needs=int(taken or 0),
            )

    async def delete_everything(self, user_id: int) -> Deleted:
        """Delete this person's data (see the module's docstring). Safe to repeat: once it is
        gone, a second call finds nothing but the name the last update stored again."""
        async with self._db.transaction() as session:
            # Locks their row (PostgreSQL): a double tap waits here, then finds it gone.
            # NO KEY UPDATE, not UPDATE: their patient, deleting at the same moment, queues a
            # note to them, and that foreign key only needs a KEY SHARE lock on this row; a
            # full lock here would have the two wait on each other.
            by_id = select(User).where(User.id == user_id)
            user = (await session.scalars(by_id.with_for_update(key_share=True))).one_or_none()
            if user is None:
                return Deleted(nothing_left=True)
            await _lock_circles(session, user_id)
            had_data = await _has_data(session, user)
            circles_left = await self._circles.leave_all_in(session, user_id)
            circle_id = await patient_circle_id(session, user_id)
            helpers_told = 0
            if circle_id is not None:
                helpers_told = await self._close_circle(session, circle_id, user)
            await self._remove_person(session, user)
        self._circles.forget(user_id)
        log_event(
            log,
            "privacy.deleted",
            user_id=user_id,
            circle_id=circle_id,
            helpers_told=helpers_told,
            circles_left=circles_left,
        )
        return Deleted(
            nothing_left=not had_data,
            circle_closed=circle_id is not None,
            helpers_told=helpers_told,
            circles_left=circles_left,
        )

    async def _close_circle(self, session: AsyncSession, circle_id: int, patient: User) -> int:
        """Tell the helpers, then delete the circle and everything in it; returns how many
        helpers were told."""
        circle = await session.get(Circle, circle_id)
        assert circle is not None
        helpers = await active_helpers(session, circle_id)
        stamp = int(circle.created_at.timestamp())  # SQLite may reuse the id of a deleted row
        goodbyes = [f"privacy:closed:{circle_id}:{helper.id}:{stamp}" for _, helper in helpers]
        for key, (_, helper) in zip(goodbyes, helpers, strict=True):
            await self._notifier.send(
                session,
                key=key,
                chat_id=helper.id,
                message=OutMessage(texts.circle_closed_for_helper(display_name(patient))),
                kind="privacy.circle_closed",
                priority=Priority.NORMAL,
            )
        # Helpers see the patient's name in the goodbye; the copy kept once it is sent does not.
        forgotten = _forgotten(patient, texts.FORMER_PATIENT)
        await forget_in_outbox(session, forgotten, OutboxMessage.key.in_(goodbyes))
        await _clear_drafts_into(session, circle_id)
        # The outbox rows of the circle go with it: nothing queued about it may go out once
        # it is gone (sent rows too: they are copies of its messages). The goodbyes carry no
        # circle, so they stay.
        for statement in circle_rows(circle_id):
            await _run(session, statement)
        # Once more at the end: on PostgreSQL a transaction we waited for above may have
        # committed a message about the circle after the first pass.
        await _run(session, delete(OutboxMessage).where(OutboxMessage.circle_id == circle_id))
        return len(helpers)

    async def _remove_person(self, session: AsyncSession, user: User) -> None:
        """Their own rows go; what they did in others' circles stays, without their name."""
        user_id = user.id
        circle_ids = list(
            await session.scalars(
                select(Membership.circle_id).where(Membership.user_id == user_id).distinct()
            )
        )
        # Queries are kept to the circles they were in, over indexes on circle_id.
        if circle_ids:
            in_circles = Need.circle_id.in_(circle_ids)
            meds = select(Medication.id).where(Medication.circle_id.in_(circle_ids))
            dose_of_theirs = DoseOccurrence.medication_id.in_(meds)
            for statement in (
                update(Need)
                .where(in_circles, Need.released_by == user_id)
                .values(released_by=None),
                update(Invite)
                .where(Invite.circle_id.in_(circle_ids), Invite.used_by == user_id)
                .values(used_by=None),
                update(Medication)
                .where(Medication.circle_id.in_(circle_ids), Medication.created_by == user_id)
                .values(created_by=None),
                update(DoseOccurrence)
                .where(dose_of_theirs, DoseOccurrence.recorded_by == user_id)
                .values(recorded_by=FORMER_HELPER_ID),
                update(DoseOccurrence)
                .where(dose_of_theirs, DoseOccurrence.checker_id == user_id)
                .values(checker_id=None),
                update(DailyCheckin)
                .where(
                    DailyCheckin.circle_id.in_(circle_ids),
                    DailyCheckin.lookin_user_id == user_id,
                )
                .values(lookin_user_id=FORMER_HELPER_ID),
                delete(HelperTipOptIn).where(
                    HelperTipOptIn.circle_id.in_(circle_ids), HelperTipOptIn.user_id == user_id
                ),
            ):
                await _run(session, statement)
            forgotten = _forgotten(user, texts.FORMER_HELPER)
            await forget_in_outbox(session, forgotten, OutboxMessage.circle_id.in_(circle_ids))
        for statement in (
            update(Need).where(Need.owner_id == user_id).values(owner_id=None),
            delete(NeedOffer).where(NeedOffer.helper_id == user_id),
            delete(Membership).where(Membership.user_id == user_id),
            # Messages to them, sent or not: they are a stranger now.
            delete(OutboxMessage).where(OutboxMessage.chat_id == user_id),
            delete(User).where(User.id == user_id),
        ):
            await _run(session, statement)


def _forgotten(user: User, placeholder: str) -> Forgotten:
    """This person as the bot's messages named them."""
    username = f"@{user.username}" if user.username else ""
    return Forgotten(
        user.id, texts.shown_names(display_name(user), user.first_name, username), placeholder
    )


async def _clear_drafts_into(session: AsyncSession, circle_id: int) -> None:
    """Helpers half-way through a flow about this circle (/addmed for the patient, changing one
    of their medications) lose it with the circle: it may hold what they typed."""
    helpers = (
        await session.execute(
            select(User.id, User.draft)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.circle_id == circle_id, Membership.role == Role.HELPER)
        )
    ).all()
    meds = select(Medication.id).where(Medication.circle_id == circle_id)
    # How a draft points into a circle (bot.services.meds: "c", "m", "o"; needs: "need").
    pointers: dict[str, tuple[Any, Any]] = {
        "c": (Circle.id, Circle.id == circle_id),
        "m": (Medication.id, Medication.circle_id == circle_id),
        "o": (DoseOccurrence.id, DoseOccurrence.medication_id.in_(meds)),
        "need": (Need.id, Need.circle_id == circle_id),
    }
    for helper_id, draft in helpers:
        if not isinstance(draft, dict):
            continue
        for name, (column, inside) in pointers.items():
            value = draft.get(name)
            if isinstance(value, int) and await session.scalar(
                select(exists().where(column == value, inside))
            ):
                await _run(
                    session,
                    update(User).where(User.id == helper_id).values(awaiting=None, draft=None),
                )
                break


def circle_rows(circle_id: int) -> list[Delete]:
    """DELETEs for every row of a circle, children before parents, ending with the circle.

    Read from the models' metadata: every table with a `circle_id`, and every table whose
    foreign key points into one of those (dose occurrences, need offers).
    """
    circles = Circle.__table__
    assert isinstance(circles, Table)
    statements: list[Delete] = []
    for table in reversed(Base.metadata.sorted_tables):
        if table is circles:
            continue
        if "circle_id" in table.c:
            statements.append(delete(table).where(table.c.circle_id == circle_id))
            continue
        for fk in table.foreign_keys:
            parent = fk.column.table
            if parent is not circles and "circle_id" in parent.c:
                owned = select(fk.column).where(parent.c.circle_id == circle_id)
                statements.append(delete(table).where(fk.parent.in_(owned)))
    statements.append(delete(circles).where(circles.c.id == circle_id))
    return statements


# --- queries ---------------------------------------------------------------------------------


async def _run(session: AsyncSession, statement: Any) -> None:
    await session.execute(statement.execution_options(synchronize_session=False))


async def _all(session: AsyncSession, model: Any, where: Any, order: Any) -> Sequence[Any]:
    return (await session.scalars(select(model).where(where).order_by(order))).all()


async def _names_in(session: AsyncSession, circle_id: int) -> dict[int, str]:
    """The names of everyone who is or was in the circle (those who deleted their data are
    not: they show as a former helper)."""
    users = await session.scalars(
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.circle_id == circle_id)
    )
    return {user.id: display_name(user) for user in users}


async def _lock_circles(session: AsyncSession, user_id: int) -> None:
    """Lock (PostgreSQL) every circle this person is active in, in id order, before changing
    anything: a patient and their helper deleting at once then take turns, never deadlock."""
    theirs = select(Membership.circle_id).where(
        Membership.user_id == user_id, Membership.status == MemberStatus.ACTIVE
    )
    await session.execute(
        select(Circle.id).where(Circle.id.in_(theirs)).order_by(Circle.id).with_for_update()
    )


async def _counts(session: AsyncSession, circle_id: int) -> CircleCounts:
    async def count(model: Any, *where: Any) -> int:
        return int(await session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    meds = select(Medication.id).where(Medication.circle_id == circle_id)
    helpers = await active_helpers(session, circle_id)
    return CircleCounts(
        helpers=tuple(display_name(user) for _, user in helpers),
        needs=await count(Need, Need.circle_id == circle_id),
        medications=await count(Medication, Medication.circle_id == circle_id),
        doses=await count(DoseOccurrence, DoseOccurrence.medication_id.in_(meds)),
        pain_reports=await count(PainReport, PainReport.circle_id == circle_id),
        stage_changes=await count(StageChange, StageChange.circle_id == circle_id),
        checkins=await count(DailyCheckin, DailyCheckin.circle_id == circle_id),
        tips=await count(TipShown, TipShown.circle_id == circle_id),
    )


async def _has_data(session: AsyncSession, user: User) -> bool:
    """More than the name Telegram shows us with every update: a membership (even an ended
    one, or their own circle's), or settings of their own."""
    if any((user.timezone, user.quiet_start, user.away_until, user.awaiting, user.draft)):
        return True
    return bool(await session.scalar(select(exists().where(Membership.user_id == user.id))))


# --- rendering -------------------------------------------------------------------------------


def _iso(instant: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC."""
    return instant.astimezone(dt.UTC).isoformat() if instant is not None else None


def _hhmm(value: dt.time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


def _who(names: dict[int, str], user_id: int | None, *, gone_if_none: bool = False) -> str | None:
    """A person in the circle's history: their name, "you", or a former helper (someone who
    deleted their data: an id we no longer know, or NULL where a person must have been)."""
    if user_id is None:
        return texts.FORMER_HELPER if gone_if_none else None
    return names.get(user_id, texts.FORMER_HELPER)


def _profile(user: User) -> dict[str, Any]:
    quiet = None
    if user.quiet_start is not None and user.quiet_end is not None:
        quiet = {"start_local": _hhmm(user.quiet_start), "end_local": _hhmm(user.quiet_end)}
    return {
        "telegram_user_id": user.id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "username": user.username,
        "time_zone": user.timezone,
        "quiet_hours": quiet,
        "away_until": _iso(user.away_until),
        # A step-by-step flow they had not finished (what the bot waits for, answers so far).
        "unfinished": {"waiting_for": user.awaiting, "answers_so_far": user.draft}
        if user.awaiting or user.draft
        else None,
        "reachable": user.reachable,
        "first_seen_at": _iso(user.created_at),
        "updated_at": _iso(user.updated_at),
    }


def _need(need: Need, names: dict[int, str]) -> dict[str, Any]:
    # Taken (or done) with no owner: the helper who took it deleted their data.
    taken = need.claimed_at is not None or need.done_at is not None
    taken_by = _who(names, need.owner_id, gone_if_none=taken)
    return {
        "id": need.id,
        "category": need.category,
        "text": need.text,
        "note": need.note,
        "media": need.media_kind,
        "urgent": need.urgent,
        "deadline_at": _iso(need.deadline_at),
        "state": need.state,
        "created_at": _iso(need.created_at),
        "taken_by": taken_by,
        "claimed_at": _iso(need.claimed_at),
        "done_at": _iso(need.done_at),
        "cancelled_at": _iso(need.cancelled_at),
        "expired_at": _iso(need.expired_at),
        "thanked_at": _iso(need.thanked_at),
    }


def _plan(plan: RecoveryPlan, zone: str | None) -> dict[str, Any]:
    return {
        "stage": plan.stage,
        "stage_since": _iso(plan.stage_since),
        "time_zone": zone,
        "daily_tip": {"on": plan.tips_on, "time_local": _hhmm(plan.tip_time)},
        "daily_checkin": {"on": plan.checkins_on, "time_local": _hhmm(plan.checkin_time)},
    }
