"""The daily check-in's safety net: someone is asked to look in, or the patient is told.

Services as create_services wires them. Pat lives in Berlin (UTC+1 in March 2026); the daily
check-in is at 11:00, the nudge at 19:00 and the look-in request at 09:00 the next morning.
Monday 2 March 2026 is the day of the unanswered check-in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from pydantic import SecretStr
from sqlalchemy import delete, select, update

from bot.app import Services, create_services
from bot.clock import FrozenClock
from bot.config import Settings
from bot.db.models import DailyCheckin, OutboxMessage
from bot.db.session import Database
from bot.domain.recovery import ScheduleChoice, Stage
from bot.services.circles import Person
from bot.services.errors import StaleAction

PAT = Person(100, "Pat")
ANNA = Person(201, "Anna")  # close family, joined first
BEN = Person(202, "Ben")  # close family
CARA = Person(203, "Cara")  # close family
ERRI = Person(301, "Erri")  # errand helper
STRANGER = Person(999, "Sam")


def berlin(day: int, hour: int, minute: int = 0) -> dt.datetime:
    local = dt.datetime(2026, 3, day, hour, minute, tzinfo=ZoneInfo("Europe/Berlin"))
    return local.astimezone(dt.UTC)


LOOKIN = berlin(3, 9)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(bot_token=SecretStr("1:test"), database_url=database_url)


@pytest.fixture
async def svc(db: Database, settings: Settings, clock: FrozenClock) -> AsyncIterator[Services]:
    # `db` is asked for only so the database starts empty (it is shared on PostgreSQL).
    clock.set(berlin(2, 8))
    built = create_services(settings, clock)
    await built.circles.touch(PAT)
    await built.circles.become_patient(PAT.id)
    await built.circles.set_timezone(PAT.id, "Europe/Berlin")
    await built.recovery.choose_stage(PAT.id, Stage.ACUTE)
    yield built
    await built.db.dispose()


async def join(svc: Services, *helpers: Person, access: str = "close") -> None:
    for helper in helpers:
        await svc.circles.touch(helper)
        code = (await svc.circles.invite(PAT.id, access, replace=True)).code
        await svc.circles.join(helper.id, code)
    async with svc.db.transaction() as session:
        await session.execute(delete(OutboxMessage).where(OutboxMessage.kind == "circle.joined"))


async def at(svc: Services, when: dt.datetime) -> int:
    assert isinstance(svc.clock, FrozenClock)
    svc.clock.set(when)
    return await svc.recovery.run_due(when)


async def unanswered_until_look_in(svc: Services) -> None:
    """The check-in is asked on Monday and never answered; the nudge goes at 19:00."""
    await at(svc, berlin(2, 11))
    await at(svc, berlin(2, 19))


async def outbox(svc: Services, kind: str | None = None) -> list[OutboxMessage]:
    async with svc.db.transaction() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        return list(await session.scalars(query))


async def delivered(svc: Services) -> None:
    """What was queued has gone out (as the sender would record it)."""
    async with svc.db.transaction() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.state == "pending")
            .values(state="sent", message_id=OutboxMessage.id + 1000)
        )


async def asked(svc: Services) -> list[int]:
    return [m.chat_id for m in await outbox(svc, "recovery.lookin") if m.op == "send"]


async def checkin(svc: Services) -> DailyCheckin:
    async with svc.db.transaction() as session:
        [row] = list(await session.scalars(select(DailyCheckin)))
        return row


def labels(message: OutboxMessage) -> list[str]:
    return [b["text"] for row in message.payload.get("buttons", ()) for b in row]


# --- who is asked ---------------------------------------------------------------------------


async def test_the_look_in_request_has_a_button_and_the_first_tap_wins(svc: Services) -> None:
    await join(svc, ANNA)
    await unanswered_until_look_in(svc)
    await at(svc, LOOKIN)
    [request] = await outbox(svc, "recovery.lookin")
    assert request.chat_id == ANNA.id and labels(request) == ["I'll check on them"]
    row = await checkin(svc)

    mine = await svc.recovery.look_in(ANNA.id, row.id)
    assert mine.by_me and not mine.resolved
    assert (await svc.recovery.look_in(ANNA.id, row.id)).by_me  # a double tap
    [note] = await outbox(svc, "recovery.lookin_checking")
    assert note.chat_id == PAT.id and "Anna</b> is going to check on you" in note.payload["text"]
    assert (await checkin(svc)).due_at is None  # nothing left to escalate


async def test_an_away_helper_is_skipped_and_the_next_one_asked(svc: Services) -> None:
    await join(svc, ANNA, BEN)
    await unanswered_until_look_in(svc)
    await svc.availability.away(ANNA.id, 3)
    await at(svc, LOOKIN)
    assert await asked(svc) == [BEN.id]
    [note] = await outbox(svc, "recovery.lookin_note")
    assert "Ben" in note.payload["text"]


async def test_an_unreachable_helper_is_skipped_and_the_next_one_asked(svc: Services) -> None:
    await join(svc, ANNA, BEN)
    await unanswered_until_look_in(svc)
    await svc.circles.mark_unreachable(ANNA.id)
    await at(svc, LOOKIN)
    assert await asked(svc) == [BEN.id]


async def test_with_nobody_to_ask_the_patient_is_told(svc: Services) -> None:
    await join(svc, ERRI, access="errand")
    await join(svc, ANNA)
    await svc.availability.away(ANNA.id, None)
    await unanswered_until_look_in(svc)
    await at(svc, LOOKIN)
    assert await asked(svc) == []
    [told] = await outbox(svc, "recovery.lookin_nobody")
    assert told.chat_id == PAT.id and "/invite" in told.payload["text"]
    assert (await checkin(svc)).due_at is None


async def test_with_no_helpers_at_all_the_patient_is_told(svc: Services) -> None:
    await unanswered_until_look_in(svc)
    await at(svc, LOOKIN)
    assert len(await outbox(svc, "recovery.lookin_nobody")) == 1


async def test_errand_helpers_are_asked_if_the_patient_allows_it(svc: Services) -> None:
    await svc.circles.toggle_setting(PAT.id, "errand_lookins")
    await join(svc, ERRI, access="errand")
    await unanswered_until_look_in(svc)
    await at(svc, LOOKIN)
    [request] = await outbox(svc, "recovery.lookin")
    assert request.chat_id == ERRI.id and labels(request) == ["I'll check on them"]
    assert "Pat</b> may need a hand" in request.payload["text"]
    assert await outbox(svc, "recovery.lookin_nobody") == []


async def test_switched_off_look_ins_ask_nobody_and_say_nothing(svc: Services) -> None:
    await join(svc, ANNA)
    await svc.circles.toggle_setting(PAT.id, "lookin_requests")
    await unanswered_until_look_in(svc)
    await at(svc, LOOKIN)
    assert await asked(svc) == [] and await outbox(svc, "recovery.lookin_nobody") == []


# --- the bot was down at look-in time ---------------------------------------------------------


async def test_a_look_in_due_while_the_bot_was_down_still_goes(
    svc: Services, settings: Settings
) -> None:
    await join(svc, ANNA)
    await unanswered_until_look_in(svc)
    # Down from Tuesday 08:00 until Wednesday 08:30: back after local midnight.
    back = berlin(4, 8, 30)
    assert isinstance(svc.clock, FrozenClock)
    svc.clock.set(back)
    restarted = create_services(settings, svc.clock)
    await restarted.recovery.run_due(back)
    await restarted.db.dispose()
    [request] = await outbox(svc, "recovery.lookin")
    assert request.chat_id == ANNA.id and "since Monday" in request.payload["text"]
    [note] = await outbox(svc, "recovery.lookin_note")
    assert "since Monday" in note.payload["text"]


# --- nobody taps "I'll check on them" ---------------------------------------------------------


async def test_if_nobody_taps_in_time_the_others_are_asked_across_a_restart(
    svc: Services, settings: Settings
) -> None:
    await join(svc, ANNA, BEN, CARA)
    await join(svc, ERRI, access="errand")
    await unanswered_until_look_in(svc)
    await at(svc, LOOKIN)
    assert await asked(svc) == [ANNA.id]
    window = dt.timedelta(minutes=settings.lookin_escalate_minutes)
    assert (await checkin(svc)).due_at == LOOKIN + window

    restarted = create_services(settings, svc.clock)
    try:
        assert isinstance(svc.clock, FrozenClock)
        svc.clock.set(LOOKIN + window - dt.timedelta(seconds=1))
        await restarted.recovery.run_due(svc.clock.now())
        assert await asked(svc) == [ANNA.id]
        assert await restarted.recovery.next_due() == LOOKIN + window
        svc.clock.set(LOOKIN + window)
        await restarted.recovery.run_due(svc.clock.now())
        assert await asked(svc) == [ANNA.id, BEN.id, CARA.id]  # never the errand helper
        assert await restarted.recovery.run_due(svc.clock.now()) == 0  # once

        row = await checkin(svc)
        assert row.due_at is None
        await delivered(svc)
        mine = await restarted.recovery.look_in(BEN.id, row.id)
        assert mine.by_me
        late = await restarted.recovery.look_in(ANNA.id, row.id)
        assert not late.by_me and late.checker_name == "Ben"
        edits = [m for m in await outbox(svc, "recovery.lookin_update")]
        assert {m.chat_id for m in edits} == {ANNA.id, CARA.id}
        assert all("Ben is checking on Pat" in m.payload["text"] for m in edits)
    finally:
        await restarted.db.dispose()


async def test_a_tap_in_time_means_nobody_else_is_asked(svc: Services, settings: Settings) -> None:
    await join(svc, ANNA, BEN)
    await unanswered_until_look_in(svc)
    await at(svc, LOOKIN)
    await svc.recovery.look_in(ANNA.id, (await checkin(svc)).id)
    await at(svc, LOOKIN + dt.timedelta(minutes=settings.lookin_escalate_minutes))
    assert await asked(svc) == [ANNA.id]


async def test_an_answer_from_the_patient_stops_the_escalation(
    svc: Services, settings: Settings
) -> None:
    await join(svc, ANNA, BEN)
    await unanswered_until_look_in(svc)
    await at(svc, LOOKIN)
    assert isinstance(svc.clock, FrozenClock)
    svc.clock.set(LOOKIN + dt.timedelta(minutes=5))
    await svc.recovery.record_pain(PAT.id, 3, key="msg:1", source="command")
    await at(svc, LOOKIN + dt.timedelta(minutes=settings.lookin_escalate_minutes))
    assert await asked(svc) == [ANNA.id]
    result = await svc.recovery.look_in(ANNA.id, (await checkin(svc)).id)
    assert result.resolved


async def test_switching_check_ins_off_stops_the_escalation(
    svc: Services, settings: Settings
) -> None:
    await join(svc, ANNA, BEN)
    await unanswered_until_look_in(svc)
    await at(svc, LOOKIN)
    await svc.recovery.set_checkin(PAT.id, ScheduleChoice("off"))
    await at(svc, LOOKIN + dt.timedelta(minutes=settings.lookin_escalate_minutes))
    assert await asked(svc) == [ANNA.id]


async def test_with_nobody_else_the_one_asked_is_left_to_it(
    svc: Services, settings: Settings
) -> None:
    await join(svc, ANNA)
    await unanswered_until_look_in(svc)
    await at(svc, LOOKIN)
    await at(svc, LOOKIN + dt.timedelta(minutes=settings.lookin_escalate_minutes))
    assert await asked(svc) == [ANNA.id]
    assert await outbox(svc, "recovery.lookin_nobody") == []


async def test_a_403_on_the_look_in_asks_the_others_at_once(svc: Services) -> None:
    await join(svc, ANNA, BEN)
    await unanswered_until_look_in(svc)
    await at(svc, LOOKIN)
    await svc.circles.mark_unreachable(ANNA.id)  # her request came back 403
    await at(svc, LOOKIN + dt.timedelta(seconds=5))
    assert await asked(svc) == [ANNA.id, BEN.id]


async def test_a_403_on_the_only_look_in_tells_the_patient(svc: Services) -> None:
    await join(svc, ANNA)
    await unanswered_until_look_in(svc)
    await at(svc, LOOKIN)
    await svc.circles.mark_unreachable(ANNA.id)
    await at(svc, LOOKIN + dt.timedelta(seconds=5))
    assert len(await outbox(svc, "recovery.lookin_nobody")) == 1


async def test_only_those_asked_may_take_it_on(svc: Services) -> None:
    await join(svc, ANNA, BEN)
    await join(svc, ERRI, access="errand")
    await svc.circles.touch(STRANGER)
    await unanswered_until_look_in(svc)
    await at(svc, LOOKIN)
    row = await checkin(svc)
    for who in (STRANGER, ERRI, BEN):  # Ben is close family but was not asked (yet)
        with pytest.raises(StaleAction):
            await svc.recovery.look_in(who.id, row.id)
