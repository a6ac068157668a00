"""Wiring only: build the services and the Telegram application from settings."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from telegram import BotCommand, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults

from bot import handlers, texts
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.db.session import Database
from bot.delivery import OutboxSender
from bot.handlers.common import BotData
from bot.notify import Notifier
from bot.ratelimit import FloodControl
from bot.scheduling import Scheduler
from bot.services.circles import CircleService
from bot.services.meds import MedicationService, MedTiming, RefillRequester

CareApplication = Application[Any, Any, Any, Any, BotData, Any]


@dataclass
class Services:
    """Everything handlers may call; built once per process."""

    settings: Settings
    clock: Clock
    db: Database
    notifier: Notifier
    scheduler: Scheduler
    circles: CircleService
    meds: MedicationService  # --- meds ---


def create_services(settings: Settings, clock: Clock | None = None) -> Services:
    clock = clock or SystemClock()
    db = Database(settings.database_url)
    notifier = Notifier(clock)
    scheduler = Scheduler(clock, dt.timedelta(seconds=settings.sweep_interval_seconds))
    circles = CircleService(db, clock, notifier, dt.timedelta(days=settings.invite_ttl_days))
    # --- meds ---
    refills: RefillRequester | None = None  # MERGE: refills = needs (the NeedService)
    meds = MedicationService(
        db,
        clock,
        notifier,
        circles,
        MedTiming.from_settings(settings),
        wake=scheduler.poke,
        refills=refills,
    )
    scheduler.register(meds)
    circles.on_timezone_changed(meds.timezone_changed)
    return Services(settings, clock, db, notifier, scheduler, circles, meds)


def build_application(settings: Settings, clock: Clock | None = None) -> CareApplication:
    services = create_services(settings, clock)
    flood = FloodControl()
    timeout = settings.telegram_timeout_seconds
    app: CareApplication = (
        ApplicationBuilder()
        .token(settings.bot_token.get_secret_value())
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.file_base_url)
        .connect_timeout(timeout)
        .read_timeout(timeout)
        .write_timeout(timeout)
        .get_updates_connect_timeout(timeout)
        .context_types(ContextTypes(bot_data=BotData))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .rate_limiter(flood)
        # Updates run concurrently: correctness comes from conditional updates in the
        # database, not from processing one update at a time.
        .concurrent_updates(True)
        .post_init(_on_startup)
        .post_stop(_on_stop)
        .post_shutdown(_on_shutdown)
        .build()
    )
    app.bot_data.services = services
    sender = OutboxSender(
        services.db,
        app.bot,
        flood,
        services.clock,
        on_unreachable=services.circles.mark_unreachable,
    )
    services.notifier.set_waker(sender.wake)
    app.bot_data.sender = sender
    handlers.register(app)
    return app


async def _on_startup(app: CareApplication) -> None:
    await app.bot.set_my_commands([BotCommand(name, desc) for name, desc in texts.MENU_COMMANDS])
    await app.bot_data.sender.start()
    assert app.job_queue is not None
    app.bot_data.services.scheduler.attach(app.job_queue)


async def _on_stop(app: CareApplication) -> None:
    await app.bot_data.sender.stop()


async def _on_shutdown(app: CareApplication) -> None:
    await app.bot_data.services.db.dispose()
