"""Reminder lateness: how late a scheduled dose's first reminder reached its chat.

A delivery hook (bot.delivery.OnDelivered) that the app wires into the sender, so the sender
itself knows nothing of doses.
"""

from __future__ import annotations

import logging
import re

from sqlalchemy import select

from bot.db.models import DoseOccurrence
from bot.db.session import Database
from bot.delivery import Delivered, OnDelivered
from bot.metrics import Metrics

# Its events are the metrics' own: logged under their name, as before this hook existed.
log = logging.getLogger("bot.metrics")

# The first reminder of a scheduled dose, or of doses due together (led by the first one's
# id): bot.services.meds queues them under these keys.
DOSE_REMINDER_KEY = re.compile(r"doses?:(\d+):reminder")
DOSE_REMINDER_KIND = "dose.reminder"


def reminder_lateness(db: Database, metrics: Metrics) -> OnDelivered:
    """A hook observing, for each dose reminder sent, the seconds since its dose was due."""

    async def observe(delivered: Delivered) -> None:
        if delivered.kind != DOSE_REMINDER_KIND or delivered.op != "send":
            return
        match = DOSE_REMINDER_KEY.fullmatch(delivered.key)
        if match is None:
            return  # a resend after a snooze: its lateness is the snooze's, not the schedule's
        try:
            async with db.transaction() as session:
                due = await session.scalar(
                    select(DoseOccurrence.due_at).where(DoseOccurrence.id == int(match[1]))
                )
        except Exception:
            log.warning("event=metrics.lateness_failed", exc_info=True)
            return
        if due is not None:
            metrics.reminder_lateness.observe(max(0.0, (delivered.at - due).total_seconds()))

    return observe
