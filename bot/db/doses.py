"""Queries about dose occurrences and the messages sent about them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Sequence
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.models import DoseOccurrence, Medication, OutboxMessage, OutboxState, User
from bot.db.statements import dialect_insert, insert_or_ignore, rowcount
from bot.domain import doses as rules
from bot.domain import meds as parse
from bot.domain.doses import DoseState

# --- the scheduler's side -------------------------------------------------------------------------


async def first_action_at(session: AsyncSession) -> dt.datetime | None:
    """The earliest nudge, snooze wake-up or family alert due of any dose."""
    result: dt.datetime | None = await session.scalar(
        select(DoseOccurrence.next_action_at)
        .where(DoseOccurrence.next_action_at.is_not(None))
        .order_by(DoseOccurrence.next_action_at)
        .limit(1)
    )
    return result


def due_doses(now: dt.datetime, skip: set[int]) -> Select[Any]:
    """Doses whose next action fell due, leaving out `skip`; earliest first."""
    query = select(DoseOccurrence.id).where(DoseOccurrence.next_action_at <= now)
    if skip:
        query = query.where(DoseOccurrence.id.not_in(skip))
    return query.order_by(DoseOccurrence.next_action_at, DoseOccurrence.id)


async def insert_dose(session: AsyncSession, values: dict[str, Any]) -> int | None:
    """Create a dose once; None if one for its slot or request exists already."""
    statement = (
        dialect_insert(session)(DoseOccurrence)
        .values(**values)
        .on_conflict_do_nothing()
        .returning(DoseOccurrence.id)
    )
    new_id: int | None = (await session.execute(statement)).scalar_one_or_none()
    return new_id


async def insert_slots(
    session: AsyncSession, rows: Sequence[dict[str, Any]]
) -> dict[tuple[int, str], int]:
    """Create the doses of scheduled slots (rows of the same columns), each once; the new
    ids by (medication, slot) — a slot that has a dose already is left out. One statement
    for them all: the morning peak creates tens of thousands."""
    if not rows:
        return {}
    table = DoseOccurrence.__table__
    statement = insert_or_ignore(session, table).returning(
        table.c.id, table.c.medication_id, table.c.slot
    )
    result = await session.execute(statement, list(rows))
    return {(med_id, slot): dose_id for dose_id, med_id, slot in result.all()}


async def slot_dose_id(session: AsyncSession, med_id: int, slot_key: str) -> int | None:
    """The dose of this medication for that slot, if there is one."""
    result: int | None = await session.scalar(
        select(DoseOccurrence.id).where(
            DoseOccurrence.medication_id == med_id, DoseOccurrence.slot == slot_key
        )
    )
    return result


async def slot_dose(session: AsyncSession, med_id: int, slot_key: str) -> DoseOccurrence | None:
    """The dose of this medication for that slot, read afresh."""
    found: DoseOccurrence | None = await session.scalar(
        select(DoseOccurrence)
        .where(DoseOccurrence.medication_id == med_id, DoseOccurrence.slot == slot_key)
        .execution_options(populate_existing=True)
    )
    return found


# --- messages about doses -------------------------------------------------------------------------


async def message_waiting(session: AsyncSession, keys: Collection[str]) -> bool:
    """Is one of these messages still waiting to be sent?"""
    waiting = await session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(
            OutboxMessage.key.in_(keys),
            OutboxMessage.op == "send",
            OutboxMessage.state.in_((OutboxState.PENDING, OutboxState.SENDING)),
        )
    )
    return bool(waiting)


async def sent_keys(session: AsyncSession, keys: Collection[str]) -> Sequence[str]:
    """Those of these keys that name a message queued to be sent."""
    return (
        await session.scalars(
            select(OutboxMessage.key).where(OutboxMessage.key.in_(keys), OutboxMessage.op == "send")
        )
    ).all()


async def undelivered_alert_keys(
    session: AsyncSession, user_id: int, since: dt.datetime
) -> list[str]:
    """Keys of the missed-dose alerts to this person since `since` that were not sent."""
    return list(
        await session.scalars(
            select(OutboxMessage.key).where(
                OutboxMessage.chat_id == user_id,
                OutboxMessage.kind == "dose.alert",
                OutboxMessage.op == "send",
                OutboxMessage.state != OutboxState.SENT,
                OutboxMessage.created_at > since,
            )
        )
    )


async def alert_states(session: AsyncSession, occurrence_id: int) -> list[tuple[str, bool | None]]:
    """Each family alert of this dose: its outbox state, and whether its helper is reachable."""
    rows = await session.execute(
        select(OutboxMessage.state, User.reachable)
        .outerjoin(User, User.id == OutboxMessage.chat_id)
        .where(
            OutboxMessage.key.like(f"dose:{occurrence_id}:alert:%"),
            OutboxMessage.op == "send",
        )
    )
    return [(state, reachable) for state, reachable in rows.all()]


async def outbox_id(session: AsyncSession, key: str) -> int | None:
    """The message queued under this key, if any."""
    result: int | None = await session.scalar(
        select(OutboxMessage.id).where(OutboxMessage.key == key)
    )
    return result


async def lookin_messages(session: AsyncSession, occurrence_id: int) -> list[tuple[str, int]]:
    """The look-in requests sent about this dose: key and chat."""
    rows = await session.execute(
        select(OutboxMessage.key, OutboxMessage.chat_id).where(
            OutboxMessage.key.like(f"dose:{occurrence_id}:lookin:%"),
            OutboxMessage.op == "send",
        )
    )
    return [(key, chat_id) for key, chat_id in rows.all()]


# --- changing doses -------------------------------------------------------------------------------


async def fresh_dose(session: AsyncSession, occurrence_id: int) -> DoseOccurrence | None:
    """The dose as the database has it now."""
    found: DoseOccurrence | None = (
        await session.scalars(
            select(DoseOccurrence)
            .where(DoseOccurrence.id == occurrence_id)
            .execution_options(populate_existing=True)
        )
    ).one_or_none()
    return found


async def group_members(session: AsyncSession, lead_id: int) -> list[DoseOccurrence]:
    """The doses reminded together with the group's lead dose (itself included), by id; a
    dose reminded alone is its own group of one."""
    found = (
        await session.scalars(
            select(DoseOccurrence)
            .where((DoseOccurrence.group_id == lead_id) | (DoseOccurrence.id == lead_id))
            .order_by(DoseOccurrence.id)
            .execution_options(populate_existing=True)
        )
    ).all()
    lead = next((d for d in found if d.id == lead_id), None)
    if lead is None or lead.group_id != lead_id:
        return [lead] if lead is not None else []
    return list(found)


async def set_groups(session: AsyncSession, leads: dict[int, int]) -> None:
    """Record for each dose (by id) the lead of the message it is reminded in."""
    if not leads:
        return
    table = cast(Table, DoseOccurrence.__table__)
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("dose_id"))
        .values(group_id=bindparam("lead_id")),
        [{"dose_id": dose_id, "lead_id": lead} for dose_id, lead in leads.items()],
    )


async def bump_dose(session: AsyncSession, occ: DoseOccurrence, values: dict[str, Any]) -> bool:
    """Change the dose only if its version and state are still those read; True if changed."""
    result = await session.execute(
        update(DoseOccurrence)
        .where(
            DoseOccurrence.id == occ.id,
            DoseOccurrence.version == occ.version,
            DoseOccurrence.state == occ.state,
        )
        .values(version=occ.version + 1, **values)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


async def claim_check(session: AsyncSession, occurrence_id: int, helper_id: int) -> bool:
    """Record who checks on the patient, if nobody does yet; True if this helper is the one."""
    result = await session.execute(
        update(DoseOccurrence)
        .where(DoseOccurrence.id == occurrence_id, DoseOccurrence.checker_id.is_(None))
        .values(checker_id=helper_id)
        .execution_options(synchronize_session=False)
    )
    return rowcount(result) == 1


async def checker_of(session: AsyncSession, occurrence_id: int) -> int | None:
    """Who said they would check on the patient about this dose."""
    result: int | None = await session.scalar(
        select(DoseOccurrence.checker_id).where(DoseOccurrence.id == occurrence_id)
    )
    return result


async def dose_by_request(session: AsyncSession, request_key: str) -> DoseOccurrence | None:
    """The dose an earlier copy of this request logged, if any."""
    found: DoseOccurrence | None = await session.scalar(
        select(DoseOccurrence).where(DoseOccurrence.request_key == request_key)
    )
    return found


async def stop_chasing(session: AsyncSession, med_id: int) -> None:
    """Paused, or its times changed: a reminder still waiting gets no nudge and raises
    no family alert (the doctor may have said stop). It can still be answered."""
    await session.execute(
        update(DoseOccurrence)
        .where(
            DoseOccurrence.medication_id == med_id,
            DoseOccurrence.state.in_([s.value for s in rules.WAITING]),
        )
        .values(next_action_at=None, version=DoseOccurrence.version + 1)
        .execution_options(synchronize_session=False)
    )


# --- reading doses --------------------------------------------------------------------------------


async def answerable_doses(session: AsyncSession, med_id: int) -> list[DoseOccurrence]:
    """This medication's doses that can still be answered."""
    return list(
        await session.scalars(
            select(DoseOccurrence).where(
                DoseOccurrence.medication_id == med_id,
                DoseOccurrence.state.in_([s.value for s in rules.ANSWERABLE]),
            )
        )
    )


async def open_doses(
    session: AsyncSession, med_ids: list[int], since: dt.datetime
) -> Sequence[DoseOccurrence]:
    """Answerable doses of these medications due after `since`, earliest first."""
    return (
        await session.scalars(
            select(DoseOccurrence)
            .where(
                DoseOccurrence.medication_id.in_(med_ids),
                DoseOccurrence.state.in_([s.value for s in rules.ANSWERABLE]),
                DoseOccurrence.due_at > since,
            )
            .order_by(DoseOccurrence.due_at)
        )
    ).all()


async def taken_between(
    session: AsyncSession,
    med: Medication,
    after: dt.datetime,
    before: dt.datetime,
    exclude: int | None,
    *,
    same_name: bool,
) -> list[DoseOccurrence]:
    """Doses of this medication taken strictly between `after` and `before`; with
    `same_name`, also those of a deleted medication of the same name in the circle."""
    ids = [med.id]
    if same_name:
        rows = await session.execute(
            select(Medication.id, Medication.name).where(
                Medication.circle_id == med.circle_id, Medication.deleted_at.is_not(None)
            )
        )
        key = parse.name_key(med.name)
        ids += [other for other, name in rows.all() if parse.name_key(name) == key]
    query = select(DoseOccurrence).where(
        DoseOccurrence.medication_id.in_(ids),
        DoseOccurrence.state == DoseState.TAKEN,
        DoseOccurrence.taken_at > after,
        DoseOccurrence.taken_at < before,
    )
    if exclude is not None:
        query = query.where(DoseOccurrence.id != exclude)
    return list(await session.scalars(query))


async def taken_within(
    session: AsyncSession, windows: dict[int, tuple[dt.datetime, dt.datetime]]
) -> dict[int, list[DoseOccurrence]]:
    """For each medication (by id), its doses taken strictly inside its (after, before)
    window; in one query over the span of all windows."""
    found: dict[int, list[DoseOccurrence]] = {med_id: [] for med_id in windows}
    if not windows:
        return found
    rows = await session.scalars(
        select(DoseOccurrence).where(
            DoseOccurrence.medication_id.in_(windows),
            DoseOccurrence.state == DoseState.TAKEN,
            DoseOccurrence.taken_at > min(after for after, _ in windows.values()),
            DoseOccurrence.taken_at < max(before for _, before in windows.values()),
        )
    )
    for dose in rows:
        after, before = windows[dose.medication_id]
        if dose.taken_at is not None and after < dose.taken_at < before:
            found[dose.medication_id].append(dose)
    return found


async def taken_count(session: AsyncSession, med_id: int, since: dt.datetime) -> int:
    """How many doses of this medication were taken after `since`."""
    count = await session.scalar(
        select(func.count(DoseOccurrence.id)).where(
            DoseOccurrence.medication_id == med_id,
            DoseOccurrence.state == DoseState.TAKEN,
            DoseOccurrence.taken_at > since,
        )
    )
    return count or 0


async def last_taken(session: AsyncSession, med_id: int) -> dt.datetime | None:
    """When a dose of this medication was last taken."""
    last = await session.scalar(
        select(func.max(DoseOccurrence.taken_at)).where(
            DoseOccurrence.medication_id == med_id, DoseOccurrence.state == DoseState.TAKEN
        )
    )
    return _aware(last)


async def state_counts(
    session: AsyncSession, med_id: int, since: dt.datetime
) -> dict[tuple[str, bool], int]:
    """Scheduled doses due after `since`, counted by state and lateness."""
    result = await session.execute(
        select(
            DoseOccurrence.state,
            DoseOccurrence.late,
            func.count(DoseOccurrence.id),
        )
        .where(
            DoseOccurrence.medication_id == med_id,
            DoseOccurrence.scheduled.is_(True),
            DoseOccurrence.due_at > since,
        )
        .group_by(DoseOccurrence.state, DoseOccurrence.late)
    )
    return {(state, bool(late)): n for state, late, n in result.all()}


async def taken_times(
    session: AsyncSession, circle_id: int, start: dt.datetime, end: dt.datetime
) -> Sequence[dt.datetime | None]:
    """When each dose of the circle's medications taken in [start, end) was taken."""
    return (
        await session.scalars(
            select(DoseOccurrence.taken_at)
            .join(Medication, Medication.id == DoseOccurrence.medication_id)
            .where(
                Medication.circle_id == circle_id,
                DoseOccurrence.state == DoseState.TAKEN,
                DoseOccurrence.taken_at >= start,
                DoseOccurrence.taken_at < end,
            )
        )
    ).all()


# --- small helpers --------------------------------------------------------------------------------


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    """Aggregates bypass the column type on SQLite: make sure an instant is aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
