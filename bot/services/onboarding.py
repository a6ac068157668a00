"""Getting started, in order: who you are here as → your time zone → (a patient) how your
back is → the invite link. The order lives here; handlers show what comes next."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.flows import Awaiting
from bot.services.circles import CircleService, Standing, TimezoneSet
from bot.services.recovery import RecoveryService


class Step(StrEnum):
    """What /start shows."""

    CHOOSE_ROLE = "choose_role"  # new here: patient or helper?
    TIMEZONE = "timezone"  # a patient without a time zone yet
    STAGE = "stage"  # a patient who has not said how their back is yet
    WELCOME_BACK = "welcome_back"  # all set up


@dataclass(frozen=True)
class Where:
    """Where someone is in getting started, and where they stand."""

    step: Step
    standing: Standing


@dataclass(frozen=True)
class TimezoneAnswer:
    """What a time zone (typed, tapped or from a location) led to."""

    name: str  # the zone they are in now
    is_patient: bool
    # The patient's first zone: onboarding asks how their back is next.
    ask_stage: bool = False
    # False for a location nobody asked for: nothing changed.
    asked: bool = True


class OnboardingService:
    """The steps of getting started, each decided on what the database says now."""

    def __init__(self, circles: CircleService, recovery: RecoveryService) -> None:
        self._circles = circles
        self._recovery = recovery

    async def where(self, user_id: int) -> Where:
        """/start: the step to show (again), or a welcome back."""
        standing = await self._circles.standing(user_id)
        if standing.is_patient and standing.timezone is None:
            step = Step.TIMEZONE
        elif standing.is_patient and standing.awaiting == Awaiting.STAGE:
            step = Step.STAGE
        elif standing.is_patient or standing.is_helper:
            step = Step.WELCOME_BACK
        else:
            step = Step.CHOOSE_ROLE
        return Where(step, standing)

    async def become_patient(self, user_id: int) -> None:
        """ "I'm recovering": their own circle (once); the time zone is asked next."""
        await self._circles.become_patient(user_id)

    async def ask_join_code(self, user_id: int) -> None:
        """ "I'm helping someone" (or /join alone): the next message is the invite code."""
        await self._circles.set_awaiting(user_id, Awaiting.JOIN_CODE)

    async def ask_timezone(self, user_id: int) -> Standing:
        """/timezone alone, or "another zone": the next message is the zone. Returns where
        they stood (their zone so far)."""
        standing = await self._circles.standing(user_id)
        await self._circles.set_awaiting(user_id, Awaiting.TIMEZONE)
        return standing

    async def set_timezone(self, user_id: int, typed: str) -> TimezoneAnswer:
        """A zone typed, or tapped on a button."""
        return await self._answered(user_id, await self._circles.set_timezone(user_id, typed))

    async def set_timezone_at(
        self, user_id: int, latitude: float, longitude: float
    ) -> TimezoneAnswer:
        """A shared location. Asked for (or with no zone yet), it sets the zone; otherwise it
        was shared for another reason (where to meet for a ride) and must not move every
        reminder to another zone."""
        standing = await self._circles.standing(user_id)
        if standing.awaiting != Awaiting.TIMEZONE and standing.timezone is not None:
            return TimezoneAnswer(standing.timezone, standing.is_patient, asked=False)
        stored = await self._circles.set_timezone_at(user_id, latitude, longitude)
        return await self._answered(user_id, stored)

    async def _answered(self, user_id: int, stored: TimezoneSet) -> TimezoneAnswer:
        if stored.first and stored.is_patient:
            await self._recovery.ask_first_stage(user_id)
            return TimezoneAnswer(stored.name, is_patient=True, ask_stage=True)
        return TimezoneAnswer(stored.name, stored.is_patient)
