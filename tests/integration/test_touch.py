"""Every update refreshes the sender's stored name, but writes only what changed: at the
morning peak a person opening /meds must not wait behind the sweep for a write of nothing."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from sqlalchemy import update

from bot.db.models import User
from tests.people import PAT
from tests.rig import Rig
from tests.writer import writer_turn_held


async def stored(rig: Rig) -> User:
    async with rig.db.reading() as session:
        user = await session.get(User, PAT.id)
        assert user is not None
        return user


async def touch_again(rig: Rig, person: object = PAT, minutes: int = 5) -> None:
    """As the next update would, once the in-memory trust in the name has run out."""
    rig.clock.advance(minutes=minutes)
    rig.circles._known.clear()
    await rig.circles.touch(person)  # type: ignore[arg-type]


async def test_the_first_update_stores_the_person(rig: Rig) -> None:
    await rig.circles.touch(PAT)
    user = await stored(rig)
    assert (user.first_name, user.username, user.reachable) == ("Pat", "pat_b", True)


async def test_an_unchanged_name_is_not_written_again(rig: Rig) -> None:
    await rig.circles.touch(PAT)
    first = (await stored(rig)).updated_at
    await touch_again(rig)
    assert (await stored(rig)).updated_at == first


async def test_a_changed_name_is_stored(rig: Rig) -> None:
    await rig.circles.touch(PAT)
    await touch_again(rig, dataclasses.replace(PAT, first_name="Patricia", username=None))
    user = await stored(rig)
    assert (user.first_name, user.username) == ("Patricia", None)
    assert user.updated_at == rig.clock.now()


async def test_someone_marked_unreachable_who_writes_again_is_reachable(rig: Rig) -> None:
    await rig.circles.touch(PAT)
    async with rig.db.transaction() as session:  # as the sender does on "bot was blocked"
        await session.execute(update(User).values(reachable=False))
    await touch_again(rig, minutes=1)
    assert (await stored(rig)).reachable


# Only SQLite has a writers' turn to skip; on PostgreSQL the test could not fail.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_an_unchanged_name_does_not_wait_for_a_writer(rig: Rig) -> None:
    await rig.circles.touch(PAT)
    async with writer_turn_held(rig.db, update(User).where(User.id == -1).values(reachable=True)):
        await asyncio.wait_for(touch_again(rig), 1.0)
