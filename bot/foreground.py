"""People before background work on the one event loop this process has.

The morning's sweep queues thousands of reminders, twenty patients at a time, each batch a
few milliseconds of CPU on the loop that also answers people. Run back to back, those
batches make someone opening /meds at 08:00 wait behind them. So the sweep waits, between
batches, for a moment when no update is being handled: at most GAP_WAIT, and at most half as
long as its last batch took, so that a steady stream of updates slows the queueing down by a
third at most but never stops it (reminders are urgent too). An update waiting on Telegram
counts as being handled although it uses no CPU meanwhile; that bound keeps it from costing
the sweep more than that third.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterator

# The longest a batch of background work waits for a gap between people's updates.
GAP_WAIT = 0.05
# No update for this long: nobody is being answered, and background work may go in bigger
# batches (fewer, longer turns at the database's writer).
QUIET_AFTER = 1.0


class Foreground:
    """How many updates are being handled right now, and waiting for none to be."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._serving = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._last_end = monotonic() - QUIET_AFTER
        self._last_gap: float | None = None  # when background work last came back from one

    @property
    def serving(self) -> int:
        return self._serving

    @contextlib.contextmanager
    def update(self) -> Iterator[None]:
        """Around the handling of one update."""
        self._serving += 1
        self._idle.clear()
        try:
            yield
        finally:
            self._serving -= 1
            self._last_end = self._monotonic()
            if not self._serving:
                self._idle.set()

    def quiet(self) -> bool:
        """No update is being handled, and none ended within the last QUIET_AFTER seconds."""
        return not self._serving and self._monotonic() - self._last_end >= QUIET_AFTER

    async def gap(self, at_most: float = GAP_WAIT) -> None:
        """Return once no update is being handled, or after `at_most` seconds, or half the
        time since the last call returned (the batch in between), whichever comes first.
        Meant for one background worker at a time (the scheduler runs one sweep at a time)."""
        now = self._monotonic()
        if self._last_gap is not None:
            at_most = min(at_most, (now - self._last_gap) / 2)
        try:
            if self._serving and at_most > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._idle.wait(), at_most)
        finally:
            self._last_gap = self._monotonic()
