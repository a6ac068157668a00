"""Reminder lateness: how late a scheduled dose's first reminder reached its chat.

A delivery hook (bot.delivery.OnDelivered) that the app wires into the sender, so the sender
itself knows nothing of doses.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from sqlalchemy import select

from bot.db.models import DoseOccurrence
from bot.db.session import Database
from bot.delivery import Delivered, OnDelivered
from bot.grouped import Grouped
from bot.metrics import Metrics

# Its events are the metrics' own: logged under their name, as before this hook existed.
log = logging.getLogger("bot.metrics")

# The first reminder of a scheduled dose, or of doses due together (led by the first one's
# id): bot.services.meds queues them under these keys.
DOSE_REMINDER_KEY = re.compile(r"doses?:(\d+):reminder")
DOSE_REMINDER_KIND = "dose.reminder"


def reminder_lateness(db: Database, metrics: Metrics) -> OnDelivered:
    """A hook observing, for each dose reminder sent, the seconds since its dose was due.

    The due times of reminders sent together are read together (bot.grouped): at a peak
    of a thousand reminders a second, a read of its own for each would hold the database.
    A read taking no writer's turn (Database.reading): at that peak the sweep queueing
    reminders and the sender recording them need every turn there is.
    """

    async def observe_all(sent: list[tuple[int, dt.datetime]]) -> None:
        async with db.reading() as session:
            rows = await session.execute(
                select(DoseOccurrence.id, DoseOccurrence.due_at).where(
                    DoseOccurrence.id.in_({dose_id for dose_id, _ in sent})
                )
            )
            due = {dose_id: due_at for dose_id, due_at in rows.all()}
        for dose_id, at in sent:
            if (due_at := due.get(dose_id)) is not None:
                metrics.reminder_lateness.observe(max(0.0, (at - due_at).total_seconds()))

    reads = Grouped(observe_all, name="reminder-lateness")

    async def observe(delivered: Delivered) -> None:
        if delivered.kind != DOSE_REMINDER_KIND or delivered.op != "send":
            return
        match = DOSE_REMINDER_KEY.fullmatch(delivered.key)
        if match is None:
            return  # a resend after a snooze: its lateness is the snooze's, not the schedule's
        try:
            await reads.submit((int(match[1]), delivered.at))
        except Exception:
            log.warning("event=metrics.lateness_failed", exc_info=True)

    return observe
