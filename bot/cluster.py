"""Several bot processes on one database: who runs the scheduler, and how many share the
flood budget.

PostgreSQL: the scheduler leader is whoever holds a session-level advisory lock on a
connection of its own. If the leader dies, PostgreSQL drops the lock with its connection and
another replica takes it at its next try (every LEADER_CHECK_SECONDS). Even two leaders at
once would be safe — every due step is a conditional update — just wasteful.

SQLite is the embedded, one-process setup: that process always leads.

Each process also writes a heartbeat row; the number of live replicas divides Telegram's
overall budget between them, so together they stay under it.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
import socket
import uuid
from collections.abc import Callable

from sqlalchemy import delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.clock import Clock
from bot.db.models import Replica
from bot.db.session import Database
from bot.events import log_event

log = logging.getLogger(__name__)

# Any fixed 64-bit number: the advisory lock that names the scheduler leader.
LEADER_LOCK_KEY = 0x6361726563697263  # "carecirc"


class Cluster:
    """This process's place among the replicas."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        *,
        check_every: dt.timedelta,
        on_leadership: Callable[[bool], None] = lambda _leading: None,
        on_replicas: Callable[[int], None] = lambda _count: None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._check_every = check_every
        self._on_leadership = on_leadership
        self._on_replicas = on_replicas
        self.replica_id = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self._single = db.backend != "postgresql"
        self._leading = False
        self._alive = 1
        self._lock_connection: AsyncConnection | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def is_leader(self) -> bool:
        return self._leading

    @property
    def role(self) -> str:
        """ "single" (embedded), "leader" or "follower": for /readyz and the logs."""
        if self._single:
            return "single"
        return "leader" if self._leading else "follower"

    @property
    def replicas_alive(self) -> int:
        return self._alive

    async def start(self) -> None:
        await self._beat()
        if self._single:
            self._become(True)
        else:
            await self._try_to_lead()
        self._task = asyncio.create_task(self._run(), name="cluster")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._release()
        with contextlib.suppress(Exception):
            async with self._db.transaction() as session:
                await session.execute(delete(Replica).where(Replica.id == self.replica_id))

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._check_every.total_seconds())
            try:
                await self.check()
            except Exception:
                log.exception("event=cluster.check_failed")

    async def check(self) -> None:
        """One round: heartbeat, count the live replicas, keep or try to take the lead."""
        await self._beat()
        if not self._single:
            await self._check_leadership()

    # --- heartbeats ------------------------------------------------------------------------

    async def _beat(self) -> None:
        now = self._clock.now()
        stale = now - 3 * self._check_every
        async with self._db.transaction() as session:
            updated = await session.execute(
                update(Replica).where(Replica.id == self.replica_id).values(heartbeat_at=now)
            )
            if updated.rowcount != 1:  # type: ignore[attr-defined]
                session.add(Replica(id=self.replica_id, started_at=now, heartbeat_at=now))
            await session.execute(delete(Replica).where(Replica.heartbeat_at < stale))
            alive = await session.scalar(select(func.count()).select_from(Replica))
        alive_now = max(1, int(alive or 1))
        if alive_now != self._alive:
            log_event(log, "cluster.replicas", alive=alive_now)
        self._alive = alive_now
        self._on_replicas(alive_now)

    # --- leadership (PostgreSQL) ----------------------------------------------------------

    async def _try_to_lead(self) -> None:
        if self._lock_connection is None:
            self._lock_connection = await self._db.engine.connect()
        got = await self._lock_connection.scalar(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": LEADER_LOCK_KEY}
        )
        # Keep the connection idle outside a transaction: the lock lives in the session.
        await self._lock_connection.commit()
        if got:
            self._become(True)
        else:
            await self._lock_connection.close()
            self._lock_connection = None

    async def _check_leadership(self) -> None:
        if not self._leading:
            await self._try_to_lead()
            return
        try:
            assert self._lock_connection is not None
            await self._lock_connection.execute(text("SELECT 1"))
            await self._lock_connection.commit()
        except Exception:
            # The connection (and so the lock) is gone: someone else may lead now.
            log_event(log, "cluster.lock_lost", logging.WARNING, replica=self.replica_id)
            self._lock_connection = None
            self._become(False)

    async def _release(self) -> None:
        connection, self._lock_connection = self._lock_connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": LEADER_LOCK_KEY}
                )
                await connection.commit()
            with contextlib.suppress(Exception):
                await connection.close()
        if self._leading and not self._single:
            self._become(False)

    def _become(self, leading: bool) -> None:
        if leading == self._leading:
            return
        self._leading = leading
        log_event(log, "cluster.leadership", role=self.role, replica=self.replica_id)
        self._on_leadership(leading)
