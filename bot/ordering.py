"""Updates from one chat are handled one at a time, in order; different chats run at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.foreground import Foreground

# PTB's own default for `concurrent_updates(True)`: updates running at once.
MAX_CONCURRENT_UPDATES = 256
# Updates that may be queued behind their chat's turn. PTB's own limit is held while an
# update waits, so it is set this high and the running ones are limited here instead: a
# busy chat's queue must not take the places other chats need.
MAX_WAITING_UPDATES = 100_000


class _Turn:
    """The queue of one chat: a FIFO lock and how many updates are waiting on it."""

    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0


class ChatOrderedProcessor(BaseUpdateProcessor):
    """PTB's update processor, keyed by chat.

    People type fast, and after downtime Telegram hands over a chat's queued messages
    together: run concurrently, "Medicine A", "1 tablet", "08:00" would all be read as the
    first answer. Each chat's updates therefore wait for the one before (asyncio's lock
    wakes waiters in arrival order); updates of other chats don't wait for them. Updates
    without a chat or a user (e.g. a poll's) run at once.

    Hand-written on PTB's own hook (`BaseUpdateProcessor`) because PTB ships only the
    processor that runs everything concurrently.
    """

    def __init__(
        self,
        foreground: Foreground | None = None,
        max_concurrent_updates: int = MAX_CONCURRENT_UPDATES,
    ) -> None:
        super().__init__(MAX_WAITING_UPDATES)
        self._running = asyncio.Semaphore(max_concurrent_updates)
        self._turns: dict[int, _Turn] = {}
        # Updates being handled, for background work to wait for a gap between them.
        self._foreground = foreground or Foreground()

    async def initialize(self) -> None:
        """Nothing to set up: turns are made on demand."""

    async def shutdown(self) -> None:
        """Nothing to free: a turn is dropped when its chat has nothing waiting."""

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = chat_key(update)
        if key is None:
            async with self._running:
                with self._foreground.update():
                    await coroutine
            return
        turn = self._turns.get(key)
        if turn is None:
            turn = self._turns[key] = _Turn()
        turn.users += 1
        try:
            async with turn.lock, self._running:
                with self._foreground.update():
                    await coroutine
        finally:
            turn.users -= 1
            if turn.users == 0:
                del self._turns[key]

    @property
    def chats_waiting(self) -> int:
        """Chats with an update running or queued (for tests and metrics)."""
        return len(self._turns)


def chat_key(update: object) -> int | None:
    """The chat an update belongs to (the person, for a button on an inline message)."""
    if not isinstance(update, Update):
        return None
    if update.effective_chat is not None:
        return update.effective_chat.id
    if update.effective_user is not None:
        return update.effective_user.id
    return None
