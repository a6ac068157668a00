"""A database error never carries what was written or looked up into an exception or a log:
SQL parameters are hidden on every engine, and the driver's own words about a value too."""

from __future__ import annotations

import datetime as dt
import logging
import traceback
from collections.abc import Iterator

import pytest
from sqlalchemy import Integer, bindparam, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from bot.db.models import OutboxMessage
from bot.db.session import Database
from bot.logs import QUIET_LOGGERS, configure_logging

SECRET = "Medicine-Secret-123"
log = logging.getLogger("test.db_errors")


@pytest.fixture
def debug_log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Logging as `LOG_LEVEL=DEBUG` sets it up, captured."""
    names = (*QUIET_LOGGERS, "sqlalchemy.engine")
    saved = {name: logging.getLogger(name).level for name in names}
    caplog.set_level(logging.DEBUG)
    configure_logging("DEBUG")
    yield caplog
    for name, level in saved.items():
        logging.getLogger(name).setLevel(level)


def row(key: str, text: str) -> dict[str, object]:
    now = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    return {
        "key": key,
        "kind": "test",
        "chat_id": 1,
        "op": "send",
        "payload": {"text": text},
        "priority": 1,
        "state": "pending",
        "not_before": now,
        "attempts": 0,
        "created_at": now,
    }


def everything_said(error: BaseException, caplog: pytest.LogCaptureFixture) -> str:
    """The exception as a person reading the log would see it: its text, the whole traceback
    with every chained cause, and everything logged meanwhile (SQL echo at DEBUG included)."""
    log.exception("event=test.failed")  # as the bot's error handler logs it
    told = (str(error), str(getattr(error, "orig", "")), caplog.text)
    return "\n".join((*told, *traceback.format_exception(error)))


async def test_a_failed_insert_never_shows_what_it_was_writing(
    db: Database, debug_log: pytest.LogCaptureFixture
) -> None:
    async with db.transaction() as session:
        await session.execute(insert(OutboxMessage).values(**row("k", "nothing private")))
    with pytest.raises(IntegrityError) as failed:  # the key is taken
        async with db.transaction() as session:
            await session.execute(insert(OutboxMessage).values(**row("k", SECRET)))
    try:
        raise failed.value
    except IntegrityError as error:
        said = everything_said(error, debug_log)
    assert "INSERT INTO outbox" in said  # the statement itself is still there to debug with
    assert SECRET not in said


async def test_a_value_the_driver_refuses_is_not_repeated(
    db: Database, debug_log: pytest.LogCaptureFixture
) -> None:
    """asyncpg checks each parameter against its column's type itself and names the value it
    refused ("invalid input for query argument $1: 'Medicine-…'"); SQLite just finds nothing."""
    by_id = select(OutboxMessage).where(OutboxMessage.id == bindparam("wanted", type_=Integer))
    if db.backend == "sqlite":
        async with db.transaction() as session:
            found = await session.scalar(by_id, {"wanted": SECRET})
        assert found is None
        return
    with pytest.raises(DBAPIError) as failed:
        async with db.transaction() as session:
            await session.execute(by_id, {"wanted": SECRET})
    try:
        raise failed.value
    except DBAPIError as error:
        said = everything_said(error, debug_log)
    assert "invalid input for query argument $1" in said  # still says what went wrong
    assert SECRET not in said


def test_sql_is_not_echoed_even_at_debug(debug_log: pytest.LogCaptureFixture) -> None:
    """Statements, parameters and every row read (health data, which no engine option hides)
    stay out of the log at LOG_LEVEL=DEBUG too: SQLAlchemy's loggers stay at WARNING."""
    assert logging.getLogger().isEnabledFor(logging.DEBUG)
    assert not logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.INFO)


async def test_a_refused_row_is_not_quoted_back(
    db: Database, debug_log: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL details a CHECK or unique violation with the row's own values ("Failing row
    contains (…, Medicine-Secret-123, …)", "Key (key)=(…) already exists")."""
    async with db.transaction() as session:
        await session.execute(insert(OutboxMessage).values(**row(SECRET, "nothing private")))
    with pytest.raises(IntegrityError) as failed:  # the key is taken, and it names the secret
        async with db.transaction() as session:
            await session.execute(insert(OutboxMessage).values(**row(SECRET, "again")))
    try:
        raise failed.value
    except IntegrityError as error:
        said = everything_said(error, debug_log)
    assert SECRET not in said
