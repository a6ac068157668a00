"""The outbox when the database hangs or a 429 begins mid-wait: bounded, found by review.

The time bounds here are generous multiples of the settings (0.3 s, 0.1 s) so they hold on a
busy machine; they fail by seconds on the code before the fix.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from typing import Any
from unittest import mock

import pytest
from sqlalchemy.exc import OperationalError

from bot.clock import FrozenClock
from bot.db.models import OutboxState
from bot.db.session import Database
from bot.delivery import SenderConfig, outbox
from bot.ratelimit import RESERVED, FloodControl
from tests.fakes.timer import Ticks
from tests.integration.test_delivery import make_rig


@pytest.mark.timing
async def test_the_record_retry_counts_the_databases_own_waits(db: Database) -> None:
    # Each attempt fails only after 0.2 s (SQLite: after busy_timeout=30 s).
    async def slow_locked(_db: Database, _batch: list[Any]) -> None:
        await asyncio.sleep(0.2)
        raise OperationalError("UPDATE", {}, Exception("database is locked"))

    rec = outbox.Recorder(db)
    job = outbox.Job(1, "k", "test", 1, "send", None, {}, 1)
    fin = outbox.Finish(job, OutboxState.SENT, dt.datetime.now(dt.UTC), message_id=5)
    start = time.monotonic()
    with (
        mock.patch.object(outbox, "finish_all", slow_locked),
        pytest.raises(outbox.SentNotRecorded),
    ):
        await rec.record_sent(fin, within=0.3)  # half a 0.6 s lease
    took = time.monotonic() - start
    assert took < 0.55  # within its 0.3 s (was 1.1 s: only the sleeps were counted)


async def test_a_notification_at_the_gate_waits_out_a_429_that_starts_meanwhile() -> None:
    ticks = Ticks()
    flood = FloodControl(timer=ticks)
    hold = await flood.wait_for_slot(5, lambda: False)
    assert hold is not None
    for _ in range(29):  # the rolling second is full
        flood._dispatched.append(ticks.now)
    sent_at: list[float] = []

    async def callback() -> dict[str, Any]:
        sent_at.append(ticks.now)
        return {}

    task = asyncio.create_task(
        flood.process_request(callback, (), {}, "sendMessage", {"chat_id": 5}, RESERVED)
    )
    await asyncio.sleep(0)  # the notification now waits in dispatch_gate
    flood.pause(30)  # another send just got 429 retry_after=30
    await task
    assert sent_at[0] >= flood._paused_until


@pytest.mark.timing
async def test_stop_is_bounded_while_records_are_retried(db: Database, clock: FrozenClock) -> None:
    rig = make_rig(db, clock, SenderConfig(concurrency=1, lease=dt.timedelta(seconds=4)))

    async def locked(_db: Database, batch: list[Any]) -> None:
        if any(f.state == OutboxState.SENT for f in batch):
            raise OperationalError("UPDATE", {}, Exception("database is locked"))
        await real(_db, batch)

    real = outbox.finish_all
    await rig.queue("a", 1, "one")
    await rig.queue("b", 2, "two")
    with mock.patch.object(outbox, "finish_all", locked):
        await rig.sender.start()
        for _ in range(50):
            await asyncio.sleep(0.01)
            if rig.bot.calls:
                break
        start = time.monotonic()
        await rig.sender.stop(drain_seconds=0.1)
        took = time.monotonic() - start
    assert took < 0.6  # two drains of 0.1 s (it waited for the 2 s record retry before)
