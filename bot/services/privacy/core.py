"""Data rights: the service's dependencies, and pruning the outbox."""

from __future__ import annotations

import datetime as dt
import logging

from bot.clock import Clock
from bot.db.session import Database
from bot.notify import Notifier
from bot.services.circles import CircleService
from bot.services.retention import Pruned, prune_outbox

log = logging.getLogger(__package__)  # one logger for the service, named as before the split

DEFAULT_RETENTION = dt.timedelta(days=30)


class _Core:
    """The service's dependencies; the outbox's retention."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        notifier: Notifier,
        circles: CircleService,
        retention: dt.timedelta = DEFAULT_RETENTION,
    ) -> None:
        self._db = db
        self._clock = clock
        self._notifier = notifier
        self._circles = circles
        self._retention = retention

    # --- retention -----------------------------------------------------------------------

    async def prune_outbox(self) -> Pruned:
        """Delete the outbox rows settled longer ago than the retention (bot.services.retention);
        the scheduler runs this daily."""
        return await prune_outbox(self._db, self._clock.now(), self._retention)
