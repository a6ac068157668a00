"""The outbox sender: delivers queued notifications within Telegram's limits, safely.

claim (conditional update, with a lease) → commit → send → record the message id. A crash
after a send and before its record can repeat that send once its lease runs out (records of
sends that end together are written together, so at most the sends then in flight); it can
never repeat a batch, and nothing queued is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from telegram.error import RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot.clock import Clock
from bot.db.models import OutboxState
from bot.db.session import Database
from bot.delivery import calls, outbox
from bot.delivery.outbox import NETWORK_ERROR, Job
from bot.delivery.policy import Action, DeliveryPolicy, Failure, classify, in_outage, relevant
from bot.events import log_event
from bot.metrics import Metrics
from bot.notify import SKIP_MESSAGE_ID, message_at, relevant_until
from bot.ratelimit import FloodControl, Hold, TooLate, retry_after_seconds

log = logging.getLogger(__package__)

INTERNAL_ERROR = "internal error"
NO_LONGER_RELEVANT = "no longer relevant"


@dataclass(frozen=True)
class SenderConfig:
    """Tuning for the sender; defaults suit one process talking to the real Telegram."""

    # Enough sends in flight to keep ~30/s going at real Telegram's latency.
    concurrency: int = 8
    # Messages claimed at once, then sent one per flood slot (a third of a second at 30/s).
    claim_ahead: int = 10
    batch: int = 100
    poll_seconds: float = 1.0
    # A claimed message not recorded within this time is sent again (its sender died).
    lease: dt.timedelta = dt.timedelta(seconds=60)
    # Tries a message gets at a Telegram that answers others (an outage uses none up); one
    # that says until when it matters is tried until then instead.
    max_attempts: int = 10
    max_backoff_seconds: float = 30.0
    # While the Bot API is down the sender probes, up to this pause apart.
    max_outage_pause_seconds: float = 15.0
    # Kinds sent with allow_paid_broadcast, on the flood budget's paid lane (PAID_BROADCAST).
    paid_kinds: frozenset[str] = frozenset()

    @property
    def policy(self) -> DeliveryPolicy:
        return DeliveryPolicy(
            max_attempts=self.max_attempts,
            max_backoff_seconds=self.max_backoff_seconds,
            max_outage_pause_seconds=self.max_outage_pause_seconds,
        )


@dataclass(frozen=True)
class Delivered:
    """A message Telegram has taken, as the sender's `on_delivered` hooks see it."""

    kind: str
    key: str
    op: str  # "send" or "edit"
    at: dt.datetime


# Told of each message Telegram took (metrics, say); the sender knows nothing of what it was.
OnDelivered = Callable[[Delivered], Awaitable[None]]


class OutboxSender:
    """Drains the outbox in priority order, one task per message in flight."""

    def __init__(
        self,
        db: Database,
        bot: ExtBot[Any],
        flood: FloodControl,
        clock: Clock,
        *,
        on_unreachable: Callable[[int], Awaitable[None]],
        config: SenderConfig | None = None,
        metrics: Metrics | None = None,
        on_delivered: Sequence[OnDelivered] = (),
    ) -> None:
        self._db = db
        self._recorder = outbox.Recorder(db)
        self._bot = bot
        self._flood = flood
        self._clock = clock
        self._on_unreachable = on_unreachable
        self._config = config or SenderConfig()
        self._policy = self._config.policy
        self._metrics = metrics or Metrics()
        self._on_delivered = tuple(on_delivered)
        self._wakeup = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._inflight: dict[int, asyncio.Task[None]] = {}
        # Chats with a message claimed by this process and not yet finished.
        self._inflight_chats: set[int] = set()
        # The next batch, being claimed while the current one is sent.
        self._prefetch: asyncio.Task[tuple[list[Job], float]] | None = None
        self._slots = asyncio.Semaphore(self._config.concurrency)
        # Network errors in a row: while the Bot API is unreachable, one probe at a time.
        self._network_failures = 0

    @property
    def in_outage(self) -> bool:
        """Every send lately failed for want of an answer: the Bot API is down."""
        return in_outage(self._network_failures)

    def wake(self) -> None:
        """Something new is queued: look now rather than at the next poll."""
        self._wakeup.set()

    async def start(self) -> None:
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="outbox-sender")

    async def stop(self, drain_seconds: float = 10.0) -> None:
        """Stop taking new work and let the sends in flight finish (drain)."""
        self._stopping = True
        self._wakeup.set()
        if self._task is not None:
            # Sends stuck on a locked database may hold every place: cancelled after a drain.
            if not (await asyncio.wait({self._task}, timeout=drain_seconds))[0]:
                await self.wait_inflight(0)
            if not (await asyncio.wait({self._task}, timeout=drain_seconds))[0]:
                self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._prefetch is not None:  # claimed for the next batch, not sent: back it goes
            prefetch, self._prefetch = self._prefetch, None
            with contextlib.suppress(Exception):
                jobs, _ = await prefetch
                await self._release(jobs)
        await self.wait_inflight(drain_seconds)
        await self._recorder.drain()

    async def wait_inflight(self, timeout_seconds: float = 10.0) -> None:
        """Wait for the sends in flight; those still going after the timeout are cancelled
        (their rows keep their lease and are picked up again after it)."""
        if self._inflight:
            tasks = list(self._inflight.values())
            _, pending = await asyncio.wait(tasks, timeout=timeout_seconds)
            for task in pending:
                task.cancel()

    async def _run(self) -> None:
        while not self._stopping:
            try:
                pause = await self.dispatch_once()
            except Exception:
                log.exception("event=outbox.dispatch_failed")
                pause = self._config.poll_seconds
            if pause > 0 and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wakeup.wait(), timeout=pause)
            self._wakeup.clear()

    async def dispatch_once(self) -> float:
        """Claim a small batch of what is due and send each one at its slot.

        Claiming ahead (a fraction of a second's worth) keeps database round trips off the
        slot timing; a small batch lets a new reminder overtake queued tips soon. The next
        batch is claimed while this one's second half waits: no slot is left unused.
        Returns seconds until the next look.
        """
        if self._prefetch is not None:
            prefetch, self._prefetch = self._prefetch, None
            jobs, wait = await prefetch
        else:
            jobs, wait = await self._next_batch()
        for index, job in enumerate(jobs):
            if index > 0 and self.in_outage:
                await self._release(jobs[index:])  # Telegram went down: one probe at a time
                break
            if index == self._config.claim_ahead // 2 and not self._stopping and not self.in_outage:
                self._prefetch = asyncio.create_task(self._next_batch(), name="outbox-claim")
            paid = self._paid(job)
            await self._slots.acquire()  # before the slot: no chat held while others finish
            try:
                hold = await self._flood.wait_for_slot(
                    job.chat_id, lambda: self._stopping, paid=paid
                )
            except BaseException:
                self._slots.release()
                raise
            if hold is None or self._send_window(job) < 0:
                # Stopping, or a 429 pause kept them past half their lease (another sender
                # may take them after it): unsent claims go back.
                if hold is not None:
                    self._flood.release_chat(hold)
                self._slots.release()
                await self._release(jobs[index:])
                break
            task = asyncio.create_task(self._deliver(job), name=f"outbox-{job.id}")
            self._inflight[job.id] = task
            task.add_done_callback(functools.partial(self._done, job, hold))
        return 0.0 if jobs else wait

    async def _next_batch(self) -> tuple[list[Job], float]:
        """Choose and claim the next few messages; with none, how long until the next look.

        A claimed message's chat counts as busy from here on, so the next batch, claimed
        while this one is still being sent, never takes a second message for the same chat.
        """
        now = self._clock.now()
        rows = await outbox.due_heads(self._db, now, self._config.batch)
        if not rows:
            return [], await outbox.seconds_until_next(self._db, now, self._config.poll_seconds)
        chosen, unreachable, wait = self._choose(rows)
        if unreachable and await self._skip_unreachable(unreachable) < len(unreachable):
            wait = 0.0  # someone wrote to us again since the read: look again at once
        jobs = []
        for job in await outbox.claim(self._db, chosen, now, self._config.lease):
            if relevant(relevant_until(job.payload), now):
                jobs.append(job)
            else:
                await self._drop(job)  # waited out its use (an outage): it goes nowhere
                wait = 0.0  # its chat's next message may be due: look again at once
        self._inflight_chats.update(job.chat_id for job in jobs)
        return jobs, wait

    def _choose(
        self, rows: list[tuple[int, int, bool | None]]
    ) -> tuple[list[int], list[int], float]:
        """Pick the rows to send next: priority order, one per chat, chats that may get one."""
        chosen: list[int] = []
        unreachable: list[int] = []
        seen: set[int] = set()
        wait = self._config.poll_seconds
        limit = self._policy.claim_limit(self._network_failures, self._config.claim_ahead)
        for row_id, chat_id, reachable in rows:
            if chat_id in seen:
                continue  # one at a time per chat keeps a chat's messages in order
            seen.add(chat_id)
            if reachable is False:
                unreachable.append(row_id)
            elif chat_id not in self._inflight_chats:
                chat_wait = self._flood.chat_wait(chat_id)
                if chat_wait > 0:
                    wait = min(wait, chat_wait)
                else:
                    chosen.append(row_id)
                    if len(chosen) >= limit:
                        break
        return chosen, unreachable, wait

    def _lease_left(self, job: Job) -> float:
        """Seconds this claim stays ours (one claimed without a lease, in tests: a whole one)."""
        if job.lease_until is None:
            return self._config.lease.total_seconds()
        return max(0.0, (job.lease_until - self._clock.now()).total_seconds())

    def _send_window(self, job: Job) -> float:
        """Seconds a claimed message may still wait to go: its send must start in the first
        half of the lease, so that its record has the second half, or another sender could
        take it again and send it twice (negative: too late)."""
        return self._lease_left(job) - self._config.lease.total_seconds() / 2

    def _done(self, job: Job, hold: Hold, _task: asyncio.Task[None]) -> None:
        self._inflight.pop(job.id, None)
        self._inflight_chats.discard(job.chat_id)
        self._flood.release_chat(hold)  # held since its slot (wait_for_slot)
        self._slots.release()
        self._wakeup.set()

    # --- database steps (bot.delivery.outbox) --------------------------------------------

    async def _finish(
        self,
        job: Job,
        state: OutboxState,
        *,
        error: str | None = None,
        message_id: int | None = None,
        retry_at: dt.datetime | None = None,
        refund_attempt: bool = False,
    ) -> None:
        await self._recorder.record(
            outbox.Finish(
                job,
                state,
                sent_at=self._clock.now() if state == OutboxState.SENT else None,
                error=error,
                message_id=message_id,
                retry_at=retry_at,
                refund_attempt=refund_attempt,
            )
        )

    async def _release(self, jobs: list[Job]) -> None:
        """Hand claimed but unsent messages back to the queue (one transaction)."""
        try:
            await asyncio.gather(
                *(self._finish(job, OutboxState.PENDING, refund_attempt=True) for job in jobs)
            )
        finally:  # a record that failed keeps its lease; its chat must not stay busy here
            self._inflight_chats.difference_update(job.chat_id for job in jobs)

    async def _skip_unreachable(self, ids: list[int]) -> int:
        """Settle unsent the messages of people marked unreachable; how many were."""
        kinds = await outbox.finish_many(
            self._db, ids, OutboxState.FAILED, "unreachable", unreachable=True
        )
        for kind in kinds:
            self._metrics.notification_failed(kind)
        log_event(log, "outbox.skipped_unreachable", count=len(kinds))
        return len(kinds)

    # --- Telegram -------------------------------------------------------------------------

    async def _deliver(self, job: Job) -> None:
        try:
            await self._deliver_once(job)
        except outbox.SentNotRecorded:
            # Telegram has it; its row goes again once its lease runs out (as after a crash).
            log_event(log, "outbox.sent_not_recorded", logging.ERROR, outbox_id=job.id)
        except Exception as exc:
            log.exception("event=outbox.deliver_crashed outbox_id=%s", job.id)
            await self._failed(job, Failure.INTERNAL, exc)

    async def _deliver_once(self, job: Job) -> None:
        message = message_at(job.payload, self._clock.now())
        window = max(0.0, self._send_window(job))
        try:
            if job.op == "edit":
                assert job.ref_key is not None
                ref_state, ref_message_id = await outbox.edit_target(self._db, job.ref_key)
                if ref_state == OutboxState.SENDING or ref_state == OutboxState.PENDING:
                    # The original is still on its way; edit once it has landed.
                    await self._finish(
                        job,
                        OutboxState.PENDING,
                        retry_at=self._clock.now() + dt.timedelta(seconds=2),
                        refund_attempt=True,
                    )
                    return
                if ref_state != OutboxState.SENT or ref_message_id is None:
                    await self._finish(job, OutboxState.CANCELLED, error="nothing to edit")
                    return
                if job.payload.get(SKIP_MESSAGE_ID) == ref_message_id:
                    # Queued while the original was on its way, and it is the message the
                    # button was pressed on: the handler has shown the outcome there.
                    await self._finish(job, OutboxState.CANCELLED, error="edited on the press")
                    return
                await calls.edit(self._bot, job.chat_id, ref_message_id, message, window)
                message_id = ref_message_id
            else:
                message_id = (
                    await calls.send(self._bot, job.chat_id, message, self._paid(job), window)
                ).message_id
        except TooLate:  # a 429's pause would take it past its lease: back it goes, unsent
            log_event(log, "outbox.too_late", outbox_id=job.id)
            await self._finish(job, OutboxState.PENDING, refund_attempt=True)
            return
        except TelegramError as exc:
            failure = classify(exc)
            if failure is Failure.INTERNAL:
                raise  # an error we do not know: logged with its traceback by _deliver
            await self._failed(job, failure, exc)
            return
        was_out, self._network_failures = self.in_outage, 0
        sent = outbox.Finish(job, OutboxState.SENT, self._clock.now(), message_id=message_id)
        half = self._config.lease.total_seconds() / 2
        await self._recorder.record_sent(sent, within=min(half, self._lease_left(job)))
        if was_out:
            try:
                await self._after_outage()
            except Exception:  # what waited goes at its own backoff instead
                log.exception("event=outbox.recover_failed")
        log_event(log, "outbox.sent", outbox_id=job.id, kind=job.kind, attempt=job.attempts)
        self._metrics.notification_sent(job.kind)
        await self._delivered(Delivered(job.kind, job.key, job.op, self._clock.now()))

    async def _delivered(self, delivered: Delivered) -> None:
        """Tell the hooks; one that fails cannot unsend the message or stop the others."""
        for hook in self._on_delivered:
            try:
                await hook(delivered)
            except Exception:
                log.exception("event=outbox.hook_failed kind=%s", delivered.kind)

    async def _failed(self, job: Job, failure: Failure, exc: Exception) -> None:
        """Act on a failed send as bot.delivery.policy decides."""
        if failure is Failure.NETWORK:
            self._network_failures += 1
        now = self._clock.now()
        retry_after = retry_after_seconds(exc) if isinstance(exc, RetryAfter) else 0.0
        decision = self._policy.decide(
            failure,
            attempts=job.attempts,
            network_failures=self._network_failures,
            now=now,
            relevant_until=relevant_until(job.payload),
            retry_after=retry_after,
            jitter=random.uniform(0.5, 1.0),  # noqa: S311 - jitter, not security
        )
        if decision.pause_all > 0:
            self._flood.pause(decision.pause_all)
        if decision.action is Action.DONE:  # "not modified": it shows this already
            await self._finish(job, OutboxState.SENT)
            self._metrics.notification_sent(job.kind)
        elif decision.action is Action.DROP:
            await self._drop(job)
        elif decision.action is Action.GIVE_UP:
            await self._give_up(job, failure, exc)
        else:
            await self._retry(job, failure, decision.retry_in, decision.use_attempt)

    async def _retry(self, job: Job, failure: Failure, delay: float, use_attempt: bool) -> None:
        if failure is Failure.RETRY_AFTER:
            log_event(log, "outbox.retry_after", logging.WARNING, outbox_id=job.id, seconds=delay)
            error = None
        else:
            log_event(
                log,
                "outbox.retry",
                logging.WARNING,
                outbox_id=job.id,
                delay=round(delay, 2),
                counted=use_attempt,
            )
            error = NETWORK_ERROR if failure is Failure.NETWORK else INTERNAL_ERROR
        self._metrics.notification_retried(job.kind)
        await self._finish(
            job,
            OutboxState.PENDING,
            error=error,
            retry_at=self._clock.now() + dt.timedelta(seconds=delay),
            refund_attempt=not use_attempt,
        )

    async def _give_up(self, job: Job, failure: Failure, exc: Exception) -> None:
        if failure is Failure.FORBIDDEN:
            log_event(
                log, "outbox.forbidden", logging.WARNING, outbox_id=job.id, chat_id=job.chat_id
            )
            error = "forbidden"
        elif failure is Failure.BAD_REQUEST and isinstance(exc, TelegramError):
            # Telegram's reason names the problem ("message is too long"), never the content.
            log.warning(
                "event=outbox.bad_request outbox_id=%s kind=%s reason=%r",
                job.id,
                job.kind,
                exc.message[:120],
            )
            error = exc.message[:200]
        else:
            log_event(log, "outbox.gave_up", logging.ERROR, outbox_id=job.id, kind=job.kind)
            error = NETWORK_ERROR if failure is Failure.NETWORK else INTERNAL_ERROR
        await self._finish(job, OutboxState.FAILED, error=error)
        self._metrics.notification_failed(job.kind)
        if failure is Failure.FORBIDDEN:
            await self._on_unreachable(job.chat_id)

    async def _drop(self, job: Job) -> None:
        """The message no longer matters (a reminder whose dose was recorded missed while
        Telegram was down): withdrawn unsent, as its service would withdraw it."""
        log_event(log, "outbox.dropped", outbox_id=job.id, kind=job.kind, attempt=job.attempts)
        await self._finish(job, OutboxState.CANCELLED, error=NO_LONGER_RELEVANT)

    async def _after_outage(self) -> None:
        """The Bot API answers again: what waited out the outage goes now, not at its backoff."""
        released = await outbox.release_after_outage(self._db, self._clock.now())
        log_event(log, "outbox.recovered", released=released)

    def _paid(self, job: Job) -> bool:
        return job.op == "send" and job.kind in self._config.paid_kinds
