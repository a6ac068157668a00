"""Turns the plain button layouts of bot.keyboards into Telegram keyboards."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.keyboards import Rows


def markup(rows: Rows) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(b.text[:64], url=b.url)
                if b.url
                else InlineKeyboardButton(b.text[:64], callback_data=b.data)
                for b in row
            ]
            for row in rows
        ]
    )
