"""What every keyboard is made of: rows of buttons, and reply-keyboard menus."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.notify import Button

__all__ = ["NO_MENU", "AskLocation", "Menu", "Rows"]


@dataclass(frozen=True)
class AskLocation:
    """A reply-keyboard button that sends the person's location (private chats only)."""

    text: str


Rows = Sequence[Sequence[Button]]
Menu = Sequence[Sequence[str | AskLocation]]
# Sent as a menu, an empty one takes the reply keyboard away.
NO_MENU: Menu = ()
