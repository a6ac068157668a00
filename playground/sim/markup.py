"""Reply markup: validated like Telegram does, and the inline buttons of a message."""

from __future__ import annotations

import itertools
import re
from typing import Any

from playground.sim.api import JSON, bad_request

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
