"""The sender's group commit (bot.delivery.outbox.Recorder): records that end together share a
transaction, and each comes out exactly as if it had been written alone.

Tried to break: every shape of record at once (sent with or without a Telegram id, handed
back with a refund, retried later, failed, withdrawn, a payload to keep), rows another sender
has settled meanwhile, one record that cannot be written among good ones, a locked database
(no retries in parts), a caller cancelled
while its record waits, and the real sender finishing many sends at once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.exc import OperationalError

from bot.clock import FrozenClock
from bot.db.models import OutboxMessage, OutboxState
from bot.db.session import Database
from bot.delivery import OutboxSender, SenderConfig, outbox
from bot.notify import KEEP_AFTER_SEND, Notifier, OutMessage
from bot.ratelimit import FloodControl
from tests.fakes.timer import Ticks
from tests.integration.test_delivery import ScriptedBot

LEASE = dt.timedelta(seconds=60)
COLUMNS = (
    *("state", "lease_until", "last_error", "message_id", "sent_at", "payload"),
    *("not_before", "attempts"),
)
_batches = itertools.count()

# One record: the state it ends in, and what it says besides.
RECORD = st.fixed_dictionaries(
    {
        "state": st.sampled_from(
            [OutboxState.SENT, OutboxState.PENDING, OutboxState.FAILED, OutboxState.CANCELLED]
        ),
        "message_id": st.one_of(st.none(), st.integers(1, 10**9)),
        "error": st.one_of(st.none(), st.sampled_from(["network error", "forbidden"])),
        "retry_in": st.one_of(st.none(), st.integers(1, 600)),
        "refund": st.booleans(),
        "keep": st.booleans(),
        # Another sender settled the row meanwhile: this record must change nothing.
        "taken": st.booleans(),
    }
)


def sent_record(**changes: Any) -> dict[str, Any]:
    """A record of a plain send, as RECORD draws them, with `changes`."""
    record = {"state": OutboxState.SENT, "message_id": 5, "error": None, "retry_in": None}
    return record | {"refund": False, "keep": False, "taken": False} | changes


async def claimed_rows(db: Database, clock: FrozenClock, records: list[dict[str, Any]]) -> list:
    """Queue and claim one message per record; returns the claimed jobs."""
    batch = next(_batches)
    notifier = Notifier(clock)
    keys = [f"r{batch}:{index}" for index in range(len(records))]
    async with db.transaction() as session:
        for index, key in enumerate(keys):
            await notifier.send(
                session, key=key, chat_id=index + 1, message=OutMessage("hi"), kind="test"
            )
        for key, record in zip(keys, records, strict=True):
            if record["keep"]:
                payload = {"text": "hi", KEEP_AFTER_SEND: {"text": "kept"}}
                await session.execute(
                    update(OutboxMessage).where(OutboxMessage.key == key).values(payload=payload)
                )
        ids = list(
            (
                await session.scalars(select(OutboxMessage.id).where(OutboxMessage.key.in_(keys)))
            ).all()
        )
    jobs = await outbox.claim(db, sorted(ids), clock.now(), LEASE)
    for job, record in zip(jobs, records, strict=True):
        if record["taken"]:
            taken = outbox.Finish(job, OutboxState.SENT, sent_at=clock.now(), message_id=7)
            await outbox.finish_all(db, [taken])
    return jobs


def finishes(jobs: list, records: list[dict[str, Any]], now: dt.datetime) -> list:
    return [
        outbox.Finish(
            job,
            record["state"],
            sent_at=now if record["state"] == OutboxState.SENT else None,
            error=record["error"],
            message_id=record["message_id"],
            retry_at=None
            if record["retry_in"] is None
            else now + dt.timedelta(seconds=record["retry_in"]),
            refund_attempt=record["refund"],
        )
        for job, record in zip(jobs, records, strict=True)
    ]


async def rows(db: Database, jobs: list) -> list[tuple]:
    async with db.transaction() as session:
        found = {
            row.id: row
            for row in (
                await session.scalars(
                    select(OutboxMessage).where(OutboxMessage.id.in_([j.id for j in jobs]))
                )
            ).all()
        }
    return [tuple(getattr(found[job.id], c) for c in COLUMNS) for job in jobs]


def expected(before: tuple, record: dict[str, Any], now: dt.datetime) -> tuple:
    """The row a record leaves, worked out by hand from the row it finds."""
    if record["taken"]:
        return before  # settled by another sender: left as it was
    row = dict(zip(COLUMNS, before, strict=True))
    settled = record["state"] != OutboxState.PENDING
    row |= {"state": record["state"], "lease_until": None, "last_error": record["error"]}
    if record["message_id"] is not None:
        row["message_id"] = record["message_id"]
    if record["state"] == OutboxState.SENT:
        row["sent_at"] = now
    if settled and record["keep"]:
        row["payload"] = {"text": "kept"}
    if record["retry_in"] is not None:
        row["not_before"] = now + dt.timedelta(seconds=record["retry_in"])
    if record["refund"]:
        row["attempts"] -= 1
    return tuple(row.values())


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(records=st.lists(RECORD, min_size=1, max_size=12))
async def test_records_written_together_come_out_as_each_written_alone(
    db: Database, clock: FrozenClock, records: list[dict[str, Any]]
) -> None:
    alone = await claimed_rows(db, clock, records)
    together = await claimed_rows(db, clock, records)
    before = await rows(db, alone)
    for item in finishes(alone, records, clock.now()):
        await outbox.finish_all(db, [item])
    assert await rows(db, alone) == [
        expected(row, record, clock.now()) for row, record in zip(before, records, strict=True)
    ]
    recorder = outbox.Recorder(db)
    with mock.patch.object(outbox, "finish_all", wraps=outbox.finish_all) as spy:
        await asyncio.gather(
            *(recorder.record(item) for item in finishes(together, records, clock.now()))
        )
    assert await rows(db, together) == await rows(db, alone)
    # The first record is written at once; everything that came while it was written, next.
    assert spy.call_count <= 2


async def test_a_record_that_cannot_be_written_sinks_no_other(
    db: Database, clock: FrozenClock
) -> None:
    records = [sent_record()] * 4
    jobs = await claimed_rows(db, clock, records)
    items = finishes(jobs, records, clock.now())
    poison = jobs[2].id
    real = outbox.finish_all

    async def failing(db: Database, batch: list) -> None:
        if any(item.job.id == poison for item in batch):
            raise RuntimeError("cannot write")
        await real(db, batch)

    recorder = outbox.Recorder(db)
    with mock.patch.object(outbox, "finish_all", failing):
        results = await asyncio.gather(
            *(recorder.record(item) for item in items), return_exceptions=True
        )
    assert [isinstance(r, RuntimeError) for r in results] == [False, False, True, False]
    states = [row[0] for row in await rows(db, jobs)]
    assert states == [OutboxState.SENT, OutboxState.SENT, OutboxState.SENDING, OutboxState.SENT]


async def test_a_database_that_fails_fails_the_batch_without_retries_in_parts(
    db: Database, clock: FrozenClock
) -> None:
    records = [sent_record()] * 6
    jobs = await claimed_rows(db, clock, records)
    calls = 0

    async def locked(db: Database, batch: list) -> None:
        nonlocal calls
        calls += 1
        raise OperationalError("UPDATE", {}, Exception("database is locked"))

    recorder = outbox.Recorder(db)
    with mock.patch.object(outbox, "finish_all", locked):
        results = await asyncio.gather(
            *(recorder.record(item) for item in finishes(jobs, records, clock.now())),
            return_exceptions=True,
        )
    assert all(isinstance(r, OperationalError) for r in results)
    assert calls <= 2, "each record was tried again against a database that is not there"


async def test_a_cancelled_caller_still_has_its_record_written(
    db: Database, clock: FrozenClock
) -> None:
    records = [sent_record()] * 3
    jobs = await claimed_rows(db, clock, records)
    recorder = outbox.Recorder(db)
    tasks = [asyncio.create_task(recorder.record(i)) for i in finishes(jobs, records, clock.now())]
    await asyncio.sleep(0)  # all three handed in, the first being written
    tasks[1].cancel()
    await recorder.drain()
    assert [row[0] for row in await rows(db, jobs)] == [OutboxState.SENT] * 3
    assert tasks[1].cancelled()


async def test_the_sender_records_sends_that_end_together_in_one_transaction(
    db: Database, clock: FrozenClock
) -> None:
    bot = ScriptedBot()
    sender = OutboxSender(
        db,
        bot,  # type: ignore[arg-type]
        FloodControl(timer=Ticks(), paid_per_second=1000),
        clock,
        on_unreachable=mock.AsyncMock(),
        config=SenderConfig(concurrency=20, claim_ahead=20, paid_kinds=frozenset({"test"})),
    )
    notifier = Notifier(clock)
    async with db.transaction() as session:
        for chat in range(1, 21):
            await notifier.send(
                session, key=f"m{chat}", chat_id=chat, message=OutMessage("hi"), kind="test"
            )
    with mock.patch.object(outbox, "finish_all", wraps=outbox.finish_all) as spy:
        await sender.dispatch_once()
        await sender.wait_inflight()
        await sender.stop()
    async with db.transaction() as session:
        states = (await session.scalars(select(OutboxMessage.state))).all()
    assert states == [OutboxState.SENT] * 20
    assert len(bot.calls) == 20
    assert spy.call_count < 20, "every send was recorded in a transaction of its own"


@pytest.mark.parametrize("state", [OutboxState.SENT, OutboxState.FAILED])
async def test_a_settled_payload_is_kept_in_place_of_the_message(
    db: Database, clock: FrozenClock, state: OutboxState
) -> None:
    records = [sent_record(state=state, message_id=None, keep=True)]
    jobs = await claimed_rows(db, clock, records)
    await outbox.Recorder(db).record(finishes(jobs, records, clock.now())[0])
    assert (await rows(db, jobs))[0][COLUMNS.index("payload")] == {"text": "kept"}
