"""A claim is a lease: nothing is sent, recorded or handed back once it may be another's.

Found by two reviews of the record retry: a 429 pause longer than what was left of a lease
let a claimed reminder go after another sender could have taken it again (waiting for its
slot, or already at the gate); a record refused for something in the row (not the database)
was retried until the lease ran out, and the reminder then went again, every lease; and
PostgreSQL's passing faults (a statement timeout, a restart) must not be taken for such a
refusal, since asyncpg raises them as plain DBAPIError.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from unittest import mock

import pytest
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    OperationalError,
    PendingRollbackError,
)
from sqlalchemy.exc import TimeoutError as PoolTimeout
from telegram.error import RetryAfter

from bot.clock import FrozenClock
from bot.db.models import OutboxState
from bot.db.session import Database
from bot.delivery import SenderConfig, outbox
from tests.integration.test_delivery import Rig, make_rig, sent_texts


@pytest.fixture
def rig(db: Database, clock: FrozenClock) -> Rig:
    return make_rig(db, clock, SenderConfig(concurrency=1, max_attempts=3))


def refused(error: Exception, *, even_bare: bool) -> tuple[Any, list[bool]]:
    """outbox.finish_all that refuses every full record of a sent message (and every one,
    however bare, if `even_bare`) with `error`; each try's bare level is noted."""
    real = outbox.finish_all
    tries: list[bool] = []

    async def finish_all(db: Database, batch: list[Any]) -> None:
        sent = [f for f in batch if f.state == OutboxState.SENT]
        if sent:
            tries.extend(f.bare for f in sent)
            if even_bare or not all(f.bare for f in sent):
                raise error
        await real(db, batch)

    return finish_all, tries


def row_error() -> DataError:
    return DataError("UPDATE", {}, Exception("value out of range"))


class PgError(Exception):
    """A driver error as SQLAlchemy's asyncpg adapter carries it: with its SQLSTATE."""

    def __init__(self, sqlstate: str | None) -> None:
        super().__init__("an error from PostgreSQL")
        self.sqlstate = sqlstate


def pg_error(sqlstate: str | None) -> DBAPIError:
    return DBAPIError("UPDATE", {}, PgError(sqlstate))


@pytest.mark.parametrize(
    ("error", "refused_for_row"),
    [
        (row_error(), True),
        (IntegrityError("UPDATE", {}, Exception("duplicate key")), True),
        (pg_error("22003"), True),  # numeric value out of range
        (pg_error("23505"), True),  # unique violation
        (pg_error("57014"), False),  # statement timeout
        (pg_error("57P01"), False),  # the server shut the connection (restart, failover)
        (pg_error("40P01"), False),  # deadlock
        (pg_error("55P03"), False),  # lock_timeout
        (pg_error(None), False),
        (OperationalError("UPDATE", {}, Exception("database is locked")), False),
        (TimeoutError(), False),
        (PoolTimeout("QueuePool limit reached"), False),  # SQLAlchemy's own, not a DBAPIError
        (DisconnectionError("connection went"), False),
        (PendingRollbackError("rolled back"), False),
        (ConnectionResetError(), False),
        (ValueError("our own code choked on one record"), True),
    ],
)
def test_a_record_is_taken_as_refused_for_its_row_only_when_it_was(
    error: Exception, refused_for_row: bool
) -> None:
    assert outbox.about_items(error) is refused_for_row


async def test_a_record_refused_for_its_row_writes_the_state_alone_and_sends_once(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    finish_all, tries = refused(row_error(), even_bare=False)
    await rig.queue("dose:1:reminder", 1, "Time for Medicine A")
    with mock.patch.object(outbox, "finish_all", finish_all):
        await rig.pass_once()
        for _ in range(3):
            await rig.later(61)  # past the lease: a row left SENDING would go again
    assert tries == [False, True]  # once in full, then at once the bare record
    assert sent_texts(rig.bot) == ["Time for Medicine A"]
    row = await rig.row("dose:1:reminder")
    assert row.state == OutboxState.SENT and row.last_error == outbox.RECORDED_BARE
    assert row.message_id is not None and row.sent_at is not None  # later edits find it
    assert row.payload == {}  # no words kept (a forgotten person's name among them)
    assert "outbox.record_bare" in caplog.text and "Medicine A" not in caplog.text


async def test_a_record_refused_even_bare_is_retried_then_left_to_its_lease(
    db: Database, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    rig = make_rig(db, clock, SenderConfig(concurrency=1, lease=dt.timedelta(seconds=1)))
    finish_all, tries = refused(row_error(), even_bare=True)
    await rig.queue("dose:1:reminder", 1, "Time for Medicine A")
    with mock.patch.object(outbox, "finish_all", finish_all):
        await rig.pass_once()
    # Less and less at once, then with backoff for the rest of half the lease, as when the
    # database itself fails.
    assert tries[:3] == [0, outbox.NO_WORDS, outbox.STATE_ONLY] and len(tries) >= 4
    assert set(tries[2:]) == {outbox.STATE_ONLY}
    assert "outbox.sent_not_recorded" in caplog.text


@pytest.mark.parametrize("sqlstate", ["57014", "57P01", "40P01", None])
async def test_a_passing_postgres_fault_is_retried_in_full_and_sends_once(
    rig: Rig, sqlstate: str | None
) -> None:
    real = outbox.finish_all
    tries: list[bool] = []

    async def twice_failing(db: Database, batch: list[Any]) -> None:
        sent = [f for f in batch if f.state == OutboxState.SENT]
        tries.extend(f.bare for f in sent)
        if sent and len(tries) <= 2:
            raise pg_error(sqlstate)
        await real(db, batch)

    await rig.queue("dose:1:reminder", 1, "Time for Medicine A")
    with mock.patch.object(outbox, "finish_all", twice_failing):
        await rig.pass_once()
        await rig.later(61)  # past the lease: a row left SENDING would go again
    assert tries == [False, False, False]
    assert sent_texts(rig.bot) == ["Time for Medicine A"]
    row = await rig.row("dose:1:reminder")
    assert row.state == OutboxState.SENT and row.message_id is not None
    assert row.last_error is None


async def test_a_locked_database_is_still_retried_in_full(rig: Rig) -> None:
    locked = OperationalError("UPDATE", {}, Exception("database is locked"))
    real = outbox.finish_all
    tries: list[bool] = []

    async def once_locked(db: Database, batch: list[Any]) -> None:
        sent = [f for f in batch if f.state == OutboxState.SENT]
        tries.extend(f.bare for f in sent)
        if sent and len(tries) == 1:
            raise locked
        await real(db, batch)

    await rig.queue("dose:1:reminder", 1, "Time for Medicine A")
    with mock.patch.object(outbox, "finish_all", once_locked):
        await rig.pass_once()
    assert tries == [False, False]  # the database's fault: the full record, with its id
    row = await rig.row("dose:1:reminder")
    assert row.state == OutboxState.SENT and row.message_id is not None


async def test_claims_held_past_half_their_lease_by_a_429_go_back_unsent(
    db: Database, clock: FrozenClock
) -> None:
    rig = make_rig(db, clock, SenderConfig(concurrency=1, lease=dt.timedelta(seconds=60)))
    real_sleep = rig.ticks.sleep

    async def sleep_and_age(seconds: float) -> None:  # the wall clock moves with the wait
        clock.advance(seconds=seconds)
        await real_sleep(seconds)

    rig.sender._flood._sleep = sleep_and_age  # type: ignore[attr-defined]
    rig.bot.errors["send_message"] = [RetryAfter(dt.timedelta(seconds=40))]
    for chat in (1, 2, 3):
        await rig.queue(f"dose:{chat}:reminder", chat, f"dose {chat}")
    await rig.pass_once()
    # The first got the 429; the two claimed with it waited 40 s of their 60 s lease.
    assert sent_texts(rig.bot) == ["dose 1"]
    for chat in (2, 3):
        row = await rig.row(f"dose:{chat}:reminder")
        assert row.state == OutboxState.PENDING and row.attempts == 0
    await rig.later(1)
    await rig.later(1)
    assert sorted(sent_texts(rig.bot)) == ["dose 1", "dose 1", "dose 2", "dose 3"]


async def test_a_sender_whose_lease_ran_out_cannot_undo_anothers_claim(
    rig: Rig, clock: FrozenClock
) -> None:
    await rig.queue("dose:1:reminder", 1, "Time for Medicine A")
    [row_id] = [(await rig.row("dose:1:reminder")).id]
    lease = dt.timedelta(seconds=60)
    [late] = await outbox.claim(rig.db, [row_id], clock.now(), lease)
    clock.advance(seconds=61)
    [taken] = await outbox.claim(rig.db, [row_id], clock.now(), lease)
    # The first sender, late, hands its claim back, then records a send: neither lands.
    await outbox.finish_all(rig.db, [outbox.Finish(late, OutboxState.PENDING, refund_attempt=True)])
    await outbox.finish_all(
        rig.db, [outbox.Finish(late, OutboxState.FAILED, error="internal error")]
    )
    row = await rig.row("dose:1:reminder")
    assert row.state == OutboxState.SENDING and row.attempts == taken.attempts == 2
    await outbox.finish_all(
        rig.db, [outbox.Finish(taken, OutboxState.SENT, clock.now(), message_id=7)]
    )
    row = await rig.row("dose:1:reminder")
    assert row.state == OutboxState.SENT and row.message_id == 7


async def test_a_send_already_at_the_gate_when_a_long_429_begins_goes_back_unsent(
    db: Database, clock: FrozenClock
) -> None:
    """Two reminders in flight at a peak: chat 2's waits at the gate (the rolling second is
    full) when chat 1's answer is a 429 for 90 s. Its claim would be another sender's before
    the pause ends: it goes back to the queue rather than wait it out inside the gate, and
    another sender (or this one, later) sends it once. Found by review (before, the gate
    waited the 90 s and sent it after replica B had taken it again and sent it)."""
    lease = dt.timedelta(seconds=60)
    a = make_rig(db, clock, SenderConfig(concurrency=2, lease=lease))
    b = make_rig(db, clock, SenderConfig(concurrency=2, lease=lease))
    flood = a.sender._flood  # type: ignore[attr-defined]
    answer_429 = asyncio.Event()
    b_ran: list[bool] = []

    async def sleep(seconds: float) -> None:  # the wall clock moves with the flood's waits
        a.ticks.now += seconds
        clock.advance(seconds=seconds)
        if 0.5 < seconds < 1.5:
            answer_429.set()  # chat 1's answer arrives while chat 2 waits at the gate
        for _ in range(30):
            await asyncio.sleep(0)
        if seconds > lease.total_seconds() and not b_ran:  # the old code got here
            b_ran.append(True)
            await b.later(0)

    flood._sleep = sleep
    real_send = a.bot.send_message

    async def send_message(**params: Any) -> Any:  # through the flood control, as PTB does
        limits = params.pop("rate_limit_args")

        async def call(**kw: Any) -> Any:
            if kw["chat_id"] == 1:
                await answer_429.wait()
                raise RetryAfter(dt.timedelta(seconds=90))
            return await real_send(**kw)

        return await flood.process_request(call, (), params, "sendMessage", params, limits)

    a.bot.send_message = send_message  # type: ignore[method-assign]
    for chat in (1, 2):
        await a.queue(f"dose:{chat}:reminder", chat, f"dose {chat}")
    flood._dispatched.extend([a.ticks.now] * (flood._dispatched.maxlen - 1))  # a busy second
    await a.pass_once()
    assert "dose 2" not in sent_texts(a.bot) + sent_texts(b.bot)
    row = await a.row("dose:2:reminder")
    assert row.state == OutboxState.PENDING and row.attempts == 0
    await b.later(91)  # the pause is over: the other sender takes both
    assert (sent_texts(a.bot) + sent_texts(b.bot)).count("dose 2") == 1
    assert (await a.row("dose:2:reminder")).state == OutboxState.SENT


async def test_a_record_whose_telegram_id_is_refused_is_written_as_the_state_alone(
    rig: Rig,
) -> None:
    real = outbox.finish_all
    tries: list[int] = []

    async def id_refused(db: Database, batch: list[Any]) -> None:
        sent = [f for f in batch if f.state == OutboxState.SENT]
        tries.extend(f.bare for f in sent)
        if any(f.bare < outbox.STATE_ONLY for f in sent):  # the id or the time is the fault
            raise pg_error("22003")
        await real(db, batch)

    await rig.queue("dose:1:reminder", 1, "Time for Medicine A")
    with mock.patch.object(outbox, "finish_all", id_refused):
        await rig.pass_once()
        for _ in range(2):
            await rig.later(61)  # past the lease: a row left SENDING would go again
    assert tries == [0, outbox.NO_WORDS, outbox.STATE_ONLY]
    assert sent_texts(rig.bot) == ["Time for Medicine A"]
    row = await rig.row("dose:1:reminder")
    assert row.state == OutboxState.SENT and row.last_error == outbox.RECORDED_BARE
