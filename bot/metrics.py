"""Prometheus metrics: updates handled, notifications by outcome, the outbox, reminder lateness,
handler and Bot API errors, and the process itself (memory, CPU, open files).

Each process builds its own registry (never prometheus_client's global one), so tests can build
applications over and over. Outbox gauges are computed when /metrics is scraped, from one query
over the outbox's due index; nothing here counts rows in the background.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import time
from collections.abc import Callable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    disable_created_metrics,
)
from sqlalchemy import case, func, select
from telegram import Update

from bot.db.models import OutboxMessage, OutboxState
from bot.db.session import Database

log = logging.getLogger(__name__)

UPDATE_KINDS = ("message", "callback", "other")
# From "on the minute" to "after a long outage" (late reminders are sent up to the grace window).
LATENESS_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 1800, 3600, 7200)
WAITING = (OutboxState.PENDING, OutboxState.SENDING)


def update_kind(update: Update) -> str:
    if update.message is not None or update.edited_message is not None:
        return "message"
    if update.callback_query is not None:
        return "callback"
    return "other"


class Metrics:
    """The process's instruments, in a registry of its own."""

    def __init__(self, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        # No `*_created` series: in the text format they only double what Prometheus scrapes.
        disable_created_metrics()  # type: ignore[no-untyped-call]
        self.registry = CollectorRegistry(auto_describe=True)
        self._monotonic = monotonic
        self._newest_update: float | None = None
        # process_resident_memory_bytes, process_cpu_seconds_total, process_open_fds …
        ProcessCollector(registry=self.registry)
        self.updates = Counter(
            "carecircle_updates",
            "Telegram updates handled, by kind (message, callback, other).",
            ["kind"],
            registry=self.registry,
        )
        for kind in UPDATE_KINDS:
            self.updates.labels(kind)
        self.sent = Counter(
            "carecircle_notifications_sent",
            "Notifications delivered (sent or edited), by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.retried = Counter(
            "carecircle_notifications_retried",
            "Notification attempts that failed for now and were queued again, by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.failed = Counter(
            "carecircle_notifications_failed",
            "Notifications given up on (blocked, refused, unreachable, out of attempts), by kind.",
            ["kind"],
            registry=self.registry,
        )
        self.webhook_refused = Counter(
            "carecircle_webhook_refused",
            "Webhook requests refused for a missing or wrong secret token.",
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "carecircle_outbox_depth",
            "Notifications not yet delivered: due now, or held until later (quiet hours, backoff).",
            ["due"],
            registry=self.registry,
        )
        self.outbox_oldest_age = Gauge(
            "carecircle_outbox_oldest_age_seconds",
            "How long the oldest notification that is due has waited past its send time.",
            registry=self.registry,
        )
        # Observed by bot.reminder_metrics, a delivery hook the app wires into the sender.
        self.reminder_lateness = Histogram(
            "carecircle_reminder_lateness_seconds",
            "Seconds from a scheduled dose's time to the delivery of its reminder.",
            buckets=LATENESS_BUCKETS,
            registry=self.registry,
        )
        self.newest_update_age = Gauge(
            "carecircle_newest_update_age_seconds",
            "Seconds since the newest Telegram update arrived (NaN before the first).",
            registry=self.registry,
        )
        self.newest_update_age.set_function(self._update_age)
        self.handler_errors = Counter(
            "carecircle_handler_errors",
            "Updates whose handler raised, by exception class (Forbidden: the person blocked us).",
            ["error"],
            registry=self.registry,
        )
        self.botapi_errors = Counter(
            "carecircle_botapi_errors",
            "Bot API calls that failed, by method and code: the HTTP status, or network, "
            "timeout, pool_timeout when no answer came.",
            ["method", "code"],
            registry=self.registry,
        )
        # Its value comes from the BotApiMonitor (bot.botapi), which sets the function.
        self.botapi_unreachable = Gauge(
            "carecircle_botapi_unreachable_seconds",
            "How long the Bot API has answered nothing (or only 5xx); 0 while it answers.",
            registry=self.registry,
        )

    # --- recording ------------------------------------------------------------------------

    def update_handled(self, kind: str) -> None:
        self.updates.labels(kind if kind in UPDATE_KINDS else "other").inc()
        self._newest_update = self._monotonic()

    def _update_age(self) -> float:
        if self._newest_update is None:
            return math.nan
        return self._monotonic() - self._newest_update

    def handler_failed(self, error: BaseException) -> None:
        self.handler_errors.labels(type(error).__name__).inc()

    def botapi_error(self, method: str, code: str) -> None:
        self.botapi_errors.labels(method, code).inc()

    def notification_sent(self, kind: str) -> None:
        self.sent.labels(kind).inc()

    def notification_retried(self, kind: str) -> None:
        self.retried.labels(kind).inc()

    def notification_failed(self, kind: str, count: int = 1) -> None:
        self.failed.labels(kind).inc(count)

    # --- scraping -------------------------------------------------------------------------

    async def refresh_outbox(
        self, db: Database, now: dt.datetime, wait_seconds: float = 2.0
    ) -> None:
        """Set the outbox gauges from one query over unsent rows (the due index's `state`)."""
        is_due = OutboxMessage.not_before <= now
        statement = select(
            func.count(),
            func.coalesce(func.sum(case((is_due, 1), else_=0)), 0),
            func.min(case((is_due, OutboxMessage.not_before), else_=None)),
        ).where(OutboxMessage.state.in_(WAITING))

        async def query() -> tuple[int, int, dt.datetime | str | None]:
            async with db.transaction() as session:
                waiting, due, oldest = (await session.execute(statement)).one()
            return int(waiting), int(due), oldest

        try:
            waiting, due, oldest = await asyncio.wait_for(query(), wait_seconds)
        except Exception as error:
            # Unknown is not zero: a scrape during a database outage shows gaps, not calm.
            log.warning("event=metrics.outbox_failed error=%s", type(error).__name__)
            for value in ("now", "later"):
                self.outbox_depth.labels(value).set(math.nan)
            self.outbox_oldest_age.set(math.nan)
            return
        self.outbox_depth.labels("now").set(due)
        self.outbox_depth.labels("later").set(waiting - due)
        self.outbox_oldest_age.set(_age(oldest, now))


def _age(oldest: dt.datetime | str | None, now: dt.datetime) -> float:
    if oldest is None:
        return 0.0
    if isinstance(oldest, str):  # SQLite hands aggregates back untyped
        oldest = dt.datetime.fromisoformat(oldest)
    if oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=dt.UTC)
    return max(0.0, (now - oldest).total_seconds())
