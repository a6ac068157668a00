"""Shared fixtures: a migrated database on SQLite and (when available) PostgreSQL, a clock."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.clock import FrozenClock
from bot.db.migrate import upgrade_to_head
from bot.db.models import Base
from bot.db.session import Database, create_engine

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
# CI sets this so that an unreachable PostgreSQL fails the run instead of skipping.
REQUIRE_PG = os.environ.get("CARECIRCLE_REQUIRE_POSTGRES") == "1"


def pytest_report_header(config: pytest.Config) -> str:
    if PG_URL:
        shown = make_url(PG_URL).render_as_string(hide_password=True)
        return f"carecircle: PostgreSQL tests use {shown}"
    return "carecircle: PostgreSQL tests will be SKIPPED (TEST_DATABASE_URL is not set)"


def skip_or_fail_pg(reason: str) -> None:
    if REQUIRE_PG:
        pytest.fail(f"PostgreSQL required (CARECIRCLE_REQUIRE_POSTGRES=1): {reason}")
    pytest.skip(f"PostgreSQL tests skipped: {reason}")


async def _admin(url: str, statement: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """TEST_DATABASE_URL, normalised to the async driver, or a skip with the reason."""
    if not PG_URL:
        skip_or_fail_pg("TEST_DATABASE_URL is not set (.ci/run sets it)")
    url = make_url(PG_URL)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+asyncpg")
    try:
        asyncio.run(_admin(url.render_as_string(hide_password=False), "SELECT 1"))
    except Exception as error:
        skip_or_fail_pg(f"cannot reach {url.render_as_string(hide_password=True)}: {error}")
    return url.render_as_string(hide_password=False)


def fresh_pg_database(server_url: str) -> Iterator[str]:
    """Create an empty database just for this use and drop it afterwards."""
    name = f"carecircle_test_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_migrated_url(pg_server_url: str) -> Iterator[str]:
    """One migrated PostgreSQL database per test run; tests empty it between them."""
    for url in fresh_pg_database(pg_server_url):
        upgrade_to_head(url)
        yield url


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file, copied for each test (cheaper than migrating each time)."""
    path = tmp_path_factory.mktemp("template") / "carecircle.db"
    upgrade_to_head(f"sqlite+aiosqlite:///{path}")
    return path


def sqlite_copy(template: Path, directory: Path) -> str:
    path = directory / "carecircle.db"
    shutil.copy(template, path)
    return f"sqlite+aiosqlite:///{path}"


async def empty_tables(db: Database) -> None:
    names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    async with db.transaction() as session:
        await session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database's URL, once per backend."""
    if request.param == "sqlite":
        return sqlite_copy(request.getfixturevalue("sqlite_template"), tmp_path)
    url: str = request.getfixturevalue("pg_migrated_url")
    return url


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    if database.backend == "postgresql":
        await empty_tables(database)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The long tests first — end to end, browser, property tests: started early they
    overlap the many short ones instead of trailing after them (the Makefile's xdist
    `worksteal` then lets an idle worker take tests queued behind a long one)."""
    items.sort(key=lambda item: 0 if _long(item) else 1)


def _long(item: pytest.Item) -> bool:
    return item.path.parent.name in ("e2e", "browser") or item.path.stem.endswith("properties")
