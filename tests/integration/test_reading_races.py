"""Reads that skip the writers' queue (Database.reading) must not let a decision made on
them overtake a write that was queued first (found by a review of the change, each case
failing before its fix): a reminder dropped as "unreachable" for someone who just wrote to
the bot again, a refusal recorded after they wrote, writes slipped past the guard, and the
foreground wiring between the update processor and the sweep."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import delete, event, select, text

from bot.app import build_application
from bot.clock import FrozenClock
from bot.config import Settings
from bot.db.models import OutboxMessage, User
from bot.db.session import Database, WriteInRead
from bot.delivery import SenderConfig
from bot.notify import Notifier, Priority
from bot.services.circles import CircleService
from bot.services.circles.views import Person
from tests.integration.test_delivery import make_rig
from tests.people import PAT
from tests.rig import Rig
from tests.writer import writer_turn_held

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


async def queued_writers(db: Database, n: int) -> None:
    """Until `n` transactions wait for the writer's turn (SQLite)."""
    for _ in range(1000):
        if len(db._turns._waiters or ()) >= n:  # type: ignore[union-attr]
            return
        await asyncio.sleep(0.005)
    raise AssertionError("never queued")


@sqlite_only
async def test_a_person_who_writes_again_keeps_the_reminder_queued_for_them(
    db: Database, clock: FrozenClock
) -> None:
    rig = make_rig(db, clock, SenderConfig(concurrency=1, max_attempts=3))
    circles = CircleService(db, clock, Notifier(clock), dt.timedelta(days=1))
    async with db.transaction() as session:
        session.add(User(id=1, first_name="A", reachable=False, created_at=NOW, updated_at=NOW))
    await rig.queue("dose", 1, "Time for your medication", priority=Priority.URGENT)
    async with writer_turn_held(db):
        touch = asyncio.create_task(circles.touch(Person(1, "A")))  # they unblocked us: /start
        await queued_writers(db, 1)
        dispatch = asyncio.create_task(rig.sender.dispatch_once())  # reads "unreachable"
        await queued_writers(db, 2)  # … and queues its verdict behind their write
    await asyncio.gather(touch, dispatch)
    await rig.sender.dispatch_once()
    await rig.sender.wait_inflight()
    async with db.reading() as session:
        row = (await session.scalars(select(OutboxMessage))).one()
    assert (row.state, row.last_error) == ("sent", None)


@sqlite_only
async def test_writing_to_the_bot_after_a_refusal_was_queued_leaves_you_reachable(
    db: Database, clock: FrozenClock
) -> None:
    circles = CircleService(db, clock, Notifier(clock), dt.timedelta(days=1))
    me = Person(1, "A")
    await circles.touch(me)
    circles._known.clear()
    async with writer_turn_held(db):
        # A message sent while they had blocked the bot was refused (403): recorded, queued.
        refusal = asyncio.create_task(circles.mark_unreachable(1))
        await queued_writers(db, 1)
        await circles.touch(me)  # they unblock the bot and write: nothing to write, it reads
    await refusal
    async with db.reading() as session:
        user = await session.get(User, 1)
    assert user is not None and user.reachable


async def users(db: Database) -> int:
    async with db.reading() as session:
        return len((await session.scalars(select(User.id))).all())


async def test_a_delete_written_as_a_cte_is_refused_in_a_reading(db: Database) -> None:
    async with db.transaction() as session:
        session.add(User(id=1, first_name="Pat", reachable=True, created_at=NOW, updated_at=NOW))
    doomed = select(User.id).where(User.id == 1).cte("doomed")
    with pytest.raises(WriteInRead):
        async with db.reading() as session:
            await session.execute(
                delete(User).where(User.id.in_(select(doomed.c.id))).add_cte(doomed)
            )
    statement = "WITH gone AS (DELETE FROM users RETURNING id) SELECT count(*) FROM gone"
    if db.backend == "postgresql":
        with pytest.raises(WriteInRead):
            async with db.reading() as session:
                await session.execute(text(statement))
    assert await users(db) == 1


@sqlite_only
async def test_a_pragma_that_sets_something_is_refused_in_a_reading(db: Database) -> None:
    with pytest.raises(WriteInRead):
        async with db.reading() as session:
            await session.execute(text("PRAGMA user_version = 42"))
    async with db.reading() as session:
        assert await session.scalar(text("PRAGMA user_version")) == 0


@sqlite_only
async def test_one_pooled_connection_begins_reads_deferred_and_writes_immediate(
    db: Database,
) -> None:
    begins: list[tuple[int, str]] = []

    def record(conn, _cursor, statement, _params, _context, _many):  # type: ignore[no-untyped-def]
        if statement.startswith("BEGIN"):
            begins.append((id(conn.connection.dbapi_connection), statement))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    for _ in range(3):
        async with db.reading() as session:
            await session.execute(select(User.id))
        async with db.transaction() as session:
            await session.execute(select(User.id))
    assert [b for _, b in begins] == ["BEGIN", "BEGIN IMMEDIATE"] * 3
    assert len({conn for conn, _ in begins}) == 1, "one pooled connection served both"


def test_the_update_processor_and_the_sweep_share_one_foreground(tmp_path: Path) -> None:
    app = build_application(
        Settings(
            bot_token=SecretStr("1:abc"),
            telegram_base_url="http://127.0.0.1:9/bot",
            database_url=f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        )
    )
    services = app.bot_data.services
    assert app.update_processor._foreground is services.foreground  # type: ignore[attr-defined]
    assert services.meds._foreground is services.foreground


async def test_the_meds_sweep_asks_for_a_gap_before_its_batches(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    await rig.patient()
    await rig.meds.add_line(PAT.id, "Medicine A | 1 tablet | 08:00, 20:00")
    asked: list[float] = []
    gap = rig.services.foreground.gap

    async def counted(at_most: float = 0.05) -> None:
        asked.append(at_most)
        await gap(at_most)

    monkeypatch.setattr(rig.services.foreground, "gap", counted)
    rig.clock.advance(hours=30)  # the next dose is due
    await rig.services.scheduler.sweep()
    assert asked, "the sweep never asked for a gap"
