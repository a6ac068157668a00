"""The simulated Telegram Bot API: the playground's Telegram, and the end-to-end tests' and
the benchmarks' too.

The real bot (``python -m bot``) talks to this server over HTTP exactly as it would talk to
``api.telegram.org``: point ``TELEGRAM_BASE_URL`` at :attr:`FakeBotApi.base_url`. Tests then
play patients and helpers through :class:`FakeUser` (send messages, press inline buttons, wait
for replies) and inspect every API request in :attr:`FakeBotApi.calls`.

The fake validates requests the way Telegram does for everything a bot is likely to get wrong
(message length, HTML/MarkdownV2 entities, inline keyboards, editing to identical content,
messaging users who never started the bot, answering a callback query twice ...) and answers
with Telegram's error shapes, so python-telegram-bot raises the same exceptions it would in
production. Faults (5xx, 429, latency, outages) can be injected through :attr:`FakeBotApi.faults`.

Usage::

    async with FakeBotApi(token="123456:TEST-token", bot_username="carecircle_test_bot") as fake:
        alice = fake.user(1001, "Alice")
        await alice.send("/start")
        reply = await alice.wait_for("Welcome")
        press = await alice.press(reply, "Yes")
        assert (await press.answer())["text"] == "Saved"

Run standalone with ``python -m playground.sim --port 8081`` to try the bot by hand.

The modules: ``api`` (JSON, limits, error answers), ``entities`` (HTML and MarkdownV2),
``markup`` (reply markup), ``state`` (chats, messages, files, calls), ``faults`` (fault
injection, flood limits), ``drivers`` (FakeUser, FakeGroup, Press), and the server
(``server``: HTTP and the composed class) with its areas ``core``, ``people``, ``commands``,
``updates`` and ``messages``.
"""

from __future__ import annotations

from playground.sim.api import (
    JSON,
    MAX_CALLBACK_ANSWER_LENGTH,
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    NOT_MODIFIED,
    POLL_CONFLICT,
    QUERY_INVALID,
    WEBHOOK_CONFLICT,
    ApiError,
    bad_request,
    forbidden,
    too_many_requests,
)
from playground.sim.drivers import FakeGroup, FakeUser, Press
from playground.sim.entities import (
    EntityParseError,
    format_text,
    parse_html,
    parse_markdown_v2,
    utf16_len,
)
from playground.sim.faults import GROUP_WINDOW_SECONDS, Faults, FloodLimits, FloodViolation
from playground.sim.markup import inline_buttons, validate_reply_markup
from playground.sim.server import FakeBotApi
from playground.sim.state import ApiCall, Chat, FileRecord, StoredMessage, UploadedFile

__all__ = [
    "GROUP_WINDOW_SECONDS",
    "JSON",
    "MAX_CALLBACK_ANSWER_LENGTH",
    "MAX_CAPTION_LENGTH",
    "MAX_TEXT_LENGTH",
    "NOT_MODIFIED",
    "POLL_CONFLICT",
    "QUERY_INVALID",
    "WEBHOOK_CONFLICT",
    "ApiCall",
    "ApiError",
    "Chat",
    "EntityParseError",
    "FakeBotApi",
    "FakeGroup",
    "FakeUser",
    "Faults",
    "FileRecord",
    "FloodLimits",
    "FloodViolation",
    "Press",
    "StoredMessage",
    "UploadedFile",
    "bad_request",
    "forbidden",
    "format_text",
    "inline_buttons",
    "parse_html",
    "parse_markdown_v2",
    "too_many_requests",
    "utf16_len",
    "validate_reply_markup",
]
