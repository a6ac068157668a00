"""Telegram's flood limits, kept by one object for everything this process sends.

PTB's AIORateLimiter knows the overall and per-group limits but not one message a second per
private chat, and it cannot share its budget with our outbox sender. This class plugs into
PTB as its rate limiter (direct replies) and is asked by the sender before each notification,
so both draw on one overall budget.
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import time
import warnings
from collections.abc import Callable, Coroutine
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

JSON = bool | dict[str, Any] | list[dict[str, Any]]

# Passed as rate_limit_args by the outbox sender: the slot was reserved already.
RESERVED = "reserved"
# Methods that put something in a chat; everything else (answerCallbackQuery, getMe, …)
# is not a message and is not counted.
COUNTED_PREFIXES = ("send", "edit", "copy", "forward")


def retry_after_seconds(exc: RetryAfter) -> float:
    """RetryAfter.retry_after is moving from int seconds to a timedelta: accept both."""
    with warnings.catch_warnings():
        # PTB 22 warns on every read while the type changes; we handle both types.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: object = exc.retry_after
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value)  # type: ignore[arg-type]


class FloodControl(BaseRateLimiter[str]):
    """Overall messages per second, per-private-chat spacing and per-group spacing."""

    def __init__(
        self,
        *,
        overall_per_second: float = 30,
        per_chat_seconds: float = 1.0,
        per_group_per_minute: float = 20,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limit = max(1, int(overall_per_second))
        # A small margin: what we count as a second must not look like less at Telegram's end.
        self._window = 1.0 * (1 + 0.02)
        self._chat_gap = per_chat_seconds
        self._group_gap = 60.0 / per_group_per_minute
        self._clock = clock
        self._recent: collections.deque[float] = collections.deque()
        self._chat_free_at: dict[int, float] = {}
        self._paused_until = 0.0
        self._lock = asyncio.Lock()

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    # --- the budget ---------------------------------------------------------------------

    def _overall_wait(self, now: float) -> float:
        while self._recent and self._recent[0] <= now - self._window:
            self._recent.popleft()
        wait = max(0.0, self._paused_until - now)
        if len(self._recent) >= self._limit:
            wait = max(wait, self._recent[0] + self._window - now)
        return wait

    def overall_wait(self) -> float:
        """Seconds until the overall budget has room for one more message."""
        return self._overall_wait(self._clock())

    def _gap_for(self, chat_id: int) -> float:
        return self._group_gap if chat_id < 0 else self._chat_gap

    def chat_wait(self, chat_id: int) -> float:
        """Seconds until this chat may get another notification."""
        return max(0.0, self._chat_free_at.get(chat_id, 0.0) - self._clock())

    def try_reserve(self, chat_id: int | None) -> float:
        """Reserve a slot now and return 0, or return how long to wait (nothing reserved)."""
        now = self._clock()
        wait = self._overall_wait(now)
        if chat_id is not None:
            wait = max(wait, self._chat_free_at.get(chat_id, 0.0) - now)
        if wait > 0:
            return wait
        self._recent.append(now)
        if chat_id is not None:
            self._chat_free_at[chat_id] = now + self._gap_for(chat_id)
            if len(self._chat_free_at) > 100_000:
                self._forget_idle_chats(now)
        return 0.0

    async def reserve_overall(self) -> None:
        """Wait for a slot in the overall budget (direct replies are not spaced per chat)."""
        async with self._lock:
            # Polling with a computed sleep: the budget frees itself as time passes,
            # there is no event to wait for.
            while (wait := self.try_reserve(None)) > 0:  # noqa: ASYNC110
                await asyncio.sleep(wait)

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nobody in this process sends until it has passed."""
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def _forget_idle_chats(self, now: float) -> None:
        self._chat_free_at = {c: t for c, t in self._chat_free_at.items() if t > now}

    # --- PTB's hook for direct replies --------------------------------------------------

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: str | None,
    ) -> JSON:
        counted = endpoint.startswith(COUNTED_PREFIXES) and data.get("chat_id") is not None
        # A direct reply gets one retry after a 429; the outbox sender handles its own.
        attempts = 1 if rate_limit_args == RESERVED else 2
        for attempt in range(attempts):
            if counted and not (rate_limit_args == RESERVED and attempt == 0):
                await self.reserve_overall()
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                self.pause(retry_after_seconds(exc))
                if attempt == attempts - 1:
                    raise
                await asyncio.sleep(retry_after_seconds(exc))
        raise AssertionError("unreachable")
