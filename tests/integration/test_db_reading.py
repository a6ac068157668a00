"""`Database.reading()`: a transaction that only reads, and on SQLite waits for no writer.

What someone asks to see (their medication list, a medication, where they stand) must not
queue behind a sweep writing a morning's reminders; and a reading transaction must never
write, or on SQLite it would write outside the writers' turns."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import insert, select, text, update

from bot.db.models import User
from bot.db.session import Database, WriteInRead
from tests.writer import writer_turn_held

NOW = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def person(user_id: int, name: str) -> User:
    return User(id=user_id, first_name=name, reachable=True, created_at=NOW, updated_at=NOW)


async def names(db: Database) -> list[str]:
    async with db.reading() as session:
        return list(await session.scalars(select(User.first_name).order_by(User.id)))


async def test_a_reading_sees_what_was_committed(db: Database) -> None:
    async with db.transaction() as session:
        session.add(person(1, "Pat"))
    assert await names(db) == ["Pat"]


# Only SQLite has a writers' turn to skip; on PostgreSQL the test could not fail.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_reading_does_not_wait_for_a_writer_and_sees_only_its_commits(
    db: Database,
) -> None:
    async with db.transaction() as session:
        session.add(person(1, "Pat"))
    async with writer_turn_held(db, update(User).values(first_name="Changed")):
        # Within a second although the writer holds on: before, it queued behind it.
        assert await asyncio.wait_for(names(db), 1.0) == ["Pat"]
    assert await names(db) == ["Changed"]


@pytest.mark.parametrize(
    "statement",
    [
        insert(User).values(id=2, first_name="Ann", reachable=True, created_at=NOW, updated_at=NOW),
        update(User).values(first_name="X"),
        text("DELETE FROM users"),
    ],
    ids=["insert", "update", "delete"],
)
async def test_a_write_in_a_reading_is_refused_and_nothing_changes(
    db: Database, statement: object
) -> None:
    async with db.transaction() as session:
        session.add(person(1, "Pat"))
    with pytest.raises(WriteInRead):
        async with db.reading() as session:
            await session.execute(statement)  # type: ignore[call-overload]
    assert await names(db) == ["Pat"]


async def test_an_object_added_or_changed_in_a_reading_is_refused(db: Database) -> None:
    async with db.transaction() as session:
        session.add(person(1, "Pat"))
    with pytest.raises(WriteInRead):
        async with db.reading() as session:
            session.add(person(2, "Ann"))
    with pytest.raises(WriteInRead):
        async with db.reading() as session:
            user = await session.get(User, 1)
            assert user is not None
            user.first_name = "Changed"
    assert await names(db) == ["Pat"]


async def test_the_writers_engine_still_writes_after_readings(db: Database) -> None:
    """The reading option belongs to its own sessions, not to the pool's connections."""
    for _ in range(3):
        assert await names(db) == []
    async with db.transaction() as session:
        session.add(person(1, "Pat"))
        await session.execute(update(User).values(first_name="Pat B"))
    assert await names(db) == ["Pat B"]
