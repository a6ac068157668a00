"""Faults and flood limits: what a test (or the playground) makes go wrong on purpose."""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from playground.sim.api import ApiError, too_many_requests


@dataclass(frozen=True)
class FloodLimits:
    """Telegram's documented send limits; ``None`` disables a rule."""

    global_per_second: float | None = 30
    per_chat_per_second: float | None = 1
    per_group_per_minute: float | None = 20
    # Messages sent with allow_paid_broadcast (a fee in Stars each) count against this
    # instead of global_per_second.
    paid_per_second: float | None = 1000


GROUP_WINDOW_SECONDS = 60.0  # the per-group rule's window, the longest of the three


@dataclass(frozen=True)
class FloodViolation:
    """A message send that broke a :class:`FloodLimits` rule (whether or not enforced)."""

    at: float
    method: str
    chat_id: int
    rule: str
    observed: int
    limit: float


@dataclass
class _PlannedFailure:
    method: str
    status: int
    retry_after: int
    remaining: int
    description: str | None
    after_effect: bool

    def error(self) -> ApiError:
        if self.status == 429:
            return too_many_requests(self.retry_after)
        default = {
            400: "Bad Request: injected fault",
            403: "Forbidden: bot was blocked by the user",
            500: "Internal Server Error",
            502: "Bad Gateway",
        }.get(self.status, "Injected fault")
        return ApiError(self.status, self.description or default)


class Faults:
    """Fault injection, adjustable at any time from a test.

    * ``error_rate_5xx``: probability that a send*/edit*/copy/forward request fails with a
      random 500 or 502 before it takes effect.
    * ``latency``: ``(low, high)`` seconds of random delay added to every request.
    * :meth:`fail_next`: the next ``count`` calls of a method fail with a given status.
    * :meth:`outage`: for a while every request (and held long poll) loses its connection;
      :meth:`down` / :meth:`up` start and end one by hand.
    * ``seed``: reseeds the random generator for reproducible runs.
    """

    def __init__(self, on_change: Callable[[], None]) -> None:
        self.error_rate_5xx: float = 0.0
        self.latency: tuple[float, float] | None = None
        self._on_change = on_change
        self._planned: list[_PlannedFailure] = []
        self._outage_until = 0.0
        self._seed: int | None = None
        self._rng = random.Random()

    @property
    def seed(self) -> int | None:
        return self._seed

    @seed.setter
    def seed(self, value: int | None) -> None:
        self._seed = value
        self._rng = random.Random(value)

    def fail_next(
        self,
        method: str,
        status: int = 429,
        retry_after: int = 3,
        count: int = 1,
        *,
        description: str | None = None,
        after_effect: bool = False,
    ) -> None:
        """Make the next ``count`` calls of ``method`` (``"*"`` = any) fail with ``status``.

        With ``after_effect=True`` the call takes effect first and only its response is lost,
        like a timeout after Telegram already delivered the message.
        """
        self._planned.append(
            _PlannedFailure(method, status, retry_after, count, description, after_effect)
        )

    def outage(self, seconds: float) -> None:
        """Drop every connection (no HTTP response at all) for the next ``seconds``."""
        self._outage_until = time.monotonic() + seconds
        self._on_change()

    def down(self) -> None:
        """Drop every connection from now until :meth:`up`: an outage of unknown length."""
        self._outage_until = math.inf
        self._on_change()

    def up(self) -> None:
        """End an outage now."""
        self._outage_until = 0.0
        self._on_change()

    def clear(self) -> None:
        self.error_rate_5xx, self.latency = 0.0, None
        self._planned.clear()
        self._outage_until = 0.0

    @property
    def in_outage(self) -> bool:
        return time.monotonic() < self._outage_until

    async def delay(self) -> None:
        if self.latency:
            await asyncio.sleep(self._rng.uniform(*self.latency))

    def take_planned(self, method: str) -> _PlannedFailure | None:
        for planned in self._planned:
            if planned.method == "*" or planned.method.lower() == method.lower():
                planned.remaining -= 1
                if planned.remaining <= 0:
                    self._planned.remove(planned)
                return planned
        return None

    def random_5xx(self, method: str) -> ApiError | None:
        if not method.startswith(("send", "edit", "copy", "forward")) or not self.error_rate_5xx:
            return None
        if self._rng.random() >= self.error_rate_5xx:
            return None
        status = self._rng.choice((500, 502))
        return ApiError(status, "Internal Server Error" if status == 500 else "Bad Gateway")
