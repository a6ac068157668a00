"""A small rig shared by the recovery integration tests: services, people, the outbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.clock import FrozenClock
from bot.db.models import OutboxMessage
from bot.db.session import Database
from bot.domain.recovery import Stage
from bot.domain.tips import TipBook, load_tips
from bot.notify import Notifier
from bot.services.circles import CircleService, Person
from bot.services.recovery import DoseCounter, RecoveryConfig, RecoveryService

PAT = Person(100, "Pat")
SAM = Person(101, "Sam")
ANNA = Person(201, "Anna")
BEN = Person(202, "Ben")
CARA = Person(203, "Cara")

CONFIG = RecoveryConfig(
    tip_time=dt.time(10, 0),
    checkin_time=dt.time(11, 0),
    nudge_time=dt.time(19, 0),
    lookin_time=dt.time(9, 0),
    late_grace=dt.timedelta(minutes=180),
    suggestion_pause=dt.timedelta(days=3),
)
TIPS = load_tips()
# Monday 2 March 2026, 08:00 in Berlin (UTC+1): before the day's tip and check-in.
MORNING = dt.datetime(2026, 3, 2, 7, 0, tzinfo=dt.UTC)


@dataclass
class Rig:
    db: Database
    clock: FrozenClock
    circles: CircleService
    recovery: RecoveryService
    tips: TipBook = TIPS
    wakes: list[int] = field(default_factory=list)

    def restarted(self, doses: DoseCounter | None = None) -> RecoveryService:
        """A fresh service over the same database, as after a restart."""
        return RecoveryService(
            self.db, self.clock, Notifier(self.clock), self.tips, CONFIG, doses=doses
        )

    async def patient(
        self, who: Person = PAT, zone: str = "Europe/Berlin", stage: Stage = Stage.ACUTE
    ) -> int:
        await self.circles.touch(who)
        circle_id = await self.circles.become_patient(who.id)
        await self.circles.set_timezone(who.id, zone)
        await self.recovery.choose_stage(who.id, stage)
        return circle_id

    async def helper(self, who: Person, patient: Person = PAT, access: str = "close") -> None:
        await self.circles.touch(who)
        invite = await self.circles.invite(patient.id, access)
        await self.circles.join(who.id, invite.code)

    async def outbox(self, kind: str | None = None) -> list[OutboxMessage]:
        async with self.db.transaction() as session:
            query = select(OutboxMessage).order_by(OutboxMessage.id)
            if kind is not None:
                query = query.where(OutboxMessage.kind == kind)
            return list(await session.scalars(query))

    async def at(self, when: dt.datetime) -> int:
        """Move the clock and run whatever is due, as the scheduler would."""
        self.clock.set(when)
        return await self.recovery.run_due(when)


def make_rig(db: Database, clock: FrozenClock) -> Rig:
    clock.set(MORNING)
    notifier = Notifier(clock)
    circles = CircleService(db, clock, notifier, invite_ttl=dt.timedelta(days=7))
    wakes: list[int] = []
    recovery = RecoveryService(db, clock, notifier, TIPS, CONFIG, wake=lambda: wakes.append(1))
    circles.on_timezone_changed(recovery.timezone_changed)  # as create_services wires it
    return Rig(db, clock, circles, recovery, TIPS, wakes)


def berlin(day: int, hour: int, minute: int = 0, month: int = 3) -> dt.datetime:
    """A wall-clock time in Berlin (UTC+1 until 29 March 2026) as a UTC instant."""
    local = dt.datetime(2026, month, day, hour, minute, tzinfo=ZoneInfo("Europe/Berlin"))
    return local.astimezone(dt.UTC)


class FakeDoses:
    """A DoseCounter double: a fixed count per day, or no medications at all."""

    def __init__(self, per_day: Mapping[dt.date, int] | None) -> None:
        self.per_day = per_day
        self.asked: list[tuple[int, tuple[dt.date, ...]]] = []

    async def doses_per_day(
        self, circle_id: int, days: Sequence[dt.date]
    ) -> Mapping[dt.date, int] | None:
        self.asked.append((circle_id, tuple(days)))
        if self.per_day is None:
            return None
        return {day: self.per_day.get(day, 0) for day in days}
