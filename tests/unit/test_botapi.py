"""What the Bot API monitor makes of each call's end: counts, reachability, and log lines."""

from __future__ import annotations

import json
import logging

import pytest
from telegram.error import Conflict, InvalidToken, NetworkError, TimedOut

from bot.aiohttp_request import POOL_FULL, PoolTimedOut
from bot.botapi import (
    BotApiMonitor,
    conflict_hint,
    describe,
    method_name,
    rejection,
)
from bot.metrics import Metrics

TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"


class Ticks:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ticks() -> Ticks:
    return Ticks()


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def monitor(metrics: Metrics, ticks: Ticks) -> BotApiMonitor:
    return BotApiMonitor(metrics, monotonic=ticks)


def errors(metrics: Metrics, method: str, code: str) -> float | None:
    return metrics.registry.get_sample_value(
        "carecircle_botapi_errors_total", {"method": method, "code": code}
    )


def body(description: str, code: int) -> bytes:
    return json.dumps({"ok": False, "error_code": code, "description": description}).encode()


def test_the_method_is_the_urls_last_part_and_never_the_token() -> None:
    assert method_name(f"https://api.telegram.org/bot{TOKEN}/sendMessage", "POST") == "sendMessage"
    assert method_name(f"https://api.telegram.org/file/bot{TOKEN}/photos/a.jpg", "GET") == "file"
    assert method_name(f"https://api.telegram.org/bot{TOKEN}/", "POST") == "other"


def test_descriptions_are_telegrams_words_without_the_token() -> None:
    assert describe(InvalidToken(f"The token `{TOKEN}` was rejected by the server.")) == (
        "The token `<token>` was rejected by the server."
    )
    assert describe(NetworkError("httpx.ConnectError: All connection attempts failed")) == (
        "httpx.ConnectError: All connection attempts failed"
    )


def test_a_conflict_names_its_likely_cause() -> None:
    polling = Conflict(
        "Conflict: terminated by other getUpdates request; "
        "make sure that only one bot instance is running"
    )
    assert "another instance is polling with this token" in conflict_hint(polling)
    webhook = Conflict("Conflict: can't use getUpdates method while webhook is active")
    assert "webhook" in conflict_hint(webhook)


def test_a_404_points_at_the_base_url_and_a_401_at_the_token() -> None:
    assert "check TELEGRAM_BASE_URL" in rejection(404, "http://example.org/bot")
    assert "rejected BOT_TOKEN" in rejection(401, "http://example.org/bot")
    assert "rejected BOT_TOKEN" in rejection(None, "http://example.org/bot")


def test_errors_are_counted_by_method_and_code(monitor: BotApiMonitor, metrics: Metrics) -> None:
    monitor.answered("sendMessage", 200, b'{"ok": true}')
    monitor.answered("sendMessage", 403, body("Forbidden: bot was blocked by the user", 403))
    monitor.answered("sendMessage", 429, body("Too Many Requests: retry after 3", 429))
    monitor.answered("editMessageText", 400, body("Bad Request: message is not modified", 400))
    monitor.failed("sendMessage", TimedOut())
    monitor.failed("getUpdates", NetworkError("httpx.ConnectError: refused"))
    assert errors(metrics, "sendMessage", "403") == 1
    assert errors(metrics, "sendMessage", "429") == 1
    assert errors(metrics, "editMessageText", "400") == 1
    assert errors(metrics, "sendMessage", "timeout") == 1
    assert errors(metrics, "getUpdates", "network") == 1
    assert errors(metrics, "sendMessage", "200") is None


def test_a_full_connection_pool_is_not_telegram_being_unreachable(
    monitor: BotApiMonitor, metrics: Metrics
) -> None:
    error = PoolTimedOut(POOL_FULL)
    monitor.failed("sendMessage", error)
    assert errors(metrics, "sendMessage", "pool_timeout") == 1
    assert monitor.unreachable_seconds() == 0


def test_unreachable_from_the_first_failure_until_any_answer(
    monitor: BotApiMonitor, metrics: Metrics, ticks: Ticks, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.botapi")
    gauge = "carecircle_botapi_unreachable_seconds"
    monitor.failed("sendMessage", NetworkError("httpx.ConnectError: refused"))
    ticks.now += 30
    monitor.answered("sendMessage", 502, body("Bad Gateway", 502))  # a 5xx is no better
    ticks.now += 30
    assert monitor.unreachable_seconds() == 60
    assert metrics.registry.get_sample_value(gauge) == 60
    # Any answer proves Telegram is there, even a refusal.
    monitor.answered("sendMessage", 403, body("Forbidden: bot was blocked by the user", 403))
    assert monitor.unreachable_seconds() == 0
    assert metrics.registry.get_sample_value(gauge) == 0
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "event=botapi.unreachable method=sendMessage code=network "
        "description='httpx.ConnectError: refused'",
        "event=botapi.reachable after_seconds=60.0 failed_calls=2",
    ]


def test_polling_says_when_it_recovers_after_errors(
    monitor: BotApiMonitor, ticks: Ticks, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.botapi")
    monitor.answered("getUpdates", 200, b'{"ok": true, "result": []}')
    assert not caplog.records  # all was well: nothing to say
    monitor.failed("getUpdates", NetworkError("httpx.ReadError: "))
    ticks.now += 4
    monitor.answered("getUpdates", 409, body("Conflict: terminated by other getUpdates", 409))
    ticks.now += 6
    monitor.answered("getUpdates", 200, b'{"ok": true, "result": []}')
    recovered = [r.getMessage() for r in caplog.records if "polling" in r.getMessage()]
    assert recovered == ["event=polling.recovered after_seconds=10.0 errors=2"]


def test_the_last_401_or_404_is_kept_for_the_start_up_message(monitor: BotApiMonitor) -> None:
    assert monitor.last_refusal is None
    monitor.answered("getMe", 404, b"<html>Not Found</html>")  # not the Bot API at all
    assert monitor.last_refusal == 404
    monitor.answered("sendMessage", 400, body("Bad Request: chat not found", 400))
    assert monitor.last_refusal == 404
    monitor.answered("getMe", 401, body("Unauthorized", 401))
    assert monitor.last_refusal == 401
