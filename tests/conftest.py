"""Shared fixtures: a migrated database on SQLite and (when available) PostgreSQL, a clock."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

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


def fresh_pg_database(server_url: str, template: str | None = None) -> Iterator[str]:
    """Create an empty database (or a copy of `template`, a database nobody is connected
    to) just for this use and drop it afterwards."""
    name = f"carecircle_test_{uuid.uuid4().hex[:12]}"
    copy = f' TEMPLATE "{template}"' if template else ""
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"{copy}'))
    # A commit need not wait for its WAL to reach the disk: only a crash of the server could
    # lose one, and a test database outlives no crash. What sessions see is unchanged.
    asyncio.run(_admin(server_url, f'ALTER DATABASE "{name}" SET synchronous_commit TO off'))
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


# Seconds the slowest tests take, each run, on the 2-core CI machine under `make test`
# (measured with --durations). They only set the order below: a stale figure costs time,
# never a result. Most wait for a real wall-clock minute or a real outage; the properties
# run many examples. By folder/file, then test (with its parameter: that run only).
SLOW_SECONDS: dict[str, dict[str, float]] = {
    "e2e/test_outage.py": {
        "test_an_outage_over_a_burst_of_reminders_and_offers_loses_nothing": 130,
    },
    "e2e/test_fuzz.py": {"test_thousands_of_random_updates": 120},
    "browser/test_playground.py": {
        "test_a_reminder_waits_out_an_outage_and_arrives_once": 85,
        "test_a_reminder_arrives_on_its_minute_and_taken_edits_it": 57,
    },
    "e2e/test_meds.py": {
        "test_a_reminder_on_the_minute_once_across_a_restart_then_the_family_hears": 75,
    },
    "e2e/test_delivery.py": {
        "test_500_due_at_once_stay_within_telegrams_limits": 25,
        "test_faults_lose_nothing_and_double_nothing": 60,
    },
    "e2e/test_replicas.py": {
        "test_killing_the_leader_loses_nothing_and_doubles_nothing[postgresql]": 70,
    },
    "e2e/test_recovery.py": {"test_daily_tip_and_checkin_arrive_once_across_a_restart": 60},
    "e2e/test_bench_smoke.py": {
        "test_peak_reminds_each_patient_once_grouped_and_paid_goes_paid": 45,
    },
    "e2e/test_operations.py": {"test_a_second_poller_is_named_as_the_cause": 25},
    "integration/test_dose_group_properties.py": {
        "test_a_grouped_reminder_keeps_every_dose_safe": 50,
    },
    "integration/test_reminder_batch_properties.py": {
        "test_patients_reminded_together_get_what_each_would_alone": 30,
    },
    "integration/test_conversation.py": {
        "test_the_walkthrough_moves_one_step_per_accepted_answer": 40,
    },
    "integration/test_outage.py": {
        "test_a_dose_missed_during_the_outage_is_not_reminded_late_but_family_hears": 35,
        "test_a_six_minute_outage_during_a_burst_loses_nothing": 20,
        "test_an_outage_past_the_nudge_sends_the_late_reminder_without_a_nudge": 20,
    },
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slowest first (measured above), so none starts late or trails after the rest;
    then the other long tests — end to end, browser, property tests — spread among the quick
    ones. A journey mostly waits (on its bot, on Telegram's one message a second per chat),
    a quick test keeps the CPU busy: side by side the machine is used, while a run of
    journeys alone left it half idle. With `--dist load`, `LongestFirst` below hands the
    tests out in this order."""
    slow = sorted((i for i in items if measured_seconds(i)), key=lambda i: -measured_seconds(i))
    long = [i for i in items if not measured_seconds(i) and _long(i)]
    quick = [i for i in items if not measured_seconds(i) and not _long(i)]
    items[:] = slow + _spread(long, quick)


def measured_seconds(item: pytest.Item) -> float:
    """How long the test took, if it is one of the slowest measured above (else 0)."""
    measured = SLOW_SECONDS.get(f"{item.path.parent.name}/{item.path.name}", {})
    for name in (item.name, getattr(item, "originalname", item.name)):
        if name in measured:
            return measured[name]
    return 0


def _long(item: pytest.Item) -> bool:
    return item.path.parent.name in ("e2e", "browser") or item.path.stem.endswith("properties")


def _expected_seconds(item: pytest.Item) -> float:
    """Rough, by kind: a journey ~15 s, a test on PostgreSQL ~2 s, on SQLite ~1 s."""
    if _long(item):
        return 15
    if item.path.parent.name == "unit":
        return 0.1
    return 2 if "postgresql" in item.name else 1


def _spread(long: list[pytest.Item], quick: list[pytest.Item]) -> list[pytest.Item]:
    """Both lists merged, each in its order, so that the long tests are spread over the
    quick ones by expected time, the last of them starting when about three quarters of
    the quick ones' time is done: what follows is quick, so the run ends together."""
    long_total = sum(map(_expected_seconds, long)) or 1
    quick_total = sum(map(_expected_seconds, quick)) or 1
    merged: list[pytest.Item] = []
    long_done = quick_done = 0.0
    i = j = 0
    while i < len(long) or j < len(quick):
        if j == len(quick) or (
            i < len(long) and long_done / long_total <= 1.3 * quick_done / quick_total
        ):
            merged.append(long[i])
            long_done += _expected_seconds(long[i])
            i += 1
        else:
            merged.append(quick[j])
            quick_done += _expected_seconds(quick[j])
            j += 1
    return merged


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`--dist load` deals the tests longest first (see `LongestFirst`)."""
    if config.getvalue("dist") != "load":
        return None
    from xdist.scheduler import LoadScheduling

    class LongestFirst(LoadScheduling):  # type: ignore[misc]
        """xdist's `load`, one test at a time, in the collected order (longest first).

        A worker always holds the test it will run after the current one, so the first two
        rounds are dealt by hand: round one gives each worker one of the N longest tests,
        round two the next N in reverse, pairing the longest with the shortest of those.
        After that, each worker that finishes a test takes the next one in the order.
        """

        def __init__(self, config: pytest.Config, log: Any = None) -> None:
            super().__init__(config, log)
            self.maxschedchunk = 1

        def schedule(self) -> None:
            if self.collection is not None or not self._check_nodes_have_same_collection():
                super().schedule()  # a late worker, or collections differ: as xdist does
                return
            self.collection = next(iter(self.node2collection.values()))
            self.pending[:] = range(len(self.collection))
            for dealt in (self.nodes, self.nodes[::-1]):
                for node in dealt:
                    if self.pending:
                        self._send_tests(node, 1)
            if not self.pending:
                for node in self.nodes:
                    node.shutdown()

    return LongestFirst(config, log)
