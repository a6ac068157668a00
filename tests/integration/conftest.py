"""The integration rig as fixtures: the app's services over a migrated, empty database (on
SQLite and on PostgreSQL), a frozen clock, and Pat's circle ready for the tests that need it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clock import FrozenClock
from bot.db.session import Database
from tests.people import ANNA, BEN, ERRI
from tests.rig import Rig, berlin, open_rig


@pytest.fixture
async def rig(db: Database, database_url: str, clock: FrozenClock) -> AsyncIterator[Rig]:
    """The services as `create_services` wires them, on the clock of the `clock` fixture
    (Monday 2 March 2026, 09:00 UTC) and nobody in the database yet."""
    # `db` is asked for so the database starts empty (it is shared on PostgreSQL).
    async with open_rig(database_url, clock) as built:
        yield built


@pytest.fixture
async def family(rig: Rig) -> Rig:
    """Pat, living in Berlin, with Anna and Ben (close family) and Erri (errands); the
    "joined" notices are gone. A module uses it with `pytest.mark.usefixtures("family")`."""
    await rig.patient()
    await rig.join(ANNA, BEN)
    await rig.join(ERRI, access="errand")
    await rig.clear_outbox()
    return rig


@pytest.fixture
def morning(clock: FrozenClock) -> None:
    """The clock at Monday 2 March 2026, 08:00 in Berlin: before the day's tip and check-in."""
    clock.set(berlin(2, 8))
