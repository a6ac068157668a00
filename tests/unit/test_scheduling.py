"""The scheduler on PTB's real JobQueue: due work never waits for the safety sweep."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from pydantic import SecretStr
from telegram.ext import ApplicationBuilder

from bot.app import create_services
from bot.clock import FrozenClock, SystemClock
from bot.config import Settings
from bot.scheduling import PRUNE_JOB_ID, Periodic, Scheduler


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
    app = ApplicationBuilder().token("1:test").build()
    assert app.job_queue is not None
    scheduler = Scheduler(SystemClock(), sweep_interval=dt.timedelta(seconds=30))
    source = Recorder()
    scheduler.register(source)
    await app.job_queue.start()
    try:
        scheduler.attach(app.job_queue)
        await asyncio.wait_for(source.runs.wait(), timeout=3)
    finally:
        await app.job_queue.stop(wait=False)


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


async def test_a_thousand_pokes_during_a_sweep_queue_one_more_sweep(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = ApplicationBuilder().token("1:test").build()
    assert app.job_queue is not None
    scheduler = Scheduler(SystemClock(), sweep_interval=dt.timedelta(seconds=30))
    source = Slow()
    scheduler.register(source)
    await app.job_queue.start()
    try:
        scheduler.attach(app.job_queue)
        await asyncio.wait_for(source.runs.wait(), timeout=3)
        for _ in range(1000):  # each reminder sent during a busy minute pokes
            scheduler.poke()
            await asyncio.sleep(0.001)
        source.release.set()
        await asyncio.sleep(0.5)
    finally:
        await app.job_queue.stop(wait=False)
    assert source.calls == 2  # the running sweep, then one that saw everything poked
    assert not [r for r in caplog.records if r.name.startswith("apscheduler")]


async def test_the_daily_prune_runs_soon_after_start_under_its_own_id_on_the_leader_only(
    tmp_path: Path,
) -> None:
    settings = Settings(
        bot_token=SecretStr("1:test"), database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db"
    )
    services = create_services(settings, FrozenClock(dt.datetime(2026, 3, 2, tzinfo=dt.UTC)))
    app = ApplicationBuilder().token("1:test").build()
    assert app.job_queue is not None
    pruned = asyncio.Event()
    runs: list[int] = []

    async def prune() -> None:
        runs.append(1)
        pruned.set()

    # The app's own job, with a prune that only counts and a first run in a moment.
    services.scheduler._periodic[:] = [
        Periodic(p.job_id, p.every, dt.timedelta(seconds=0.05), prune)
        for p in services.scheduler._periodic
    ]
    await app.job_queue.start()
    try:
        services.scheduler.attach(app.job_queue)
        job = app.job_queue.scheduler.get_job(PRUNE_JOB_ID)
        assert job is not None and job.trigger.interval == dt.timedelta(days=1)
        await asyncio.wait_for(pruned.wait(), timeout=3)
        services.scheduler.set_leading(False)  # another replica leads now
        [again] = app.job_queue.get_jobs_by_name(PRUNE_JOB_ID)
        await again.run(app)
    finally:
        await app.job_queue.stop(wait=False)
        await services.db.dispose()
    assert runs == [1]
