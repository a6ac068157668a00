"""Data rights: deleting a person's data (/deletemydata)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Delete, Table, delete, exists, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot import texts
from bot.db.circles import active_helpers, display_name, patient_circle_id
from bot.db.models import (
    FORMER_HELPER_ID,
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
    Role,
    User,
)
from bot.domain.needs import NeedState
from bot.domain.privacy import CircleCounts, Forgotten
from bot.events import log_event
from bot.notify import OutMessage, Priority
from bot.services.privacy.core import _Core, log
from bot.services.privacy.queries import _counts, _has_data, _lock_circles, _run
from bot.services.retention import forget_in_outbox


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


class _Deletion(_Core):
    """/deletemydata: what it would delete, and deleting it."""

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
