"""A long write holding the database's writer's turn, as a batch of the morning sweep does:
for tests that what only reads does not queue behind it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import select

from bot.db.session import Database


@asynccontextmanager
async def writer_turn_held(db: Database, write: Any = None) -> AsyncIterator[None]:
    """While the block runs, a transaction that ran `write` (by default a bare SELECT)
    holds the writer's turn (and on SQLite its write lock); it commits when the block ends."""
    holding, release = asyncio.Event(), asyncio.Event()

    async def batch() -> None:
        async with db.transaction() as session:
            await session.execute(write if write is not None else select(1))
            await session.flush()
            holding.set()
            await release.wait()

    task = asyncio.create_task(batch())
    await holding.wait()
    try:
        yield
    finally:
        release.set()
        await task
