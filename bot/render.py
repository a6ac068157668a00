"""Turns the plain button layouts of bot.keyboards into Telegram keyboards."""

from __future__ import annotations

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardMarkup

from bot.keyboards import Menu, Rows


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


def menu_markup(menu: Menu) -> ReplyKeyboardMarkup:
    """A persistent reply keyboard: big buttons that send their label as text."""
    return ReplyKeyboardMarkup(
        [list(row) for row in menu], resize_keyboard=True, is_persistent=True
    )
