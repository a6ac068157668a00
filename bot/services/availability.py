"""A helper's availability: quiet hours (in their own time zone) and time away."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.db.models import Membership, MemberStatus, Need, Role, User
from bot.db.session import Database
from bot.domain.clocktime import parse_time_of_day, parse_time_range
from bot.domain.errors import BadAway, BadQuietHours, NotHelper, NoTimezone
from bot.domain.needs import NeedState, is_off, parse_away_days
from bot.events import log_event

log = logging.getLogger(__name__)

# "Away until I send /back" is stored as a date no one will reach.
AWAY_INDEFINITELY = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Availability:
    """When someone may be asked."""

    timezone: str | None
    quiet: tuple[dt.time, dt.time] | None
    away_until: dt.datetime | None

    @property
    def away_indefinitely(self) -> bool:
        return self.away_until is not None and self.away_until >= AWAY_INDEFINITELY


class AvailabilityService:
    """Quiet hours and time away, for helpers."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock

    async def show(self, user_id: int) -> Availability:
        async with self._db.transaction() as session:
            user = await self._require_helper(session, user_id)
            return self._availability(user)

    async def set_quiet(self, user_id: int, text: str) -> Availability:
        """ "22:00-07:00" (or "10pm to 7am") sets quiet hours; "off" clears them."""
        async with self._db.transaction() as session:
            user = await self._require_helper(session, user_id)
            if is_off(text):
                user.quiet_start = user.quiet_end = None
                log_event(log, "availability.quiet_off", user_id=user_id)
                return self._availability(user)
            if user.timezone is None:
                raise NoTimezone()
            parsed = parse_time_range(text)
            if parsed is None:
                raise BadQuietHours()
            user.quiet_start, user.quiet_end = parsed
            log_event(log, "availability.quiet_set", user_id=user_id)
            return self._availability(user)

    async def set_quiet_preset(self, user_id: int, start: str, end: str) -> Availability:
        """A preset button ("2200", "0700")."""
        first = parse_time_of_day(f"{start[:2]}:{start[2:]}") if len(start) == 4 else None
        last = parse_time_of_day(f"{end[:2]}:{end[2:]}") if len(end) == 4 else None
        if first is None or last is None:
            raise BadQuietHours()
        return await self.set_quiet(user_id, f"{first:%H:%M}-{last:%H:%M}")

    async def away(self, user_id: int, days: int | None) -> Availability:
        """Away for `days` days, or (None) until they send /back."""
        if days is not None and not 1 <= days <= 90:
            raise BadAway()
        async with self._db.transaction() as session:
            user = await self._require_helper(session, user_id)
            now = self._clock.now()
            user.away_until = AWAY_INDEFINITELY if days is None else now + dt.timedelta(days=days)
            log_event(log, "availability.away", user_id=user_id, days=days)
            return self._availability(user)

    async def away_typed(self, user_id: int, text: str) -> Availability:
        days = parse_away_days(text)
        if days is None:
            raise BadAway()
        return await self.away(user_id, days)

    async def back(self, user_id: int) -> int:
        """Back from being away; returns how many requests are open in their circles."""
        async with self._db.transaction() as session:
            await self._require_helper(session, user_id)
            await session.execute(update(User).where(User.id == user_id).values(away_until=None))
            circles = select(Membership.circle_id).where(
                Membership.user_id == user_id,
                Membership.status == MemberStatus.ACTIVE,
                Membership.role == Role.HELPER,
            )
            count = await session.scalar(
                select(func.count()).where(
                    Need.circle_id.in_(circles), Need.state == NeedState.OPEN
                )
            )
            log_event(log, "availability.back", user_id=user_id)
            return int(count or 0)

    def _availability(self, user: User) -> Availability:
        quiet = (
            (user.quiet_start, user.quiet_end)
            if user.quiet_start is not None and user.quiet_end is not None
            else None
        )
        away = user.away_until
        if away is not None and away <= self._clock.now():
            away = None
        return Availability(user.timezone, quiet, away)

    async def _require_helper(self, session: AsyncSession, user_id: int) -> User:
        helping = await session.scalar(
            select(Membership.id).where(
                Membership.user_id == user_id,
                Membership.status == MemberStatus.ACTIVE,
                Membership.role == Role.HELPER,
            )
        )
        user = await session.get(User, user_id)
        if helping is None or user is None:
            raise NotHelper()
        return user
