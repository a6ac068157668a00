"""A flood-control timer that tests move by hand; waiting on it moves it instead of sleeping."""

from __future__ import annotations

import asyncio


class Ticks:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)
