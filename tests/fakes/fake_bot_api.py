"""A fake Telegram Bot API server for carecircle's end-to-end tests.

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

Run standalone with ``python -m tests.fakes.fake_bot_api --port 8081`` to try the bot by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import gc
import itertools
import json
import math
import random
import re
import socket
import sys
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

JSON = dict[str, Any]
T = TypeVar("T")
Handler = Callable[[JSON], Awaitable[Any]]

MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_CALLBACK_ANSWER_LENGTH = 200
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
POLL_CONFLICT = (
    "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running"
)


# --------------------------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------------------------


class ApiError(Exception):
    """An ``ok: false`` answer with Telegram's status code, description and parameters."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> ApiError:
    return ApiError(400, f"Bad Request: {reason}")


def forbidden(reason: str) -> ApiError:
    return ApiError(403, f"Forbidden: {reason}")


def too_many_requests(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", retry_after)


class _DropConnection(Exception):
    """Close the client's connection without any HTTP response (simulated outage)."""


# --------------------------------------------------------------------------------------------
# Text formatting: HTML and MarkdownV2, following tdlib's parsers
# --------------------------------------------------------------------------------------------


class EntityParseError(Exception):
    """The text is not valid for its parse_mode; the message becomes "can't parse entities"."""


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit Telegram uses for limits and entity offsets."""
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(text: str, index: int) -> int:
    return len(text[:index].encode("utf-8"))


def _is_space(char: str) -> bool:
    return char != "" and char in " \t\r\n\v\f"


_HTML_TAG_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_HTML_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}


def _decode_html_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode the character reference starting at ``text[pos] == '&'`` like tdlib does.

    Returns ``(character, next_index)``, or ``None`` when the ``&`` is just a literal ampersand.
    Telegram keeps unknown references literally; we reject ``&name;`` because it always means
    the bot expected browser HTML (``&nbsp;``) and the user would see the raw reference.
    """
    end, n = pos + 1, len(text)
    if end < n and text[end] == "#":
        end += 1
        is_hex = end < n and text[end] == "x"
        end += is_hex
        start = end
        digits = "0123456789abcdefABCDEF" if is_hex else "0123456789"
        while end < n and text[end] in digits:
            end += 1
        if start == end or end - pos >= 10:
            return None
        code = int(text[start:end], 16 if is_hex else 10)
        if code == 0 or code >= 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        char = chr(code)
    else:
        while end < n and text[end].isascii() and text[end].isalpha():
            end += 1
        name = text[pos + 1 : end]
        if name not in _HTML_NAMED_ENTITIES:
            if name and end < n and text[end] == ";":
                raise EntityParseError(
                    f'Unsupported HTML entity "&{name};" at byte offset {_byte_offset(text, pos)}'
                )
            return None
        char = _HTML_NAMED_ENTITIES[name]
    if end < n and text[end] == ";":
        end += 1
    return char, end


def parse_html(text: str) -> tuple[str, list[JSON]]:
    """Parse Telegram's HTML subset into ``(plain_text, entities)``; errors mirror tdlib's."""
    out: list[str] = []
    u16 = 0
    stack: list[tuple[str, str, int]] = []  # (tag, argument, utf-16 start offset)
    entities: list[JSON] = []
    n, i = len(text), 0

    def at(k: int) -> str:
        return text[k] if k < n else ""

    def fail(reason: str, pos: int) -> EntityParseError:
        return EntityParseError(f"{reason} at byte offset {_byte_offset(text, pos)}")

    while i < n:
        char = text[i]
        if char == "&" and (decoded := _decode_html_entity(text, i)) is not None:
            char, i = decoded
            out.append(char)
            u16 += utf16_len(char)
            continue
        if char != "<":
            out.append(char)
            u16 += utf16_len(char)
            i += 1
            continue
        begin = i
        i += 1
        if at(i) == "/":  # end tag
            if not stack:
                raise fail("Unexpected end tag", begin)
            j = i + 1
            while j < n and not _is_space(text[j]) and text[j] != ">":
                j += 1
            end_name = text[i + 1 : j]
            while _is_space(at(j)):
                j += 1
            if at(j) != ">":
                raise fail("Unclosed end tag", begin)
            tag, argument, start = stack.pop()
            if end_name and end_name.lower() != tag:
                raise EntityParseError(
                    f"Unmatched end tag at byte offset {_byte_offset(text, begin)}, "
                    f'expected "</{tag}>", found "</{end_name}>"'
                )
            _add_html_entity(entities, tag, argument, start, u16)
            i = j + 1
            continue

        j = i  # start tag
        while j < n and not _is_space(text[j]) and text[j] != ">":
            j += 1
        if j >= n:
            raise fail("Unclosed start tag", begin)
        tag = text[i:j].lower()
        if tag not in _HTML_TAG_ENTITY:
            raise fail(f'Unsupported start tag "{tag}"', begin)
        argument = ""
        while at(j) != ">":
            while _is_space(at(j)):
                j += 1
            if at(j) == ">":
                break
            if j >= n:
                raise fail("Unclosed start tag", begin)
            name_start = j
            while j < n and not _is_space(text[j]) and text[j] not in "=>":
                j += 1
            attribute = text[name_start:j]
            if not attribute:
                raise fail(f'Empty attribute name in the tag "{tag}"', begin)
            while _is_space(at(j)):
                j += 1
            if at(j) != "=":
                if tag == "blockquote" and attribute == "expandable":
                    argument = "expandable"
                    continue
                raise fail(
                    f'Expected equal sign in declaration of an attribute of the tag "{tag}"', begin
                )
            j += 1
            while _is_space(at(j)):
                j += 1
            if j >= n:
                raise fail(f'Unclosed start tag "{tag}"', begin)
            if text[j] not in "'\"":
                value_start = j
                while j < n and ((text[j].isascii() and text[j].isalnum()) or text[j] in ".-"):
                    j += 1
                value = text[value_start:j].lower()
                if not _is_space(at(j)) and at(j) != ">":
                    raise fail("Unexpected end of name token", value_start)
            else:
                quote, j = text[j], j + 1
                chars: list[str] = []
                while j < n and text[j] != quote:
                    if text[j] == "&" and (dec := _decode_html_entity(text, j)) is not None:
                        chars.append(dec[0])
                        j = dec[1]
                        continue
                    chars.append(text[j])
                    j += 1
                j += 1 if j < n else 0
                value = "".join(chars)
            if j >= n:
                raise fail("Unclosed start tag", begin)
            if tag == "a" and attribute == "href":
                argument = value
            elif tag == "code" and attribute == "class" and value.startswith("language-"):
                argument = value.removeprefix("language-")
            elif tag == "span" and attribute == "class" and value.startswith("tg-"):
                argument = value.removeprefix("tg-")
            elif tag == "tg-emoji" and attribute == "emoji-id":
                argument = value
        if tag == "span" and argument != "spoiler":
            raise fail('Tag "span" must have class "tg-spoiler"', begin)
        stack.append((tag, argument, u16))
        i = j + 1

    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)  # only meaningful when merged into <pre>
    return "".join(out), entities


def _add_html_entity(entities: list[JSON], tag: str, argument: str, start: int, end: int) -> None:
    if end <= start:
        return
    entity: JSON = {"type": _HTML_TAG_ENTITY[tag], "offset": start, "length": end - start}
    if tag == "a":
        if not argument:
            return
        entity["url"] = argument
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = argument
    elif tag == "blockquote" and argument == "expandable":
        entity["type"] = "expandable_blockquote"
    elif tag == "code" and argument:
        entity["language"] = argument
    elif tag == "pre" and entities:
        inner = entities[-1]  # <pre><code class="language-x">...</code></pre>
        if inner["type"] == "code" and (inner["offset"], inner["length"]) == (start, end - start):
            entities.pop()
            if inner.get("language"):
                entity["language"] = inner["language"]
    entities.append(entity)


_MDV2_RESERVED = "_*[]()~`>#+-=|{}.!"
_MDV2_NAMES = {
    "bold": "Bold",
    "italic": "Italic",
    "underline": "Underline",
    "strikethrough": "Strikethrough",
    "spoiler": "Spoiler",
    "code": "Code",
    "pre": "Pre",
    "text_link": "TextUrl",
    "custom_emoji": "CustomEmoji",
}


def parse_markdown_v2(text: str) -> tuple[str, list[JSON]]:
    """Parse MarkdownV2 like tdlib: every reserved character outside an entity must be escaped.

    Supported: bold, italic, underline, strikethrough, spoiler, code, pre, links, custom emoji
    and ``>`` block quotes (not the expandable ``**>`` form).
    """
    out: list[str] = []
    u16 = 0
    stack: list[JSON] = []
    entities: list[JSON] = []
    quote_start: int | None = None
    n, i = len(text), 0

    def at(k: int) -> str:
        return text[k] if k < n else ""

    def append(char: str) -> None:
        nonlocal u16
        out.append(char)
        u16 += utf16_len(char)

    while i < n:
        char = text[i]
        top = stack[-1]["type"] if stack else None
        in_code = top in ("code", "pre")
        if char == "\\" and 0 < ord(at(i + 1) or "\0") <= 126:
            append(text[i + 1])
            i += 2
            continue
        if char == ">" and not in_code and (i == 0 or text[i - 1] == "\n"):
            if quote_start is None:
                quote_start = u16
            i += 1
            continue
        if char == "\n" and quote_start is not None and at(i + 1) != ">":
            entities.append(
                {"type": "blockquote", "offset": quote_start, "length": u16 - quote_start}
            )
            quote_start = None
        if char not in ("`" if in_code else _MDV2_RESERVED):
            append(char)
            i += 1
            continue

        closes = {
            "bold": char == "*",
            "italic": char == "_" and at(i + 1) != "_",
            "underline": char == "_" and at(i + 1) == "_",
            "strikethrough": char == "~",
            "spoiler": char == "|" and at(i + 1) == "|",
            "code": char == "`",
            "pre": text.startswith("```", i),
            "text_link": char == "]",
            "custom_emoji": char == "]",
        }
        if top is None or not closes[top]:
            begin, argument = i, ""
            if char == "_" and at(i + 1) == "_":
                kind, i = "underline", i + 1
            elif char == "_":
                kind = "italic"
            elif char == "*":
                kind = "bold"
            elif char == "~":
                kind = "strikethrough"
            elif char == "|" and at(i + 1) == "|":
                kind, i = "spoiler", i + 1
            elif char == "[":
                kind = "text_link"
            elif char == "!" and at(i + 1) == "[":
                kind, i = "custom_emoji", i + 1
            elif char == "`" and text.startswith("```", i):
                kind, i = "pre", i + 3
                lang_end = i
                while lang_end < n and not _is_space(text[lang_end]) and text[lang_end] != "`":
                    lang_end += 1
                if lang_end != i and at(lang_end) != "`":
                    argument, i = text[i:lang_end], lang_end
                if at(i) in ("\n", "\r"):
                    i += 2 if at(i + 1) in ("\n", "\r") and at(i + 1) != at(i) else 1
                i -= 1
            elif char == "`":
                kind = "code"
            else:
                raise EntityParseError(
                    f"Character '{char}' is reserved and must be escaped with the preceding '\\'"
                )
            stack.append(
                {"type": kind, "start": u16, "byte": _byte_offset(text, begin), "arg": argument}
            )
            stack[-1]["out_len"] = len(out)
            i += 1
            continue

        entity = stack.pop()
        kind = entity["type"]
        if kind in ("underline", "spoiler"):
            i += 1
        elif kind == "pre":
            i += 2
        elif kind in ("text_link", "custom_emoji"):
            if at(i + 1) != "(":
                entity["arg"] = "".join(out[entity["out_len"] :])
            else:
                i += 2
                url_begin, url = i, []
                while i < n and text[i] != ")":
                    if text[i] == "\\" and 0 < ord(at(i + 1) or "\0") <= 126:
                        url.append(text[i + 1])
                        i += 2
                        continue
                    url.append(text[i])
                    i += 1
                if i >= n:
                    raise EntityParseError(
                        f"Can't find end of a URL at byte offset {_byte_offset(text, url_begin)}"
                    )
                entity["arg"] = "".join(url)
        if u16 > entity["start"]:
            result: JSON = {
                "type": kind,
                "offset": entity["start"],
                "length": u16 - entity["start"],
            }
            if kind == "text_link":
                result["url"] = entity["arg"]
            elif kind == "custom_emoji":
                result["custom_emoji_id"] = entity["arg"].rpartition("id=")[2]
            elif kind == "pre" and entity["arg"]:
                result["language"] = entity["arg"]
            entities.append(result)
        i += 1

    if stack:
        raise EntityParseError(
            f"Can't find end of {_MDV2_NAMES[stack[-1]['type']]} entity at byte offset "
            f"{stack[-1]['byte']}"
        )
    if quote_start is not None and u16 > quote_start:
        entities.append({"type": "blockquote", "offset": quote_start, "length": u16 - quote_start})
    return "".join(out), entities


_PARSERS: dict[str, Callable[[str], tuple[str, list[JSON]]]] = {
    "html": parse_html,
    "markdownv2": parse_markdown_v2,
    "markdown": lambda text: (text, []),  # legacy mode: accepted, not validated
}


def format_text(text: str, parse_mode: str | None, entities: Any = None) -> tuple[str, list[JSON]]:
    """Turn a text parameter into ``(plain_text, entities)`` as Telegram stores it.

    Explicit ``entities`` win over ``parse_mode``; the result is trimmed of surrounding
    whitespace like Telegram does. Raises :class:`ApiError` for unparsable text.
    """
    if entities is not None:
        if not isinstance(entities, list):
            raise bad_request("can't parse entities JSON object")
        plain, parsed = text, [dict(e) for e in entities]
    elif parse_mode:
        parser = _PARSERS.get(parse_mode.lower())
        if parser is None:
            raise bad_request(f"unsupported parse_mode {parse_mode!r}")
        try:
            plain, parsed = parser(text)
        except EntityParseError as exc:
            raise bad_request(f"can't parse entities: {exc}") from None
    else:
        plain, parsed = text, []
    return _trim(plain, parsed)


def _trim(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    whitespace = " \t\r\n\v\f"
    left = text.lstrip(whitespace)
    shift = utf16_len(text[: len(text) - len(left)])
    result = left.rstrip(whitespace)
    total = utf16_len(result)
    trimmed = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            trimmed.append({**entity, "offset": start, "length": end - start})
    trimmed.sort(key=lambda e: (e["offset"], -e["length"]))
    return result, trimmed


# --------------------------------------------------------------------------------------------
# Reply markup validation
# --------------------------------------------------------------------------------------------

_INLINE_ACTIONS = (
    "callback_data",
    "url",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "callback_game",
    "web_app",
    "pay",
    "copy_text",
)
_BUTTON_URL_RE = re.compile(r"^(https?://[^\s/?#]+[^\s]*|tg://\S+)$", re.IGNORECASE)


def validate_reply_markup(markup: Any) -> JSON | None:
    """Check a reply_markup like Telegram; returns it unchanged (or ``None``) when valid."""
    if markup is None:
        return None
    if not isinstance(markup, dict):
        raise bad_request("object expected as reply markup")
    if "inline_keyboard" in markup:
        _validate_inline_keyboard(markup["inline_keyboard"])
        return markup
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request(
                'field "keyboard" of the ReplyKeyboardMarkup must be an Array of Arrays'
            )
        for button in itertools.chain.from_iterable(rows):
            text = button.get("text") if isinstance(button, dict) else button
            if not isinstance(text, str) or not text:
                raise bad_request(
                    'can\'t parse keyboard button: Field "text" must be of type String'
                )
        return markup
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return markup
    raise bad_request("can't parse reply keyboard markup JSON object")


def _validate_inline_keyboard(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request(
            'field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
        )
    buttons = list(itertools.chain.from_iterable(rows))
    if len(buttons) > 100:
        raise bad_request("reply markup is too long")
    button_error = "can't parse inline keyboard button"
    for button in buttons:
        if not isinstance(button, dict):
            raise bad_request(
                "can't parse inline keyboard button: InlineKeyboardButton must be an Object"
            )
        if not isinstance(button.get("text"), str):
            raise bad_request(
                'can\'t parse inline keyboard button: Field "text" must be of type String'
            )
        if not button["text"].strip():
            raise bad_request("BUTTON_TEXT_INVALID")
        # Telegram treats an empty callback_data like a missing one.
        actions = [
            a
            for a in _INLINE_ACTIONS
            if a in button and button[a] != ("" if a == "callback_data" else None)
        ]
        if not actions:
            raise bad_request(f"{button_error}: Text buttons are unallowed in the inline keyboard")
        if len(actions) > 1:
            raise bad_request(f"{button_error}: exactly one of the optional fields must be used")
        data = button.get("callback_data")
        if data is not None and (not isinstance(data, str) or len(data.encode("utf-8")) > 64):
            raise bad_request("BUTTON_DATA_INVALID")
        url = button.get("url")
        if url is not None and (not isinstance(url, str) or not _BUTTON_URL_RE.match(url)):
            raise bad_request("BUTTON_URL_INVALID")


def inline_buttons(markup: JSON | None) -> list[JSON]:
    """All inline keyboard buttons of a markup, row by row."""
    if not markup or "inline_keyboard" not in markup:
        return []
    return list(itertools.chain.from_iterable(markup["inline_keyboard"]))


# --------------------------------------------------------------------------------------------
# State: users, chats, messages, files, calls
# --------------------------------------------------------------------------------------------


@dataclass
class UploadedFile:
    """A file the bot uploaded in a multipart request."""

    filename: str | None
    content_type: str | None
    data: bytes


@dataclass
class FileRecord:
    """A file known to the fake (sent by a user or uploaded by the bot), addressable by file_id."""

    file_id: str
    kind: str  # photo, voice, document, audio, video, animation
    content: bytes
    file_path: str
    attributes: JSON  # width, height, duration, file_name, mime_type as applicable

    def api(self) -> JSON:
        """The File object returned by getFile."""
        return {**self.media_fields(), "file_path": self.file_path}

    def media_fields(self) -> JSON:
        return {
            "file_id": self.file_id,
            "file_unique_id": f"unique-{self.file_id}",
            "file_size": len(self.content),
        }

    def media(self) -> Any:
        """The value of the Message field named after :attr:`kind` (photo: one PhotoSize)."""
        data = {**self.media_fields(), **self.attributes}
        return [data] if self.kind == "photo" else data


_MEDIA_DEFAULTS: dict[str, tuple[str, str, str]] = {  # kind -> (folder, extension, mime type)
    "photo": ("photos", "jpg", "image/jpeg"),
    "voice": ("voice", "oga", "audio/ogg"),
    "audio": ("music", "mp3", "audio/mpeg"),
    "video": ("videos", "mp4", "video/mp4"),
    "animation": ("animations", "mp4", "video/mp4"),
    "document": ("documents", "bin", "application/octet-stream"),
}


@dataclass
class StoredMessage:
    """One message in a chat, from a user or from the bot, in its current (edited) state."""

    chat: Chat
    message_id: int
    sender: JSON
    from_bot: bool
    date: int
    method: str | None = None  # the Bot API method that created a bot message
    text: str | None = None
    raw_text: str | None = None
    entities: list[JSON] = field(default_factory=list)
    caption: str | None = None
    raw_caption: str | None = None
    caption_entities: list[JSON] = field(default_factory=list)
    parse_mode: str | None = None
    media: JSON = field(default_factory=dict)  # e.g. {"photo": [...]} or {"voice": {...}}
    reply_markup: JSON | None = None
    reply_to: StoredMessage | None = None
    extra: JSON = field(default_factory=dict)  # forward_origin and the like
    edit_date: int | None = None
    edit_count: int = 0
    deleted: bool = False

    @property
    def inline_markup(self) -> JSON | None:
        """Only inline keyboards are part of a message; reply keyboards belong to the chat."""
        markup = self.reply_markup
        return (
            markup if markup and "inline_keyboard" in markup and markup["inline_keyboard"] else None
        )

    def to_api(self, *, with_reply: bool = True) -> JSON:
        """The Message object exactly as the Bot API returns it."""
        data: JSON = {
            "message_id": self.message_id,
            "from": self.sender,
            "chat": self.chat.api(),
            "date": self.date,
        }
        if self.edit_date is not None:
            data["edit_date"] = self.edit_date
        if self.reply_to is not None and with_reply:
            data["reply_to_message"] = self.reply_to.to_api(with_reply=False)
        data.update(self.extra)
        if self.text is not None:
            data["text"] = self.text
            if self.entities:
                data["entities"] = self.entities
        data.update(self.media)
        if self.caption:
            data["caption"] = self.caption
            if self.caption_entities:
                data["caption_entities"] = self.caption_entities
        if self.inline_markup is not None:
            data["reply_markup"] = self.inline_markup
        return data

    def view(self) -> JSON:
        """The test-facing snapshot: plain and raw text, buttons, edit state, media."""
        buttons = inline_buttons(self.inline_markup)
        keyboard = (self.reply_markup or {}).get("keyboard")
        return {
            "message_id": self.message_id,
            "chat_id": self.chat.id,
            "from_bot": self.from_bot,
            "method": self.method,
            "date": self.date,
            "text": self.text,
            "raw_text": self.raw_text,
            "entities": self.entities,
            "caption": self.caption,
            "raw_caption": self.raw_caption,
            "parse_mode": self.parse_mode,
            "reply_markup": self.reply_markup,
            "buttons": [b["text"] for b in buttons],
            "inline_buttons": buttons,
            "keyboard": [
                b["text"] if isinstance(b, dict) else b
                for b in itertools.chain.from_iterable(keyboard)
            ]
            if keyboard
            else None,
            **{kind: self.media.get(kind) for kind in _MEDIA_DEFAULTS},
            "location": self.media.get("location"),
            "reply_to_message_id": self.reply_to.message_id if self.reply_to else None,
            "edited": self.edit_count > 0,
            "edit_count": self.edit_count,
            "deleted": self.deleted,
            "api": self.to_api(),
        }

    def summary(self) -> str:
        """One line for failure dumps."""
        who = f"bot {self.method}" if self.from_bot else "user"
        body = self.text if self.text is not None else f"[{', '.join(self.media) or 'empty'}]"
        line = f"#{self.message_id:<4} {who:<20} {body!r}"
        if self.caption:
            line += f" caption={self.caption!r}"
        if buttons := inline_buttons(self.inline_markup):
            line += f"  [buttons: {' | '.join(b['text'] for b in buttons)}]"
        if self.edit_count:
            line += f"  (edited x{self.edit_count})"
        if self.deleted:
            line += "  (deleted)"
        return line


@dataclass
class Chat:
    """A private chat (id == user id) or a group the bot is a member of."""

    id: int
    type: str
    title: str | None = None
    username: str | None = None
    user: FakeUser | None = None  # set for private chats
    started: bool = False  # private chats: the user has written to the bot
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    reply_keyboard: JSON | None = None  # the reply keyboard currently shown, if any
    next_message_id: int = 1

    def api(self) -> JSON:
        if self.user is not None:
            return {"id": self.id, "type": "private", **self.user.names()}
        data: JSON = {"id": self.id, "type": self.type, "title": self.title}
        if self.username:
            data["username"] = self.username
        return data

    def bot_messages(self) -> list[StoredMessage]:
        return [m for m in self.messages.values() if m.from_bot]


@dataclass
class ApiCall:
    """One HTTP request to the Bot API, recorded in arrival order.

    ``status`` is ``None`` while the request is in flight and ``0`` when the connection was
    dropped by a simulated outage.
    """

    method: str
    params: JSON
    at: float
    status: int | None = None
    error: str | None = None
    result: Any = None
    finished_at: float | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def chat_id(self) -> int | None:
        chat_id = self.params.get("chat_id")
        return chat_id if isinstance(chat_id, int) else None


@dataclass
class _CallbackQuery:
    id: str
    chat_id: int
    message_id: int
    data: str
    answer: JSON | None = None


# --------------------------------------------------------------------------------------------
# Faults and flood limits
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FloodLimits:
    """Telegram's documented send limits; ``None`` disables a rule."""

    global_per_second: float | None = 30
    per_chat_per_second: float | None = 1
    per_group_per_minute: float | None = 20


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


# --------------------------------------------------------------------------------------------
# Test-side drivers: chats observed through a cursor, users, button presses
# --------------------------------------------------------------------------------------------


def _matches(
    view: JSON, text_contains: str | None, predicate: Callable[[JSON], bool] | None
) -> bool:
    if text_contains is not None:
        haystack = f"{view['text'] or ''}\n{view['caption'] or ''}"
        if text_contains not in haystack:
            return False
    return predicate is None or bool(predicate(view))


class _ChatObserver:
    """Reads the bot's messages in one chat with a cursor: each message is returned once."""

    def __init__(self, fake: FakeBotApi, chat: Chat) -> None:
        self._fake = fake
        self._chat = chat
        self._consumed: set[int] = set()

    @property
    def chat_id(self) -> int:
        return self._chat.id

    @property
    def messages(self) -> list[JSON]:
        """The bot's messages in this chat as the user sees them now (deleted ones omitted)."""
        return [m.view() for m in self._chat.bot_messages() if not m.deleted]

    @property
    def last_message(self) -> JSON | None:
        messages = self.messages
        return messages[-1] if messages else None

    @property
    def reply_keyboard(self) -> JSON | None:
        """The reply keyboard the bot currently shows in this chat."""
        return self._chat.reply_keyboard

    def mark(self) -> int:
        """A position in the bot's message stream, for :meth:`messages_since`."""
        return len(self._chat.bot_messages())

    def messages_since(self, mark: int) -> list[JSON]:
        return [m.view() for m in self._chat.bot_messages()[mark:]]

    async def wait_for(
        self,
        text_contains: str | None = None,
        *,
        predicate: Callable[[JSON], bool] | None = None,
        timeout: float = 10.0,
    ) -> JSON:
        """The oldest bot message not yet returned by ``wait_for`` that matches the filter.

        Messages that did not match stay available to later calls. Edits are not new messages
        (use :meth:`wait_for_edit`); the returned view reflects edits applied so far.
        """

        found = await self._fake._wait_for_state(
            lambda: self._first_unconsumed(text_contains, predicate), timeout
        )
        if found is None:
            raise AssertionError(
                self.dump(f"wait_for(text_contains={text_contains!r}) timed out after {timeout}s")
            )
        self._consumed.add(found.message_id)
        return found.view()

    async def wait_for_edit(
        self,
        message: int | JSON,
        *,
        text_contains: str | None = None,
        predicate: Callable[[JSON], bool] | None = None,
        timeout: float = 10.0,
    ) -> JSON:
        """Wait until a bot message's current state matches; without a filter, for its next edit."""
        message_id = message if isinstance(message, int) else message["message_id"]
        stored = self._chat.messages.get(message_id)
        if stored is None:
            raise AssertionError(self.dump(f"no message #{message_id} in this chat"))
        edits_before = stored.edit_count
        no_filter = text_contains is None and predicate is None

        def check() -> JSON | None:
            view = stored.view()
            if no_filter:
                return view if stored.edit_count > edits_before else None
            return view if _matches(view, text_contains, predicate) else None

        view = await self._fake._wait_for_state(check, timeout)
        if view is None:
            raise AssertionError(
                self.dump(f"message #{message_id} never matched (text_contains={text_contains!r})")
            )
        return view

    async def expect_no_message(
        self, within: float = 1.0, *, text_contains: str | None = None
    ) -> None:
        """Assert that no unconsumed bot message (matching, if given) shows up within ``within``.

        Unconsumed messages that arrived before the call count too: they are exactly the
        duplicates and stray replies this assertion is meant to catch.
        """

        found = await self._fake._wait_for_state(
            lambda: self._first_unconsumed(text_contains, None), within
        )
        if found is not None:
            raise AssertionError(self.dump(f"unexpected bot message: {found.summary()}"))

    def _first_unconsumed(
        self, text_contains: str | None, predicate: Callable[[JSON], bool] | None
    ) -> StoredMessage | None:
        for message in self._chat.bot_messages():
            if message.message_id not in self._consumed and _matches(
                message.view(), text_contains, predicate
            ):
                return message
        return None

    def dump(self, headline: str, limit: int = 15) -> str:
        """A readable report of the chat's recent messages and failed API calls."""
        lines = [headline, f"Recent messages in chat {self._chat.id}:"]
        for message in list(self._chat.messages.values())[-limit:]:
            seen = "  " if not message.from_bot or message.message_id in self._consumed else "* "
            lines.append(f"  {seen}{message.summary()}")
        if not self._chat.messages:
            lines.append("  (none)")
        lines.append("  (* = not yet returned by wait_for)")
        failures = [c for c in self._fake.calls if c.chat_id == self._chat.id and c.error][-5:]
        if failures:
            lines.append("Recent failed API calls for this chat:")
            lines += [f"  {c.method} -> {c.status} {c.error}" for c in failures]
        return "\n".join(lines)


@dataclass
class Press:
    """A button press (callback query) sent by a user; :meth:`answer` awaits the bot's reply."""

    id: str
    data: str
    message_id: int
    chat_id: int
    _fake: FakeBotApi = field(repr=False)

    async def answer(self, timeout: float = 5.0) -> JSON:
        """The parameters of the bot's answerCallbackQuery for this press."""
        query = self._fake._queries[self.id]
        answer = await self._fake._wait_for_state(lambda: query.answer, timeout)
        if answer is None:
            raise AssertionError(
                f"bot did not answer callback query {self.id} (data={self.data!r}) in {timeout}s"
            )
        return answer


class FakeGroup(_ChatObserver):
    """A group chat the bot is a member of; users write into it with ``send(..., chat=group)``."""

    def __init__(self, fake: FakeBotApi, chat: Chat) -> None:
        super().__init__(fake, chat)
        self.id = chat.id
        self.title = chat.title


class FakeUser(_ChatObserver):
    """A Telegram user talking to the bot; the observed chat is the private chat with the bot."""

    def __init__(
        self,
        fake: FakeBotApi,
        user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
        language_code: str | None,
    ) -> None:
        super().__init__(fake, Chat(id=user_id, type="private", user=self))
        self.id = user_id
        self.first_name = first_name
        self.last_name = last_name
        self.username = username
        self.language_code = language_code
        self.blocked = False
        self.deactivated = False

    def names(self) -> JSON:
        data: JSON = {"first_name": self.first_name}
        if self.last_name:
            data["last_name"] = self.last_name
        if self.username:
            data["username"] = self.username
        return data

    def api(self) -> JSON:
        """The User object."""
        data: JSON = {"id": self.id, "is_bot": False, **self.names()}
        if self.language_code:
            data["language_code"] = self.language_code
        return data

    async def send(
        self, text: str, *, chat: FakeGroup | int | None = None, reply_to: int | JSON | None = None
    ) -> JSON:
        """Send a text message (private chat by default); ``/commands`` get a bot_command entity."""
        message = self._fake._user_message(self, chat, text=text, reply_to=reply_to)
        await asyncio.sleep(0)
        return message.view()

    async def send_photo(
        self, caption: str | None = None, *, chat: FakeGroup | int | None = None
    ) -> JSON:
        file = self._fake._new_file("photo", b"\xff\xd8\xff\xe0fake-jpeg", width=1280, height=960)
        return await self._send_media(file, caption, chat)

    async def send_voice(self, duration: int = 3, *, chat: FakeGroup | int | None = None) -> JSON:
        file = self._fake._new_file("voice", b"OggSfake-voice" * 10, duration=duration)
        return await self._send_media(file, None, chat)

    async def send_document(
        self,
        file_name: str = "document.pdf",
        *,
        mime_type: str = "application/pdf",
        content: bytes = b"%PDF-1.4 fake document",
        caption: str | None = None,
        chat: FakeGroup | int | None = None,
    ) -> JSON:
        file = self._fake._new_file("document", content, file_name=file_name, mime_type=mime_type)
        return await self._send_media(file, caption, chat)

    async def send_location(
        self, latitude: float, longitude: float, *, chat: FakeGroup | int | None = None
    ) -> JSON:
        """Send a location, as from the attachment menu (no reply keyboard needed)."""
        location = {"latitude": latitude, "longitude": longitude}
        message = self._fake._user_message(self, chat, media={"location": location})
        await asyncio.sleep(0)
        return message.view()

    async def share_location(self, latitude: float, longitude: float) -> JSON:
        """Tap the reply keyboard's ``request_location`` button, which the bot must be showing."""
        rows = (self.reply_keyboard or {}).get("keyboard", [])
        if not any(
            isinstance(b, dict) and b.get("request_location")
            for b in itertools.chain.from_iterable(rows)
        ):
            raise AssertionError(self.dump("no request_location button on the reply keyboard"))
        return await self.send_location(latitude, longitude)

    async def _send_media(
        self, file: FileRecord, caption: str | None, chat: FakeGroup | int | None
    ) -> JSON:
        message = self._fake._user_message(
            self, chat, media={file.kind: file.media()}, caption=caption
        )
        await asyncio.sleep(0)
        return message.view()

    async def edit(self, message: int | JSON, text: str) -> JSON:
        """Edit one of this user's own text messages (an ``edited_message`` update)."""
        message_id = message if isinstance(message, int) else message["message_id"]
        chat = self._fake._chats[message["chat_id"]] if isinstance(message, dict) else self._chat
        stored = chat.messages.get(message_id)
        if stored is None or stored.from_bot or stored.sender["id"] != self.id:
            raise AssertionError(f"user {self.id} has no message #{message_id} to edit")
        stored.text = stored.raw_text = text
        stored.edit_date, stored.edit_count = int(time.time()), stored.edit_count + 1
        self._fake._enqueue("edited_message", stored.to_api())
        await asyncio.sleep(0)
        return stored.view()

    async def press(
        self,
        message: int | JSON,
        button: str | Callable[[JSON], bool],
        *,
        chat: FakeGroup | None = None,
    ) -> Press:
        """Press an inline button: exact text, else a unique substring, or a predicate."""
        message_id = message if isinstance(message, int) else message["message_id"]
        target = (
            self._fake._chats[message["chat_id"]]
            if isinstance(message, dict)
            else (chat or self)._chat
        )
        stored = target.messages.get(message_id)
        if stored is None or stored.deleted or not stored.from_bot:
            raise AssertionError(self.dump(f"no bot message #{message_id} to press a button on"))
        buttons = inline_buttons(stored.inline_markup)
        if callable(button):
            found = [b for b in buttons if button(b)]
        else:
            found = [b for b in buttons if b["text"] == button] or [
                b for b in buttons if button in b["text"]
            ]
        if len(found) != 1:
            texts = [b["text"] for b in buttons]
            problem = "no button" if not found else "ambiguous button"
            raise AssertionError(f"{problem} {button!r} on message #{message_id}; buttons: {texts}")
        if "callback_data" not in found[0]:
            raise AssertionError(f"button {found[0]['text']!r} has no callback_data: {found[0]}")
        return self._fake._callback_query(self, target, message_id, found[0]["callback_data"])

    async def press_data(
        self, message_id: int, data: str, *, chat: FakeGroup | None = None
    ) -> Press:
        """Send arbitrary (possibly forged) callback data for any message id."""
        return self._fake._callback_query(self, (chat or self)._chat, message_id, data)

    def block(self) -> None:
        """The user blocks the bot: sends fail with 403 and a my_chat_member update is queued."""
        self.blocked = True
        self._fake._member_update(self, "kicked")

    def unblock(self) -> None:
        self.blocked = False
        self._fake._member_update(self, "member")

    def deactivate(self) -> None:
        """The user deletes their account: sends fail with 403 "user is deactivated"."""
        self.deactivated = True


# --------------------------------------------------------------------------------------------
# The server
# --------------------------------------------------------------------------------------------

_API_PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[^/]*)$")
_FILE_PATH = re.compile(r"^/file/bot(?P<token>[^/]+)/(?P<path>.+)$")
_JSON_FIELDS = frozenset(
    {
        "reply_markup", "entities", "caption_entities", "commands", "scope", "allowed_updates",
        "link_preview_options", "reply_parameters", "media", "results", "permissions",
        "options", "explanation_entities", "message_ids", "reaction", "menu_button", "rights",
    }
)  # fmt: skip
_INT_FIELDS = frozenset(
    {
        "chat_id", "from_chat_id", "message_id", "offset", "limit", "timeout", "user_id",
        "reply_to_message_id", "message_thread_id", "duration", "cache_time", "max_connections",
        "width", "height", "until_date", "length",
    }
)  # fmt: skip
_STRING_FIELDS = frozenset({"text", "caption", "callback_query_id", "secret_token", "url"})
_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note",
        "upload_video_note",
    }
)  # fmt: skip
_COMMAND_RE = re.compile(r"^[a-z0-9_]{1,32}$")


def _coerce_param(name: str, value: Any) -> Any:
    """Decode one form/query value the way Telegram interprets it."""
    if name in _STRING_FIELDS:
        return value if isinstance(value, str) else json.dumps(value)
    if not isinstance(value, str):
        return value
    if name in _JSON_FIELDS or (value[:1] in ("{", "[") and name not in _STRING_FIELDS):
        try:
            return json.loads(value)
        except ValueError:
            what = "reply keyboard markup" if name == "reply_markup" else name
            raise bad_request(f"can't parse {what} JSON object") from None
    if name in _INT_FIELDS and re.fullmatch(r"-?\d+", value):
        return int(value)
    if value in ("true", "false"):
        return value == "true"
    return value


class FakeBotApi:
    """The fake Bot API server plus its state and the test-facing query helpers."""

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
        self._send_times: deque[tuple[float, int]] = deque()
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
        self._handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": functools.partial(self._set_description, "description", 512),
            "getMyDescription": functools.partial(self._get_description, "description"),
            "setMyShortDescription": functools.partial(
                self._set_description, "short_description", 120
            ),
            "getMyShortDescription": functools.partial(self._get_description, "short_description"),
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "copyMessage": functools.partial(self._copy_message, forward=False),
            "forwardMessage": functools.partial(self._copy_message, forward=True),
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
            "getChat": self._get_chat,
            "close": self._returns_true,
            "logOut": self._returns_true,
        }
        for kind in _MEDIA_DEFAULTS:
            self._handlers[f"send{kind.capitalize()}"] = functools.partial(self._send_media, kind)
        self._canonical = {name.lower(): name for name in self._handlers}

    # ---- lifecycle ----------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        """Listen on ``host:port`` (0 = a free port) inside the running event loop."""
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{path:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        self._host, self._port = host, sock.getsockname()[1]
        await web.SockSite(self._runner, sock).start()
        self._client = aiohttp.ClientSession()
        # The fake is also the stopwatch for flood limits: a full garbage collection of the
        # host process (the whole test session's objects) stalls it for tens of ms, and the
        # requests that queue meanwhile would be timed as a burst the bot never sent.
        # Frozen objects are not scanned again, so collections stay short.
        gc.collect()
        gc.freeze()

    async def stop(self) -> None:
        """Wake held long polls, stop webhook delivery and close the server."""
        self._closing = True
        self._notify()
        await self._stop_webhook_worker()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._client is not None:
            await self._client.close()
        gc.unfreeze()

    async def __aenter__(self) -> FakeBotApi:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self._port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self._host}:{self._port}/file/bot"

    # ---- test-facing helpers ------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str,
        *,
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "en",
        started: bool = False,
    ) -> FakeUser:
        """The user with this id (created on first use; later calls return the same object).

        ``started=True`` is a user who pressed Start some time ago: the bot may message them
        without them sending anything now (handy for bursts to many chats).
        """
        if user_id not in self._users:
            user = FakeUser(self, user_id, first_name, last_name, username, language_code)
            self._users[user_id] = user
            self._chats[user_id] = user._chat
        if started:
            self._users[user_id]._chat.started = True
        return self._users[user_id]

    def group(self, chat_id: int, title: str, *, username: str | None = None) -> FakeGroup:
        """A group (``-100...`` ids are supergroups) that already has the bot as a member."""
        if chat_id not in self._groups:
            kind = "supergroup" if str(chat_id).startswith("-100") else "group"
            chat = Chat(id=chat_id, type=kind, title=title, username=username)
            self._chats[chat_id] = chat
            self._groups[chat_id] = FakeGroup(self, chat)
        return self._groups[chat_id]

    def calls_to(self, method: str) -> list[ApiCall]:
        return [call for call in self.calls if call.method.lower() == method.lower()]

    def sent_messages(self, chat_id: int | None = None) -> list[JSON]:
        """Bot messages actually delivered (successful send*/copy/forward), in order."""
        return [m.view() for m in self._sent if chat_id is None or m.chat.id == chat_id]

    def commands(self, scope: JSON | None = None, language_code: str = "") -> list[JSON]:
        """What setMyCommands stored for ``scope`` (default scope when omitted)."""
        return list(self._commands.get(self._commands_key(scope, language_code), []))

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

    # ---- waiting ------------------------------------------------------------------------

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

    # ---- HTTP layer ---------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if match := _FILE_PATH.match(request.path):
            return await self._handle_file(request, match["token"], match["path"])
        match = _API_PATH.match(request.path)
        if match is None:
            return web.json_response(ApiError(404, "Not Found").body(), status=404)
        method = self._canonical.get(match["method"].lower(), match["method"])
        call = ApiCall(method=method, params={}, at=time.monotonic())
        self.calls.append(call)
        tracked = method != "getUpdates"  # a held long poll is not "activity"
        self._in_flight += tracked
        try:
            if self.faults.in_outage:
                raise _DropConnection
            call.params = await self._read_params(request)
            await self.faults.delay()
            call.result = await self._execute(match["token"], method, call.params)
            status, body = 200, {"ok": True, "result": call.result}
        except _DropConnection:
            status, body, call.error = 0, None, "connection dropped (simulated outage)"
        except ApiError as exc:
            status, body, call.error = exc.status, exc.body(), exc.description
        except Exception as exc:  # a bug in the fake: answer 500 and keep the evidence
            error = ApiError(500, f"Internal Server Error (fake bug: {exc!r})")
            status, body, call.error = 500, error.body(), error.description
        finally:
            self._in_flight -= tracked
            if tracked:
                self._last_activity = time.monotonic()
        call.status, call.finished_at = status, time.monotonic()
        self._notify()
        if body is None:
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=503)
        return web.json_response(body, status=status)

    async def _handle_file(self, request: web.Request, token: str, path: str) -> web.StreamResponse:
        if self.faults.in_outage and request.transport is not None:
            request.transport.abort()
            return web.Response(status=503)
        if token != self.token:
            return web.json_response(ApiError(401, "Unauthorized").body(), status=401)
        for record in self._files.values():
            if record.file_path == path:
                return web.Response(
                    body=record.content,
                    content_type=record.attributes.get("mime_type", "image/jpeg"),
                )
        return web.json_response(ApiError(404, "Not Found").body(), status=404)

    async def _read_params(self, request: web.Request) -> JSON:
        """Merge query string, JSON body, urlencoded and multipart parameters; decode them."""
        raw: dict[str, Any] = dict(request.query)
        uploads: dict[str, UploadedFile] = {}
        if request.content_type == "application/json" and request.can_read_body:
            try:
                body = await request.json()
            except ValueError:
                raise bad_request("can't parse JSON object") from None
            if isinstance(body, dict):
                raw.update(body)
        elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for name, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    upload = UploadedFile(value.filename, value.content_type, value.file.read())
                    uploads[name] = upload
                    raw[name] = upload
                else:
                    raw[name] = value
        params = {name: _coerce_param(name, value) for name, value in raw.items()}
        for name, value in params.items():  # multipart "attach://<name>" references
            if isinstance(value, str) and value.startswith("attach://"):
                params[name] = uploads.get(value.removeprefix("attach://"), value)
        return params

    async def _execute(self, token: str, method: str, params: JSON) -> Any:
        if token != self.token:
            raise ApiError(401, "Unauthorized")
        handler = self._handlers.get(method)
        if handler is None:
            raise ApiError(404, "Not Found")
        planned = self.faults.take_planned(method)
        if planned is not None and not planned.after_effect:
            raise planned.error()
        if (error := self.faults.random_5xx(method)) is not None:
            raise error
        result = await handler(params)
        if planned is not None:
            raise planned.error()
        return result

    # ---- updates ------------------------------------------------------------------------

    def _enqueue(self, kind: str, payload: JSON) -> None:
        if self._allowed_updates and kind not in self._allowed_updates:
            return
        self._updates.append({"update_id": next(self._update_ids), kind: payload})
        self._notify()

    def _user_message(
        self,
        user: FakeUser,
        chat: FakeGroup | int | None,
        *,
        text: str | None = None,
        media: JSON | None = None,
        caption: str | None = None,
        reply_to: int | JSON | None = None,
    ) -> StoredMessage:
        if user.deactivated:
            raise AssertionError(f"user {user.id} is deactivated and cannot send messages")
        target = self._resolve_chat(user, chat)
        if target.user is not None:
            if user.blocked:
                raise AssertionError(f"user {user.id} blocked the bot; call user.unblock() first")
            target.started = True
        entities: list[JSON] = []
        if text and (command := re.match(r"/[A-Za-z0-9_]+(@[A-Za-z0-9_]+)?", text)):
            entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(command[0])})
        reply_id = (
            reply_to if isinstance(reply_to, int) or reply_to is None else reply_to["message_id"]
        )
        message = self._store_message(
            target,
            sender=user.api(),
            from_bot=False,
            text=text,
            raw_text=text,
            entities=entities,
            media=media or {},
            caption=caption,
            raw_caption=caption,
            reply_to=target.messages.get(reply_id) if reply_id is not None else None,
        )
        self._enqueue("message", message.to_api())
        return message

    def _resolve_chat(self, user: FakeUser, chat: FakeGroup | int | None) -> Chat:
        if chat is None:
            return user._chat
        chat_id = chat if isinstance(chat, int) else chat.id
        if chat_id not in self._chats:
            raise AssertionError(f"unknown chat {chat_id}; create it with fake.group(...)")
        return self._chats[chat_id]

    def _store_message(self, chat: Chat, **fields: Any) -> StoredMessage:
        message = StoredMessage(
            chat=chat, message_id=chat.next_message_id, date=int(time.time()), **fields
        )
        chat.next_message_id += 1
        chat.messages[message.message_id] = message
        self._notify()
        return message

    def _callback_query(self, user: FakeUser, chat: Chat, message_id: int, data: str) -> Press:
        stored = chat.messages.get(message_id)
        if stored is not None and not stored.deleted:
            message = stored.to_api()
        else:  # Telegram's InaccessibleMessage
            message = {"chat": chat.api(), "message_id": message_id, "date": 0}
        query_id = str(next(self._query_ids))
        self._queries[query_id] = _CallbackQuery(query_id, chat.id, message_id, data)
        self._enqueue(
            "callback_query",
            {
                "id": query_id,
                "from": user.api(),
                "message": message,
                "chat_instance": str(abs(hash((self.bot_id, chat.id))) % 10**18),
                "data": data,
            },
        )
        return Press(query_id, data, message_id, chat.id, self)

    def _member_update(self, user: FakeUser, status: str) -> None:
        """Queue the my_chat_member update Telegram sends when a user (un)blocks the bot."""
        bot = self._bot_user()
        kicked = {"status": "kicked", "user": bot, "until_date": 0}
        member = {"status": "member", "user": bot}
        old, new = (member, kicked) if status == "kicked" else (kicked, member)
        update = {"chat": user._chat.api(), "from": user.api(), "date": int(time.time())}
        self._enqueue("my_chat_member", {**update, "old_chat_member": old, "new_chat_member": new})

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

    # ---- Bot API methods: bot and updates -----------------------------------------------

    def _bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    async def _returns_true(self, params: JSON) -> bool:
        return True

    async def _get_me(self, params: JSON) -> JSON:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_updates(self, params: JSON) -> list[JSON]:
        if self._webhook:
            raise ApiError(409, WEBHOOK_CONFLICT)
        self._polled = True
        if "allowed_updates" in params:
            self._allowed_updates = params["allowed_updates"] or None
        offset = params.get("offset")
        if isinstance(offset, int):
            if offset < 0:  # keep only the last -offset updates
                while len(self._updates) > -offset:
                    self._updates.popleft()
            else:
                while self._updates and self._updates[0]["update_id"] < offset:
                    self._updates.popleft()
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # a newer poll terminates an older one, like Telegram does

        def ready() -> str | None:
            if generation != self._poll_generation:
                return "conflict"
            if self.faults.in_outage:
                return "outage"
            return "ready" if self._updates or self._closing else None

        state = await self._wait_for_state(ready, max(float(params.get("timeout") or 0), 0.0))
        if state == "conflict":
            raise ApiError(409, POLL_CONFLICT)
        if state == "outage":
            raise _DropConnection
        return list(itertools.islice(self._updates, limit))

    async def _set_webhook(self, params: JSON) -> bool:
        url = params.get("url") or ""
        if not url:
            return await self._delete_webhook(params)
        if not re.match(r"^https?://", url):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        await self._stop_webhook_worker()
        if params.get("drop_pending_updates"):
            self._updates.clear()
        if "allowed_updates" in params:
            self._allowed_updates = params["allowed_updates"] or None
        self._webhook = {"url": url, "secret_token": params.get("secret_token")}
        self._webhook_error = None
        self._webhook_task = asyncio.create_task(self._webhook_loop())
        return True

    async def _delete_webhook(self, params: JSON) -> bool:
        await self._stop_webhook_worker()
        self._webhook = None
        if params.get("drop_pending_updates"):
            self._updates.clear()
        self._notify()
        return True

    async def _get_webhook_info(self, params: JSON) -> JSON:
        info: JSON = {
            "url": self._webhook["url"] if self._webhook else "",
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates),
        }
        if self._webhook:
            info["max_connections"] = 40
        if self._allowed_updates:
            info["allowed_updates"] = self._allowed_updates
        if self._webhook_error:
            info["last_error_date"], info["last_error_message"] = self._webhook_error
        return info

    async def _stop_webhook_worker(self) -> None:
        task, self._webhook_task = self._webhook_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._webhook_busy = False

    async def _webhook_loop(self) -> None:
        """Deliver queued updates to the webhook in order, one at a time, with retries."""
        while self._webhook and not self._closing:
            ready = await self._wait_for_state(
                lambda: True if self._updates and not self.faults.in_outage else None, None
            )
            if not ready or self._webhook is None:
                return
            update = self._updates[0]
            self._webhook_busy = True
            try:
                await self._post_update(self._webhook, update)
            finally:
                self._webhook_busy = False
            # Delivered or given up after retries: either way it leaves the queue.
            if self._updates and self._updates[0] is update:
                self._updates.popleft()
            self._last_activity = time.monotonic()
            self._notify()

    async def _post_update(self, webhook: JSON, update: JSON) -> bool:
        assert self._client is not None
        headers = {}
        if webhook["secret_token"]:
            headers["X-Telegram-Bot-Api-Secret-Token"] = webhook["secret_token"]
        for delay in (0.0, *self.webhook_retry_delays):
            await asyncio.sleep(delay)
            status: int | None = None
            try:
                async with self._client.post(
                    webhook["url"], json=update, headers=headers, timeout=aiohttp.ClientTimeout(10)
                ) as response:
                    status = response.status
                    error = (
                        None
                        if 200 <= status < 300
                        else (f"Wrong response from the webhook: {status} {response.reason}")
                    )
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"Connection failed: {exc!r}"
            self.webhook_deliveries.append((update["update_id"], status, error))
            if error is None:
                return True
            self._webhook_error = (int(time.time()), error)
        return False

    async def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise bad_request("can't parse commands JSON object")
        for command in commands:
            if not isinstance(command, dict) or not _COMMAND_RE.match(str(command.get("command"))):
                raise bad_request("BOT_COMMAND_INVALID")
            description = command.get("description")
            if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
                raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        key = self._commands_key(params.get("scope"), params.get("language_code") or "")
        self._commands[key] = [
            {"command": c["command"], "description": c["description"]} for c in commands
        ]
        return True

    async def _get_my_commands(self, params: JSON) -> list[JSON]:
        return self.commands(params.get("scope"), params.get("language_code") or "")

    async def _delete_my_commands(self, params: JSON) -> bool:
        key = self._commands_key(params.get("scope"), params.get("language_code") or "")
        self._commands.pop(key, None)
        return True

    async def _set_description(self, field: str, limit: int, params: JSON) -> bool:
        text = params.get(field) or ""
        if not isinstance(text, str) or len(text) > limit:
            raise bad_request(f"{field.upper()}_INVALID")
        self.descriptions[(field, params.get("language_code") or "")] = text
        return True

    async def _get_description(self, field: str, params: JSON) -> JSON:
        return {field: self.descriptions.get((field, params.get("language_code") or ""), "")}

    @staticmethod
    def _commands_key(scope: JSON | None, language_code: str) -> tuple[str, str]:
        return json.dumps(scope or {"type": "default"}, sort_keys=True), language_code

    # ---- Bot API methods: messages ------------------------------------------------------

    def _chat_or_error(self, chat_id: Any) -> Chat:
        if chat_id is None or chat_id == "":
            raise bad_request("chat_id is empty")
        chat = self._chats.get(chat_id)  # "@channelusername" ids are not simulated
        if chat is None:
            raise bad_request("chat not found")
        return chat

    def _writable_chat(self, chat_id: Any, *, initiate: bool = True) -> Chat:
        """The chat if the bot may write there (started, not blocked, user active)."""
        chat = self._chat_or_error(chat_id)
        if chat.user is not None:
            if chat.user.deactivated:
                raise forbidden("user is deactivated")
            if chat.user.blocked:
                raise forbidden("bot was blocked by the user")
            if initiate and not chat.started:
                raise forbidden("bot can't initiate conversation with a user")
        return chat

    @staticmethod
    def _formatted(
        params: JSON, key: str, entities_key: str, limit: int, too_long: str, *, required: bool
    ) -> tuple[str | None, list[JSON]]:
        raw = params.get(key)
        if raw is None and not required:
            return None, []
        plain, entities = format_text(raw or "", params.get("parse_mode"), params.get(entities_key))
        if required and not plain:
            raise bad_request("message text is empty")
        if utf16_len(plain) > limit:
            raise bad_request(too_long)
        return plain, entities

    def _text(self, params: JSON) -> tuple[str, list[JSON]]:
        text, entities = self._formatted(
            params, "text", "entities", MAX_TEXT_LENGTH, "message is too long", required=True
        )
        return text or "", entities

    def _caption(self, params: JSON) -> tuple[str | None, list[JSON]]:
        return self._formatted(
            params, "caption", "caption_entities", MAX_CAPTION_LENGTH,
            "message caption is too long", required=False,
        )  # fmt: skip

    def _reply_target(self, chat: Chat, params: JSON) -> StoredMessage | None:
        reply = params.get("reply_parameters") or {}
        message_id = reply.get("message_id", params.get("reply_to_message_id"))
        if message_id is None:
            return None
        target = chat.messages.get(message_id)
        if target is None or target.deleted:
            allow = reply.get(
                "allow_sending_without_reply", params.get("allow_sending_without_reply")
            )
            if not allow:
                raise bad_request("message to be replied not found")
            return None
        return target

    def _check_flood(self, chat: Chat, method: str) -> None:
        """Record (and, if enforced, refuse) sends that break Telegram's flood limits."""
        now = time.monotonic()
        while self._send_times and self._send_times[0][0] <= now - GROUP_WINDOW_SECONDS:
            self._send_times.popleft()
        limits = self._flood_limits
        rules = (
            ("global_per_second", limits.global_per_second, 1.0, lambda c: True),
            ("per_chat_per_second", limits.per_chat_per_second, 1.0, lambda c: c == chat.id),
            (
                "per_group_per_minute",
                limits.per_group_per_minute if chat.type != "private" else None,
                GROUP_WINDOW_SECONDS,
                lambda c: c == chat.id,
            ),
        )
        for rule, limit, window, selects in rules:
            if limit is None:
                continue
            recent = [
                at for at, chat_id in self._send_times if at > now - window and selects(chat_id)
            ]
            if len(recent) + 1 > limit:
                self.flood_violations.append(
                    FloodViolation(now, method, chat.id, rule, len(recent) + 1, limit)
                )
                if self._enforce_flood:
                    raise too_many_requests(max(1, math.ceil(recent[0] + window - now)))
        self._send_times.append((now, chat.id))

    def _bot_message(self, chat: Chat, method: str, params: JSON, **fields: Any) -> StoredMessage:
        """Store a message the bot sent after the request passed validation."""
        markup = validate_reply_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        self._check_flood(chat, method)
        if markup is not None and "keyboard" in markup:
            chat.reply_keyboard = markup
        elif markup is not None and markup.get("remove_keyboard"):
            chat.reply_keyboard = None
        message = self._store_message(
            chat,
            sender=self._bot_user(),
            from_bot=True,
            method=method,
            parse_mode=params.get("parse_mode"),
            reply_markup=markup,
            reply_to=reply_to,
            **fields,
        )
        self._sent.append(message)
        return message

    async def _send_message(self, params: JSON) -> JSON:
        chat = self._writable_chat(params.get("chat_id"))
        text, entities = self._text(params)
        message = self._bot_message(
            chat, "sendMessage", params, text=text, raw_text=params.get("text"), entities=entities
        )
        return message.to_api()

    def _resolve_file(self, kind: str, value: Any) -> FileRecord:
        if isinstance(value, UploadedFile):
            attributes: JSON = {"file_name": value.filename} if kind != "photo" else {}
            if value.content_type and kind not in ("photo", "voice"):
                attributes["mime_type"] = value.content_type
            return self._new_file(kind, value.data, **attributes)
        if not isinstance(value, str) or not value:
            raise bad_request(f"there is no {kind} in the request")
        if re.match(r"^https?://", value):
            return self._new_file(kind, b"fake content fetched from " + value.encode())
        record = self._files.get(value)
        if record is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        if record.kind != kind:
            raise bad_request(
                f"can't use file of type {record.kind.capitalize()} as {kind.capitalize()}"
            )
        return record

    async def _send_media(self, kind: str, params: JSON) -> JSON:
        chat = self._writable_chat(params.get("chat_id"))
        record = self._resolve_file(kind, params.get(kind))
        if isinstance(params.get("duration"), int):
            record.attributes["duration"] = params["duration"]
        caption, caption_entities = self._caption(params)
        message = self._bot_message(
            chat,
            f"send{kind.capitalize()}",
            params,
            media={kind: record.media()},
            caption=caption,
            raw_caption=params.get("caption"),
            caption_entities=caption_entities,
        )
        return message.to_api()

    async def _copy_message(self, params: JSON, *, forward: bool) -> JSON:
        source_chat = self._chat_or_error(params.get("from_chat_id"))
        source = source_chat.messages.get(params.get("message_id"))  # type: ignore[arg-type]
        if source is None or source.deleted:
            verb = "forward" if forward else "copy"
            raise bad_request(f"message to {verb} not found")
        chat = self._writable_chat(params.get("chat_id"))
        if "caption" in params and not forward:
            caption, caption_entities = self._caption(params)
            raw_caption = params.get("caption")
        else:
            caption, caption_entities = source.caption, source.caption_entities
            raw_caption = source.raw_caption
        extra = (
            {"forward_origin": {"type": "user", "sender_user": source.sender, "date": source.date}}
            if forward
            else {}
        )
        message = self._bot_message(
            chat,
            "forwardMessage" if forward else "copyMessage",
            params,
            text=source.text,
            raw_text=source.raw_text,
            entities=source.entities,
            media=dict(source.media),
            caption=caption,
            raw_caption=raw_caption,
            caption_entities=caption_entities,
            extra=extra,
        )
        return message.to_api() if forward else {"message_id": message.message_id}

    def _message_to_edit(self, params: JSON) -> StoredMessage:
        if "inline_message_id" in params:
            raise bad_request("message to edit not found")  # inline mode is not simulated
        chat = self._writable_chat(params.get("chat_id"), initiate=False)
        message = chat.messages.get(params.get("message_id"))  # type: ignore[arg-type]
        if message is None or message.deleted:
            raise bad_request("message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        return message

    @staticmethod
    def _edited_markup(params: JSON) -> JSON | None:
        markup = validate_reply_markup(params.get("reply_markup"))
        if markup is not None and "inline_keyboard" not in markup:
            raise bad_request("inline keyboard expected")
        return markup

    def _apply_edit(self, message: StoredMessage, markup: JSON | None, **changes: Any) -> JSON:
        """Apply an edit; the keyboard is replaced (removed when the edit carries none)."""
        visible = {
            key: changes[key]
            for key in ("text", "entities", "caption", "caption_entities")
            if key in changes
        }
        same_content = all(getattr(message, key) == value for key, value in visible.items())
        new_inline = markup if markup and markup.get("inline_keyboard") else None
        if same_content and new_inline == message.inline_markup:
            raise bad_request(NOT_MODIFIED)
        for key, value in changes.items():
            setattr(message, key, value)
        if markup is not None or message.inline_markup is not None:
            message.reply_markup = markup
        message.edit_date = int(time.time())
        message.edit_count += 1
        self._notify()
        return message.to_api()

    async def _edit_message_text(self, params: JSON) -> JSON:
        message = self._message_to_edit(params)
        if message.text is None:
            raise bad_request("there is no text in the message to edit")
        text, entities = self._text(params)
        return self._apply_edit(
            message,
            self._edited_markup(params),
            text=text,
            entities=entities,
            raw_text=params.get("text"),
            parse_mode=params.get("parse_mode"),
        )

    async def _edit_message_caption(self, params: JSON) -> JSON:
        message = self._message_to_edit(params)
        if not message.media:
            raise bad_request("there is no caption in the message to edit")
        caption, caption_entities = self._caption(params)
        return self._apply_edit(
            message,
            self._edited_markup(params),
            caption=caption or None,
            caption_entities=caption_entities,
            raw_caption=params.get("caption"),
            parse_mode=params.get("parse_mode"),
        )

    async def _edit_message_reply_markup(self, params: JSON) -> JSON:
        message = self._message_to_edit(params)
        return self._apply_edit(message, self._edited_markup(params))

    async def _delete_message(self, params: JSON) -> bool:
        chat = self._chat_or_error(params.get("chat_id"))
        message = chat.messages.get(params.get("message_id"))  # type: ignore[arg-type]
        if message is None or message.deleted:
            raise bad_request("message to delete not found")
        message.deleted = True
        self._notify()
        return True

    async def _answer_callback_query(self, params: JSON) -> bool:
        query = self._queries.get(str(params.get("callback_query_id")))
        if query is None or query.answer is not None:
            raise bad_request(QUERY_INVALID)
        if len(params.get("text") or "") > MAX_CALLBACK_ANSWER_LENGTH:
            raise bad_request("MESSAGE_TOO_LONG")
        query.answer = {key: value for key, value in params.items() if key != "callback_query_id"}
        return True

    async def _send_chat_action(self, params: JSON) -> bool:
        self._writable_chat(params.get("chat_id"))
        if params.get("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    async def _get_file(self, params: JSON) -> JSON:
        record = self._files.get(str(params.get("file_id")))
        if record is None:
            raise bad_request("invalid file_id")
        return record.api()

    async def _get_chat(self, params: JSON) -> JSON:
        chat = self._chat_or_error(params.get("chat_id"))
        if chat.user is not None and not chat.messages:
            raise bad_request("chat not found")  # the bot has never seen this user
        return {
            **chat.api(),
            "accent_color_id": 0,
            "max_reaction_count": 11,
            "accepted_gift_types": {
                "unlimited_gifts": True,
                "limited_gifts": True,
                "unique_gifts": True,
                "premium_subscription": True,
                "gifts_from_channels": True,
            },
        }


# --------------------------------------------------------------------------------------------
# Standalone mode
# --------------------------------------------------------------------------------------------


async def _serve(args: argparse.Namespace) -> None:
    """Serve until interrupted; stdin lines ``<user_id> <text>`` are sent as that user."""
    fake = FakeBotApi(token=args.token, bot_username=args.bot_username)
    await fake.start(args.host, args.port)
    print(f"Fake Bot API at {fake.base_url} (token {fake.token})", flush=True)
    loop = asyncio.get_running_loop()

    def on_stdin() -> None:
        line = sys.stdin.readline()
        if not line:  # end of input: keep serving without it
            loop.remove_reader(sys.stdin)
        user_id, _, text = line.strip().partition(" ")
        if user_id.isdigit() and text:
            fake._user_message(fake.user(int(user_id), f"User{user_id}"), None, text=text)

    with contextlib.suppress(OSError, ValueError):  # stdin may be a file or closed
        loop.add_reader(sys.stdin, on_stdin)
    shown = 0
    try:
        while True:
            await asyncio.sleep(0.2)
            for message in fake._sent[shown:]:
                print(f"[bot -> {message.chat.id}] {message.summary()}", flush=True)
            shown = len(fake._sent)
    finally:
        await fake.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default="123456:TEST-token")
    parser.add_argument("--bot-username", default="carecircle_test_bot")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
