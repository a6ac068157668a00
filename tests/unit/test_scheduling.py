"""The scheduler on a job queue the test drives: due work never waits for the safety sweep."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.app import PRUNE_EVERY, PRUNE_FIRST, create_services
from bot.clock import FrozenClock
from bot.config import Settings
from bot.scheduling import PRUNE_JOB_ID, SWEEP_JOB_ID, WAKE_JOB_ID, Scheduler
from bot.services.privacy import PrivacyService
from bot.services.retention import Pruned
from tests.conftest import sqlite_copy
from tests.fakes.job_queue import FakeJobQueue

START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
SWEEP = dt.timedelta(seconds=30)


class Recorder:
    name = "recorder"

    def __init__(self) -> None:
        self.runs = asyncio.Event()

    async def next_due(self) -> dt.datetime | None:
        return None

    async def run_due(self, now: dt.datetime) -> int:
        self.runs.set()
        return 0


async def test_work_due_during_downtime_runs_at_start_not_a_sweep_later() -> None:
    clock = FrozenClock(START)
    queue = FakeJobQueue(clock)
    scheduler = Scheduler(clock, sweep_interval=SWEEP)
    source = Recorder()
    scheduler.register(source)
    scheduler.attach(queue)  # type: ignore[arg-type]
    assert queue.due_at(SWEEP_JOB_ID) == START + SWEEP
    assert queue.due_at(WAKE_JOB_ID) == START  # at once, not a sweep later
    await queue.run_due()
    assert source.runs.is_set()


class Slow(Recorder):
    """Each run waits until the test lets it finish."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.release = asyncio.Event()

    async def run_due(self, now: dt.datetime) -> int:
        self.calls += 1
        self.runs.set()
        await self.release.wait()
        return 1


async def test_a_thousand_pokes_during_a_sweep_queue_one_more_sweep() -> None:
    clock = FrozenClock(START)
    queue = FakeJobQueue(clock)
    scheduler = Scheduler(clock, sweep_interval=SWEEP)
    source = Slow()
    scheduler.register(source)
    scheduler.attach(queue)  # type: ignore[arg-type]
    queue.start_due()  # the wake-up at start: a sweep begins, and waits inside the source
    await asyncio.wait_for(source.runs.wait(), timeout=5)
    for _ in range(1000):  # each reminder sent during a busy minute pokes
        clock.advance(seconds=0.001)
        scheduler.poke()
        queue.start_due()  # a wake-up armed by the poke runs as soon as it is due
        await asyncio.sleep(0)
    source.release.set()
    await queue.settle()
    assert source.calls == 2  # the running sweep, then one that saw everything poked
    # No run was dropped (APScheduler would have logged each): none for being late, none
    # for being one too many while a sweep was going on.
    assert queue.dropped == []


async def test_the_daily_prune_runs_soon_after_start_under_its_own_id_on_the_leader_only(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[int] = []

    async def prune(self: PrivacyService) -> Pruned:  # counts instead of pruning
        runs.append(1)
        return Pruned(deleted=0, emptied=0)

    monkeypatch.setattr(PrivacyService, "prune_outbox", prune)
    settings = Settings(
        bot_token=SecretStr("1:test"), database_url=sqlite_copy(sqlite_template, tmp_path)
    )
    clock = FrozenClock(START)
    services = create_services(settings, clock)
    queue = FakeJobQueue(clock)
    try:
        services.scheduler.attach(queue)  # type: ignore[arg-type]
        job = queue.jobs[PRUNE_JOB_ID]  # the app's own job, under its own id
        assert job.interval == PRUNE_EVERY == dt.timedelta(days=1)
        assert job.next_run == START + PRUNE_FIRST  # soon after the start, not a day later
        clock.set(START + PRUNE_FIRST)
        await queue.run_due()
        assert runs == [1]
        services.scheduler.set_leading(False)  # another replica leads now
        clock.set(START + PRUNE_FIRST + PRUNE_EVERY)
        await queue.run_due()
    finally:
        await services.db.dispose()
    assert runs == [1]
    assert queue.dropped == []
