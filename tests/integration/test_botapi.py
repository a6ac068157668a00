"""The application as build_application wires it, against the fake Bot API: every call it makes
is observed (errors by method and code, reachability), a refused start-up says why, and a
handler that raises is counted."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from telegram import Update
from telegram.error import Forbidden, InvalidToken, NetworkError
from telegram.ext import TypeHandler

from bot.app import CareApplication, build_application
from bot.config import Settings
from playground.sim import FakeBotApi


@pytest.fixture
async def fake() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi() as api:
        yield api


def settings(fake: FakeBotApi, tmp_path: Path, **changes: Any) -> Settings:
    values: dict[str, Any] = {
        "bot_token": SecretStr(fake.token),
        "telegram_base_url": fake.base_url,
        "database_url": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "telegram_timeout_seconds": 2,
    }
    return Settings(**{**values, **changes})


@pytest.fixture
async def app(fake: FakeBotApi, tmp_path: Path) -> AsyncIterator[CareApplication]:
    application = build_application(settings(fake, tmp_path))
    async with application:  # getMe, through the observed request
        yield application
    await application.bot_data.services.db.dispose()


def botapi_errors(app: CareApplication, method: str, code: str) -> float | None:
    return app.bot_data.metrics.registry.get_sample_value(
        "carecircle_botapi_errors_total", {"method": method, "code": code}
    )


async def test_every_bot_api_error_is_counted_by_method_and_code(
    app: CareApplication, fake: FakeBotApi
) -> None:
    fake.user(5, "Pat", started=True)
    fake.faults.fail_next("sendMessage", 403)
    with pytest.raises(Forbidden):
        await app.bot.send_message(5, "hello")
    fake.faults.fail_next("sendChatAction", 502)
    with pytest.raises(NetworkError):
        await app.bot.send_chat_action(5, "typing")
    await app.bot.send_message(5, "hello")
    assert botapi_errors(app, "sendMessage", "403") == 1
    assert botapi_errors(app, "sendChatAction", "502") == 1
    assert botapi_errors(app, "getMe", "401") is None  # the start-up call went well


async def test_an_outage_is_unreachable_until_telegram_answers_again(
    app: CareApplication, fake: FakeBotApi, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.botapi")
    fake.user(5, "Pat", started=True)
    fake.faults.down()
    with pytest.raises(NetworkError):
        await app.bot.send_message(5, "hello")
    assert botapi_errors(app, "sendMessage", "network") == 1
    assert app.bot_data.botapi.unreachable_seconds() > 0
    fake.faults.up()
    await app.bot.send_message(5, "hello")
    assert app.bot_data.botapi.unreachable_seconds() == 0
    events = [r.getMessage().split()[0] for r in caplog.records]
    assert events == ["event=botapi.unreachable", "event=botapi.reachable"]


async def test_a_wrong_base_url_is_told_apart_from_a_wrong_token(
    fake: FakeBotApi, tmp_path: Path
) -> None:
    wrong_path = build_application(
        settings(fake, tmp_path, telegram_base_url=fake.base_url.replace("/bot", "/api/bot"))
    )
    with pytest.raises(InvalidToken):  # PTB's word for both
        await wrong_path.initialize()
    assert wrong_path.bot_data.botapi.last_refusal == 404

    wrong_token = build_application(settings(fake, tmp_path, bot_token=SecretStr("1:wrong")))
    with pytest.raises(InvalidToken):
        await wrong_token.initialize()
    assert wrong_token.bot_data.botapi.last_refusal == 401
    for app in (wrong_path, wrong_token):
        await app.bot_data.services.db.dispose()


async def test_a_handler_that_raises_is_counted_by_its_error(
    app: CareApplication, fake: FakeBotApi
) -> None:
    async def boom(update: Update, context: object) -> None:
        raise RuntimeError("a bug")

    app.add_handler(TypeHandler(Update, boom), group=-10)
    await app.process_update(Update(1))  # an update no other handler takes
    registry = app.bot_data.metrics.registry
    value = registry.get_sample_value("carecircle_handler_errors_total", {"error": "RuntimeError"})
    assert value == 1
