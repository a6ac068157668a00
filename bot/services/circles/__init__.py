"""Care circles: who is the patient, who helps, invites, joining and leaving."""

from __future__ import annotations

from bot.services.circles.choices import _Choices
from bot.services.circles.core import MemberGoneHook, TimezoneListener, UnreachableListener
from bot.services.circles.helpers import _Helpers
from bot.services.circles.patients import _Patients
from bot.services.circles.people import _People
from bot.services.circles.views import (
    CIRCLE_SETTINGS,
    CircleSettings,
    CircleView,
    HelpingIn,
    InviteView,
    Joined,
    Member,
    Person,
    Standing,
    TimezoneSet,
)

__all__ = [
    "CIRCLE_SETTINGS",
    "CircleService",
    "CircleSettings",
    "CircleView",
    "HelpingIn",
    "InviteView",
    "Joined",
    "Member",
    "MemberGoneHook",
    "Person",
    "Standing",
    "TimezoneListener",
    "TimezoneSet",
    "UnreachableListener",
]


class CircleService(_People, _Patients, _Helpers, _Choices):
    """Use cases for circles and their members."""
