"""Wiring only: build the services and the Telegram application from settings."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import LinkPreviewOptions, Update
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, ContextTypes, Defaults, TypeHandler

from bot import handlers
from bot.botapi import BotApiMonitor, observed_requests
from bot.clock import Clock, SystemClock
from bot.cluster import Cluster
from bot.config import Settings
from bot.db.session import Database
from bot.delivery import OutboxSender, SenderConfig
from bot.domain.tips import load_tips
from bot.foreground import Foreground
from bot.handlers.common import BotData, CareContext
from bot.metrics import Metrics, update_kind
from bot.notify import Notifier
from bot.ordering import ChatOrderedProcessor
from bot.ratelimit import FloodControl
from bot.registry import Services
from bot.reminder_metrics import reminder_lateness
from bot.scheduling import PRUNE_JOB_ID, Scheduler
from bot.services.availability import AvailabilityService
from bot.services.circles import CircleService
from bot.services.meds import MedicationService, MedTiming
from bot.services.needs import NeedService, NeedTimings
from bot.services.onboarding import OnboardingService
from bot.services.privacy import PrivacyService
from bot.services.recovery import RecoveryConfig, RecoveryService

CareApplication = Application[Any, Any, Any, Any, BotData, Any]
# The outbox is pruned daily, and a few minutes after each start (once the catch-up is done).
PRUNE_EVERY = dt.timedelta(days=1)
PRUNE_FIRST = dt.timedelta(minutes=5)


def create_services(settings: Settings, clock: Clock | None = None) -> Services:
    clock = clock or SystemClock()
    db = Database(settings.database_url)
    notifier = Notifier(clock)
    scheduler = Scheduler(clock, dt.timedelta(seconds=settings.sweep_interval_seconds))
    foreground = Foreground()
    circles = CircleService(
        db,
        clock,
        notifier,
        dt.timedelta(days=settings.invite_ttl_days),
        flow_ttl=dt.timedelta(minutes=settings.flow_expire_minutes),
    )
    # --- needs ---
    needs = NeedService(db, clock, notifier, need_timings(settings), wake=scheduler.poke)
    scheduler.register(needs)
    circles.on_member_gone(needs.member_gone)
    availability = AvailabilityService(db, clock)
    # --- medication (a refill is asked for as a pharmacy need) ---
    meds = MedicationService(
        db,
        clock,
        notifier,
        circles,
        MedTiming.from_settings(settings),
        wake=scheduler.poke,
        refills=needs,
        foreground=foreground,
    )
    scheduler.register(meds)
    circles.on_timezone_changed(meds.timezone_changed)
    circles.on_unreachable(meds.helper_unreachable)
    # --- recovery ---
    recovery = RecoveryService(
        db,
        clock,
        notifier,
        load_tips(),
        RecoveryConfig(
            tip_time=settings.tip_default_time,
            checkin_time=settings.checkin_default_time,
            nudge_time=settings.checkin_nudge_time,
            lookin_time=settings.lookin_time,
            late_grace=dt.timedelta(minutes=settings.recovery_late_grace_minutes),
            suggestion_pause=dt.timedelta(days=settings.suggestion_pause_days),
            lookin_escalate=dt.timedelta(minutes=settings.lookin_escalate_minutes),
        ),
        wake=scheduler.poke,
        doses=meds,
    )
    scheduler.register(recovery)
    circles.on_timezone_changed(recovery.timezone_changed)
    circles.on_unreachable(recovery.helper_unreachable)
    # --- privacy ---
    privacy = PrivacyService(
        db, clock, notifier, circles, dt.timedelta(days=settings.outbox_retention_days)
    )
    scheduler.add_periodic(PRUNE_JOB_ID, PRUNE_EVERY, privacy.prune_outbox, first=PRUNE_FIRST)
    # --- getting started: role, time zone, then the stage question ---
    onboarding = OnboardingService(circles, recovery)
    return Services(
        settings,
        clock,
        db,
        notifier,
        scheduler,
        circles,
        needs=needs,
        availability=availability,
        meds=meds,
        recovery=recovery,
        privacy=privacy,
        onboarding=onboarding,
        foreground=foreground,
    )


def need_timings(settings: Settings) -> NeedTimings:
    return NeedTimings(
        remind=dt.timedelta(minutes=settings.need_remind_minutes),
        ladder=dt.timedelta(minutes=settings.need_ladder_minutes),
        remind_urgent=dt.timedelta(minutes=settings.need_urgent_remind_minutes),
        ladder_urgent=dt.timedelta(minutes=settings.need_urgent_ladder_minutes),
    )


# Paid broadcast (PAID_BROADCAST): Telegram's ceiling for it, what it is used for, and
# enough sends in flight and claimed ahead to keep that rate up at Telegram's latency.
PAID_PER_SECOND = 1000.0
PAID_KINDS = frozenset({"dose.reminder", "dose.nudge"})
PAID_CONCURRENCY = 64
PAID_CLAIM_AHEAD = 100


def _sender_config(settings: Settings) -> SenderConfig:
    config = SenderConfig(
        concurrency=settings.outbox_concurrency,
        lease=dt.timedelta(seconds=settings.outbox_lease_seconds),
        max_attempts=settings.outbox_max_attempts,
    )
    if not settings.paid_broadcast:
        return config
    return dataclasses.replace(
        config,
        concurrency=max(config.concurrency, PAID_CONCURRENCY),
        claim_ahead=PAID_CLAIM_AHEAD,
        paid_kinds=PAID_KINDS,
    )


def build_application(settings: Settings, clock: Clock | None = None) -> CareApplication:
    services = create_services(settings, clock)
    flood = FloodControl(
        overall_per_second=settings.flood_overall_per_second,
        per_chat_seconds=settings.flood_per_chat_seconds,
        per_group_per_minute=settings.flood_group_per_minute,
        paid_per_second=PAID_PER_SECOND if settings.paid_broadcast else None,
    )
    metrics = Metrics()
    # Every Bot API call, replies and the outbox's alike, is counted and timed by this.
    botapi = BotApiMonitor(metrics)
    calls, polls = observed_requests(botapi, settings.telegram_timeout_seconds)
    app: CareApplication = (
        ApplicationBuilder()
        .token(settings.bot_token.get_secret_value())
        .base_url(settings.telegram_base_url)
        .base_file_url(settings.file_base_url)
        .request(calls)
        .get_updates_request(polls)
        .context_types(ContextTypes(bot_data=BotData))
        .defaults(
            Defaults(
                parse_mode=ParseMode.HTML,
                link_preview_options=LinkPreviewOptions(is_disabled=True),
            )
        )
        .rate_limiter(flood)
        # Chats run concurrently, each chat's updates in order (quick answers to a
        # multi-step question land in their own steps); across replicas, correctness comes
        # from conditional updates in the database.
        .concurrent_updates(ChatOrderedProcessor(services.foreground))
        .post_init(_on_startup)
        .post_stop(_on_stop)
        .post_shutdown(_on_shutdown)
        .build()
    )
    app.bot_data.services = services
    app.bot_data.metrics = metrics
    app.bot_data.botapi = botapi
    app.add_handler(TypeHandler(Update, _counter(metrics)), group=-3)
    app.add_error_handler(_error_counter(metrics))
    sender = OutboxSender(
        services.db,
        app.bot,
        flood,
        services.clock,
        on_unreachable=services.circles.mark_unreachable,
        config=_sender_config(settings),
        metrics=metrics,
        on_delivered=[reminder_lateness(services.db, metrics)],
    )
    services.notifier.set_waker(sender.wake)
    app.bot_data.sender = sender
    app.bot_data.cluster = Cluster(
        services.db,
        services.clock,
        check_every=dt.timedelta(seconds=settings.leader_check_seconds),
        on_leadership=services.scheduler.set_leading,
        on_replicas=flood.set_share,
    )
    handlers.register(app)
    return app


def _counter(metrics: Metrics) -> Callable[[Update, object], Coroutine[Any, Any, None]]:
    """Counts every update, in a group of its own before any that answers."""

    async def count(update: Update, _context: object) -> None:
        metrics.update_handled(update_kind(update))

    return count


def _error_counter(metrics: Metrics) -> Callable[[object, CareContext], Coroutine[Any, Any, None]]:
    """Counts the updates whose handler raised (handlers.errors logs and apologises)."""

    async def count(update: object, context: CareContext) -> None:
        if isinstance(update, Update) and context.error is not None:
            metrics.handler_failed(context.error)

    return count


async def _on_startup(app: CareApplication) -> None:
    await handlers.introduce(app.bot)
    await app.bot_data.cluster.start()
    await app.bot_data.sender.start()
    assert app.job_queue is not None
    app.bot_data.services.scheduler.attach(app.job_queue)


async def _on_stop(app: CareApplication) -> None:
    await app.bot_data.sender.stop()
    await app.bot_data.cluster.stop()


async def _on_shutdown(app: CareApplication) -> None:
    await app.bot_data.services.db.dispose()
