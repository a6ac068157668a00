"""A minimal python-telegram-bot reminder bot, the way the PTB examples would write one.

One JobQueue job per message to send (a dose reminder or a tip), each `run_once` at its
instant, sent through `AIORateLimiter`. Nothing is stored: the jobs live in memory. It is the
yardstick for `bench.burst`, which runs it against the same fake Bot API with the same burst.

Environment: BOT_TOKEN, TELEGRAM_BASE_URL, BASELINE_MESSAGES (a JSON file of
[chat_id, unix_time, text] rows), BASELINE_MAX_RETRIES (AIORateLimiter's retries after a 429).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
from pathlib import Path
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder, ContextTypes

log = logging.getLogger("baseline")


async def send(context: ContextTypes.DEFAULT_TYPE) -> None:
    job = context.job
    assert job is not None and job.chat_id is not None
    buttons = InlineKeyboardMarkup([[InlineKeyboardButton("Taken", callback_data="taken")]])
    await context.bot.send_message(job.chat_id, str(job.data), reply_markup=buttons)


async def schedule(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    assert app.job_queue is not None
    rows = json.loads(Path(os.environ["BASELINE_MESSAGES"]).read_text())
    for chat_id, at, text in rows:
        app.job_queue.run_once(
            send, when=dt.datetime.fromtimestamp(at, dt.UTC), chat_id=chat_id, data=text
        )
    log.warning("event=baseline.scheduled jobs=%d", len(rows))


async def on_error(_update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    log.warning("event=baseline.send_failed error=%r", context.error)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    app = (
        ApplicationBuilder()
        .token(os.environ["BOT_TOKEN"])
        .base_url(os.environ["TELEGRAM_BASE_URL"])
        .rate_limiter(AIORateLimiter(max_retries=int(os.environ.get("BASELINE_MAX_RETRIES", "3"))))
        .post_init(schedule)
        .build()
    )
    app.add_error_handler(on_error)
    app.run_polling()


if __name__ == "__main__":
    main()
