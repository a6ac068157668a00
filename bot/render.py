"""Turns the plain button layouts of bot.keyboards into Telegram keyboards."""

from __future__ import annotations

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.keyboards import AskLocation, Menu, Rows


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


def menu_markup(menu: Menu) -> ReplyKeyboardMarkup | ReplyKeyboardRemove:
    """A persistent reply keyboard: big buttons that send their label (or a location).

    An empty menu takes the keyboard away.
    """
    if not menu:
        return ReplyKeyboardRemove()
    return ReplyKeyboardMarkup(
        [
            [
                KeyboardButton(b.text, request_location=True) if isinstance(b, AskLocation) else b
                for b in row
            ]
            for row in menu
        ],
        resize_keyboard=True,
        is_persistent=True,
    )
