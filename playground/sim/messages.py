"""The bot's messages: sending, copying, editing and deleting them, and what goes with them."""

from __future__ import annotations

import math
import re
import time
from collections import deque
from typing import Any

from playground.sim.api import (
    JSON,
    MAX_CALLBACK_ANSWER_LENGTH,
    MAX_CAPTION_LENGTH,
    MAX_TEXT_LENGTH,
    NOT_MODIFIED,
    QUERY_INVALID,
    bad_request,
    forbidden,
    too_many_requests,
)
from playground.sim.core import _Core
from playground.sim.entities import format_text, utf16_len
from playground.sim.faults import GROUP_WINDOW_SECONDS, FloodViolation
from playground.sim.markup import validate_reply_markup
from playground.sim.state import Chat, FileRecord, StoredMessage, UploadedFile

_CHAT_ACTIONS = frozenset(
    {
        "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
        "upload_document", "choose_sticker", "find_location", "record_video_note",
        "upload_video_note",
    }
)  # fmt: skip


class _Messages(_Core):
    """send*, copy/forward, edit*, deleteMessage, answerCallbackQuery, getFile, getChat."""

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

    def _check_flood(self, chat: Chat, method: str, paid: bool = False) -> None:
        """Record (and, if enforced, refuse) sends that break Telegram's flood limits. A send
        with allow_paid_broadcast counts against the paid limit instead of the overall one."""
        now = time.monotonic()
        overall = self._paid_times if paid else self._send_times
        while overall and overall[0] <= now - 1.0:
            overall.popleft()
        mine = self._chat_times.setdefault(chat.id, deque())
        while mine and mine[0] <= now - GROUP_WINDOW_SECONDS:
            mine.popleft()
        limits = self._flood_limits
        in_last_second = sum(1 for at in reversed(mine) if at > now - 1.0) if mine else 0
        rules = (
            (
                "paid_per_second" if paid else "global_per_second",
                limits.paid_per_second if paid else limits.global_per_second,
                len(overall),
                overall[0] + 1.0 if overall else now,
            ),
            ("per_chat_per_second", limits.per_chat_per_second, in_last_second, now + 1.0),
            (
                "per_group_per_minute",
                limits.per_group_per_minute if chat.type != "private" else None,
                len(mine),
                mine[0] + GROUP_WINDOW_SECONDS if mine else now,
            ),
        )
        for rule, limit, recent, frees_at in rules:
            if limit is not None and recent + 1 > limit:
                self.flood_violations.append(
                    FloodViolation(now, method, chat.id, rule, recent + 1, limit)
                )
                if self._enforce_flood:
                    raise too_many_requests(max(1, math.ceil(frees_at - now)))
        overall.append(now)
        mine.append(now)
        if paid:
            self.paid_messages += 1
        if len(self._chat_times) > 100_000:
            self._chat_times = {c: q for c, q in self._chat_times.items() if q and q[-1] > now - 60}

    def _bot_message(self, chat: Chat, method: str, params: JSON, **fields: Any) -> StoredMessage:
        """Store a message the bot sent after the request passed validation."""
        markup = validate_reply_markup(params.get("reply_markup"))
        reply_to = self._reply_target(chat, params)
        self._check_flood(chat, method, paid=params.get("allow_paid_broadcast") in (True, "true"))
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
