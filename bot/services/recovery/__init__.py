"""Recovery: the stage, care tips (on request and daily), pain check-ins and /progress.

Time-driven work lives in rows with a due time (the daily tip and check-in on
`recovery_plans`, the evening nudge and next-morning look-in on `daily_checkins`); this
service is the scheduler's `DueSource` for them. Every step is a conditional update on the
due time or state it read, so it happens once even if run twice, after a restart or on two
replicas; outbox keys carry the patient's local date, so a day never gets two tips.
"""

from __future__ import annotations

from bot.services.recovery.daily import _Daily
from bot.services.recovery.pain import _Pain
from bot.services.recovery.settings import _Settings
from bot.services.recovery.stage import _Stage
from bot.services.recovery.views import (
    DoseCounter,
    HelperTips,
    PainResult,
    ProgressView,
    RecoveryConfig,
    ScheduleView,
    StageView,
    TipSettings,
    TipView,
)

__all__ = [
    "DoseCounter",
    "HelperTips",
    "PainResult",
    "ProgressView",
    "RecoveryConfig",
    "RecoveryService",
    "ScheduleView",
    "StageView",
    "TipSettings",
    "TipView",
]


class RecoveryService(_Stage, _Settings, _Pain, _Daily):
    """Use cases for the patient's recovery, and the due work behind daily tips and check-ins."""

    name = "recovery"
