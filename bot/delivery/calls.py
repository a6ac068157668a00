"""The Bot API calls that put a queued message in a chat: a new one, or an edit in place.

Every call is flagged Reserved: the sender has already taken its flood slot and its chat.
`within` bounds its wait at the gate (a 429's pause): past it, TooLate and nothing is sent.
"""

from __future__ import annotations

from typing import Any

from telegram import Message
from telegram.constants import ParseMode
from telegram.ext import ExtBot

from bot.notify import OutMessage
from bot.ratelimit import Reserved
from bot.render import markup


async def send(
    bot: ExtBot[Any],
    chat_id: int,
    message: OutMessage,
    paid: bool = False,
    within: float | None = None,
) -> Message:
    keyboard = markup(message.buttons)
    common: dict[str, Any] = {
        "chat_id": chat_id,
        "reply_markup": keyboard,
        "parse_mode": ParseMode.HTML,
        "rate_limit_args": Reserved(within),
    }
    if paid:
        common["allow_paid_broadcast"] = True
    media = message.media
    if media is None:
        return await bot.send_message(text=message.text, **common)
    if media.kind == "photo":
        return await bot.send_photo(photo=media.file_id, caption=message.text, **common)
    if media.kind == "voice":
        return await bot.send_voice(voice=media.file_id, caption=message.text, **common)
    return await bot.send_document(document=media.file_id, caption=message.text, **common)


async def edit(
    bot: ExtBot[Any],
    chat_id: int,
    message_id: int,
    message: OutMessage,
    within: float | None = None,
) -> None:
    common: dict[str, Any] = {
        "chat_id": chat_id,
        "message_id": message_id,
        "reply_markup": markup(message.buttons),
        "parse_mode": ParseMode.HTML,
        "rate_limit_args": Reserved(within),
    }
    if message.media is not None:  # a photo or voice note keeps its words in the caption
        await bot.edit_message_caption(caption=message.text, **common)
    else:
        await bot.edit_message_text(text=message.text, **common)
