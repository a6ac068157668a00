"""Data rights: rows as the export's JSON (ISO instants, names, local times)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot import texts
from bot.db.models import Need, RecoveryPlan, User


def _iso(instant: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC."""
    return instant.astimezone(dt.UTC).isoformat() if instant is not None else None


def _hhmm(value: dt.time | None) -> str | None:
    return value.strftime("%H:%M") if value is not None else None


def _who(names: dict[int, str], user_id: int | None, *, gone_if_none: bool = False) -> str | None:
    """A person in the circle's history: their name, "you", or a former helper (someone who
    deleted their data: an id we no longer know, or NULL where a person must have been)."""
    if user_id is None:
        return texts.FORMER_HELPER if gone_if_none else None
    return names.get(user_id, texts.FORMER_HELPER)


def _profile(user: User) -> dict[str, Any]:
    quiet = None
    if user.quiet_start is not None and user.quiet_end is not None:
        quiet = {"start_local": _hhmm(user.quiet_start), "end_local": _hhmm(user.quiet_end)}
    return {
        "telegram_user_id": user.id,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "username": user.username,
        "time_zone": user.timezone,
        "quiet_hours": quiet,
        "away_until": _iso(user.away_until),
        # A step-by-step flow they had not finished (what the bot waits for, answers so far).
        "unfinished": {"waiting_for": user.awaiting, "answers_so_far": user.draft}
        if user.awaiting or user.draft
        else None,
        "reachable": user.reachable,
        "first_seen_at": _iso(user.created_at),
        "updated_at": _iso(user.updated_at),
    }


def _need(need: Need, names: dict[int, str]) -> dict[str, Any]:
    # Taken (or done) with no owner: the helper who took it deleted their data.
    taken = need.claimed_at is not None or need.done_at is not None
    taken_by = _who(names, need.owner_id, gone_if_none=taken)
    return {
        "id": need.id,
        "category": need.category,
        "text": need.text,
        "note": need.note,
        "media": need.media_kind,
        "urgent": need.urgent,
        "deadline_at": _iso(need.deadline_at),
        "state": need.state,
        "created_at": _iso(need.created_at),
        "taken_by": taken_by,
        "claimed_at": _iso(need.claimed_at),
        "done_at": _iso(need.done_at),
        "cancelled_at": _iso(need.cancelled_at),
        "expired_at": _iso(need.expired_at),
        "thanked_at": _iso(need.thanked_at),
    }


def _plan(plan: RecoveryPlan, zone: str | None) -> dict[str, Any]:
    return {
        "stage": plan.stage,
        "stage_since": _iso(plan.stage_since),
        "time_zone": zone,
        "daily_tip": {"on": plan.tips_on, "time_local": _hhmm(plan.tip_time)},
        "daily_checkin": {"on": plan.checkins_on, "time_local": _hhmm(plan.checkin_time)},
    }
