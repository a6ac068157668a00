"""The daily tip and check-in with an injected clock: on time, once a day, across restarts and
time zones; the evening nudge and the next-morning look-in; helper tips for those who asked."""

from __future__ import annotations

import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.db.models import Circle, DailyCheckin, PainReport, RecoveryPlan, User
from bot.domain.recovery import ScheduleChoice, Stage
from bot.notify import Priority
from tests.people import ANNA, BEN, CARA, PAT, SAM
from tests.rig import Rig, berlin

pytestmark = pytest.mark.usefixtures("morning")  # Monday, 08:00 in Berlin


def tip_of(rig: Rig, text: str) -> str:
    """The id of the tip whose text a message carries."""
    found = [t.id for t in rig.tips.tips if t.text in text]
    assert len(found) == 1, text
    return found[0]


async def plan_of(rig: Rig, circle_id: int) -> RecoveryPlan:
    async with rig.db.transaction() as session:
        plan = await session.get(RecoveryPlan, circle_id)
        assert plan is not None
        return plan


# --- the daily tip -----------------------------------------------------------------------


async def test_daily_tip_comes_at_ten_local_time_once_a_day(rig: Rig) -> None:
    circle_id = await rig.patient(stage=Stage.ACUTE)
    assert await rig.recovery.next_due() == berlin(2, 10)
    assert await rig.run_at(berlin(2, 9, 59)) == 0
    assert await rig.run_at(berlin(2, 10)) == 1
    assert await rig.recovery.run_due(berlin(2, 10, 1)) == 0
    [tip] = await rig.outbox("recovery.tip")
    assert tip.key == f"tip:{circle_id}:2026-03-02"
    assert tip.chat_id == PAT.id and tip.priority == Priority.LOW
    assert Stage.ACUTE in rig.tips.get(tip_of(rig, tip.payload["text"])).stages  # type: ignore[union-attr]
    assert tip.payload["buttons"][0][0]["text"] == "Another tip"
    assert (await plan_of(rig, circle_id)).next_tip_at == berlin(3, 10)


async def test_daily_tips_rotate_with_tips_asked_for(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    asked = await rig.recovery.tip_now(PAT.id)
    await rig.run_at(berlin(2, 10))
    [daily] = await rig.outbox("recovery.tip")
    assert tip_of(rig, daily.payload["text"]) != asked.tip_id


async def test_a_restart_loses_nothing_and_sends_nothing_twice(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    # The process stops before ten; a new one starts after, within the grace window.
    after_restart = rig.new_process().recovery
    assert await after_restart.next_due() == berlin(2, 10)
    rig.clock.set(berlin(2, 10, 30))
    results = await asyncio.gather(
        after_restart.run_due(berlin(2, 10, 30)), rig.recovery.run_due(berlin(2, 10, 30))
    )
    assert sum(results) >= 1
    assert len(await rig.outbox("recovery.tip")) == 1
    # And the day after, the next tip comes as usual.
    assert await rig.new_process().recovery.run_due(berlin(3, 10)) >= 1
    assert len(await rig.outbox("recovery.tip")) == 2


async def test_a_tip_too_late_after_downtime_is_skipped_not_sent_at_night(rig: Rig) -> None:
    circle_id = await rig.patient(stage=Stage.ACUTE)
    await rig.run_at(berlin(2, 22))  # down from 9:00 to 22:00
    assert await rig.outbox("recovery.tip") == []
    assert (await plan_of(rig, circle_id)).next_tip_at == berlin(3, 10)


async def test_daily_tip_follows_the_patients_time_zone_and_dst(rig: Rig) -> None:
    circle_id = await rig.patient(zone="America/New_York", stage=Stage.ACUTE)
    new_york = ZoneInfo("America/New_York")
    # 10:00 in New York is 15:00 UTC before 8 March 2026 and 14:00 UTC after.
    assert await rig.recovery.next_due() == dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
    for day in range(2, 10):
        due = dt.datetime(2026, 3, day, 10, 0, tzinfo=new_york).astimezone(dt.UTC)
        assert (await plan_of(rig, circle_id)).next_tip_at == due
        await rig.run_at(due)
    sent = await rig.outbox("recovery.tip")
    assert [row.key.rsplit(":", 1)[1] for row in sent] == [f"2026-03-0{d}" for d in range(2, 10)]
    assert (await plan_of(rig, circle_id)).next_tip_at == dt.datetime(
        2026, 3, 10, 14, 0, tzinfo=dt.UTC
    )


async def test_moving_house_moves_the_schedule(rig: Rig) -> None:
    circle_id = await rig.patient(stage=Stage.ACUTE)
    await rig.circles.set_timezone(PAT.id, "Asia/Kolkata")
    # It's 12:30 in Kolkata already: today's 10:00 has passed there.
    assert (await plan_of(rig, circle_id)).next_tip_at == dt.datetime(
        2026, 3, 3, 4, 30, tzinfo=dt.UTC
    )


async def test_a_zone_change_not_yet_followed_waits_for_the_new_zones_time(rig: Rig) -> None:
    circle_id = await rig.patient(stage=Stage.ACUTE)
    async with rig.db.transaction() as session:  # a change that bypassed the service
        await session.execute(
            update(User).where(User.id == PAT.id).values(timezone="America/New_York")
        )
    assert await rig.run_at(berlin(2, 10)) == 0
    assert await rig.outbox("recovery.tip") == []
    new_york_ten = dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC)
    assert (await plan_of(rig, circle_id)).next_tip_at == new_york_ten
    assert await rig.run_at(new_york_ten) == 1


async def test_a_new_tip_time_after_todays_tip_waits_for_tomorrow(rig: Rig) -> None:
    circle_id = await rig.patient(stage=Stage.ACUTE)
    await rig.run_at(berlin(2, 10))
    await rig.recovery.set_tips(PAT.id, ScheduleChoice("time", dt.time(15, 0)))
    assert (await plan_of(rig, circle_id)).next_tip_at == berlin(3, 15)
    await rig.run_at(berlin(2, 15))
    assert len(await rig.outbox("recovery.tip")) == 1
    # An earlier time before today's tip went out: today at the new time.
    await rig.recovery.set_tips(PAT.id, ScheduleChoice("time", dt.time(9, 0)))
    assert (await plan_of(rig, circle_id)).next_tip_at == berlin(3, 9)


async def test_a_new_tip_time_before_todays_tip_counts_today(rig: Rig) -> None:
    circle_id = await rig.patient(stage=Stage.ACUTE)
    pokes = rig.pokes
    view = await rig.recovery.set_tips(PAT.id, ScheduleChoice("time", dt.time(8, 30)))
    assert view.on and view.at == dt.time(8, 30)
    assert (await plan_of(rig, circle_id)).next_tip_at == berlin(2, 8, 30)
    assert rig.pokes > pokes, "the scheduler is poked to re-arm for the new time"


async def test_tips_off_means_no_tips_for_the_patient(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    await rig.recovery.set_tips(PAT.id, ScheduleChoice("off"))
    for day in range(2, 5):
        await rig.run_at(berlin(day, 10))
    assert await rig.outbox("recovery.tip") == []
    view = await rig.recovery.set_tips(PAT.id, ScheduleChoice("on"))
    assert view.on and view.at == dt.time(10, 0)
    await rig.run_at(berlin(5, 10))
    assert len(await rig.outbox("recovery.tip")) == 1


# --- helper tips -------------------------------------------------------------------------


async def test_helper_tips_reach_only_helpers_who_asked(rig: Rig) -> None:
    circle_id = await rig.patient(stage=Stage.ACUTE)
    await rig.join(ANNA)
    await rig.join(BEN)
    await rig.join(CARA, access="errand")
    await rig.recovery.set_helper_tips(ANNA.id, True)
    await rig.recovery.set_helper_tips(CARA.id, True)
    await rig.recovery.set_helper_tips(BEN.id, True)
    await rig.recovery.set_helper_tips(BEN.id, False)
    await rig.run_at(berlin(2, 10))

    helper_tips = await rig.outbox("recovery.helper_tip")
    assert sorted(row.chat_id for row in helper_tips) == [ANNA.id, CARA.id]
    for row in helper_tips:
        tip = rig.tips.get(tip_of(rig, row.payload["text"]))
        assert tip is not None and tip.audience == "helper" and Stage.ACUTE in tip.stages
        assert "helping Pat" in row.payload["text"]
        assert row.priority == Priority.LOW
        assert row.key == f"tip:{circle_id}:2026-03-02:helper:{row.chat_id}"
    [patient_tip] = await rig.outbox("recovery.tip")
    assert rig.tips.get(tip_of(rig, patient_tip.payload["text"])).audience == "patient"  # type: ignore[union-attr]


async def test_a_helper_who_left_gets_no_more_helper_tips(rig: Rig) -> None:
    circle_id = await rig.patient(stage=Stage.ACUTE)
    await rig.join(ANNA)
    await rig.recovery.set_helper_tips(ANNA.id, True)
    await rig.circles.leave(ANNA.id, circle_id)
    await rig.run_at(berlin(2, 10))
    assert await rig.outbox("recovery.helper_tip") == []


async def test_helper_tips_are_chosen_per_circle(rig: Rig) -> None:
    pat_circle = await rig.patient(stage=Stage.ACUTE)
    sam_circle = await rig.patient(SAM, stage=Stage.ACUTE)
    await rig.join(ANNA)
    await rig.join(ANNA, patient=SAM)
    settings = await rig.recovery.set_helper_tips(ANNA.id, True, circle_id=sam_circle)
    assert [(h.circle_id, h.on) for h in settings.helping] == [
        (pat_circle, False),
        (sam_circle, True),
    ]
    await rig.run_at(berlin(2, 10))
    [row] = await rig.outbox("recovery.helper_tip")
    assert "helping Sam" in row.payload["text"]


async def test_helpers_still_get_theirs_when_the_patient_turned_tips_off(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    await rig.join(ANNA)
    await rig.recovery.set_helper_tips(ANNA.id, True)
    await rig.recovery.set_tips(PAT.id, ScheduleChoice("off"))
    await rig.run_at(berlin(2, 10))
    assert await rig.outbox("recovery.tip") == []
    assert len(await rig.outbox("recovery.helper_tip")) == 1


async def test_daily_tips_after_a_flare_up_hold_back_exercise_until_answered(rig: Rig) -> None:
    await rig.patient(stage=Stage.EASING)
    await rig.join(ANNA)
    await rig.recovery.set_helper_tips(ANNA.id, True)
    await rig.recovery.record_pain(PAT.id, 9, key="m1", source="command")  # before 10:00
    # Easing's first tips in file order are about exercise; days of tips skip them all,
    # across a restart too.
    for day in range(2, 6):
        if day == 4:
            rig.restart()
        await rig.run_at(berlin(day, 10))
    patient = [tip_of(rig, row.payload["text"]) for row in await rig.outbox("recovery.tip")]
    helper = [tip_of(rig, row.payload["text"]) for row in await rig.outbox("recovery.helper_tip")]
    assert len(patient) == len(helper) == 4
    assert [t for t in patient + helper if rig.tips.get(t).exercise] == []  # type: ignore[union-attr]
    assert "Back to acute?" in (await rig.outbox("recovery.tip"))[0].payload["text"]

    await rig.recovery.decline_suggestion(PAT.id, Stage.ACUTE)
    await rig.run_at(berlin(6, 10))
    latest = (await rig.outbox("recovery.tip"))[-1]
    assert "Back to acute?" not in latest.payload["text"]


# --- the daily check-in ----------------------------------------------------------------------


async def checkin_row(rig: Rig) -> DailyCheckin:
    async with rig.db.transaction() as session:
        return (await session.scalars(select(DailyCheckin).order_by(DailyCheckin.id))).all()[-1]


async def test_checkin_is_asked_at_its_time_with_one_tap_buttons(rig: Rig) -> None:
    circle_id = await rig.patient(stage=Stage.ACUTE)
    await rig.run_at(berlin(2, 10, 59))
    assert await rig.outbox("recovery.checkin") == []
    await rig.run_at(berlin(2, 11))
    [question] = await rig.outbox("recovery.checkin")
    assert question.key == f"checkin:{circle_id}:2026-03-02"
    labels = [b["text"] for row in question.payload["buttons"] for b in row]
    assert labels == [str(n) for n in range(11)]
    checkin = await checkin_row(rig)
    assert (checkin.state, checkin.due_at) == ("asked", berlin(2, 19))
    assert await rig.recovery.next_due() == berlin(2, 19)


async def test_an_answer_means_no_nudge_and_no_look_in(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    await rig.join(ANNA)
    await rig.run_at(berlin(2, 11))
    checkin = await checkin_row(rig)
    result = await rig.recovery.record_pain(
        PAT.id, 4, key=f"checkin:{checkin.id}", source="checkin", checkin_id=checkin.id
    )
    assert result.checkin
    await rig.run_at(berlin(2, 19))
    await rig.run_at(berlin(3, 9))
    assert await rig.outbox("recovery.checkin_nudge") == []
    assert await rig.outbox("recovery.lookin") == []
    assert (await checkin_row(rig)).state == "answered"


async def test_a_checkin_tap_is_one_report_for_that_checkin(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    await rig.run_at(berlin(2, 11))
    checkin = await checkin_row(rig)
    assert (await rig.recovery.checkin_answered(PAT.id, checkin.id, 4)).checkin
    await rig.recovery.checkin_answered(PAT.id, checkin.id, 3)  # a second tap corrects it
    async with rig.db.transaction() as session:
        reports = [(r.key, r.source, r.score) for r in await session.scalars(select(PainReport))]
    # The key is the one the handler used to build (rows already hold such keys).
    assert reports == [(f"checkin:{checkin.id}", "checkin", 3)]
    assert (await checkin_row(rig)).state == "answered"


async def test_missed_checkin_one_nudge_then_close_family_is_asked_to_look_in(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    await rig.join(BEN, access="errand")
    await rig.join(ANNA)
    await rig.run_at(berlin(2, 11))

    await rig.run_at(berlin(2, 19))
    await rig.recovery.run_due(berlin(2, 19, 5))
    [nudge] = await rig.outbox("recovery.checkin_nudge")
    assert nudge.chat_id == PAT.id and nudge.payload["buttons"]

    assert await rig.run_at(berlin(3, 8, 59)) == 0
    await rig.run_at(berlin(3, 9))
    await rig.new_process().recovery.run_due(berlin(3, 9, 1))
    [lookin] = await rig.outbox("recovery.lookin")
    assert lookin.chat_id == ANNA.id  # close family, not the errand helper
    assert "Pat" in lookin.payload["text"]
    [note] = await rig.outbox("recovery.lookin_note")
    assert note.chat_id == PAT.id and "Anna" in note.payload["text"]
    checkin = await checkin_row(rig)
    # Still due: the others are asked if nobody taps "I'll check on them" in time.
    escalate = berlin(3, 9) + dt.timedelta(minutes=rig.settings.lookin_escalate_minutes)
    assert (checkin.state, checkin.lookin_user_id, checkin.due_at) == ("missed", ANNA.id, escalate)


async def test_a_late_answer_after_the_nudge_stops_the_look_in(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    await rig.join(ANNA)
    await rig.run_at(berlin(2, 11))
    await rig.run_at(berlin(2, 19))
    rig.clock.set(berlin(2, 22))
    await rig.recovery.record_pain(PAT.id, 6, key="msg:late", source="command")
    await rig.run_at(berlin(3, 9))
    assert await rig.outbox("recovery.lookin") == []


async def test_no_look_in_when_the_patient_turned_it_off(rig: Rig) -> None:
    circle_id = await rig.patient(stage=Stage.ACUTE)
    await rig.join(ANNA)
    async with rig.db.transaction() as session:
        await session.execute(
            update(Circle).where(Circle.id == circle_id).values(lookin_requests=False)
        )
    await rig.run_at(berlin(2, 11))
    await rig.run_at(berlin(2, 19))
    await rig.run_at(berlin(3, 9))
    assert len(await rig.outbox("recovery.checkin_nudge")) == 1
    assert await rig.outbox("recovery.lookin") == []
    assert (await checkin_row(rig)).state == "missed"


async def test_no_look_in_without_reachable_close_family(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    await rig.join(BEN, access="errand")
    await rig.join(ANNA)
    await rig.circles.mark_unreachable(ANNA.id)
    await rig.run_at(berlin(2, 11))
    await rig.run_at(berlin(2, 19))
    await rig.run_at(berlin(3, 9))
    assert await rig.outbox("recovery.lookin") == []
    [told] = await rig.outbox("recovery.lookin_nobody")  # the patient hears it instead
    assert told.chat_id == PAT.id


async def test_no_checkin_question_when_they_already_told_us_today(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    rig.clock.set(berlin(2, 9))
    await rig.recovery.record_pain(PAT.id, 5, key="msg:early", source="command")
    await rig.run_at(berlin(2, 11))
    assert await rig.outbox("recovery.checkin") == []
    await rig.run_at(berlin(3, 11))
    assert len(await rig.outbox("recovery.checkin")) == 1


async def test_checkins_off_stops_questions_and_open_follow_ups(rig: Rig) -> None:
    circle_id = await rig.patient(stage=Stage.ACUTE)
    await rig.join(ANNA)
    await rig.run_at(berlin(2, 11))
    rig.clock.set(berlin(2, 12))
    view = await rig.recovery.set_checkin(PAT.id, ScheduleChoice("off"))
    assert not view.on
    assert (await plan_of(rig, circle_id)).next_checkin_at is None
    await rig.run_at(berlin(2, 19))
    await rig.run_at(berlin(3, 9))
    await rig.run_at(berlin(3, 11))
    assert len(await rig.outbox("recovery.checkin")) == 1
    assert await rig.outbox("recovery.checkin_nudge") == []
    assert await rig.outbox("recovery.lookin") == []


async def test_an_evening_checkin_skips_the_nudge_but_not_the_look_in(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    await rig.join(ANNA)
    await rig.recovery.set_checkin(PAT.id, ScheduleChoice("time", dt.time(18, 30)))
    await rig.run_at(berlin(2, 18, 30))
    assert (await checkin_row(rig)).due_at == berlin(3, 9)
    await rig.run_at(berlin(2, 19))
    await rig.run_at(berlin(3, 9))
    assert await rig.outbox("recovery.checkin_nudge") == []
    assert len(await rig.outbox("recovery.lookin")) == 1


async def test_checkin_once_a_day_even_if_the_time_moves_later(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    await rig.run_at(berlin(2, 11))
    rig.clock.set(berlin(2, 12))
    await rig.recovery.set_checkin(PAT.id, ScheduleChoice("time", dt.time(16, 0)))
    await rig.run_at(berlin(2, 16))
    assert len(await rig.outbox("recovery.checkin")) == 1


async def test_two_schedulers_at_once_ask_once(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    await rig.join(ANNA)
    other = rig.new_process().recovery
    for when in (berlin(2, 10), berlin(2, 11), berlin(2, 19), berlin(3, 9)):
        rig.clock.set(when)
        await asyncio.gather(rig.recovery.run_due(when), other.run_due(when))
    for kind in ("recovery.tip", "recovery.checkin", "recovery.checkin_nudge", "recovery.lookin"):
        assert len(await rig.outbox(kind)) == 1, kind


async def test_next_due_is_the_earliest_of_tip_checkin_and_follow_up(rig: Rig) -> None:
    await rig.patient(stage=Stage.ACUTE)
    assert await rig.recovery.next_due() == berlin(2, 10)
    await rig.run_at(berlin(2, 10))
    assert await rig.recovery.next_due() == berlin(2, 11)
    await rig.run_at(berlin(2, 11))
    assert await rig.recovery.next_due() == berlin(2, 19)


async def test_no_schedule_without_a_plan_or_time_zone(rig: Rig) -> None:
    await rig.circles.touch(PAT)
    await rig.circles.become_patient(PAT.id)
    assert await rig.recovery.next_due() is None
    await rig.recovery.choose_stage(PAT.id, Stage.EASING)  # no time zone yet
    assert await rig.recovery.next_due() is None
    await rig.circles.set_timezone(PAT.id, "Europe/Berlin")
    assert await rig.recovery.next_due() == berlin(2, 10)


# --- daylight saving time ----------------------------------------------------------------


async def test_a_tip_time_skipped_by_spring_forward_comes_at_the_first_valid_minute(
    rig: Rig,
) -> None:
    rig.clock.set(berlin(28, 12))
    circle_id = await rig.patient(stage=Stage.ACUTE)
    await rig.recovery.set_tips(PAT.id, ScheduleChoice("time", dt.time(2, 30)))
    # 29 March 2026: Berlin jumps from 02:00 to 03:00; 02:30 does not exist that night.
    three_cest = dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC)
    assert (await plan_of(rig, circle_id)).next_tip_at == three_cest
    assert await rig.run_at(three_cest) == 1
    assert (await plan_of(rig, circle_id)).next_tip_at == dt.datetime(
        2026, 3, 30, 0, 30, tzinfo=dt.UTC
    )


async def test_a_tip_time_repeated_by_fall_back_comes_once(rig: Rig) -> None:
    rig.clock.set(dt.datetime(2026, 10, 24, 10, 0, tzinfo=dt.UTC))
    circle_id = await rig.patient(stage=Stage.ACUTE)
    await rig.recovery.set_tips(PAT.id, ScheduleChoice("time", dt.time(2, 30)))
    # 25 October 2026: Berlin's clocks show 02:30 twice (00:30 and 01:30 UTC).
    first, second = (dt.datetime(2026, 10, 25, h, 30, tzinfo=dt.UTC) for h in (0, 1))
    assert (await plan_of(rig, circle_id)).next_tip_at == first
    assert await rig.run_at(first) == 1
    assert await rig.run_at(second) == 0
    assert [row.key for row in await rig.outbox("recovery.tip")] == [f"tip:{circle_id}:2026-10-25"]
    assert (await plan_of(rig, circle_id)).next_tip_at == dt.datetime(
        2026, 10, 26, 1, 30, tzinfo=dt.UTC
    )
