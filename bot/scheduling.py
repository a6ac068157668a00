"""The clock that wakes services: time-driven work is a query over rows, not in-memory jobs.

Each area (needs, medication, tips) registers a `DueSource`: it can say when its next work is
due and do everything due by a given instant. APScheduler (through PTB's JobQueue) holds
two jobs for them: one armed for the earliest due instant, and a periodic safety sweep. Losing
the process loses nothing; the rows are the truth. Housekeeping that is not due at an instant
of its own (pruning the outbox) is a repeating job of its own, run by the leader only.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from telegram.ext import CallbackContext, JobQueue

from bot.clock import Clock
from bot.events import log_event

log = logging.getLogger(__name__)

SWEEP_JOB_ID = "due-sweep"
WAKE_JOB_ID = "due-wake"
PRUNE_JOB_ID = "outbox-prune"
# Never let APScheduler silently drop a run: not a late one (its default grace is one
# second), and not one that fires while a sweep is still going — with max_instances=1 it
# would be skipped and work poked in meanwhile would wait for the safety sweep. sweep()
# holds a lock, so a second instance simply runs after the first.
JOB_KWARGS: dict[str, Any] = {
    "misfire_grace_time": None,
    "coalesce": True,
    "max_instances": 3,
    "replace_existing": True,
}


class DueSource(Protocol):
    """Work that falls due at instants stored in the database."""

    name: str

    async def next_due(self) -> dt.datetime | None:
        """The earliest instant something will be due, if anything is waiting."""
        ...

    async def run_due(self, now: dt.datetime) -> int:
        """Do everything due at or before `now`; returns how many items were handled."""
        ...


@dataclass(frozen=True)
class Periodic:
    """Housekeeping run every `every`, first `first` after the start (idempotent work)."""

    job_id: str
    every: dt.timedelta
    first: dt.timedelta
    work: Callable[[], Awaitable[object]]


class Scheduler:
    """Runs due work from all sources on time, and again after any restart."""

    def __init__(self, clock: Clock, sweep_interval: dt.timedelta) -> None:
        self._clock = clock
        self._sweep_interval = sweep_interval
        self._sources: list[DueSource] = []
        self._periodic: list[Periodic] = []
        self._job_queue: JobQueue[Any] | None = None
        self._lock = asyncio.Lock()
        # Sweeps waiting for the one running: one is enough to see whatever was just committed.
        self._waiting = 0
        self._armed_for: dt.datetime | None = None
        # Only one replica runs due work at a time (bot.cluster decides which).
        self._leading = True

    def register(self, source: DueSource) -> None:
        self._sources.append(source)

    def add_periodic(
        self,
        job_id: str,
        every: dt.timedelta,
        work: Callable[[], Awaitable[object]],
        *,
        first: dt.timedelta,
    ) -> None:
        """Run `work` every `every`, the first time `first` after the start (a positive
        `first` is kept; a process restarted more often than `every` still runs it)."""
        self._periodic.append(Periodic(job_id, every, first, work))

    def attach(self, job_queue: JobQueue[Any]) -> None:
        """Start driving the sources from this job queue (call once the app has a loop)."""
        self._job_queue = job_queue
        job_queue.run_repeating(
            self._on_job,
            interval=self._sweep_interval,
            name=SWEEP_JOB_ID,
            job_kwargs={**JOB_KWARGS, "id": SWEEP_JOB_ID},
        )
        for periodic in self._periodic:
            job_queue.run_repeating(
                self._periodic_job(periodic),
                interval=periodic.every,
                first=periodic.first,
                name=periodic.job_id,
                job_kwargs={**JOB_KWARGS, "id": periodic.job_id},
            )
        # APScheduler runs a repeating job first after one interval, whatever `first` says:
        # work that fell due while the bot was down must not wait that long.
        self.poke()

    def set_leading(self, leading: bool) -> None:
        """Called by bot.cluster: start (at once) or stop running due work here."""
        self._leading = leading
        if leading:
            self.poke()

    def poke(self) -> None:
        """New due work was committed: look again now (it may be earlier than what is armed).

        A sweep already queued behind the running one starts after this commit and sees it,
        so a busy minute (thousands of reminders, each poking) arms nothing more.
        """
        if self._waiting:
            return
        self._arm(self._clock.now())

    async def sweep(self) -> int:
        """Run everything due, then arm the wake-up for the next due instant."""
        self._waiting += 1
        try:
            await self._lock.acquire()
        finally:
            self._waiting -= 1
        try:
            now = self._clock.now()
            handled = 0
            for source in self._sources:
                try:
                    handled += await source.run_due(now)
                except Exception:
                    log.exception("event=scheduler.source_failed source=%s", source.name)
            next_due = await self._next_due()
        finally:
            self._lock.release()
        if handled:
            log_event(log, "scheduler.swept", handled=handled)
        if next_due is not None:
            self._arm(next_due)
        return handled

    async def _next_due(self) -> dt.datetime | None:
        instants = []
        for source in self._sources:
            try:
                when = await source.next_due()
            except Exception:
                log.exception("event=scheduler.next_due_failed source=%s", source.name)
                continue
            if when is not None:
                instants.append(when)
        return min(instants, default=None)

    def _arm(self, when: dt.datetime) -> None:
        if self._job_queue is None:
            return
        now = self._clock.now()
        when = max(when, now)
        # Keep an earlier wake-up that is still ahead; a later one would make us late.
        if self._armed_for is not None and now <= self._armed_for <= when:
            return
        self._armed_for = when
        self._job_queue.run_once(
            self._on_job,
            when=when,
            name=WAKE_JOB_ID,
            job_kwargs={**JOB_KWARGS, "id": WAKE_JOB_ID},
        )

    def _periodic_job(
        self, periodic: Periodic
    ) -> Callable[[CallbackContext[Any, Any, Any, Any]], Coroutine[Any, Any, None]]:
        async def run(_context: CallbackContext[Any, Any, Any, Any]) -> None:
            if not self._leading:
                return  # the leader does it; the work is idempotent, but once is enough
            try:
                await periodic.work()
            except Exception:
                log.exception("event=scheduler.periodic_failed job=%s", periodic.job_id)

        return run

    async def _on_job(self, _context: CallbackContext[Any, Any, Any, Any]) -> None:
        if self._armed_for is not None and self._armed_for <= self._clock.now():
            self._armed_for = None
        if self._leading and not (self._waiting and self._lock.locked()):
            await self.sweep()
