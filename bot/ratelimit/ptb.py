"""The flood budget as PTB's rate limiter: direct replies and their 429s.

PTB's AIORateLimiter knows the overall and per-group limits but not one message a second per
private chat, and it cannot share its budget with our outbox sender. FloodControl plugs into
PTB as its rate limiter (direct replies) and is asked by the sender before each notification,
so both draw on one overall budget (bot.ratelimit.budget).
"""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from bot.ratelimit.budget import FloodBudget, TooLate

JSON = bool | dict[str, Any] | list[dict[str, Any]]


@dataclass(frozen=True)
class Reserved:
    """rate_limit_args of the outbox sender's calls: the slot was reserved already. `within`:
    seconds it may still wait at the gate (a 429's pause), else TooLate; None: no bound."""

    within: float | None = None


RESERVED = Reserved()
# Methods that put a message in a chat; edits, callback answers, getMe … are not counted.
COUNTED_PREFIXES = ("send", "copy", "forward")


def retry_after_seconds(exc: RetryAfter) -> float:
    """RetryAfter.retry_after is moving from int seconds to a timedelta: accept both."""
    with warnings.catch_warnings():
        # PTB 22 warns on every read while the type changes; we handle both types.
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value: object = exc.retry_after
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return float(value)  # type: ignore[arg-type]


# Bot settings, not messages: passed straight through (see process_request).
SETUP_METHODS = frozenset(
    {
        "setMyCommands",
        "deleteMyCommands",
        "getMyDescription",
        "setMyDescription",
        "getMyShortDescription",
        "setMyShortDescription",
    }
)


class FloodControl(FloodBudget, BaseRateLimiter[Reserved]):
    """The process's flood budget, plugged into PTB for direct replies."""

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    # --- PTB's hook for direct replies --------------------------------------------------

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Reserved | None,
    ) -> JSON:
        if endpoint in SETUP_METHODS:
            # The bot's own menus and descriptions: a 429 on these says nothing about sending
            # messages, so it must not pause reminders or hold the chat up waiting; the caller
            # logs it and tries again later.
            return await callback(*args, **kwargs)
        chat_id = data.get("chat_id")
        counted = endpoint.startswith(COUNTED_PREFIXES) and chat_id is not None
        chat = chat_id if counted and isinstance(chat_id, int) else None
        if isinstance(rate_limit_args, Reserved):
            # The outbox sender reserved the slot and handles a 429 itself; a paid broadcast
            # passes the paid lane's gate.
            paid = bool(data.get("allow_paid_broadcast")) and self.paid is not None
            within = rate_limit_args.within
            send_by = None if within is None else self._clock() + within
            return await self._attempts(
                callback, args, kwargs, 1, counted, chat, paid=paid, direct=False, send_by=send_by
            )
        if chat is not None:
            # A direct reply: the person is waiting, but a second reply to one chat still
            # follows the first a second later, as Telegram asks, or it would draw a 429.
            async with self._chat_turn(chat):
                return await self._attempts(callback, args, kwargs, 2, counted, chat, reply=True)
        return await self._attempts(callback, args, kwargs, 2, counted, None)

    async def _attempts(
        self,
        callback: Callable[..., Coroutine[Any, Any, JSON]],
        args: Any,
        kwargs: dict[str, Any],
        attempts: int,
        counted: bool,
        chat: int | None,
        reply: bool = False,
        paid: bool = False,
        direct: bool = True,
        send_by: float | None = None,
    ) -> JSON:
        gate = self.paid if paid and self.paid is not None else self
        for attempt in range(attempts):
            hold = None
            if reply and chat is not None:
                # The chat is held first, so the outbox sender puts no notification in it
                # while the reply waits at the gate (a 429's pause, a full second).
                await self.wait_for_chat(chat)
                hold = self.hold_chat(chat, reply=True)
            try:
                if not counted:
                    passed_at = None
                elif direct:
                    passed_at = await self.reply_gate()
                else:
                    # Reserved before a 429 began (the paid lane too): it waits out the pause.
                    # Its chat was held by the sender, which gives it back when done.
                    await self.pause_passed(send_by)
                    if chat is not None:
                        hold = await self.reclaim(chat)
                        if hold is not None and send_by is not None and self._clock() > send_by:
                            raise TooLate  # waiting for its chat again took it past
                    passed_at = await gate.dispatch_gate(send_by)
            except BaseException:  # cancelled at the gate: nothing left, the chat is free
                if hold is not None:
                    self.release_chat(hold)
                raise
            if chat is not None:
                # The gate may have held it a moment: the chat's gap runs from now.
                self.mark_chat(chat)
            try:
                result = await callback(*args, **kwargs)
            except RetryAfter as exc:
                if passed_at is not None:
                    gate.answered(passed_at)
                self.pause(retry_after_seconds(exc))
                if attempt == attempts - 1:
                    raise
                await self._sleep(retry_after_seconds(exc))
            else:
                if passed_at is not None:
                    gate.answered(passed_at)
                return result
        raise AssertionError("unreachable")
