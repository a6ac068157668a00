"""The menu check after a reply never turns a done action into "something went wrong"."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any

import pytest
from telegram.constants import ChatType

from bot.handlers.menus import keep_menu


class _Circles:
    async def standing(self, user_id: int) -> Any:
        raise RuntimeError("database is locked")


async def test_a_failing_menu_check_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    update = SimpleNamespace(
        effective_chat=SimpleNamespace(id=7, type=ChatType.PRIVATE),
        effective_user=SimpleNamespace(id=7, is_bot=False),
        message=object(),
        callback_query=None,
    )
    context = SimpleNamespace(
        bot=object(),
        bot_data=SimpleNamespace(services=SimpleNamespace(circles=_Circles()), menus={}),
    )
    with caplog.at_level(logging.WARNING):
        await keep_menu(update, context)  # type: ignore[arg-type]
    assert "event=menu.check_failed user_id=7" in caplog.text
