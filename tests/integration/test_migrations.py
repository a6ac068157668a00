"""Migrations go up, down and up again, and agree with the models."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import JSON, bindparam, inspect, text
from sqlalchemy.exc import IntegrityError

from bot.db.migrate import alembic_config, at_head, head_revision
from bot.db.models import Base
from bot.db.session import Database, create_engine
from bot.db.types import UTCDateTime
from tests.conftest import fresh_pg_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    else:
        yield from fresh_pg_database(request.getfixturevalue("pg_server_url"))


async def differences(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), Base.metadata)
            )
    finally:
        await engine.dispose()


async def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def test_upgrade_downgrade_upgrade_on_an_empty_database(empty_database_url: str) -> None:
    config = alembic_config(empty_database_url)
    # Alembic's env runs its own event loop, so it gets a thread of its own here.
    await asyncio.to_thread(command.upgrade, config, "head")
    assert {t.name for t in Base.metadata.sorted_tables} <= await table_names(empty_database_url)
    await asyncio.to_thread(command.downgrade, config, "base")
    assert await table_names(empty_database_url) <= {"alembic_version"}
    await asyncio.to_thread(command.upgrade, config, "head")
    assert await differences(empty_database_url) == []


async def test_models_and_migrations_agree(database_url: str) -> None:
    assert await differences(database_url) == []


# --- label limits: the database refuses what no label says (revision 0010) --------------------

_AT = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
_ADD_PATIENT = [
    text(
        "INSERT INTO users (id, first_name, reachable, created_at, updated_at) "
        "VALUES (1, 'Pat', :yes, :at, :at)"
    ),
    text("INSERT INTO circles (id, patient_id, created_at) VALUES (1, 1, :at)"),
]
_ADD_MED = text(
    "INSERT INTO medications (circle_id, name, name_key, dose, kind, times, "
    "max_per_24h, min_hours_between, paused, created_by, created_at, updated_at) "
    "VALUES (1, :name, :name, '1 tablet', 'as_needed', :times, :max, :gap, :no, 1, :at, :at)"
).bindparams(bindparam("at", type_=UTCDateTime()), bindparam("times", type_=JSON()))


async def _run(url: str, statements: list[tuple[Any, dict[str, Any]]]) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as conn:
            for statement, values in statements:
                await conn.execute(statement, values)
    finally:
        await engine.dispose()


def _med(name: str, max_per_24h: int | None, gap: float | None) -> tuple[Any, dict[str, Any]]:
    values = {"name": name, "times": [], "max": max_per_24h, "gap": gap, "no": False, "at": _AT}
    return _ADD_MED, values


async def _patient(url: str) -> None:
    for statement in _ADD_PATIENT:
        statement = statement.bindparams(bindparam("at", type_=UTCDateTime()))
        await _run(url, [(statement, {"yes": True, "at": _AT})])


@pytest.mark.parametrize(
    "max_per_24h, gap", [(0, None), (-1, None), (None, 0.0), (None, -2.5), (0, 0.0)]
)
async def test_the_database_refuses_impossible_label_limits(
    db: Database, max_per_24h: int | None, gap: float | None
) -> None:
    await _patient(db.url)
    await _run(db.url, [_med("fine", 1, 0.25)])
    with pytest.raises(IntegrityError) as refused:
        await _run(db.url, [_med("impossible", max_per_24h, gap)])
    assert "ck_medications_" in str(refused.value)


async def test_the_upgrade_clears_impossible_limits_already_stored(
    empty_database_url: str,
) -> None:
    config = alembic_config(empty_database_url)
    await asyncio.to_thread(command.upgrade, config, "0009")
    await _patient(empty_database_url)
    rows = [("a", 0, 0.0), ("b", -3, -1.0), ("c", 4, 6.0), ("d", None, 0.5), ("e", 2, None)]
    await _run(empty_database_url, [_med(*row) for row in rows])

    await asyncio.to_thread(command.upgrade, config, "0010")
    engine = create_engine(empty_database_url)
    try:
        async with engine.connect() as conn:
            stored = await conn.execute(
                text("SELECT name, max_per_24h, min_hours_between FROM medications ORDER BY name")
            )
            assert [tuple(r) for r in stored] == [
                ("a", None, None),  # a stored 0 can no longer reach the label check
                ("b", None, None),
                ("c", 4, 6.0),
                ("d", None, 0.5),
                ("e", 2, None),
            ]
    finally:
        await engine.dispose()
    with pytest.raises(IntegrityError):
        await _run(empty_database_url, [_med("f", 0, None)])
    # And back down: the constraints go, the values stay.
    await asyncio.to_thread(command.downgrade, config, "0009")
    await _run(empty_database_url, [_med("g", 0, None)])


def test_the_head_read_from_the_scripts_is_alembics_head() -> None:
    assert head_revision() == ScriptDirectory.from_config(alembic_config()).get_current_head()


async def test_a_start_skips_the_migration_only_when_the_database_is_at_head(
    empty_database_url: str,
) -> None:
    # at_head runs its own event loop (before the bot's starts), so a thread here.
    assert not await asyncio.to_thread(at_head, empty_database_url)  # nothing there yet
    config = alembic_config(empty_database_url)
    await asyncio.to_thread(command.upgrade, config, "0015")
    assert not await asyncio.to_thread(at_head, empty_database_url)  # behind
    await asyncio.to_thread(command.upgrade, config, "head")
    assert await asyncio.to_thread(at_head, empty_database_url)
    unreachable = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    assert not await asyncio.to_thread(at_head, unreachable)  # the child will say why
