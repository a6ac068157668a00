"""How every Bot API call ends, seen from PTB's request layer: errors counted by method and
code, whether Telegram has been unreachable (and for how long), and what to tell an operator.

Every call the Bot object makes (replies, the outbox's sends, polling) goes through a
`BaseRequest`, whose `do_request` PTB documents as the one method an implementation provides;
`ObservedRequest` is our aiohttp one (bot.aiohttp_request) with that method wrapped, so
nothing that sends has to know it is watched.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable
from typing import Any

from telegram.error import Conflict, TelegramError, TimedOut
from telegram.request import BaseRequest, RequestData

from bot.aiohttp_request import AiohttpRequest, PoolTimedOut
from bot.metrics import Metrics

log = logging.getLogger(__name__)

POLLING = "getUpdates"
# Bot API method names are camelCase words; anything else (a file download) is one label.
METHOD_NAME = re.compile(r"[A-Za-z]{1,64}")
# A bot token ("123456:AA…") inside an error text, e.g. PTB's "The token `…` was rejected".
TOKEN = re.compile(r"\d{3,}:[A-Za-z0-9_-]{20,}")
DESCRIPTION_CHARS = 200


def method_name(url: str, http_method: str) -> str:
    """`…/bot<token>/sendMessage` → "sendMessage"; file downloads (GET) → "file"."""
    if http_method != "POST":
        return "file"
    name = url.rstrip("/").rpartition("/")[2]
    return name if METHOD_NAME.fullmatch(name) else "other"


def describe(error: BaseException) -> str:
    """Telegram's own words for an error (its `description`), short, with no token in them."""
    return _clean(error.message if isinstance(error, TelegramError) else str(error))


def conflict_hint(error: Conflict) -> str:
    """What a 409 from getUpdates means for the person running the bot."""
    if "webhook" in error.message.lower():
        return "a webhook is set for this token (is a webhook deployment running?)"
    return "another instance is polling with this token; stop it, or give each its own token"


def rejection(status: int | None, base_url: str) -> str:
    """The start-up line for PTB's InvalidToken, which it raises for both 401 and 404."""
    if status == 404:
        return (
            f"the Bot API at {base_url} answered 404 Not Found: check TELEGRAM_BASE_URL (it "
            "ends in /bot, e.g. https://api.telegram.org/bot) and that BOT_TOKEN is the whole "
            "token from @BotFather."
        )
    return "the Bot API rejected BOT_TOKEN. Copy the token from @BotFather into .env."


class BotApiMonitor:
    """The process's view of the Bot API: reachable or not since when, and polling's state.

    Unreachable means no answer at all (connection refused or dropped, a timeout) or a 5xx;
    any other answer, an error included, proves Telegram is there.
    """

    def __init__(self, metrics: Metrics, *, monotonic: Callable[[], float] = time.monotonic):
        self._metrics = metrics
        self._monotonic = monotonic
        self._failing_since: float | None = None
        self._failed_calls = 0
        self._polling_failing_since: float | None = None
        self._polling_errors = 0
        # The status of the last call refused with 401 or 404: PTB's InvalidToken hides which.
        self.last_refusal: int | None = None
        metrics.botapi_unreachable.set_function(self.unreachable_seconds)

    def unreachable_seconds(self) -> float:
        if self._failing_since is None:
            return 0.0
        return max(0.0, self._monotonic() - self._failing_since)

    # --- what the request layer reports -------------------------------------------------

    def answered(self, method: str, status: int, payload: bytes) -> None:
        if 200 <= status < 300:
            self._reached()
            if method == POLLING:
                self._polled()
            return
        description = _description(payload, status)
        self._metrics.botapi_error(method, str(status))
        log.debug(
            "event=botapi.error method=%s code=%s description=%r", method, status, description
        )
        if status >= 500:
            self._unreachable(method, str(status), description)
        else:
            if status in (401, 404):
                self.last_refusal = status
            self._reached()
        if method == POLLING:
            self._polling_failed()

    def failed(self, method: str, error: TelegramError) -> None:
        """No answer: the connection failed or timed out."""
        if isinstance(error, PoolTimedOut):
            # Our own connection pool was full: the request never left, Telegram is not at fault.
            self._metrics.botapi_error(method, "pool_timeout")
            return
        code = "timeout" if isinstance(error, TimedOut) else "network"
        self._metrics.botapi_error(method, code)
        self._unreachable(method, code, describe(error))
        if method == POLLING:
            self._polling_failed()

    # --- transitions --------------------------------------------------------------------

    def _unreachable(self, method: str, code: str, description: str) -> None:
        self._failed_calls += 1
        if self._failing_since is not None:
            return
        self._failing_since = self._monotonic()
        log.warning(
            "event=botapi.unreachable method=%s code=%s description=%r", method, code, description
        )

    def _reached(self) -> None:
        if self._failing_since is None:
            return
        log.info(
            "event=botapi.reachable after_seconds=%.1f failed_calls=%d",
            self.unreachable_seconds(),
            self._failed_calls,
        )
        self._failing_since = None
        self._failed_calls = 0

    def _polling_failed(self) -> None:
        self._polling_errors += 1
        if self._polling_failing_since is None:
            self._polling_failing_since = self._monotonic()

    def _polled(self) -> None:
        if self._polling_failing_since is None:
            return
        log.info(
            "event=polling.recovered after_seconds=%.1f errors=%d",
            self._monotonic() - self._polling_failing_since,
            self._polling_errors,
        )
        self._polling_failing_since = None
        self._polling_errors = 0


def _description(payload: bytes, status: int) -> str:
    try:
        body = json.loads(payload)
    except ValueError:
        body = None
    text = body.get("description") if isinstance(body, dict) else None
    if not isinstance(text, str):
        return f"HTTP {status} (not a Bot API answer)"
    return _clean(text)


def _clean(text: str) -> str:
    """One line, short, and never the token."""
    return TOKEN.sub("<token>", " ".join(text.split()))[:DESCRIPTION_CHARS]


class ObservedRequest(AiohttpRequest):
    """The bot's request layer, telling a BotApiMonitor how each call ended."""

    def __init__(self, monitor: BotApiMonitor, **options: Any) -> None:
        super().__init__(**options)
        self.monitor = monitor

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: Any = BaseRequest.DEFAULT_NONE,
        write_timeout: Any = BaseRequest.DEFAULT_NONE,
        connect_timeout: Any = BaseRequest.DEFAULT_NONE,
        pool_timeout: Any = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        name = method_name(url, method)
        try:
            status, payload = await super().do_request(
                url,
                method,
                request_data,
                read_timeout=read_timeout,
                write_timeout=write_timeout,
                connect_timeout=connect_timeout,
                pool_timeout=pool_timeout,
            )
        except TelegramError as error:
            self.monitor.failed(name, error)
            raise
        self.monitor.answered(name, status, payload)
        return status, payload


def observed_requests(
    monitor: BotApiMonitor, timeout: float
) -> tuple[ObservedRequest, ObservedRequest]:
    """The bot's two request objects (calls, and the long poll), as ApplicationBuilder would
    build them, with `timeout` as the connect and read timeout (only connect for polls: PTB
    adds the poll's own timeout to its read timeout)."""
    calls = ObservedRequest(
        monitor, connection_pool_size=256, connect_timeout=timeout, read_timeout=timeout
    )
    polls = ObservedRequest(monitor, connection_pool_size=1, connect_timeout=timeout)
    return calls, polls
