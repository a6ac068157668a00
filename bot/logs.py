"""Logging set-up: one line per event, as text or JSON, and no library that would print our
token."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re

# httpx logs every request URL at INFO, and Bot API URLs contain the token.
QUIET_LOGGERS = (
    "httpx",
    "httpcore",
    "apscheduler",
    # PTB logs every request's parameters (health data) and the token at DEBUG.
    "telegram",
    "aiosqlite",
    "alembic",
)
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# Our lines start `event=<name>`; a JSON line carries that name as a field of its own.
EVENT = re.compile(r"event=([\w.]+)")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, [event, exc]."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        line: dict[str, str] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": message,
        }
        if event := EVENT.match(message):
            line["event"] = event[1]
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        elif record.exc_text:
            line["exc"] = record.exc_text
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False)


def configure_logging(level: str, fmt: str = "text") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
