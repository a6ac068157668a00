"""Medication's core: what the service is built from, and the small helpers every part uses."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from bot import texts
from bot.clock import Clock
from bot.config import Settings
from bot.db.models import Circle, DoseOccurrence, Medication, User
from bot.db.session import Database
from bot.domain.errors import StaleAction
from bot.foreground import Foreground
from bot.notify import Notifier
from bot.services.circles import CircleService

log = logging.getLogger(__package__)  # one logger for the service, named as before the split


T = TypeVar("T")

# A conditional update that loses to a change made meanwhile is read again and retried, this
# many times in all; a dose still changing under us after that is answered as stale.
ATTEMPTS = 3


async def until_won(attempt: Callable[[], Awaitable[T | None]]) -> T:
    """Run `attempt` (read, check, one conditional update) until it wins: None means it lost
    the update to someone else and reads again."""
    for _ in range(ATTEMPTS):
        won = await attempt()
        if won is not None:
            return won
    raise StaleAction()


class RefillRequester(Protocol):
    """Posts a need to the circle's helpers (the needs feature's NeedService)."""

    async def post_need(
        self,
        patient_id: int,
        text: str,
        *,
        category: str = "other",
        urgent: bool = False,
        deadline: dt.datetime | None = None,
    ) -> int: ...


@dataclass(frozen=True)
class MedTiming:
    """The timings of reminders, from Settings."""

    nudge: dt.timedelta
    alert: dt.timedelta
    grace: dt.timedelta
    refill_lead_days: float
    # Doses of one patient due in the same minute go as one message.
    group: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> MedTiming:
        return cls(
            nudge=dt.timedelta(minutes=settings.reminder_nudge_minutes),
            alert=dt.timedelta(minutes=settings.missed_dose_alert_minutes),
            grace=dt.timedelta(minutes=settings.reminder_grace_minutes),
            refill_lead_days=settings.refill_lead_days,
            group=settings.group_reminders,
        )


@dataclass
class _Ctx:
    """A medication with its circle and patient, loaded in one transaction."""

    med: Medication
    circle: Circle
    patient: User

    @property
    def zone(self) -> str:
        return self.patient.timezone or "UTC"


class _Core:
    """The service's parts."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        notifier: Notifier,
        circles: CircleService,
        timing: MedTiming,
        *,
        wake: Callable[[], None] | None = None,
        refills: RefillRequester | None = None,
        foreground: Foreground | None = None,
    ) -> None:
        self._db = db
        self._clock = clock
        self._notifier = notifier
        self._circles = circles
        self._timing = timing
        self._wake = wake or (lambda: None)
        self._refills = refills
        # People's updates being handled: the sweep makes way for them (bot.foreground).
        self._foreground = foreground or Foreground()


# --- small helpers ---------------------------------------------------------------------------


def _label(occ: DoseOccurrence, zone: str) -> str:
    """The local time a dose stands for ("08:00"), as scheduled."""
    if occ.slot:
        return occ.slot.rsplit("T", 1)[-1]
    return texts.clock(occ.due_at, zone)


def _patient_keys(occ: DoseOccurrence) -> list[str]:
    """The outbox keys of every message the patient got about this dose: its own, and those
    of the group it was reminded in."""
    base = f"dose:{occ.id}"
    return (
        [f"{base}:reminder", f"{base}:nudge"]
        + [f"{base}:again:{n}" for n in range(1, occ.resends + 1)]
        + _group_keys(occ)
    )


def _group_keys(occ: DoseOccurrence) -> list[str]:
    """The grouped reminder and grouped nudge this dose is a line of (none if alone)."""
    if occ.group_id is None:
        return []
    return [f"doses:{occ.group_id}:reminder", f"doses:{occ.group_id}:nudge"]
