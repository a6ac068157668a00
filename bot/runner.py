"""Running the application: long polling (the default) or a webhook, with a health port in both,
until SIGTERM or Ctrl-C, then a clean shutdown that finishes what is in flight.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from typing import TYPE_CHECKING

from telegram import Update
from telegram.error import BadRequest, Conflict, InvalidToken, TelegramError

from bot.botapi import conflict_hint, describe, rejection
from bot.config import parse_listen
from bot.events import log_event
from bot.web import Health, ListenError, Server, health_app, new_secret, webhook_app

if TYPE_CHECKING:
    from bot.app import CareApplication

log = logging.getLogger(__name__)


class StartupError(Exception):
    """Start-up failed for a reason a person can fix; the message is that one line."""


def _polling_error(error: TelegramError) -> None:
    """PTB retries polling by itself; a network blip is one line, not a traceback, saying
    what Telegram said (bot.botapi logs when it answers again)."""
    if isinstance(error, Conflict):
        log.warning(
            "event=polling.conflict hint=%r description=%r", conflict_hint(error), describe(error)
        )
        return
    log.warning(
        "event=polling.error error=%s description=%r", type(error).__name__, describe(error)
    )


async def run_polling(app: CareApplication) -> None:
    """Like Application.run_polling, but start-up errors reach the caller unlogged, so
    __main__ can turn them into one clear line; post_init and post_stop are called here.
    """
    stop = _stop_on_signals()
    health, health_server = _health(app)
    try:
        async with app:  # initialize (getMe: checks token and reachability) … shutdown
            await _listen(health_server)
            await _post_init(app)
            assert app.updater is not None
            # Pending updates are kept: a "Taken" tapped while we were down is real.
            await app.updater.start_polling(
                allowed_updates=Update.ALL_TYPES, error_callback=_polling_error
            )
            await app.start()
            _started(app, health, "polling")
            await stop.wait()
            _stopping(health)
            await app.updater.stop()
            await _stop(app)
        await _post_shutdown(app)
    except InvalidToken:
        raise _rejected(app) from None
    finally:
        await health_server.stop()
    log.info("event=bot.stopped")


async def run_webhook(app: CareApplication) -> None:
    """Serve Telegram's POSTs to WEBHOOK_URL until told to stop.

    The webhook stays registered when we stop: other replicas may still be serving it, and
    Telegram keeps updates for us (and retries) until one of them answers. Switching back to
    polling deletes it (PTB's start_polling does).
    """
    settings = app.bot_data.services.settings
    assert settings.webhook_url is not None
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else new_secret()
    stop = _stop_on_signals()
    health, health_server = _health(app)
    host, port = parse_listen(settings.webhook_listen)
    webhook = Server(
        "webhook",
        webhook_app(app, path=settings.webhook_path, secret=secret, metrics=app.bot_data.metrics),
        host,
        port,
        setting="WEBHOOK_LISTEN",
    )
    try:
        async with app:
            await _listen(health_server)
            await _listen(webhook)
            await _post_init(app)
            await app.start()  # until now the endpoint answers 503, and Telegram retries
            try:
                await _set_webhook(app, settings.webhook_url, secret)
            except BaseException:
                await _stop(app)
                raise
            _started(app, health, "webhook")
            await stop.wait()
            _stopping(health)
            # Stop taking updates first: once the application stops, its queue is not read.
            await webhook.stop()
            await _stop(app)
        await _post_shutdown(app)
    except InvalidToken:
        raise _rejected(app) from None
    finally:
        await webhook.stop()
        await health_server.stop()
    log.info("event=bot.stopped")


async def _set_webhook(app: CareApplication, url: str, secret: str) -> None:
    try:
        await app.bot.set_webhook(
            url=url,
            secret_token=secret,
            allowed_updates=Update.ALL_TYPES,
            # Kept, as in polling: updates sent while no replica was up are real.
            drop_pending_updates=False,
        )
    except BadRequest as error:
        raise StartupError(
            f"the Bot API refused WEBHOOK_URL {url} ({error.message}). "
            "It must be a public HTTPS URL that reaches this bot."
        ) from None


def _rejected(app: CareApplication) -> StartupError:
    """getMe was refused (401 or 404; PTB says InvalidToken to both): say which, and what to
    check. The exception's own text holds the token, so it is not shown."""
    settings = app.bot_data.services.settings
    return StartupError(rejection(app.bot_data.botapi.last_refusal, settings.telegram_base_url))


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    return stop


def _health(app: CareApplication) -> tuple[Health, Server]:
    services = app.bot_data.services

    def scheduler_running() -> bool:
        return app.job_queue is not None and bool(app.job_queue.scheduler.running)

    health = Health(
        db=services.db,
        clock=services.clock,
        metrics=app.bot_data.metrics,
        role=lambda: app.bot_data.cluster.role,
        scheduler_running=scheduler_running,
        botapi_unreachable=app.bot_data.botapi.unreachable_seconds,
        unreachable_limit=services.settings.ready_unreachable_seconds,
    )
    host, port = parse_listen(services.settings.health_listen)
    return health, Server("health", health_app(health), host, port, setting="HEALTH_LISTEN")


async def _listen(server: Server) -> None:
    try:
        await server.start()
    except ListenError as error:
        raise StartupError(str(error)) from None


async def _post_init(app: CareApplication) -> None:
    if app.post_init:
        await app.post_init(app)


def _started(app: CareApplication, health: Health, mode: str) -> None:
    # What start-up built (modules, the application, the engine) lives as long as the process:
    # set it aside from the garbage collector. Full collections over it took 60-80 ms every
    # few seconds under load, long enough for sends queued behind one to leave bunched.
    gc.collect()
    gc.freeze()
    health.started = True
    log_event(log, "bot.started", username=app.bot.username, mode=mode)


def _stopping(health: Health) -> None:
    health.stopping = True  # /readyz says so at once: the load balancer sends no more
    log.info("event=bot.stopping")


async def _stop(app: CareApplication) -> None:
    """Finish the updates taken and the sends in flight."""
    await app.stop()
    if app.post_stop:
        await app.post_stop(app)


async def _post_shutdown(app: CareApplication) -> None:
    if app.post_shutdown:
        await app.post_shutdown(app)
