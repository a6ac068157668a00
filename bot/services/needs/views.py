"""Needs: the dataclasses handlers see, and small pure helpers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from bot.db.models import Need, NeedOffer, User
from bot.domain.clocktime import in_time_range, range_end_after
from bot.domain.needs import NeedCard, Progress, Routed, Timings
from bot.notify import Media

WEEK = dt.timedelta(days=7)


@dataclass(frozen=True)
class NeedTimings:
    """The waits from Settings: normal and urgent."""

    remind: dt.timedelta
    ladder: dt.timedelta
    remind_urgent: dt.timedelta
    ladder_urgent: dt.timedelta

    def of(self, urgent: bool) -> Timings:
        if urgent:
            return Timings(self.remind_urgent, self.ladder_urgent)
        return Timings(self.remind, self.ladder)


@dataclass(frozen=True)
class NeedView:
    """A need as handlers see it."""

    card: NeedCard
    circle_id: int
    patient_id: int
    patient_name: str
    patient_timezone: str | None
    state: str
    owner_id: int | None
    owner_name: str | None
    route_round: int
    created_at: dt.datetime
    claimed_at: dt.datetime | None
    done_at: dt.datetime | None
    thanked: bool
    media: Media | None

    @property
    def id(self) -> int:
        return self.card.id


@dataclass(frozen=True)
class Posted:
    """A need just posted; `routed` is None when this was a repeat of an earlier post."""

    need: NeedView
    routed: Routed | None
    trimmed: bool = False


@dataclass(frozen=True)
class Outcome:
    """What a button press did. `repeat`: it had happened already (a double tap)."""

    need: NeedView
    repeat: bool = False
    routed: Routed | None = None
    confirm: bool = False  # cancelling a need someone is on: ask the patient first
    trimmed: bool = False


@dataclass(frozen=True)
class Overview:
    """What /needs and /mytasks show one person."""

    timezone: str | None
    is_patient: bool
    is_helper: bool
    own: tuple[NeedView, ...]  # as patient: open, taken and recently done
    open: tuple[NeedView, ...]  # as helper: open needs in the circles they help
    mine: tuple[NeedView, ...]  # as helper: what they have taken
    done_this_week: int


@dataclass(frozen=True)
class WeekInCircle:
    """Who helped in one circle in the last seven days (no scores: only thanks)."""

    circle_id: int
    patient_name: str
    is_own: bool
    helpers: tuple[tuple[str, int], ...]


# --- small pure helpers -----------------------------------------------------------------


def _new_round(now: dt.datetime, level: int, *, released_by: int | None) -> dict[str, Any]:
    return {
        "route_round": Need.route_round + 1,
        "routed_at": now,
        "widened_at": now,
        "ask_level": level,
        "reminded": False,
        "patient_told": False,
        "released_by": released_by,
    }


def _card(need: Need) -> NeedCard:
    return NeedCard(
        id=need.id,
        category=need.category,
        text=need.text,
        note=need.note,
        urgent=need.urgent,
        deadline_at=need.deadline_at,
        media_kind=need.media_kind,
    )


def _media(need: Need) -> Media | None:
    if need.media_kind and need.media_file_id:
        return Media(need.media_kind, need.media_file_id)
    return None


def _progress(need: Need) -> Progress:
    return Progress(
        routed_at=need.routed_at,
        widened_at=need.widened_at,
        ask_level=need.ask_level,
        reminded=need.reminded,
        patient_told=need.patient_told,
        deadline_at=need.deadline_at,
    )


def _refs(offer: NeedOffer) -> list[str]:
    return [ref for ref in (offer.offer_key, offer.remind_key) if ref is not None]


def _zone(helper: User, patient: User) -> str:
    return helper.timezone or patient.timezone or "UTC"


def _quiet_until(helper: User, patient: User, now: dt.datetime) -> dt.datetime | None:
    """When this helper's quiet hours end, if they are in them now."""
    if helper.quiet_start is None or helper.quiet_end is None:
        return None
    zone = _zone(helper, patient)
    if not in_time_range(now, helper.quiet_start, helper.quiet_end, zone):
        return None
    return range_end_after(now, helper.quiet_end, zone)
