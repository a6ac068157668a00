"""Group commit: calls that arrive while one is under way go together in the next.

At the morning peak a thousand messages a second each want a row written (or read); one
transaction for each would hold SQLite's one writer for most of the second. Here the first
call goes at once, alone, and whatever arrives while it runs goes next as one batch. Each
caller returns once its own item is done, or raises its own error: a batch that fails is
tried again in halves, down to the one bad item, so it cannot sink the rest. An error that
says nothing about the items (`isolate` says so: the database is down or locked) fails the
whole batch at once rather than trying each item against a database that is not there.

Hand-written rather than a library: what is batched is a transaction of our own, and the
whole of it is the dozen lines below.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Grouped(Generic[T]):
    """Hands `handle` the items submitted while it was busy, at most `most` at a time."""

    def __init__(
        self,
        handle: Callable[[list[T]], Awaitable[None]],
        *,
        name: str,
        most: int = 500,
        isolate: Callable[[Exception], bool] = lambda error: True,
    ) -> None:
        self._handle = handle
        self._name = name
        self._most = most
        self._isolate = isolate
        self._waiting: list[tuple[T, asyncio.Future[None]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> None:
        """Return once `item` has been handled (raise what handling it raised)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._worker is None:
            self._worker = asyncio.create_task(self._work(), name=self._name)
        # A caller cancelled meanwhile (a sender stopping) still has its item handled.
        await asyncio.shield(future)

    async def drain(self) -> None:
        """Wait until everything submitted so far is handled."""
        while self._worker is not None:
            await asyncio.wait([self._worker])

    async def _work(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[: self._most], self._waiting[self._most :]
                try:
                    await self._run(batch)
                except Exception as error:  # `isolate` itself failed: each caller hears it
                    for _, future in batch:
                        _settle(future, error)
                except BaseException:  # cancelled (shut down): nobody may wait for ever
                    for _, future in batch + self._waiting:
                        future.cancel()
                    self._waiting = []
                    raise
        finally:
            self._worker = None

    async def _run(self, batch: list[tuple[T, asyncio.Future[None]]]) -> None:
        try:
            await self._handle([item for item, _ in batch])
        except Exception as error:
            if len(batch) == 1 or not self._isolate(error):
                for _, future in batch:
                    _settle(future, error)
                return
            half = len(batch) // 2
            await self._run(batch[:half])
            await self._run(batch[half:])
            return
        for _, future in batch:
            _settle(future, None)


def _settle(future: asyncio.Future[None], error: Exception | None) -> None:
    if future.done():  # its caller was cancelled and nobody waits for it
        if error is not None and not future.cancelled():
            future.exception()  # retrieved: no "never retrieved" warning
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
