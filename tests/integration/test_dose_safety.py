"""One dose is one dose: every way of recording a dose resolves the same open dose, and a
second dose for one time, or one past the label's limits, is asked about first.

Pat lives in Berlin (UTC+1 in March); the clock starts on Monday 2 March 2026, 09:00 UTC.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import update

from bot import texts
from bot.db.models import Medication
from bot.domain.errors import DoseAlreadyRecorded, StaleAction
from bot.services.meds import DoseOutcome
from tests.people import ANNA, BEN, PAT
from tests.rig import Rig

pytestmark = pytest.mark.usefixtures("family")  # Pat in Berlin, Anna, Ben and Erri


async def set_limits(r: Rig, med_id: int, max_per_24h: int | None, gap: float | None) -> None:
    async with r.db.transaction() as session:
        await session.execute(
            update(Medication)
            .where(Medication.id == med_id)
            .values(max_per_24h=max_per_24h, min_hours_between=gap)
        )


async def taken(r: Rig) -> list[tuple[str | None, bool]]:
    """(slot, past_warning) of every dose recorded as taken."""
    return [(d.slot, d.past_warning) for d in await r.doses() if d.state == "taken"]


# --- after the family was alerted, the missed dose is still the dose ----------------------------


async def test_took_after_the_family_alert_resolves_the_missed_dose(rig: Rig) -> None:
    await rig.add("Medicine A | 1 tablet | 11:00")
    await rig.setting("helpers_mark_given", True)
    dose_id = await rig.reminded(rig.utc(10, 0))
    await rig.run_at(rig.utc(10, 45))  # missed: Anna and Ben are alerted
    assert (await rig.dose(dose_id)).state == "missed"

    rig.clock.set(rig.utc(11, 5))
    outcome = await rig.meds.took(PAT.id, name="medicine a", request_key="took:1")
    assert outcome.dose is not None and outcome.dose.occurrence_id == dose_id
    dose = await rig.dose(dose_id)
    assert (dose.state, dose.late, dose.taken_at) == ("taken", True, rig.utc(11, 5))
    assert len(await rig.doses()) == 1, "no extra dose beside the missed one"
    await rig.deliver()
    for helper in (ANNA, BEN):
        [edit] = await rig.texts(helper.id, op="edit")
        assert "Resolved: <b>Pat</b> took" in edit and "12:05" in edit

    # Anna's "Mark as given" on her alert five minutes later is refused, saying who and when.
    rig.clock.set(rig.utc(11, 10))
    with pytest.raises(DoseAlreadyRecorded) as refused:
        await rig.meds.give(ANNA.id, dose_id)
    assert refused.value.by_name == "Pat" and refused.value.by_patient
    assert refused.value.at == rig.utc(11, 5)
    assert "Pat already took this dose at 12:05" in texts.dose_already(refused.value)
    assert await taken(rig) == [(dose.slot, False)]


async def test_given_after_the_alert_then_took_is_questioned_not_logged(rig: Rig) -> None:
    await rig.add("Medicine A | 1 tablet | 11:00")
    await rig.setting("helpers_mark_given", True)
    dose_id = await rig.reminded(rig.utc(10, 0))
    await rig.run_at(rig.utc(10, 45))
    rig.clock.set(rig.utc(11, 5))
    given = await rig.meds.give(ANNA.id, dose_id)
    assert given.dose is not None and given.dose.state == "taken"
    await rig.deliver()
    [edit] = await rig.texts(BEN.id, op="edit")
    assert "Resolved: Anna gave <b>Pat</b>" in edit and "12:05" in edit

    # A minute later, no label limits saved: Pat's /took is questioned, not logged silently.
    rig.clock.set(rig.utc(11, 6))
    asked = await rig.meds.took(PAT.id, name="Medicine A", request_key="took:2")
    assert asked.dose is None and asked.warning is not None
    assert asked.warning.other is not None and asked.warning.other.by_name == "Anna"
    text = texts.dose_warning(asked.warning)
    assert "Anna already gave this at 12:05" in text and "Log another anyway?" in text
    assert len(await taken(rig)) == 1, "nothing logged before the answer"

    confirmed = await rig.meds.took(
        PAT.id, med_id=asked.warning.medication_id, request_key="xok:2", confirmed=True
    )
    assert confirmed.dose is not None
    assert sorted(await taken(rig), key=str) == sorted(
        [((await rig.dose(dose_id)).slot, False), (None, True)], key=str
    ), "the second dose is recorded as logged past the warning"


async def test_the_typed_time_after_the_alert_resolves_it_once(rig: Rig) -> None:
    await rig.add("Medicine A | 1 tablet | 11:00")
    dose_id = await rig.reminded(rig.utc(10, 0))
    await rig.run_at(rig.utc(10, 45))
    rig.clock.set(rig.utc(11, 0))
    await rig.meds.begin_take_at(PAT.id, dose_id)
    outcome, _ = await rig.meds.take_typed_time(PAT.id, "11:20")
    assert outcome.dose is not None and (await rig.dose(dose_id)).state == "taken"
    with pytest.raises(DoseAlreadyRecorded):
        await rig.meds.take(PAT.id, dose_id)


async def test_the_patient_and_a_helper_at_the_same_instant_record_one_dose(rig: Rig) -> None:
    await rig.add("Medicine A | 1 tablet | 11:00")
    await rig.setting("helpers_mark_given", True)
    dose_id = await rig.reminded(rig.utc(10, 0))
    await rig.run_at(rig.utc(10, 45))
    rig.clock.set(rig.utc(11, 0))
    results = await asyncio.gather(
        rig.meds.took(PAT.id, name="Medicine A", request_key="took:3"),
        rig.meds.give(ANNA.id, dose_id),
        rig.meds.give(BEN.id, dose_id),
        rig.meds.take(PAT.id, dose_id),
        return_exceptions=True,
    )
    recorded = [r for r in results if isinstance(r, DoseOutcome) and r.dose is not None]
    assert len(recorded) == 1, results
    for other in results:
        if other is recorded[0]:
            continue
        questioned = isinstance(other, DoseOutcome) and other.warning is not None
        assert questioned or isinstance(other, DoseAlreadyRecorded | StaleAction), other
    assert len(await taken(rig)) == 1


# --- one window per scheduled time ------------------------------------------------------------


async def test_took_within_the_hour_before_counts_as_that_dose_and_stops_its_reminder(
    rig: Rig,
) -> None:
    await rig.add("Medicine A | 1 tablet | 11:00")
    rig.clock.set(rig.utc(9, 20))  # 10:20 in Berlin, 40 minutes early
    outcome = await rig.meds.took(PAT.id, name="Medicine A", request_key="took:4")
    assert outcome.dose is not None and outcome.dose.scheduled
    assert await taken(rig) == [("2026-03-02T11:00", False)]
    await rig.run_at(rig.utc(10, 0))
    await rig.run_at(rig.utc(11, 0))
    assert await rig.texts(PAT.id) == [], "no reminder, no nudge for a dose already taken"
    assert await rig.texts(ANNA.id) == [], "and nobody is alerted"
    assert len(await rig.doses()) == 1


async def test_a_second_dose_in_one_times_window_is_questioned(rig: Rig) -> None:
    med_id = await rig.add("Medicine A | 1 tablet | 11:00, 20:00")
    dose_id = await rig.reminded(rig.utc(10, 0))
    rig.clock.set(rig.utc(10, 5))
    await rig.meds.take(PAT.id, dose_id)
    # A /took at 14:00 stands for the 11:00 dose: it was taken, so it's asked about ...
    rig.clock.set(rig.utc(13, 0))
    asked = await rig.meds.took(PAT.id, med_id=med_id, request_key="took:5")
    assert asked.warning is not None and asked.warning.other is not None
    assert asked.warning.other.by_self
    assert "You already logged this at 11:05" in texts.dose_warning(asked.warning)
    # ... and one at 19:30 is the 20:00 dose, taken early.
    rig.clock.set(rig.utc(18, 30))
    early = await rig.meds.took(PAT.id, med_id=med_id, request_key="took:6")
    assert early.dose is not None and early.dose.scheduled and early.dose.due_label == "20:00"


async def test_two_as_needed_doses_within_the_hour_are_questioned_without_limits(
    rig: Rig,
) -> None:
    med_id = await rig.add("Medicine B | 1 tablet | as needed")
    assert (await rig.meds.took(PAT.id, med_id=med_id, request_key="a")).dose is not None
    rig.clock.advance(minutes=20)
    again = await rig.meds.took(PAT.id, med_id=med_id, request_key="b")
    assert again.dose is None and again.warning is not None
    rig.clock.advance(minutes=41)
    later = await rig.meds.took(PAT.id, med_id=med_id, request_key="c")
    assert later.dose is not None, "an hour on, nothing to ask without label limits"


# --- back-dated doses: both sides -------------------------------------------------------------


async def test_a_back_dated_dose_is_checked_against_the_dose_after_it(rig: Rig) -> None:
    med_id = await rig.add("Medicine A | 1 tablet | 11:00, 16:00")
    await set_limits(rig, med_id, None, 4)
    morning = await rig.reminded(rig.utc(10, 0))
    await rig.run_at(rig.utc(10, 45))  # the 11:00 dose is missed
    afternoon = await rig.reminded(rig.utc(15, 0))
    rig.clock.set(rig.utc(15, 1))
    await rig.meds.take(PAT.id, afternoon)
    # "I took the 11:00 one at 14:00": two hours before the 16:01 dose.
    rig.clock.set(rig.utc(15, 30))
    await rig.meds.begin_take_at(PAT.id, morning)
    asked, _ = await rig.meds.take_typed_time(PAT.id, "14:00")
    assert asked.dose is None and asked.warning is not None
    assert asked.warning.check.next_taken_at == rig.utc(15, 1)
    assert "A dose is logged at 16:01" in texts.dose_warning(asked.warning)
    assert (await rig.dose(morning)).state == "missed"


async def test_a_back_dated_dose_counts_the_24_hours_after_it(rig: Rig) -> None:
    med_id = await rig.add("Medicine A | 1 tablet | 11:00, 20:00")
    await set_limits(rig, med_id, 2, None)
    morning = await rig.reminded(rig.utc(10, 0))
    await rig.run_at(rig.utc(10, 45))
    for minute in (0, 30):  # the 20:00 dose, and one more confirmed past the question
        rig.clock.set(rig.utc(19, minute))
        outcome = await rig.meds.took(
            PAT.id, med_id=med_id, request_key=f"x{minute}", confirmed=True
        )
        assert outcome.dose is not None
    rig.clock.set(rig.utc(20, 0))
    await rig.meds.begin_take_at(PAT.id, morning)
    asked, _ = await rig.meds.take_typed_time(PAT.id, "11:30")
    assert asked.warning is not None and asked.warning.check.over_max
    assert "This would be dose 3 in 24 hours" in texts.dose_warning(asked.warning)


# --- "Can I take another?": facts only ----------------------------------------------------------


@pytest.mark.parametrize("limits", [(None, None), (4, None), (None, 6.0), (4, 6.0), (1, 6.0)])
async def test_can_i_take_another_states_facts_and_names_missing_limits(
    rig: Rig, limits: tuple[int | None, float | None]
) -> None:
    med_id = await rig.add("Medicine B | 1 tablet | as needed")
    await set_limits(rig, med_id, *limits)
    await rig.meds.took(PAT.id, med_id=med_id, request_key="a", confirmed=True)
    for hours in (2, 30):
        rig.clock.advance(hours=hours)
        text = texts.as_needed_answer(await rig.meds.can_i_take(PAT.id, med_id))
        lowered = text.lower()
        for permission in ("already reached", "you can", "you may", "safe", "earliest", "ok to"):
            assert permission not in lowered, (permission, text)
        maximum, gap = limits
        assert ("No maximum per 24 hours is saved" in text) == (maximum is None)
        assert ("No minimum gap between doses is saved" in text) == (gap is None)
        assert "isn't advice" in text


# --- found on the way: changing the times after today's dose ----------------------------------


async def test_moving_the_time_after_todays_dose_does_not_remind_again_for_it(rig: Rig) -> None:
    med_id = await rig.add("Medicine A | 1 tablet | 11:00")
    dose_id = await rig.reminded(rig.utc(10, 0))
    rig.clock.set(rig.utc(10, 5))
    await rig.meds.take(PAT.id, dose_id)
    # Moved to 12:00 at 11:10 (Berlin): 11:05's dose stands for today's 12:00.
    rig.clock.set(rig.utc(10, 10))
    await rig.meds.begin_edit(PAT.id, med_id, "times")
    await rig.meds.edit_answer(PAT.id, "12:00")
    await rig.run_at(rig.utc(11, 0))
    reminders = [t for t in await rig.texts(PAT.id) if "Time for" in t]
    assert len(reminders) == 1, "only the 11:00 reminder, none at 12:00"
    assert len(await rig.doses()) == 1
    # A /took at 13:30 is asked about: today's dose was taken at 11:05.
    rig.clock.set(rig.utc(12, 30))
    asked = await rig.meds.took(PAT.id, med_id=med_id, request_key="t")
    assert asked.warning is not None and asked.warning.other is not None
    # Tomorrow's 12:00 comes as usual.
    await rig.run_at(rig.utc(11, 0, day=3))
    assert len(await rig.doses()) == 2


async def test_deleting_and_adding_a_medication_again_keeps_its_doses_in_the_checks(
    rig: Rig,
) -> None:
    old_id = await rig.add("Medicine A | 1 tablet | 11:00")
    dose_id = await rig.reminded(rig.utc(10, 0))
    rig.clock.set(rig.utc(10, 5))
    await rig.meds.take(PAT.id, dose_id)
    await rig.meds.delete(PAT.id, old_id)
    await rig.add("medicine a | 1 tablet | 12:00")
    new_dose = await rig.reminded(rig.utc(11, 0))
    rig.clock.set(rig.utc(11, 1))
    asked = await rig.meds.take(PAT.id, new_dose)
    assert asked.warning is not None and asked.warning.other is not None
    assert "You already logged this at 11:05" in texts.dose_warning(asked.warning)


# --- found by review ---------------------------------------------------------------------------


async def test_a_typed_time_after_the_due_time_is_that_day_not_the_day_before(rig: Rig) -> None:
    med_id = await rig.add("Medicine A | 1 tablet | 08:00, 20:00")
    await set_limits(rig, med_id, None, 6)
    await rig.run_at(rig.utc(19, 0))  # Monday evening's, answered or not
    morning = await rig.reminded(rig.utc(7, 0, day=3))
    await rig.run_at(rig.utc(7, 45, day=3))
    evening = await rig.reminded(rig.utc(19, 0, day=3))
    rig.clock.set(rig.utc(20, 5, day=3))
    await rig.meds.begin_take_at(PAT.id, morning)
    outcome, _ = await rig.meds.take_typed_time(PAT.id, "21:00")  # tonight, 21:00 Berlin
    assert outcome.dose is not None and outcome.dose.taken_at == rig.utc(20, 0, day=3)
    rig.clock.set(rig.utc(20, 10, day=3))
    asked = await rig.meds.take(PAT.id, evening)
    assert asked.warning is not None, "ten minutes after the other dose: asked first"


async def test_taken_on_an_old_reminder_minutes_after_todays_dose_is_asked_about(
    rig: Rig,
) -> None:
    await rig.add("Medicine A | 1 tablet | 11:00")
    old = await rig.reminded(rig.utc(10, 0))
    await rig.run_at(rig.utc(10, 45))  # Monday's is missed
    today = await rig.reminded(rig.utc(10, 0, day=3))
    rig.clock.set(rig.utc(10, 1, day=3))
    await rig.meds.take(PAT.id, today)
    rig.clock.set(rig.utc(10, 5, day=3))
    asked = await rig.meds.take(PAT.id, old)
    assert asked.warning is not None and asked.warning.other is not None
    assert len(await taken(rig)) == 1


async def test_an_old_log_it_anyway_asks_again_when_the_log_has_changed(rig: Rig) -> None:
    med_id = await rig.add("Medicine B | 1 tablet | as needed")
    await set_limits(rig, med_id, 2, None)
    await rig.meds.took(PAT.id, med_id=med_id, request_key="a")
    rig.clock.advance(minutes=30)
    warned = await rig.meds.took(PAT.id, med_id=med_id, request_key="b")
    assert warned.warning is not None and warned.warning.shown_at is not None
    shown = warned.warning.shown_at
    rig.clock.advance(minutes=2)
    await rig.meds.took(PAT.id, med_id=med_id, request_key="c", confirmed=True)  # another log
    rig.clock.advance(minutes=3)
    again = await rig.meds.took(
        PAT.id, med_id=med_id, request_key="xok", confirmed=True, warned_at=shown
    )
    assert again.dose is None and again.warning is not None, "the log changed since"
    assert len(await taken(rig)) == 2
    rig.clock.advance(minutes=1)
    fresh = again.warning.shown_at
    logged = await rig.meds.took(
        PAT.id, med_id=med_id, request_key="xok2", confirmed=True, warned_at=fresh
    )
    assert logged.dose is not None, "a warning answered as shown is logged"


async def test_a_log_it_anyway_left_for_long_asks_again(rig: Rig) -> None:
    med_id = await rig.add("Medicine B | 1 tablet | as needed")
    await rig.meds.took(PAT.id, med_id=med_id, request_key="a")
    rig.clock.advance(minutes=10)
    warned = await rig.meds.took(PAT.id, med_id=med_id, request_key="b")
    assert warned.warning is not None
    rig.clock.advance(minutes=11)
    stale = await rig.meds.took(
        PAT.id,
        med_id=med_id,
        request_key="xok",
        confirmed=True,
        warned_at=warned.warning.shown_at,
    )
    assert stale.dose is None and stale.warning is not None


async def test_pausing_stops_the_nudge_and_the_family_alert(rig: Rig) -> None:
    med_id = await rig.add("Medicine A | 1 tablet | 11:00")
    dose_id = await rig.reminded(rig.utc(10, 0))
    rig.clock.set(rig.utc(10, 5))
    await rig.meds.set_paused(PAT.id, med_id, True)
    await rig.run_at(rig.utc(10, 15))
    await rig.run_at(rig.utc(10, 45))
    assert len(await rig.texts(PAT.id)) == 1, "no nudge"
    assert await rig.texts(ANNA.id) == [], "no alert"
    rig.clock.set(rig.utc(10, 50))
    assert (await rig.meds.take(PAT.id, dose_id)).dose is not None, "still answerable"


async def test_log_it_anyway_after_a_typed_time_closes_the_question(rig: Rig) -> None:
    med_id = await rig.add("Medicine A | 1 tablet | 11:00, 16:00")
    await set_limits(rig, med_id, None, 4)
    morning = await rig.reminded(rig.utc(10, 0))
    await rig.run_at(rig.utc(10, 45))
    afternoon = await rig.reminded(rig.utc(15, 0))
    rig.clock.set(rig.utc(15, 1))
    await rig.meds.take(PAT.id, afternoon)
    rig.clock.set(rig.utc(15, 30))
    await rig.meds.begin_take_at(PAT.id, morning)
    asked, _ = await rig.meds.take_typed_time(PAT.id, "14:00")
    assert asked.warning is not None
    done = await rig.meds.take(
        PAT.id,
        morning,
        at=asked.warning.at,
        confirmed=True,
        warned_at=asked.warning.shown_at,
    )
    assert done.dose is not None
    assert (await rig.circles.standing(PAT.id)).awaiting is None
