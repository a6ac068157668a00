"""Replicas on one database: one scheduler leader at a time, a dead leader replaced, and the
flood budget shared by the live ones."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from bot.clock import FrozenClock
from bot.cluster import Cluster
from bot.db.session import Database

EVERY = dt.timedelta(seconds=5)


def cluster(db: Database, clock: FrozenClock, log: list[tuple[str, object]]) -> Cluster:
    replica = Cluster(
        db,
        clock,
        check_every=EVERY,
        on_leadership=lambda leading: log.append(("leading", leading)),
        on_replicas=lambda count: log.append(("replicas", count)),
    )
    return replica


async def test_sqlite_is_one_process_that_always_leads(
    database_url: str, clock: FrozenClock
) -> None:
    db = Database(database_url)
    if db.backend != "sqlite":
        await db.dispose()
        pytest.skip("the embedded setup is SQLite")
    events: list[tuple[str, object]] = []
    only = cluster(db, clock, events)
    await only.start()
    assert only.is_leader and only.role == "single"
    assert ("leading", True) in events
    await only.stop()
    await db.dispose()


async def test_one_leader_and_a_dead_leader_is_replaced(
    pg_migrated_url: str, clock: FrozenClock
) -> None:
    dbs = [Database(pg_migrated_url) for _ in range(3)]
    a_log: list[tuple[str, object]] = []
    b_log: list[tuple[str, object]] = []
    a, b = cluster(dbs[0], clock, a_log), cluster(dbs[1], clock, b_log)
    try:
        await a.start()
        await b.start()
        await a.check()  # a now sees b's heartbeat too
        assert [a.role, b.role] == ["leader", "follower"]
        assert a.replicas_alive == 2 and ("replicas", 2) in a_log

        # The leader's process dies: PostgreSQL ends its session and so frees the lock.
        async with dbs[2].engine.connect() as admin:
            await admin.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND granted"
                )
            )
            await admin.commit()
        await b.check()
        assert b.role == "leader" and ("leading", True) in b_log
        await a.check()  # the old leader notices its lock is gone
        assert a.role == "follower" and ("leading", False) in a_log

        # A replica that stops beating drops out of the count after three missed beats.
        await b.check()
        clock.advance(seconds=16)
        await b.check()
        assert b.replicas_alive == 1
    finally:
        await a.stop()
        await b.stop()
        for db in dbs:
            await db.dispose()
