"""Running the application: long polling until SIGTERM or Ctrl-C, then a clean shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import Application

log = logging.getLogger(__name__)


def _polling_error(error: TelegramError) -> None:
    """PTB retries polling by itself; a network blip is one line, not a traceback."""
    log.warning("event=polling.error error=%s", type(error).__name__)


async def run_polling(app: Application[Any, Any, Any, Any, Any, Any]) -> None:
    """Like Application.run_polling, but start-up errors reach the caller unlogged, so
    __main__ can turn them into one clear line; post_init and post_stop are called here.
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    async with app:  # initialize (getMe: checks token and reachability) … shutdown
        if app.post_init:
            await app.post_init(app)
        assert app.updater is not None
        # Pending updates are kept: a "Taken" tapped while we were down is real.
        await app.updater.start_polling(
            allowed_updates=Update.ALL_TYPES, error_callback=_polling_error
        )
        await app.start()
        log.info("event=bot.started username=%s", app.bot.username)
        await stop.wait()
        log.info("event=bot.stopping")
        await app.updater.stop()
        await app.stop()
        if app.post_stop:
            await app.post_stop(app)
    if app.post_shutdown:
        await app.post_shutdown(app)
    log.info("event=bot.stopped")
