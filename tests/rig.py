"""One integration rig: the services as the app wires them, a frozen clock, the outbox.

`build_services` is `bot.app.create_services` over a test database; `Rig` puts people in a
circle, runs what falls due at a given instant, reads the outbox and delivers it as the sender
would. The fixtures in tests/integration/conftest.py hand it out; property tests that need a
fresh world per example use `open_rig`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlalchemy import delete, select, update

from bot import app
from bot.clock import FrozenClock
from bot.config import Settings
from bot.db.models import Circle, DoseOccurrence, Need, NeedOffer, OutboxMessage, OutboxState
from bot.db.session import Database
from bot.delivery import OutboxSender, SenderConfig
from bot.domain.recovery import Stage
from bot.domain.tips import TipBook, load_tips
from bot.notify import Notifier
from bot.ratelimit import FloodControl
from bot.registry import Services
from bot.scheduling import Scheduler
from bot.services.availability import AvailabilityService
from bot.services.circles import CircleService, Person
from bot.services.meds import MedicationService
from bot.services.needs import NeedService
from bot.services.privacy import PrivacyService
from bot.services.recovery import RecoveryService
from tests.conftest import empty_tables, sqlite_copy
from tests.fakes.timer import Ticks
from tests.people import PAT

# Monday 2 March 2026, 09:00 UTC: 10:00 in Berlin (UTC+1 until 29 March), where Pat lives.
START = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
BERLIN = "Europe/Berlin"
TIPS = load_tips()
Bot = TypeVar("Bot")


def berlin(day: int, hour: int, minute: int = 0, month: int = 3) -> dt.datetime:
    """A wall-clock time in Berlin in 2026 as a UTC instant."""
    local = dt.datetime(2026, month, day, hour, minute, tzinfo=ZoneInfo(BERLIN))
    return local.astimezone(dt.UTC)


class CountingScheduler(Scheduler):
    """The app's scheduler, counting the pokes services give it after committing due work
    (with no job queue attached, a poke changes nothing else)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pokes = 0

    def poke(self) -> None:
        self.pokes += 1
        super().poke()


def build_services(url: str, clock: FrozenClock, **settings: Any) -> Services:
    """The services exactly as `create_services` wires them, over the database at `url`
    (with `settings` over the defaults); its scheduler counts pokes."""
    config = Settings(bot_token=SecretStr("1:test"), database_url=url, **settings)
    with mock.patch.object(app, "Scheduler", CountingScheduler):
        return app.create_services(config, clock)


@asynccontextmanager
async def open_rig(
    url: str, clock: FrozenClock, *, empty: bool = False, **settings: Any
) -> AsyncIterator[Rig]:
    """A rig over the database at `url`, closed afterwards; `empty` first empties a shared
    PostgreSQL database (a SQLite file is fresh anyway)."""
    rig = Rig(url, clock, build_services(url, clock, **settings), settings)
    try:
        if empty and rig.db.backend == "postgresql":
            await empty_tables(rig.db)
        yield rig
    finally:
        await rig.close()


def example_url(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated database for one example of a property test: a fresh SQLite file, or the
    shared PostgreSQL database (`open_rig(..., empty=True)` empties it)."""
    if backend == "sqlite":
        directory = tmp_path / uuid.uuid4().hex
        directory.mkdir()
        return sqlite_copy(request.getfixturevalue("sqlite_template"), directory)
    url: str = request.getfixturevalue("pg_migrated_url")
    return url


@dataclass(repr=False)
class Rig:
    """The services of one process (`rig.meds`, `rig.needs` …) over a test database, and
    what a test does around them: people, the clock, the outbox."""

    url: str
    clock: FrozenClock
    services: Services
    overrides: dict[str, Any] = field(default_factory=dict)
    tips: TipBook = TIPS
    _processes: list[Services] = field(default_factory=list)

    def __repr__(self) -> str:  # short, for pytest's failure reports
        return f"Rig({self.db.backend}, now={self.clock.now().isoformat()})"

    # --- the services ----------------------------------------------------------------------

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def db(self) -> Database:
        return self.services.db

    @property
    def notifier(self) -> Notifier:
        return self.services.notifier

    @property
    def circles(self) -> CircleService:
        return self.services.circles

    @property
    def needs(self) -> NeedService:
        return self.services.needs

    @property
    def availability(self) -> AvailabilityService:
        return self.services.availability

    @property
    def meds(self) -> MedicationService:
        return self.services.meds

    @property
    def recovery(self) -> RecoveryService:
        return self.services.recovery

    @property
    def privacy(self) -> PrivacyService:
        return self.services.privacy

    @property
    def pokes(self) -> int:
        """How often services have poked the scheduler (to re-arm it for new due work)."""
        scheduler = self.services.scheduler
        assert isinstance(scheduler, CountingScheduler)
        return scheduler.pokes

    def new_process(self) -> Services:
        """Another process over the same database, beside this one: a second replica, or the
        one that starts after a restart. Nothing in memory is shared."""
        services = build_services(self.url, self.clock, **self.overrides)
        self._processes.append(services)
        return services

    def restart(self) -> None:
        """This process restarts: from now on `rig.meds` and the others are fresh ones."""
        self._processes.append(self.services)
        self.services = build_services(self.url, self.clock, **self.overrides)

    async def close(self) -> None:
        for services in (self.services, *self._processes):
            await services.db.dispose()

    # --- people ----------------------------------------------------------------------------

    async def patient(
        self, who: Person = PAT, *, zone: str = BERLIN, stage: Stage | None = None
    ) -> int:
        """`who` becomes a patient living in `zone` (and, if given, in this stage of
        recovery, which starts the daily tip and check-in); returns their circle's id."""
        await self.circles.touch(who)
        circle_id = await self.circles.become_patient(who.id)
        await self.circles.set_timezone(who.id, zone)
        if stage is not None:
            await self.recovery.choose_stage(who.id, stage)
        return circle_id

    async def join(self, *helpers: Person, access: str = "close", patient: Person = PAT) -> None:
        """The helpers join the patient's circle, in this order, each with a fresh invite."""
        for helper in helpers:
            await self.circles.touch(helper)
            invite = await self.circles.invite(patient.id, access, replace=True)
            await self.circles.join(helper.id, invite.code)

    async def setting(self, name: str, value: bool) -> None:
        """Set one of the circle's switches (e.g. helpers_mark_given) in every circle."""
        async with self.db.transaction() as session:
            await session.execute(update(Circle).values({name: value}))

    # --- time --------------------------------------------------------------------------------

    def utc(self, hour: int, minute: int = 0, second: int = 0, day: int = 2) -> dt.datetime:
        """An instant in March 2026, in UTC (Monday the 2nd unless told)."""
        return dt.datetime(2026, 3, day, hour, minute, second, tzinfo=dt.UTC)

    async def run_at(self, when: dt.datetime, *, deliver: bool = True) -> int:
        """The scheduler wakes at `when` and runs whatever is due, as the app's sources in the
        order it registers them; what they queued is then delivered (as the sender would, so
        later changes to those messages show up as edits). Returns how many were handled."""
        self.clock.set(when)
        handled = 0
        for source in (self.needs, self.meds, self.recovery):
            handled += await source.run_due(when)
        if deliver:
            await self.deliver()
        return handled

    async def later(self, *, deliver: bool = True, **delta: float) -> int:
        """The clock moves on by `delta` (as for `timedelta`), then as `run_at`."""
        return await self.run_at(self.clock.now() + dt.timedelta(**delta), deliver=deliver)

    # --- the outbox --------------------------------------------------------------------------

    async def outbox(self, which: int | str | None = None, /, **where: Any) -> list[OutboxMessage]:
        """Outbox rows in the order they were written: to a chat (`rig.outbox(ANNA.id)`), of a
        kind (`rig.outbox("need.offer")`), and/or by any column (`state="pending"`)."""
        if isinstance(which, int):
            where["chat_id"] = which
        elif isinstance(which, str):
            where["kind"] = which
        async with self.db.transaction() as session:
            query = select(OutboxMessage).filter_by(**where).order_by(OutboxMessage.id)
            return list(await session.scalars(query))

    async def texts(self, chat_id: int, op: str = "send") -> list[str]:
        """The texts of the messages sent (or, with op="edit", edits) to a chat."""
        return [str(m.payload["text"]) for m in await self.outbox(chat_id, op=op)]

    async def deliver(self) -> None:
        """As the sender would: every pending message that is due goes out and gets a message
        id (one held for later, for quiet hours say, waits)."""
        async with self.db.transaction() as session:
            await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.state == OutboxState.PENDING,
                    OutboxMessage.not_before <= self.clock.now(),
                )
                .values(state=OutboxState.SENT, message_id=OutboxMessage.id + 1000)
            )

    async def clear_outbox(self, kind: str | None = None) -> None:
        """Forget what was queued so far (only this kind, if given): the "joined" notices of
        the setup, say."""
        async with self.db.transaction() as session:
            query = delete(OutboxMessage)
            if kind is not None:
                query = query.where(OutboxMessage.kind == kind)
            await session.execute(query)

    async def send_all(self, bot: Bot) -> Bot:
        """The real sender, wired as build_application wires it, sends to `bot` until nothing
        due is left (a second passes between rounds); returns the bot."""
        ticks = Ticks()
        sender = OutboxSender(
            self.db,
            bot,  # type: ignore[arg-type]
            FloodControl(timer=ticks),
            self.clock,
            on_unreachable=self.circles.mark_unreachable,
            config=SenderConfig(concurrency=1),
        )
        for _ in range(200):
            self.clock.advance(seconds=1.1)
            ticks.now += 1.1
            await sender.dispatch_once()
            await sender.wait_inflight()
            due = [
                m
                for m in await self.outbox()
                if m.state == OutboxState.SENDING
                or (m.state == OutboxState.PENDING and m.not_before <= self.clock.now())
            ]
            if not due:
                return bot
        raise AssertionError("the outbox never drained")

    # --- rows ----------------------------------------------------------------------------------

    async def doses(self) -> list[DoseOccurrence]:
        async with self.db.transaction() as session:
            query = select(DoseOccurrence).order_by(DoseOccurrence.id)
            return list(await session.scalars(query))

    async def dose(self, occurrence_id: int) -> DoseOccurrence:
        return next(d for d in await self.doses() if d.id == occurrence_id)

    async def need(self, need_id: int) -> Need:
        async with self.db.transaction() as session:
            need = await session.get(Need, need_id)
            assert need is not None
            return need

    async def offers(self, need_id: int) -> list[NeedOffer]:
        async with self.db.transaction() as session:
            query = select(NeedOffer).where(NeedOffer.need_id == need_id).order_by(NeedOffer.id)
            return list(await session.scalars(query))

    # --- medication ----------------------------------------------------------------------------

    async def add(self, line: str, who: Person = PAT) -> int:
        """A medication added in one line (/addmed); returns its id."""
        return (await self.meds.add_line(who.id, line)).med.id

    async def reminded(self, at: dt.datetime, *, deliver: bool = True) -> int:
        """Run the scheduler at `at` and return the one dose it reminded about."""
        before = {d.id for d in await self.doses()}
        await self.run_at(at, deliver=deliver)
        new = [d for d in await self.doses() if d.id not in before]
        assert len(new) == 1, new
        return new[0].id
