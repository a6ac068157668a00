"""The sender's database steps: due heads, claim, finish, release, the target of an edit.

Each step is one short transaction of its own, so that no send ever happens inside one
(claim → commit → send → record); the records of sends that end together share one
(`Recorder`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, case, exists, func, or_, select, true, update
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    PendingRollbackError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout

from bot.db.models import OutboxMessage, OutboxState, User
from bot.db.session import Database
from bot.events import log_event
from bot.grouped import Grouped
from bot.notify import Priority, settled_payload

log = logging.getLogger(__name__)

NETWORK_ERROR = "network error"
# A message in one of these states will not be sent (again).
SETTLED = (OutboxState.SENT, OutboxState.FAILED, OutboxState.CANCELLED)


@dataclass(frozen=True)
class Job:
    """A message this process has claimed for sending."""

    id: int
    key: str
    kind: str
    chat_id: int
    op: str
    ref_key: str | None
    payload: dict[str, Any]
    attempts: int
    # Until when the claim is ours; after it another sender may take the message again.
    lease_until: dt.datetime | None = None


async def due_heads(
    db: Database, now: dt.datetime, limit: int
) -> list[tuple[int, int, bool | None]]:
    """The next message of each chat that has one due, most urgent first.

    Only a chat's head matters (one at a time per chat). Among urgent messages (medication
    reminders), one that was first in its chat's queue goes before one that queued behind
    others (`place`): at the morning peak no patient gets a second reminder while another
    still waits for a first. Within the other priorities, chats with more waiting go first:
    each chat takes only one slot a second, so starting the long queues early finishes a
    burst close to the 30/s floor. Then the earliest due (a snoozed reminder queued early but
    due later waits behind one due before it), then the earliest queued.
    """
    due = or_(
        and_(OutboxMessage.state == OutboxState.PENDING, OutboxMessage.not_before <= now),
        and_(OutboxMessage.state == OutboxState.SENDING, OutboxMessage.lease_until < now),
    )
    place = (
        func.row_number()
        .over(
            partition_by=OutboxMessage.chat_id,
            order_by=(OutboxMessage.priority, OutboxMessage.id),
        )
        .label("place")
    )
    heads = (
        select(
            OutboxMessage.id,
            OutboxMessage.chat_id,
            OutboxMessage.priority,
            OutboxMessage.place.label("place_queued"),
            OutboxMessage.not_before,
            User.reachable,
            place,
            func.count().over(partition_by=OutboxMessage.chat_id).label("backlog"),
        )
        .outerjoin(User, User.id == OutboxMessage.chat_id)
        .where(due)
        .subquery()
    )
    # A read, taking no writer's turn (see Database.reading): the claim that follows is a
    # conditional update, so a row taken meanwhile by anyone else is simply not won.
    async with db.reading() as session:
        result = await session.execute(
            select(heads.c.id, heads.c.chat_id, heads.c.reachable)
            .where(heads.c.place == 1)
            .order_by(
                heads.c.priority,
                case(
                    (heads.c.priority == int(Priority.URGENT), heads.c.place_queued),
                    else_=-heads.c.backlog,
                ),
                heads.c.not_before,
                heads.c.id,
            )
            .limit(limit)
        )
        return [(r[0], r[1], r[2]) for r in result.all()]


async def seconds_until_next(db: Database, now: dt.datetime, poll_seconds: float) -> float:
    async with db.reading() as session:
        next_due = await session.scalar(
            select(func.min(OutboxMessage.not_before)).where(
                OutboxMessage.state == OutboxState.PENDING
            )
        )
    if next_due is None:
        return poll_seconds
    if next_due.tzinfo is None:  # aggregate results bypass the column type on SQLite
        next_due = next_due.replace(tzinfo=dt.UTC)
    return max(0.0, min(poll_seconds, (next_due - now).total_seconds()))


async def claim(db: Database, ids: list[int], now: dt.datetime, lease: dt.timedelta) -> list[Job]:
    """Take these messages for sending, in one conditional UPDATE; returns those we won."""
    if not ids:
        return []
    claimable = or_(
        OutboxMessage.state == OutboxState.PENDING,
        and_(OutboxMessage.state == OutboxState.SENDING, OutboxMessage.lease_until < now),
    )
    # Several replicas drain one outbox: rows another replica is claiming right now are
    # skipped rather than waited for (PostgreSQL; SQLite has one writer at a time).
    free_rows = (
        select(OutboxMessage.id)
        .where(OutboxMessage.id.in_(ids), claimable)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    async with db.transaction() as session:
        result = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(free_rows), claimable)
            .values(
                state=OutboxState.SENDING,
                lease_until=now + lease,
                attempts=OutboxMessage.attempts + 1,
            )
            .returning(
                OutboxMessage.id,
                OutboxMessage.key,
                OutboxMessage.kind,
                OutboxMessage.chat_id,
                OutboxMessage.op,
                OutboxMessage.ref_key,
                OutboxMessage.payload,
                OutboxMessage.attempts,
            )
        )
        won = {row.id: replace(Job(*row), lease_until=now + lease) for row in result.all()}
    return [won[row_id] for row_id in ids if row_id in won]  # keep the chosen order


NO_WORDS, STATE_ONLY = 1, 2


@dataclass(frozen=True)
class Finish:
    """How a claimed message ended, or that it goes back to the queue."""

    job: Job
    state: OutboxState
    sent_at: dt.datetime | None = None
    error: str | None = None
    message_id: int | None = None
    retry_at: dt.datetime | None = None
    refund_attempt: bool = False
    # A sent message whose full record the database refused for something in it, recorded
    # with less: 1 (NO_WORDS) keeps when and its Telegram id and drops the words (an empty
    # payload is always valid, and private); 2 (STATE_ONLY) writes the state alone.
    bare: int = 0

    def values(self) -> dict[str, Any]:
        """The columns this finish writes (the attempt refund aside)."""
        values: dict[str, Any] = {
            "state": self.state,
            "lease_until": None,
            "last_error": self.error,
        }
        if self.bare >= STATE_ONLY:
            return values
        if self.message_id is not None:
            values["message_id"] = self.message_id
        if self.state == OutboxState.SENT:
            values["sent_at"] = self.sent_at
        if self.bare:
            values["payload"] = {}
        elif self.state in SETTLED and (kept := settled_payload(self.job.payload)) is not None:
            values["payload"] = kept
        if self.retry_at is not None:
            values["not_before"] = self.retry_at
        return values


async def finish_all(db: Database, finishes: Sequence[Finish]) -> None:
    """Record how these claimed messages ended, each only if it is still ours, in one
    transaction: one executemany per shape of record (a sent reminder, a retry, …).

    Still ours: still being sent, and not claimed again since (every claim counts an attempt),
    so a sender whose lease ran out cannot undo another's claim of the same message."""
    shapes: dict[tuple[tuple[str, ...], bool], list[dict[str, Any]]] = defaultdict(list)
    for item in finishes:
        values = item.values()
        params = {f"v_{name}": value for name, value in values.items()}
        ours = {"row_id": item.job.id, "claimed_attempts": item.job.attempts}
        shapes[(tuple(values), item.refund_attempt)].append(ours | params)
    table = cast(Table, OutboxMessage.__table__)
    async with db.transaction() as session:
        for (columns, refund), rows in shapes.items():
            assigned: dict[str, Any] = {name: bindparam(f"v_{name}") for name in columns}
            if refund:
                assigned["attempts"] = table.c.attempts - 1
            await session.execute(
                update(table)
                .where(
                    table.c.id == bindparam("row_id"),
                    table.c.state == OutboxState.SENDING,
                    table.c.attempts == bindparam("claimed_attempts"),
                )
                .values(assigned),
                rows,
            )


def about_items(error: Exception) -> bool:
    """Whether a failed batch of records was refused for something in them (a value out of
    range, a constraint, our own code choking on one), so that it may be tried again in
    parts; not when the database itself failed (unreachable, locked, timed out, a deadlock,
    a restart), which every part would meet again."""
    if isinstance(error, (DataError, IntegrityError)):
        return True
    if isinstance(error, (DisconnectionError, PendingRollbackError, PoolTimeout)):
        return False  # SQLAlchemy's own: the pool is full, the connection went
    if isinstance(error, DBAPIError):
        # asyncpg's errors mostly arrive as plain DBAPIError: the SQLSTATE class tells them
        # apart (22 data exception, 23 integrity); SQLite's carry none and come typed.
        state = getattr(error.orig, "sqlstate", None)
        return isinstance(state, str) and state[:2] in ("22", "23")
    return not isinstance(error, (OSError, TimeoutError))


class Recorder(Grouped[Finish]):
    """The sender's records, written by group commit (bot.grouped): at a thousand messages a
    second the database sees a few transactions a second rather than a thousand, and a lone
    record is written at once. Each caller returns once its own record is committed, so
    nothing goes to a chat before the message ahead of it is recorded."""

    def __init__(self, db: Database) -> None:
        super().__init__(
            lambda batch: finish_all(db, batch), name="outbox-recorder", isolate=about_items
        )

    async def record(self, finish: Finish) -> None:
        await self.submit(finish)

    async def record_sent(self, finish: Finish, within: float) -> None:
        """Record a message Telegram has accepted. A database that fails now (locked, a
        dropped connection) must not put it back in the queue, or it would go out twice:
        the record alone is tried again, with backoff, for up to `within` seconds; then
        SentNotRecorded (its row keeps its claim's lease). A record refused for something
        in it (not the database) is not tried again as it is: at once, with less (Finish.bare)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within  # the database's own waits count too
        delay = RECORD_FIRST_RETRY
        while True:
            try:
                async with asyncio.timeout_at(deadline):  # submit shields the record itself
                    await self.submit(finish)
                return
            except Exception as exc:
                if about_items(exc) and finish.bare < STATE_ONLY:
                    log_event(log, "outbox.record_bare", logging.ERROR, outbox_id=finish.job.id)
                    finish = replace(finish, bare=finish.bare + 1, error=RECORDED_BARE)
                    continue  # at once: the database itself is fine
                if loop.time() >= deadline:
                    raise SentNotRecorded from exc
                log_event(
                    log,
                    "outbox.record_retry",
                    logging.WARNING,
                    outbox_id=finish.job.id,
                    error=type(exc).__name__,
                )
            await asyncio.sleep(min(delay, max(0.0, deadline - loop.time())))
            delay = min(delay * 2, RECORD_MAX_RETRY)


# A sent message whose record failed: tried again after this long, doubling up to the most.
RECORD_FIRST_RETRY = 0.05
RECORD_MAX_RETRY = 5.0
# last_error of a sent message recorded with less than its full record (Finish.bare).
RECORDED_BARE = "sent; recorded without its details"


class SentNotRecorded(Exception):
    """Telegram accepted the message, but the database would not record it in time."""


async def finish_many(
    db: Database, ids: list[int], state: OutboxState, error: str, *, unreachable: bool = False
) -> list[str]:
    """Settle these pending messages unsent; returns the kinds of those that were.
    `unreachable`: only those whose person is still marked unreachable (the choice was made
    on a read that may be older than their writing to us again)."""
    still = (
        exists().where(User.id == OutboxMessage.chat_id, User.reachable.is_(False))
        if unreachable
        else true()
    )
    async with db.transaction() as session:
        result = await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.state == OutboxState.PENDING, still)
            .values(state=state, last_error=error)
            .returning(OutboxMessage.id, OutboxMessage.kind, OutboxMessage.payload)
        )
        rows = result.all()
        for row in rows:
            if (kept := settled_payload(row.payload)) is not None:
                await session.execute(
                    update(OutboxMessage).where(OutboxMessage.id == row.id).values(payload=kept)
                )
    return [row.kind for row in rows]


async def edit_target(db: Database, ref_key: str) -> tuple[str, int | None]:
    """The state and message id of the message an edit is for."""
    async with db.transaction() as session:
        ref = (
            await session.execute(
                select(OutboxMessage.state, OutboxMessage.message_id).where(
                    OutboxMessage.key == ref_key
                )
            )
        ).one_or_none()
    if ref is None:
        return OutboxState.CANCELLED, None
    return ref.state, ref.message_id


async def release_after_outage(db: Database, now: dt.datetime) -> int:
    """Messages backing off from network errors are due now; returns how many."""
    async with db.transaction() as session:
        result = await session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.state == OutboxState.PENDING,
                OutboxMessage.last_error == NETWORK_ERROR,
                OutboxMessage.not_before > now,
            )
            .values(not_before=now)
        )
    return result.rowcount  # type: ignore[attr-defined, no-any-return]
