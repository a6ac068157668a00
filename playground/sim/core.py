"""The simulator's core: its state, the waits tests use, and what every area of it shares."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

from playground.sim.api import JSON
from playground.sim.drivers import FakeGroup, FakeUser
from playground.sim.faults import Faults, FloodLimits, FloodViolation
from playground.sim.state import (
    _MEDIA_DEFAULTS,
    ApiCall,
    Chat,
    FileRecord,
    StoredMessage,
    _CallbackQuery,
)

T = TypeVar("T")
Handler = Callable[[JSON], Awaitable[Any]]


class _Core:
    """The simulator's state, its waits and the helpers every area shares."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        bot_username: str = "carecircle_test_bot",
        bot_id: int | None = None,
        *,
        bot_first_name: str = "CareCircle Test",
        flood_limits: FloodLimits | None = None,
        webhook_retry_delays: tuple[float, ...] = (0.1, 0.3, 1.0),
    ) -> None:
        self.token = token
        self.bot_username = bot_username
        self.bot_id = bot_id if bot_id is not None else int(token.split(":", 1)[0])
        self.bot_first_name = bot_first_name
        self.calls: list[ApiCall] = []
        self.flood_violations: list[FloodViolation] = []
        self.webhook_deliveries: list[tuple[int, int | None, str | None]] = []  # id, status, error
        self.webhook_retry_delays = webhook_retry_delays
        self.faults = Faults(on_change=self._notify)
        self._flood_limits = flood_limits or FloodLimits()
        self._enforce_flood = flood_limits is not None
        self._changed = asyncio.Event()
        self._chats: dict[int, Chat] = {}
        self._users: dict[int, FakeUser] = {}
        self._groups: dict[int, FakeGroup] = {}
        self._files: dict[str, FileRecord] = {}
        self._file_ids = itertools.count(1)
        self._queries: dict[str, _CallbackQuery] = {}
        self._query_ids = itertools.count(4_000_000_000_000_000_001)
        self._updates: deque[JSON] = deque()
        self._update_ids = itertools.count(10_000)
        self._allowed_updates: list[str] | None = None
        self._sent: list[StoredMessage] = []
        # (when, chat) of each send within the longest window a flood rule looks at.
        # When recent messages were sent: overall (the last second), with paid broadcast
        # (the last second), and per chat (the last minute, the longest window of a rule).
        self._send_times: deque[float] = deque()
        self._paid_times: deque[float] = deque()
        self._chat_times: dict[int, deque[float]] = {}
        # Messages accepted with allow_paid_broadcast: what they would cost, in Stars, is a
        # tenth of this.
        self.paid_messages = 0
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        # setMyDescription / setMyShortDescription, by field and language ("" for all).
        self.descriptions: dict[tuple[str, str], str] = {}
        self._in_flight = 0
        self._last_activity = 0.0
        self._polled = False
        self._poll_generation = 0
        self._webhook: JSON | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._webhook_busy = False
        self._webhook_error: tuple[int, str] | None = None
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._host = "127.0.0.1"
        self._port = 0
        # The Bot API methods by name, as the server (server.py) names them.
        self._handlers: dict[str, Handler] = self._method_table()
        self._canonical = {name.lower(): name for name in self._handlers}

    def _method_table(self) -> dict[str, Handler]:
        """The Bot API methods the simulator answers, by name: the server builds the table."""
        raise NotImplementedError

    # ---- test-facing helpers -------------------------------------------------------------

    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def sent_messages(self, chat_id: int | None = None) -> list[JSON]:
        """Bot messages actually delivered (successful send*/copy/forward), in order."""
        return [m.view() for m in self._sent if chat_id is None or m.chat.id == chat_id]

    @property
    def pending_updates(self) -> list[JSON]:
        """Updates not yet confirmed by getUpdates (or not yet delivered to the webhook)."""
        return list(self._updates)

    async def wait_for_call(
        self,
        method: str,
        *,
        predicate: Callable[[ApiCall], bool] | None = None,
        timeout: float = 10.0,
        since: float | None = None,
    ) -> ApiCall:
        """The first finished call to ``method`` that arrived at or after ``since``.

        ``since`` is a ``time.monotonic()`` value and defaults to "now", so only calls made
        after this call count; capture ``since = time.monotonic()`` before triggering the bot
        to also catch calls that complete before you start waiting.
        """
        since = time.monotonic() if since is None else since

        def find() -> ApiCall | None:
            for call in self.calls:
                if (
                    call.at >= since
                    and call.status is not None
                    and call.method.lower() == method.lower()
                    and (predicate is None or predicate(call))
                ):
                    return call
            return None

        call = await self._wait_for_state(find, timeout)
        if call is None:
            recent = "\n".join(f"  {c.method} {c.status} {c.error or ''}" for c in self.calls[-10:])
            raise AssertionError(f"no {method} call within {timeout}s; recent calls:\n{recent}")
        return call

    async def wait_until_polling(
        self, timeout: float = 15.0, *, since: float | None = None
    ) -> None:
        """Return once the bot has called getUpdates or set a webhook, i.e. it is up.

        With ``since`` (a ``time.monotonic()`` value) only such a call that arrived at or after
        it counts: a bot started again is up once *it* polls, not because the one before did.
        """

        def up() -> object | None:
            if since is None:
                return self._polled or self._webhook or None
            return next(
                (
                    c
                    for c in self.calls
                    if c.at >= since and c.method in ("getUpdates", "setWebhook")
                ),
                None,
            )

        # A request's arrival wakes no waiter by itself: look again every so often.
        if await self._wait_for_state(up, timeout, poll=None if since is None else 0.05) is None:
            recent = ", ".join(f"{c.method}:{c.status}" for c in self.calls[-10:]) or "none"
            raise AssertionError(f"bot did not start polling within {timeout}s (calls: {recent})")

    async def wait_idle(self, timeout: float = 10.0, settle: float = 0.2) -> None:
        """Wait until every update is confirmed/delivered and no request ran for ``settle`` s.

        Held getUpdates long polls do not count as activity. This is a heuristic: PTB confirms
        updates before handling them, so "quiet for ``settle`` seconds" stands in for "done".
        """

        def idle() -> bool | None:
            quiet = time.monotonic() - self._last_activity >= settle
            busy = self._updates or self._in_flight or self._webhook_busy
            return True if quiet and not busy else None

        if await self._wait_for_state(idle, timeout, poll=0.05) is None:
            raise AssertionError(
                f"bot not idle after {timeout}s: {len(self._updates)} pending updates, "
                f"{self._in_flight} requests in flight"
            )

    # ---- waiting -------------------------------------------------------------------------

    def _notify(self) -> None:
        """Wake everything waiting on fake state (long polls, test waits)."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_for_state(
        self, check: Callable[[], T | None], timeout: float | None, poll: float | None = None
    ) -> T | None:
        """Re-evaluate ``check`` on every state change until it is not None or time runs out."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            result = check()
            if result is not None:
                return result
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return None
            if poll is not None:
                remaining = poll if remaining is None else min(remaining, poll)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    # ---- shared by the areas -------------------------------------------------------------

    def _enqueue(self, kind: str, payload: JSON) -> None:
        if self._allowed_updates and kind not in self._allowed_updates:
            return
        self._updates.append({"update_id": next(self._update_ids), kind: payload})
        self._notify()

    def _store_message(self, chat: Chat, **fields: Any) -> StoredMessage:
        message = StoredMessage(
            chat=chat, message_id=chat.next_message_id, date=int(time.time()), **fields
        )
        chat.next_message_id += 1
        chat.messages[message.message_id] = message
        self._notify()
        return message

    def _new_file(self, kind: str, content: bytes, **attributes: Any) -> FileRecord:
        number = next(self._file_ids)
        folder, extension, mime = _MEDIA_DEFAULTS[kind]
        if kind == "document" and "." in (attributes.get("file_name") or ""):
            extension = attributes["file_name"].rsplit(".", 1)[1]
        defaults: JSON = {"mime_type": mime} if kind != "photo" else {}
        if kind in ("photo", "video", "animation"):  # PTB requires these fields
            defaults.update(width=1280, height=960)
        if kind in ("voice", "audio", "video", "animation"):
            defaults["duration"] = 3
        attributes = {**defaults, **{k: v for k, v in attributes.items() if v is not None}}
        record = FileRecord(
            f"fake-{kind}-{number:06d}",
            kind,
            content,
            f"{folder}/file_{number}.{extension}",
            attributes,
        )
        self._files[record.file_id] = record
        return record

    def _bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }
