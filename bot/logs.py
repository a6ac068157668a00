"""Logging set-up: one line per event, and no library that would print our token."""

from __future__ import annotations

import logging

# httpx logs every request URL at INFO, and Bot API URLs contain the token.
QUIET_LOGGERS = (
    "httpx",
    "httpcore",
    "apscheduler",
    "telegram.ext.Updater",
    "aiosqlite",
    "alembic",
)


def configure_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(max(logging.WARNING, logging.getLevelName(level)))
