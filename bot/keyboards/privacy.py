"""Privacy keyboards: /deletemydata."""

from __future__ import annotations

from bot import texts
from bot.buttons import DataVerb, tap
from bot.keyboards.common import Rows
from bot.notify import Button

__all__ = ["confirm_delete_data"]


def confirm_delete_data(user_id: int) -> Rows:
    """The person's own id rides along: a press by anyone else is refused."""
    return [
        [Button(texts.BUTTON_DELETE_ALL, tap(DataVerb.YES, user_id))],
        [Button(texts.BUTTON_KEEP_DATA, tap(DataVerb.NO, user_id))],
    ]
