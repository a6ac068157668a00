"""Care circles: what the service returns (people, standings, circles, settings)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from bot.db.models import Circle, Membership, Role


@dataclass(frozen=True)
class Person:
    """Who Telegram says is talking to us."""

    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None


@dataclass(frozen=True)
class HelpingIn:
    """A circle someone helps in."""

    circle_id: int
    patient_id: int
    patient_name: str
    access: str


@dataclass(frozen=True)
class Standing:
    """Where a person stands: their own circle (as patient) and the circles they help in."""

    user_id: int
    name: str
    timezone: str | None
    awaiting: str | None
    draft: dict[str, Any] | None
    patient_circle_id: int | None
    helping: tuple[HelpingIn, ...]
    # The flow's revision (see bot.db.flows), and a question that went unanswered too long.
    flow_rev: int = 0
    expired: str | None = None

    @property
    def is_patient(self) -> bool:
        return self.patient_circle_id is not None

    @property
    def is_helper(self) -> bool:
        return bool(self.helping)


@dataclass(frozen=True)
class TimezoneSet:
    """A time zone stored: its IANA name, and whether it was the person's first."""

    name: str
    # No zone before this call: decided by a conditional update, so of two calls racing
    # (a double tap), only one is first.
    first: bool
    is_patient: bool


@dataclass(frozen=True)
class Member:
    user_id: int
    name: str
    role: str
    access: str
    joined_at: dt.datetime
    reachable: bool


@dataclass(frozen=True)
class CircleView:
    id: int
    patient_id: int
    patient_name: str
    timezone: str | None
    members: tuple[Member, ...]

    @property
    def helpers(self) -> tuple[Member, ...]:
        return tuple(m for m in self.members if m.role == Role.HELPER)


@dataclass(frozen=True)
class InviteView:
    code: str
    access: str
    expires_at: dt.datetime


@dataclass(frozen=True)
class Joined:
    circle_id: int
    patient_name: str
    access: str


# The patient's circle settings, in the order /circle shows them.
CIRCLE_SETTINGS = (
    "one_at_a_time",
    "helpers_manage_meds",
    "helpers_mark_given",
    "lookin_requests",
    "errand_lookins",
)


@dataclass(frozen=True)
class CircleSettings:
    one_at_a_time: bool
    helpers_manage_meds: bool
    helpers_mark_given: bool
    lookin_requests: bool
    errand_lookins: bool


def _settings_of(circle: Circle) -> CircleSettings:
    return CircleSettings(**{name: getattr(circle, name) for name in CIRCLE_SETTINGS})


def _stint(membership: Membership) -> int:
    """Tells one spell of membership from the next, for idempotency keys."""
    return int(membership.joined_at.timestamp())
