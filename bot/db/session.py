"""Engine and transactions for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.pool import ConnectionPoolEntry

AFTER_COMMIT = "after_commit"
# The execution option that marks the engine `Database.reading()` hands out sessions from.
READ_ONLY = "carecircle_read_only"
# What a reading transaction may send: its BEGIN, and queries (a WITH or a PRAGMA only if
# it changes nothing: no data-modifying statement in it, no "PRAGMA name = value").
_READS = ("SELECT", "WITH", "BEGIN", "PRAGMA")
_DML = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE|MERGE)\b", re.IGNORECASE)


class WriteInRead(Exception):
    """A statement that writes was sent in a `Database.reading()` transaction (a bug)."""


# asyncpg checks each parameter against its column's type itself and quotes the value it
# refused: "invalid input for query argument $1: 'Oxycodone 10mg' (…)".
_REFUSED_VALUE = re.compile(r"(invalid input for query argument \$\d+[^:]*):.*", re.DOTALL)
# PostgreSQL's own detail of a refused row or key ("Failing row contains (…, Medicine A, …)",
# "Key (name_key)=(medicine a) already exists"): everything from DETAIL on.
_ROW_DETAIL = re.compile(r"(DETAIL:).*", re.DOTALL)


def create_engine(url: str) -> AsyncEngine:
    """An async engine; on SQLite, tuned for several writers in one process.

    What a statement writes or looks up (medication names, need texts) never reaches an error
    message, and so never a log: `hide_parameters` drops the "[parameters: …]" part, and
    `_hide_refused_values` what the driver says about a value.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        engine = create_async_engine(url, pool_pre_ping=True, hide_parameters=True)
        event.listen(engine.sync_engine, "handle_error", _hide_refused_values)
        event.listen(engine.sync_engine, "before_cursor_execute", _refuse_writes_in_reads)
        return engine

    engine = create_async_engine(url, connect_args={"timeout": 30}, hide_parameters=True)
    event.listen(engine.sync_engine, "handle_error", _hide_refused_values)
    event.listen(engine.sync_engine, "before_cursor_execute", _refuse_writes_in_reads)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: ConnectionPoolEntry) -> None:
        # Let us emit BEGIN ourselves (below); the driver's implicit BEGIN is deferred.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        if conn.get_execution_options().get(READ_ONLY):
            # A reader takes no lock: in WAL mode it reads the last commit, whoever writes.
            conn.exec_driver_sql("BEGIN")
            return
        # IMMEDIATE takes the write lock up front, so two transactions that read then write
        # queue on busy_timeout instead of failing with "database is locked" on upgrade.
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _refuse_writes_in_reads(
    conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool
) -> None:
    """A reading transaction that wrote would, on SQLite, write outside the writers' turns
    (and fail outright if another connection committed since it began): refuse it, loudly."""
    if not conn.get_execution_options().get(READ_ONLY):
        return
    head = statement.lstrip()[:6].upper()
    dml = context is not None and (context.isinsert or context.isupdate or context.isdelete)
    if (
        dml
        or not head.startswith(_READS)
        or (head.startswith("WITH") and _DML.search(statement))
        or (head.startswith("PRAGMA") and "=" in statement)
    ):
        raise WriteInRead(statement.split(None, 1)[0])


def _hide_refused_values(context: ExceptionContext) -> None:
    """Rewrite, in place, every message in the error's chain that quotes a parameter."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [
        context.sqlalchemy_exception,
        context.original_exception,
    ]
    while pending:
        error = pending.pop()
        if error is None or id(error) in seen:
            continue
        seen.add(id(error))
        error.args = tuple(_hidden(arg) if isinstance(arg, str) else arg for arg in error.args)
        for name in ("detail", "message"):
            # asyncpg keeps the row's detail as an attribute too (printed by some loggers).
            value = getattr(error, name, None)
            if isinstance(value, str):
                with contextlib.suppress(AttributeError, TypeError):
                    setattr(error, name, _hidden(value) if name == "message" else None)
        pending += [error.__cause__, error.__context__]


def _hidden(text: str) -> str:
    text = _REFUSED_VALUE.sub(r"\1 (the value is not shown)", text)
    return _ROW_DETAIL.sub(r"\1 (the row's values are not shown)", text)


class Database:
    """Owns the engine; hands out one session per unit of work."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = create_engine(url)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # PostgreSQL enforces it too: its transactions are begun READ ONLY.
        server_side = {"postgresql_readonly": True} if self.backend == "postgresql" else {}
        self._readers = async_sessionmaker(
            self.engine.execution_options(**{READ_ONLY: True}, **server_side),
            expire_on_commit=False,
        )
        # SQLite has one writer at a time, and a writer that finds the lock taken sleeps and
        # polls (busy_timeout): a long run of short transactions (a sweep queueing a thousand
        # reminders) can starve the outbox sender for seconds. Within this process they take
        # turns in arrival order instead; other processes still meet busy_timeout.
        self._turns = asyncio.Lock() if self.backend == "sqlite" else None

    @property
    def backend(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """One transaction: committed on success, rolled back on error.

        Callbacks registered with `after_commit` run once the commit has succeeded.
        """
        async with AsyncExitStack() as turn:
            if self._turns is not None:
                await turn.enter_async_context(self._turns)
            async with self._sessions() as session:
                async with session.begin():
                    yield session
                callbacks: list[Callable[[], None]] = session.info.pop(AFTER_COMMIT, [])
        for callback in callbacks:
            callback()

    @asynccontextmanager
    async def reading(self) -> AsyncIterator[AsyncSession]:
        """A transaction that only reads: what someone asks to see (their medication list, a
        medication's details, where they stand). On SQLite it waits for no writer's turn: in
        WAL mode a reader sees the last commit and holds nobody up, so a person looking at
        their list is not queued behind a sweep writing a morning's reminders. A statement
        that writes is refused (WriteInRead); use `transaction` for anything that might."""
        async with self._readers() as session, session.begin():
            yield session
            if session.new or session.dirty or session.deleted:
                raise WriteInRead("changed objects in a reading transaction")

    async def dispose(self) -> None:
        await self.engine.dispose()


def after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Run `callback` after this session's transaction commits (once per callback)."""
    callbacks: list[Callable[[], None]] = session.info.setdefault(AFTER_COMMIT, [])
    if callback not in callbacks:
        callbacks.append(callback)
