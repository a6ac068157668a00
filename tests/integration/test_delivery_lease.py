"""A claim is a lease: nothing is sent, recorded or handed back once it may be another's.

Found by a review of the record retry: a 429 pause longer than what was left of a lease let
a claimed reminder go after another sender could have taken it again; a record refused for
something in the row (not the database) was retried until the lease ran out, and the
reminder then went again, every lease.
"""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock

import pytest
from sqlalchemy.exc import DataError, OperationalError
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
    """outbox.finish_all that refuses every record of a sent message (`bare` ones too if
    `even_bare`) with `error`; each try's bare flag is noted."""
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


async def test_a_record_refused_for_its_row_writes_the_state_alone_and_sends_once(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    finish_all, tries = refused(row_error(), even_bare=False)
    await rig.queue("dose:1:reminder", 1, "Time for Medicine A")
    with mock.patch.object(outbox, "finish_all", finish_all):
        await rig.pass_once()
        for _ in range(3):
            await rig.later(61)  # past the lease: a row left SENDING would go again
    assert tries == [False, True]  # once in full, then at once the state alone
    assert sent_texts(rig.bot) == ["Time for Medicine A"]
    row = await rig.row("dose:1:reminder")
    assert row.state == OutboxState.SENT and row.last_error == outbox.RECORDED_BARE
    assert "outbox.record_bare" in caplog.text and "Medicine A" not in caplog.text


async def test_a_record_refused_even_bare_is_not_retried_for_its_lease(
    db: Database, clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    rig = make_rig(db, clock, SenderConfig(concurrency=1, lease=dt.timedelta(seconds=2)))
    finish_all, tries = refused(row_error(), even_bare=True)
    await rig.queue("dose:1:reminder", 1, "Time for Medicine A")
    with mock.patch.object(outbox, "finish_all", finish_all):
        await rig.pass_once()
    assert tries == [False, True]  # no backoff loop: trying the same row again cannot help
    assert "outbox.sent_not_recorded" in caplog.text


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
