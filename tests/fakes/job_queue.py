"""A stand-in for PTB's JobQueue that a test drives by hand: jobs fall due on a FrozenClock and
run when the test says so, never on the wall clock.

It keeps the parts of APScheduler's behaviour the scheduler relies on: a job's id (from
`job_kwargs`) replaces the job of that id, a repeating job first runs after its `first`
(default: one interval) and runs once for all the times it missed, and a run that APScheduler
would drop with a warning — a run too late for `misfire_grace_time` (one second unless told),
or one beyond `max_instances` (one unless told) while runs of that id still go on — is
recorded in `dropped` instead of run.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from bot.clock import FrozenClock

Callback = Callable[[Any], Awaitable[object]]
APSCHEDULER_DEFAULTS: dict[str, Any] = {"misfire_grace_time": 1, "max_instances": 1}


@dataclass
class FakeJob:
    job_id: str
    callback: Callback
    next_run: dt.datetime | None  # None: a one-off job that has run
    interval: dt.timedelta | None  # None: a one-off job
    options: dict[str, Any]


@dataclass
class FakeJobQueue:
    clock: FrozenClock
    jobs: dict[str, FakeJob] = field(default_factory=dict)
    # (job id, why) of every run APScheduler would have dropped, with a warning in its log.
    dropped: list[tuple[str, str]] = field(default_factory=list)
    running: dict[str, int] = field(default_factory=dict)  # runs going on, per job id
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    # --- the part of PTB's JobQueue that bot.scheduling uses ------------------------------------

    def run_repeating(
        self,
        callback: Callback,
        interval: dt.timedelta,
        first: dt.timedelta | None = None,
        name: str | None = None,
        job_kwargs: dict[str, Any] | None = None,
    ) -> FakeJob:
        start = self.clock.now() + (interval if first is None else first)
        return self._add(callback, start, interval, name, job_kwargs)

    def run_once(
        self,
        callback: Callback,
        when: dt.datetime,
        name: str | None = None,
        job_kwargs: dict[str, Any] | None = None,
    ) -> FakeJob:
        return self._add(callback, when, None, name, job_kwargs)

    # --- for the test ---------------------------------------------------------------------------

    def due_at(self, job_id: str) -> dt.datetime | None:
        """When the job of this id runs next, if it is waiting to."""
        job = self.jobs.get(job_id)
        return None if job is None else job.next_run

    def start_due(self) -> int:
        """Start every job that is due on the clock (each in its own task, as APScheduler runs
        coroutine jobs); returns how many were started."""
        now = self.clock.now()
        started = 0
        for job in list(self.jobs.values()):
            if job.next_run is None or job.next_run > now:
                continue
            late = now - job.next_run
            if job.interval is None:
                job.next_run = None
            else:
                while job.next_run <= now:
                    job.next_run += job.interval
            grace = job.options["misfire_grace_time"]
            if grace is not None and late > dt.timedelta(seconds=grace):
                self.dropped.append((job.job_id, "missed its time"))
            elif self.running.get(job.job_id, 0) >= job.options["max_instances"]:
                self.dropped.append((job.job_id, "maximum number of running instances"))
            else:
                self._start(job)
                started += 1
        return started

    async def run_due(self) -> int:
        """Start what is due and wait until every job run has finished."""
        started = self.start_due()
        await self.settle()
        return started

    async def settle(self) -> None:
        """Wait for every job run started so far (and any started meanwhile)."""
        while self._tasks:
            await asyncio.gather(*self._tasks)

    # --- inside -----------------------------------------------------------------------------

    def _add(
        self,
        callback: Callback,
        start: dt.datetime,
        interval: dt.timedelta | None,
        name: str | None,
        job_kwargs: dict[str, Any] | None,
    ) -> FakeJob:
        options = {**APSCHEDULER_DEFAULTS, **(job_kwargs or {})}
        job_id = str(options.get("id") or name)
        existing = self.jobs.get(job_id)
        if existing is not None and not options.get("replace_existing"):
            raise ValueError(f"a job with id {job_id!r} exists (APScheduler: ConflictingIdError)")
        job = FakeJob(job_id, callback, start, interval, options)
        self.jobs[job_id] = job
        return job

    def _start(self, job: FakeJob) -> None:
        self.running[job.job_id] = self.running.get(job.job_id, 0) + 1

        async def run() -> None:
            try:
                await job.callback(None)
            finally:
                self.running[job.job_id] -= 1

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
