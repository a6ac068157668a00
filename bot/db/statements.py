"""Two small things every service needs from a statement, written once for both databases."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession


def rowcount(result: Any) -> int:
    """Rows a conditional UPDATE/DELETE/INSERT changed: 1 means this caller won."""
    return int(getattr(result, "rowcount", 0) or 0)


def dialect_insert(session: AsyncSession) -> Any:
    """The INSERT construct of the session's database, which knows ON CONFLICT."""
    return pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert


def insert_or_ignore(session: AsyncSession, model: Any, **values: Any) -> PgInsert | SqliteInsert:
    """INSERT … ON CONFLICT DO NOTHING in the session's own dialect; without `values`, for
    rows passed to `execute` (one statement for many)."""
    statement: PgInsert | SqliteInsert = dialect_insert(session)(model)
    if values:
        statement = statement.values(**values)
    return statement.on_conflict_do_nothing()
