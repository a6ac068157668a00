"""Log lines as an operator's collector reads them: text by default, JSON on request."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from pydantic import ValidationError

from bot.config import DatabaseSettings, describe_settings_error
from bot.logs import QUIET_LOGGERS, JsonFormatter, configure_logging


def a_record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            exc_info = sys.exc_info()
    record = logging.LogRecord(
        "bot.delivery", logging.WARNING, __file__, 1, message, args, exc_info
    )
    record.created = dt.datetime(2026, 3, 2, 9, 30, 1, 250_000, tzinfo=dt.UTC).timestamp()
    return record


def test_a_json_line_has_time_level_logger_message_and_the_event() -> None:
    line = JsonFormatter().format(a_record("event=outbox.retry outbox_id=%s delay=%s", 7, 2.5))
    assert "\n" not in line
    assert json.loads(line) == {
        "time": "2026-03-02T09:30:01.250+00:00",
        "level": "WARNING",
        "logger": "bot.delivery",
        "message": "event=outbox.retry outbox_id=7 delay=2.5",
        "event": "outbox.retry",
    }


def test_a_json_line_keeps_a_traceback_in_one_field_on_one_line() -> None:
    line = JsonFormatter().format(a_record("event=handler.failed update_id=3", exc=True))
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["event"] == "handler.failed"
    assert "RuntimeError: boom" in parsed["exc"] and "Traceback" in parsed["exc"]


def test_a_line_without_an_event_has_no_event_field() -> None:
    parsed = json.loads(JsonFormatter().format(a_record("Application started")))
    assert "event" not in parsed and parsed["message"] == "Application started"


@contextmanager
def configured(*args: str) -> Iterator[io.StringIO]:
    """configure_logging(*args) on a bare root logger (pytest's capture handlers set aside),
    its lines written into a buffer; everything restored after."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    root.handlers.clear()
    stream = io.StringIO()
    try:
        configure_logging(*args)
        [handler] = root.handlers
        assert isinstance(handler, logging.StreamHandler)
        handler.setStream(stream)
        yield stream
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        for name, level in quiet.items():
            logging.getLogger(name).setLevel(level)


def test_log_format_json_makes_every_line_json() -> None:
    with configured("INFO", "json") as stream:
        logging.getLogger("bot.runner").info("event=bot.started username=%s", "carebot")
        logging.getLogger("httpx").info("HTTP Request: POST https://api.telegram.org/bot1:x/getMe")
    [line] = stream.getvalue().splitlines()  # httpx stays quiet at INFO: its URLs hold tokens
    assert json.loads(line)["event"] == "bot.started"


def test_text_is_the_default() -> None:
    with configured("INFO") as stream:
        logging.getLogger("bot.runner").info("event=bot.stopped")
    [line] = stream.getvalue().splitlines()
    assert line.endswith(" INFO bot.runner event=bot.stopped")


def test_log_format_is_text_or_json(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]
    monkeypatch.setenv("LOG_FORMAT", "JSON")
    assert DatabaseSettings().log_format == "json"
    monkeypatch.setenv("LOG_FORMAT", "yaml")
    with pytest.raises(ValidationError) as error:
        DatabaseSettings()
    assert "LOG_FORMAT" in describe_settings_error(error.value)


def test_ptb_at_debug_never_writes_the_token_or_request_parameters() -> None:
    # PTB logs the API URL (with the token) and every request's parameters at DEBUG.
    with configured("DEBUG") as stream:
        logging.getLogger("telegram.Bot").debug("Set Bot API URL: https://x/bot123:SECRET")
        logging.getLogger("telegram.ext.ExtBot").debug("Calling endpoint with parameters")
        logging.getLogger("bot.meds").debug("event=dose.taken id=1")
    out = stream.getvalue()
    assert "SECRET" not in out and "parameters" not in out
    assert "event=dose.taken" in out  # our own DEBUG lines still come through
