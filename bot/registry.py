"""What handlers may call: the services of one process, built by `bot.app.create_services`.

A module of its own so that handlers can name it without importing the app that registers
them (which would be an import cycle).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Settings
from bot.db.session import Database
from bot.foreground import Foreground
from bot.notify import Notifier
from bot.scheduling import Scheduler
from bot.services.availability import AvailabilityService
from bot.services.circles import CircleService
from bot.services.meds import MedicationService
from bot.services.needs import NeedService
from bot.services.onboarding import OnboardingService
from bot.services.privacy import PrivacyService
from bot.services.recovery import RecoveryService


@dataclass
class Services:
    """Everything handlers may call; built once per process."""

    settings: Settings
    clock: Clock
    db: Database
    notifier: Notifier
    scheduler: Scheduler
    circles: CircleService
    needs: NeedService
    availability: AvailabilityService
    meds: MedicationService
    recovery: RecoveryService
    privacy: PrivacyService
    onboarding: OnboardingService
    # Updates being handled now: the sweep waits for a gap between them (bot.foreground).
    foreground: Foreground
