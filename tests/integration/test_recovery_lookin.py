"""The daily check-in's safety net: someone is asked to look in, or the patient is told.

Services as create_services wires them. Pat lives in Berlin (UTC+1 in March 2026); the daily
check-in is at 11:00, the nudge at 19:00 and the look-in request at 09:00 the next morning.
Monday 2 March 2026 is the day of the unanswered check-in.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.db.models import DailyCheckin, OutboxMessage
from bot.domain.errors import StaleAction
from bot.domain.recovery import ScheduleChoice, Stage
from bot.services.circles import Person
from tests.people import ANNA, BEN, CARA, ERRI, PAT, STRANGER
from tests.rig import Rig, berlin

LOOKIN = berlin(3, 9)


@pytest.fixture(autouse=True)
async def pat_in_berlin(morning: None, rig: Rig) -> None:
    """Pat, in Berlin and in the acute stage, on Monday at 08:00; no helpers yet."""
    await rig.patient(stage=Stage.ACUTE)


async def join(rig: Rig, *helpers: Person, access: str = "close") -> None:
    await rig.join(*helpers, access=access)
    await rig.clear_outbox("circle.joined")


async def unanswered_until_look_in(rig: Rig) -> None:
    """The check-in is asked on Monday and never answered; the nudge goes at 19:00."""
    await rig.run_at(berlin(2, 11))
    await rig.run_at(berlin(2, 19))


async def asked(rig: Rig) -> list[int]:
    return [m.chat_id for m in await rig.outbox("recovery.lookin", op="send")]


async def checkin(rig: Rig) -> DailyCheckin:
    async with rig.db.transaction() as session:
        [row] = list(await session.scalars(select(DailyCheckin)))
        return row


def labels(message: OutboxMessage) -> list[str]:
    return [b["text"] for row in message.payload.get("buttons", ()) for b in row]


# --- who is asked ---------------------------------------------------------------------------


async def test_the_look_in_request_has_a_button_and_the_first_tap_wins(rig: Rig) -> None:
    await join(rig, ANNA)
    await unanswered_until_look_in(rig)
    await rig.run_at(LOOKIN)
    [request] = await rig.outbox("recovery.lookin")
    assert request.chat_id == ANNA.id and labels(request) == ["I'll check on them"]
    row = await checkin(rig)

    mine = await rig.recovery.look_in(ANNA.id, row.id)
    assert mine.by_me and not mine.resolved
    assert (await rig.recovery.look_in(ANNA.id, row.id)).by_me  # a double tap
    [note] = await rig.outbox("recovery.lookin_checking")
    assert note.chat_id == PAT.id and "Anna</b> is going to check on you" in note.payload["text"]
    assert (await checkin(rig)).due_at is None  # nothing left to escalate


async def test_an_away_helper_is_skipped_and_the_next_one_asked(rig: Rig) -> None:
    await join(rig, ANNA, BEN)
    await unanswered_until_look_in(rig)
    await rig.availability.away(ANNA.id, 3)
    await rig.run_at(LOOKIN)
    assert await asked(rig) == [BEN.id]
    [note] = await rig.outbox("recovery.lookin_note")
    assert "Ben" in note.payload["text"]


async def test_an_unreachable_helper_is_skipped_and_the_next_one_asked(rig: Rig) -> None:
    await join(rig, ANNA, BEN)
    await unanswered_until_look_in(rig)
    await rig.circles.mark_unreachable(ANNA.id)
    await rig.run_at(LOOKIN)
    assert await asked(rig) == [BEN.id]


async def test_with_nobody_to_ask_the_patient_is_told(rig: Rig) -> None:
    await join(rig, ERRI, access="errand")
    await join(rig, ANNA)
    await rig.availability.away(ANNA.id, None)
    await unanswered_until_look_in(rig)
    await rig.run_at(LOOKIN)
    assert await asked(rig) == []
    [told] = await rig.outbox("recovery.lookin_nobody")
    assert told.chat_id == PAT.id and "/invite" in told.payload["text"]
    assert (await checkin(rig)).due_at is None


async def test_with_no_helpers_at_all_the_patient_is_told(rig: Rig) -> None:
    await unanswered_until_look_in(rig)
    await rig.run_at(LOOKIN)
    assert len(await rig.outbox("recovery.lookin_nobody")) == 1


async def test_errand_helpers_are_asked_if_the_patient_allows_it(rig: Rig) -> None:
    await rig.circles.toggle_setting(PAT.id, "errand_lookins")
    await join(rig, ERRI, access="errand")
    await unanswered_until_look_in(rig)
    await rig.run_at(LOOKIN)
    [request] = await rig.outbox("recovery.lookin")
    assert request.chat_id == ERRI.id and labels(request) == ["I'll check on them"]
    assert "Pat</b> may need a hand" in request.payload["text"]
    assert await rig.outbox("recovery.lookin_nobody") == []


async def test_switched_off_look_ins_ask_nobody_and_say_nothing(rig: Rig) -> None:
    await join(rig, ANNA)
    await rig.circles.toggle_setting(PAT.id, "lookin_requests")
    await unanswered_until_look_in(rig)
    await rig.run_at(LOOKIN)
    assert await asked(rig) == [] and await rig.outbox("recovery.lookin_nobody") == []


# --- the bot was down at look-in time ---------------------------------------------------------


async def test_a_look_in_due_while_the_bot_was_down_still_goes(rig: Rig) -> None:
    await join(rig, ANNA)
    await unanswered_until_look_in(rig)
    # Down from Tuesday 08:00 until Wednesday 08:30: back after local midnight.
    back = berlin(4, 8, 30)
    rig.clock.set(back)
    rig.restart()
    await rig.recovery.run_due(back)
    [request] = await rig.outbox("recovery.lookin")
    assert request.chat_id == ANNA.id and "since Monday" in request.payload["text"]
    [note] = await rig.outbox("recovery.lookin_note")
    assert "since Monday" in note.payload["text"]


# --- nobody taps "I'll check on them" ---------------------------------------------------------


async def test_if_nobody_taps_in_time_the_others_are_asked_across_a_restart(rig: Rig) -> None:
    await join(rig, ANNA, BEN, CARA)
    await join(rig, ERRI, access="errand")
    await unanswered_until_look_in(rig)
    await rig.run_at(LOOKIN)
    assert await asked(rig) == [ANNA.id]
    window = dt.timedelta(minutes=rig.settings.lookin_escalate_minutes)
    assert (await checkin(rig)).due_at == LOOKIN + window

    rig.restart()
    rig.clock.set(LOOKIN + window - dt.timedelta(seconds=1))
    await rig.recovery.run_due(rig.clock.now())
    assert await asked(rig) == [ANNA.id]
    assert await rig.recovery.next_due() == LOOKIN + window
    rig.clock.set(LOOKIN + window)
    await rig.recovery.run_due(rig.clock.now())
    assert await asked(rig) == [ANNA.id, BEN.id, CARA.id]  # never the errand helper
    assert await rig.recovery.run_due(rig.clock.now()) == 0  # once

    row = await checkin(rig)
    assert row.due_at is None
    await rig.deliver()
    mine = await rig.recovery.look_in(BEN.id, row.id)
    assert mine.by_me
    late = await rig.recovery.look_in(ANNA.id, row.id)
    assert not late.by_me and late.checker_name == "Ben"
    edits = [m for m in await rig.outbox("recovery.lookin_update")]
    assert {m.chat_id for m in edits} == {ANNA.id, CARA.id}
    assert all("Ben is checking on Pat" in m.payload["text"] for m in edits)


async def test_a_tap_in_time_means_nobody_else_is_asked(rig: Rig) -> None:
    await join(rig, ANNA, BEN)
    await unanswered_until_look_in(rig)
    await rig.run_at(LOOKIN)
    await rig.recovery.look_in(ANNA.id, (await checkin(rig)).id)
    await rig.run_at(LOOKIN + dt.timedelta(minutes=rig.settings.lookin_escalate_minutes))
    assert await asked(rig) == [ANNA.id]


async def test_an_answer_from_the_patient_stops_the_escalation(rig: Rig) -> None:
    await join(rig, ANNA, BEN)
    await unanswered_until_look_in(rig)
    await rig.run_at(LOOKIN)
    rig.clock.set(LOOKIN + dt.timedelta(minutes=5))
    await rig.recovery.record_pain(PAT.id, 3, key="msg:1", source="command")
    await rig.run_at(LOOKIN + dt.timedelta(minutes=rig.settings.lookin_escalate_minutes))
    assert await asked(rig) == [ANNA.id]
    result = await rig.recovery.look_in(ANNA.id, (await checkin(rig)).id)
    assert result.resolved


async def test_switching_check_ins_off_stops_the_escalation(rig: Rig) -> None:
    await join(rig, ANNA, BEN)
    await unanswered_until_look_in(rig)
    await rig.run_at(LOOKIN)
    await rig.recovery.set_checkin(PAT.id, ScheduleChoice("off"))
    await rig.run_at(LOOKIN + dt.timedelta(minutes=rig.settings.lookin_escalate_minutes))
    assert await asked(rig) == [ANNA.id]


async def test_with_nobody_else_the_one_asked_is_left_to_it(rig: Rig) -> None:
    await join(rig, ANNA)
    await unanswered_until_look_in(rig)
    await rig.run_at(LOOKIN)
    await rig.run_at(LOOKIN + dt.timedelta(minutes=rig.settings.lookin_escalate_minutes))
    assert await asked(rig) == [ANNA.id]
    assert await rig.outbox("recovery.lookin_nobody") == []


async def test_a_403_on_the_look_in_asks_the_others_at_once(rig: Rig) -> None:
    await join(rig, ANNA, BEN)
    await unanswered_until_look_in(rig)
    await rig.run_at(LOOKIN, deliver=False)  # her request is sent ...
    await rig.circles.mark_unreachable(ANNA.id)  # ... and comes back 403
    await rig.run_at(LOOKIN + dt.timedelta(seconds=5))
    assert await asked(rig) == [ANNA.id, BEN.id]


async def test_a_403_on_the_only_look_in_tells_the_patient(rig: Rig) -> None:
    await join(rig, ANNA)
    await unanswered_until_look_in(rig)
    await rig.run_at(LOOKIN, deliver=False)  # her request is sent ...
    await rig.circles.mark_unreachable(ANNA.id)  # ... and comes back 403
    await rig.run_at(LOOKIN + dt.timedelta(seconds=5))
    assert len(await rig.outbox("recovery.lookin_nobody")) == 1


async def test_only_those_asked_may_take_it_on(rig: Rig) -> None:
    await join(rig, ANNA, BEN)
    await join(rig, ERRI, access="errand")
    await rig.circles.touch(STRANGER)
    await unanswered_until_look_in(rig)
    await rig.run_at(LOOKIN)
    row = await checkin(rig)
    for who in (STRANGER, ERRI, BEN):  # Ben is close family but was not asked (yet)
        with pytest.raises(StaleAction):
            await rig.recovery.look_in(who.id, row.id)
