"""Migrations go up, down and up again, and agree with the models."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from bot.db.migrate import alembic_config
from bot.db.models import Base
from bot.db.session import create_engine
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
