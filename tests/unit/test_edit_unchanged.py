"""A second press of the same button must not ask Telegram for an edit that changes nothing
(Telegram answers such an edit with Bad Request: message is not modified)."""

from __future__ import annotations

import datetime as dt

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Message, MessageEntity

from bot.handlers.common import _unchanged
from bot.notify import Button

CHAT = Chat(1, Chat.PRIVATE)
WHEN = dt.datetime(2026, 11, 24, tzinfo=dt.UTC)


def message(text: str, *, buttons: tuple[tuple[str, str], ...] = (), **extra: object) -> Message:
    markup = (
        InlineKeyboardMarkup([[InlineKeyboardButton(t, callback_data=d) for t, d in buttons]])
        if buttons
        else None
    )
    return Message(1, WHEN, CHAT, text=text, reply_markup=markup, **extra)  # type: ignore[arg-type]


def test_same_text_and_no_buttons_is_unchanged() -> None:
    assert _unchanged(message("Okay, nothing changed."), False, "Okay, nothing changed.", ())


def test_other_text_or_other_buttons_is_a_change() -> None:
    assert not _unchanged(message("Okay, nothing changed."), False, "Deleted.", ())
    with_button = message("Pick one", buttons=(("Yes", "y"),))
    assert not _unchanged(with_button, False, "Pick one", ())
    assert not _unchanged(with_button, False, "Pick one", [[Button("No", "n")]])
    assert _unchanged(with_button, False, "Pick one", [[Button("Yes", "y")]])


def test_formatting_is_compared_as_sent() -> None:
    bold = message("Dose taken", entities=[MessageEntity(MessageEntity.BOLD, 0, 4)])
    assert _unchanged(bold, False, "<b>Dose</b> taken", ())
    assert not _unchanged(bold, False, "Dose taken", ())


def test_quotes_are_compared_as_written() -> None:
    # PTB rebuilds the HTML as "You&#x27;re"; our texts say "You're".
    assert _unchanged(message('You\'re on it, "Pat"'), False, 'You\'re on it, "Pat"', ())
    assert not _unchanged(message("You're on it"), False, "You are on it", ())
