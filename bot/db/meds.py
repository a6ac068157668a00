"""Queries about medications, and about who may see and change them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Select, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import Access, Circle, Medication, Membership, MemberStatus, Role, User
from bot.db.statements import rowcount
from bot.domain.meds import AS_NEEDED

# --- the scheduler's side -------------------------------------------------------------------------


async def first_reminder_at(session: AsyncSession) -> dt.datetime | None:
    """The earliest reminder due of any medication."""
    result: dt.datetime | None = await session.scalar(
        select(Medication.next_due_at)
        .where(Medication.next_due_at.is_not(None))
        .order_by(Medication.next_due_at)
        .limit(1)
    )
    return result


def due_circles(now: dt.datetime, skip: set[int]) -> Select[Any]:
    """Circles with a medication whose reminder fell due, leaving out `skip`; earliest first
    (a patient's reminders are handled together)."""
    query = select(Medication.circle_id).where(Medication.next_due_at <= now)
    if skip:
        query = query.where(Medication.circle_id.not_in(skip))
    return query.group_by(Medication.circle_id).order_by(
        func.min(Medication.next_due_at), Medication.circle_id
    )


async def due_in_circles(
    session: AsyncSession, circle_ids: Collection[int], now: dt.datetime
) -> list[tuple[Medication, Circle, User]]:
    """The circles' medications whose reminder fell due, read afresh with the circle and its
    patient, by circle and id."""
    rows = await session.execute(
        select(Medication, Circle, User)
        .join(Circle, Circle.id == Medication.circle_id)
        .join(User, User.id == Circle.patient_id)
        .where(Medication.circle_id.in_(circle_ids), Medication.next_due_at <= now)
        .order_by(Medication.circle_id, Medication.id)
        .execution_options(populate_existing=True)
    )
    return [(med, circle, patient) for med, circle, patient in rows.all()]


async def move_next_due(
    session: AsyncSession, moves: Sequence[tuple[int, dt.datetime, dt.datetime | None]]
) -> set[int]:
    """Move each medication's reminder, given as (id, expected, new), from `expected` to
    `new`; returns the ids this caller moved (a reminder moved meanwhile is left alone).
    One statement per distinct (expected, new): at a peak minute that is one per zone."""
    by_move: dict[tuple[dt.datetime, dt.datetime | None], list[int]] = {}
    for med_id, expected, new in moves:
        by_move.setdefault((expected, new), []).append(med_id)
    if len(by_move) > 1 and session.get_bind().dialect.name == "postgresql":
        # Rows locked in one order (by id) by every sweep: two overlapping batches whose
        # statements would take them in other orders cannot deadlock.
        await session.execute(
            select(Medication.id)
            .where(Medication.id.in_([med_id for med_id, _, _ in moves]))
            .order_by(Medication.id)
            .with_for_update()
        )
    moved: set[int] = set()
    for (expected, new), ids in by_move.items():
        result = await session.execute(
            update(Medication)
            .where(Medication.id.in_(ids), Medication.next_due_at == expected)
            .values(next_due_at=new)
            .returning(Medication.id)
            .execution_options(synchronize_session=False)
        )
        moved.update(result.scalars())
    return moved


async def scheduled_meds(session: AsyncSession, circle_id: int) -> Sequence[Medication]:
    """The circle's medications with reminders: not deleted, not paused, not as needed."""
    return (
        await session.scalars(
            select(Medication).where(
                Medication.circle_id == circle_id,
                Medication.deleted_at.is_(None),
                Medication.paused.is_(False),
                Medication.kind != AS_NEEDED,
            )
        )
    ).all()


# --- medications ----------------------------------------------------------------------------------


async def med_with_patient(
    session: AsyncSession, med_id: int
) -> tuple[Medication, Circle, User] | None:
    """The medication read afresh, with its circle and patient."""
    row = (
        await session.execute(
            select(Medication, Circle, User)
            .join(Circle, Circle.id == Medication.circle_id)
            .join(User, User.id == Circle.patient_id)
            .where(Medication.id == med_id)
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    return (row[0], row[1], row[2]) if row else None


async def active_names(session: AsyncSession, circle_id: int) -> list[tuple[int, str, str | None]]:
    """The circle's medications that are not deleted: id, name and name key, by name."""
    active = select(Medication.id, Medication.name, Medication.name_key).where(
        Medication.circle_id == circle_id, Medication.deleted_at.is_(None)
    )
    rows = (await session.execute(active.order_by(Medication.name))).all()
    return [(med_id, name, key) for med_id, name, key in rows]


async def active_meds(session: AsyncSession, circle_id: int) -> list[Medication]:
    """The circle's medications that are not deleted, in the order they were added."""
    return list(
        await session.scalars(
            select(Medication)
            .where(Medication.circle_id == circle_id, Medication.deleted_at.is_(None))
            .order_by(Medication.created_at, Medication.id)
        )
    )


async def has_medication(session: AsyncSession, circle_id: int) -> bool:
    """Has the circle ever had a medication (deleted ones count)?"""
    any_med = await session.scalar(
        select(Medication.id).where(Medication.circle_id == circle_id).limit(1)
    )
    return any_med is not None


async def name_taken(session: AsyncSession, circle_id: int, name_key: str) -> str | None:
    """The name of the circle's medication with this name key, if there is one."""
    existing: str | None = await session.scalar(
        select(Medication.name).where(
            Medication.circle_id == circle_id, Medication.name_key == name_key
        )
    )
    return existing


async def mark_deleted(session: AsyncSession, med_id: int, now: dt.datetime) -> bool:
    """Delete the medication (its name is free again); True if this caller deleted it."""
    result = await session.execute(
        update(Medication)
        .where(Medication.id == med_id, Medication.deleted_at.is_(None))
        .values(deleted_at=now, name_key=None, next_due_at=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


async def lock_medication(session: AsyncSession, med_id: int) -> None:
    """Doses of one medication are logged one at a time (PostgreSQL: a row lock; SQLite
    already runs one writer at a time), so two people logging at once can't both miss
    the other's dose in the checks."""
    await session.execute(select(Medication.id).where(Medication.id == med_id).with_for_update())


async def use_one(session: AsyncSession, med_id: int) -> bool:
    """One fewer on hand, if any are left; True if the count went down."""
    result = await session.execute(
        update(Medication)
        .where(Medication.id == med_id, Medication.supply_on_hand > 0)
        .values(supply_on_hand=Medication.supply_on_hand - 1)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


async def request_refill(session: AsyncSession, med_id: int) -> bool:
    """Mark a refill as asked for, unless it already is; True if this caller marked it."""
    result = await session.execute(
        update(Medication)
        .where(
            Medication.id == med_id,
            (Medication.refill_state.is_(None))
            | (Medication.refill_state.in_(["offered", "declined"])),
        )
        .values(refill_state="requested")
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


async def move_refill(session: AsyncSession, med_id: int, expected: str, new: str) -> None:
    """Move the refill from `expected` to `new`, if it is still `expected`."""
    await session.execute(
        update(Medication)
        .where(Medication.id == med_id, Medication.refill_state == expected)
        .values(refill_state=new)
        .execution_options(synchronize_session=False)
    )


# --- who may see and change medications -----------------------------------------------------------


async def helper_memberships(session: AsyncSession, user_id: int) -> list[Membership]:
    """This person's active memberships as a helper."""
    return list(
        await session.scalars(
            select(Membership).where(
                Membership.user_id == user_id,
                Membership.status == MemberStatus.ACTIVE,
                Membership.role == Role.HELPER,
            )
        )
    )


async def managed_patients(session: AsyncSession, user_id: int) -> list[tuple[int, User]]:
    """Circles where this helper may add medications (close family, allowed), with their
    patients, in the order joined."""
    rows = (
        await session.execute(
            select(Circle.id, User)
            .join(Membership, Membership.circle_id == Circle.id)
            .join(User, User.id == Circle.patient_id)
            .where(
                Membership.user_id == user_id,
                Membership.status == MemberStatus.ACTIVE,
                Membership.role == Role.HELPER,
                Membership.access == Access.CLOSE,
                Circle.helpers_manage_meds.is_(True),
            )
            .order_by(Membership.joined_at)
        )
    ).all()
    return [(circle_id, patient) for circle_id, patient in rows]


async def user_timezone(session: AsyncSession, user_id: int) -> str | None:
    """This person's time zone, if they have set one."""
    result: str | None = await session.scalar(select(User.timezone).where(User.id == user_id))
    return result


# --- small helpers --------------------------------------------------------------------------------
