"""Medication rules against a real database, with a clock that moves only when told.

The clock starts on Monday 2 March 2026, 09:00 UTC: 10:00 in Berlin, where Pat lives.
"""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import select, update

from bot import texts
from bot.db.models import DoseOccurrence, Medication, Need
from bot.domain.errors import (
    DoseAlreadyRecorded,
    DuplicateMedication,
    GiveNotAllowed,
    MedicationGone,
    MedInputError,
    MedsNotAllowed,
    MedsPrivate,
    RefillUnavailable,
    StaleAction,
)
from bot.services.meds import MedicationService, MedTiming
from tests.people import ANNA, BEN, ERRI, PAT
from tests.rig import Rig

pytestmark = pytest.mark.usefixtures("family")  # Pat in Berlin, Anna, Ben and Erri
UTC = dt.UTC
MIN = dt.timedelta(minutes=1)


async def needs_posted(rig: Rig) -> list[Need]:
    async with rig.db.transaction() as session:
        return list(await session.scalars(select(Need).order_by(Need.id)))


# --- on the minute, once ------------------------------------------------------------------------


async def test_a_reminder_is_queued_on_its_minute_exactly_once(rig: Rig) -> None:
    pokes = rig.pokes
    await rig.add("Ibuprofen | 400 mg | 11:00 | with food")
    assert rig.pokes > pokes, "adding a schedule re-arms the scheduler"
    assert await rig.meds.next_due() == rig.utc(10, 0)  # 11:00 Berlin

    assert await rig.run_at(rig.utc(9, 59, 59)) == 0
    assert await rig.run_at(rig.utc(10, 0)) == 1
    assert await rig.run_at(rig.utc(10, 0, 1)) == 0
    [reminder] = await rig.outbox(PAT.id)
    assert reminder.key.endswith(":reminder") and reminder.priority == 0  # URGENT
    assert "Time for <b>Ibuprofen</b> 400 mg (with food)" in reminder.payload["text"]
    labels = [b["text"] for row in reminder.payload["buttons"] for b in row]
    assert labels[:2] == ["✅ Taken", "Skip"] and "⏰ 10 min" in labels
    # Next one: tomorrow 11:00 Berlin.
    assert await rig.meds.next_due() == rig.utc(10, 15)  # the nudge comes first
    async with rig.db.transaction() as session:
        next_due = await session.scalar(select(Medication.next_due_at))
    assert next_due == rig.utc(10, 0, day=3)


async def test_a_restart_or_a_second_replica_never_sends_twice(rig: Rig) -> None:
    await rig.add("Ibuprofen | 400 mg | 11:00")
    # Two processes (or the one before and after a restart) wake at the same minute.
    other = rig.new_process().meds
    rig.clock.set(rig.utc(10, 0))
    results = await asyncio.gather(
        *(m.run_due(rig.clock.now()) for m in (rig.meds, other, rig.meds, other))
    )
    assert sum(results) == 1
    assert len(await rig.texts(PAT.id)) == 1
    assert len(await rig.doses()) == 1


# --- unconfirmed: nudge, then the family --------------------------------------------------------


async def test_one_gentle_nudge_then_close_family_alert(rig: Rig) -> None:
    await rig.add("Ibuprofen | 400 mg | 11:00")
    await rig.run_at(rig.utc(10, 0))
    await rig.run_at(rig.utc(10, 14, 59))
    assert len(await rig.texts(PAT.id)) == 1
    await rig.run_at(rig.utc(10, 15))
    patient_texts = await rig.texts(PAT.id)
    assert len(patient_texts) == 2 and "Just checking in" in patient_texts[1]
    await rig.run_at(rig.utc(10, 30))
    assert len(await rig.texts(PAT.id)) == 2, "one nudge only"
    await rig.run_at(rig.utc(10, 44, 59))
    assert await rig.texts(ANNA.id) == []
    await rig.run_at(rig.utc(10, 45))
    for helper in (ANNA, BEN):
        [alert] = await rig.texts(helper.id)
        assert "<b>Pat</b> hasn't confirmed <b>Ibuprofen</b> 400 mg due 11:00" in alert
    [dose] = await rig.doses()
    assert dose.state == "missed" and dose.next_action_at is None
    await rig.run_at(rig.utc(11, 30))
    assert len(await rig.texts(ANNA.id)) == 1, "alerted once"


async def test_per_medication_alert_limit(rig: Rig) -> None:
    med_id = await rig.add("Ibuprofen | 400 mg | 11:00")
    await rig.meds.set_alert_minutes(PAT.id, med_id, 90)
    await rig.run_at(rig.utc(10, 0))
    await rig.run_at(rig.utc(10, 45))
    assert await rig.texts(ANNA.id) == []
    await rig.run_at(rig.utc(11, 30))
    assert len(await rig.texts(ANNA.id)) == 1
    with pytest.raises(StaleAction):
        await rig.meds.set_alert_minutes(PAT.id, med_id, 7)


async def test_snoozing_never_pushes_the_family_alert_past_its_limit(rig: Rig) -> None:
    await rig.add("Ibuprofen | 400 mg | 11:00")
    dose_id = await rig.reminded(rig.utc(10, 0))
    rig.clock.set(rig.utc(10, 5))
    await rig.meds.snooze(PAT.id, dose_id, 10)
    await rig.run_at(rig.utc(10, 15))  # the snooze is over: reminded again
    texts = await rig.texts(PAT.id)
    assert len(texts) == 2 and "Time for" in texts[1]
    rig.clock.set(rig.utc(10, 40))
    outcome = await rig.meds.snooze(PAT.id, dose_id, 60)  # would end at 11:40 ...
    assert outcome.dose is not None and outcome.dose.alert_at == rig.utc(10, 45)
    assert await rig.meds.next_due() == rig.utc(10, 45)  # ... but the alert stays at 10:45
    await rig.run_at(rig.utc(10, 45))
    assert len(await rig.texts(ANNA.id)) == 1
    assert (await rig.dose(dose_id)).state == "missed"


async def test_a_late_taken_still_counts_and_the_family_hears_it_is_resolved(rig: Rig) -> None:
    await rig.add("Ibuprofen | 400 mg | 11:00")
    dose_id = await rig.reminded(rig.utc(10, 0))
    await rig.run_at(rig.utc(10, 45))
    rig.clock.set(rig.utc(11, 10))
    outcome = await rig.meds.take(PAT.id, dose_id)
    assert outcome.dose is not None and outcome.dose.late
    dose = await rig.dose(dose_id)
    assert (dose.state, dose.taken_at, dose.late) == ("taken", rig.utc(11, 10), True)
    for helper in (ANNA, BEN):
        [edit] = await rig.texts(helper.id, op="edit")
        assert "Resolved: <b>Pat</b> took" in edit and "12:10" in edit  # Berlin time


async def test_a_back_dated_taken_records_when_it_was_really_taken(rig: Rig) -> None:
    await rig.add("Ibuprofen | 400 mg | 11:00")
    dose_id = await rig.reminded(rig.utc(10, 0))
    await rig.run_at(rig.utc(10, 45))  # family alerted
    rig.clock.set(rig.utc(10, 50))
    await rig.meds.begin_take_at(PAT.id, dose_id)
    with pytest.raises(MedInputError) as refused:
        await rig.meds.take_typed_time(PAT.id, "11")
    assert refused.value.reason == "time_bare_hour"
    with pytest.raises(MedInputError) as refused:
        await rig.meds.take_typed_time(PAT.id, "13:00")  # later today: not yet
    assert refused.value.reason == "time_future"

    outcome, _ = await rig.meds.take_typed_time(PAT.id, "I took it at 11:10")
    assert outcome.dose is not None
    dose = await rig.dose(dose_id)
    assert dose.taken_at == rig.utc(10, 10)  # 11:10 Berlin
    assert not dose.late  # taken well within the limit, only confirmed late
    [edit] = await rig.texts(ANNA.id, op="edit")
    assert "Resolved" in edit and "11:10" in edit
    assert (await rig.circles.standing(PAT.id)).awaiting is None


# --- dose safety -------------------------------------------------------------------------------


async def test_the_maximum_dose_guard_asks_before_logging(rig: Rig) -> None:
    meds = rig.meds
    await meds.start_add(PAT.id)
    for answer in ("Paracetamol", "500 mg", "as needed", "skip", "2"):
        await meds.add_answer(PAT.id, answer)
    await meds.add_skip(PAT.id)  # no minimum gap
    med_id = (await meds.add_save(PAT.id)).med.id

    assert (await meds.took(PAT.id, name="paracetamol", request_key="a")).dose is not None
    rig.clock.advance(hours=5)
    assert (await meds.took(PAT.id, name="para", request_key="b")).dose is not None
    rig.clock.advance(hours=5)
    third = await meds.took(PAT.id, name="Paracetamol", request_key="c")
    assert third.dose is None and third.warning is not None
    assert third.warning.check.count_24h == 2 and third.warning.check.max_per_24h == 2
    assert len(await rig.doses()) == 2, "nothing logged before the confirm step"
    confirmed = await meds.took(PAT.id, med_id=med_id, request_key="d", confirmed=True)
    assert confirmed.dose is not None
    assert len(await rig.doses()) == 3


async def test_a_reminder_taken_over_the_label_maximum_asks_first(rig: Rig) -> None:
    med_id = await rig.add("Ibuprofen | 400 mg | 11:00")
    await rig.meds.begin_edit(PAT.id, med_id, "max")
    await rig.meds.edit_answer(PAT.id, "1")
    rig.clock.set(rig.utc(8, 0))  # 09:00 in Berlin: two hours before, an extra dose
    await rig.meds.took(PAT.id, med_id=med_id, request_key="early", confirmed=True)
    dose_id = await rig.reminded(rig.utc(10, 0))
    outcome = await rig.meds.take(PAT.id, dose_id)
    assert outcome.warning is not None and outcome.warning.occurrence_id == dose_id
    assert (await rig.dose(dose_id)).state == "sent"
    confirmed = await rig.meds.take(PAT.id, dose_id, confirmed=True)
    assert confirmed.dose is not None and (await rig.dose(dose_id)).state == "taken"


async def test_can_i_take_another_answers_with_the_log_and_the_label(rig: Rig) -> None:
    meds = rig.meds
    await meds.start_add(PAT.id)
    for answer in ("Paracetamol", "500 mg", "as needed", "skip", "4", "6"):
        await meds.add_answer(PAT.id, answer)
    med_id = (await meds.add_save(PAT.id)).med.id
    for hours_ago in (26, 20, 13, 2):
        rig.clock.set(rig.utc(9) - dt.timedelta(hours=hours_ago))
        await meds.took(PAT.id, med_id=med_id, request_key=f"k{hours_ago}", confirmed=True)
    rig.clock.set(rig.utc(9))
    answer = await meds.can_i_take(PAT.id, med_id)
    assert answer.check.last_taken_at == rig.utc(7)
    assert answer.check.count_24h == 3
    # The label's 6 hours after the 07:00 UTC dose.
    assert answer.check.earliest_next == rig.utc(13)
    # Close family may ask too; an errand helper may not.
    assert (await meds.can_i_take(ANNA.id, med_id)).check.count_24h == 3
    with pytest.raises(MedsPrivate):
        await meds.can_i_take(ERRI.id, med_id)


# --- helpers at the bedside -----------------------------------------------------------------


async def test_a_dose_given_by_a_helper_refuses_a_second_taken(rig: Rig) -> None:
    await rig.add("Ibuprofen | 400 mg | 11:00")
    dose_id = await rig.reminded(rig.utc(10, 0))
    rig.clock.set(rig.utc(10, 5))
    with pytest.raises(GiveNotAllowed):
        await rig.meds.give(ANNA.id, dose_id)
    await rig.setting("helpers_mark_given", True)
    outcome = await rig.meds.give(ANNA.id, dose_id)
    assert outcome.dose is not None and outcome.dose.by_name == "Anna"

    rig.clock.set(rig.utc(10, 7))
    with pytest.raises(DoseAlreadyRecorded) as refused:
        await rig.meds.take(PAT.id, dose_id)
    assert refused.value.by_name == "Anna" and not refused.value.by_self
    assert refused.value.at == rig.utc(10, 5)
    with pytest.raises(DoseAlreadyRecorded):
        await rig.meds.give(BEN.id, dose_id)
    # The patient sees it: a note, and their reminder shows who gave it.
    notes = await rig.texts(PAT.id)
    assert any("<b>Anna</b> marked your <b>Ibuprofen</b>" in t for t in notes)
    [edited] = await rig.texts(PAT.id, op="edit")
    assert "given by Anna at 11:05" in edited
    with pytest.raises(MedsPrivate):
        await rig.meds.give(ERRI.id, dose_id)


async def test_double_taps_and_races_record_a_dose_once(rig: Rig) -> None:
    await rig.add("Ibuprofen | 400 mg | 11:00")
    dose_id = await rig.reminded(rig.utc(10, 0))
    results = await asyncio.gather(
        *(rig.meds.take(PAT.id, dose_id) for _ in range(5)), return_exceptions=True
    )
    won = [r for r in results if not isinstance(r, BaseException)]
    refused = [r for r in results if isinstance(r, DoseAlreadyRecorded)]
    assert len(won) == 1 and len(refused) == 4
    assert refused[0].by_self


async def test_the_first_helper_to_check_on_them_is_the_one(rig: Rig) -> None:
    await rig.add("Ibuprofen | 400 mg | 11:00")
    dose_id = await rig.reminded(rig.utc(10, 0))
    await rig.run_at(rig.utc(10, 45))
    first, second = await asyncio.gather(
        rig.meds.check_on(ANNA.id, dose_id), rig.meds.check_on(BEN.id, dose_id)
    )
    assert sum(r.by_me for r in (first, second)) == 1
    checker = first.checker_name if first.by_me else second.checker_name
    other = BEN if checker == "Anna" else ANNA
    [edit] = await rig.texts(other.id, op="edit")
    assert f"<b>{checker}</b> is checking on them" in edit
    assert any(f"<b>{checker}</b> is going to check on you" in t for t in await rig.texts(PAT.id))
    with pytest.raises(MedsPrivate):
        await rig.meds.check_on(ERRI.id, dose_id)


# --- privacy ---------------------------------------------------------------------------------


async def test_an_errand_helper_never_receives_a_medication_name(rig: Rig) -> None:
    await rig.setting("helpers_manage_meds", True)
    await rig.setting("helpers_mark_given", True)
    # Everything that tells helpers anything: a helper adding a medication, missed doses
    # and their resolution, checking on them, running out, and the refill request.
    med_id = await rig.add("Ibuprofen | 400 mg | 11:00", who=ANNA)
    await rig.meds.begin_edit(PAT.id, med_id, "supply")
    await rig.meds.edit_answer(PAT.id, "1")
    dose_id = await rig.reminded(rig.utc(10, 0))
    await rig.run_at(rig.utc(10, 45))
    await rig.meds.check_on(BEN.id, dose_id)
    await rig.meds.give(ANNA.id, dose_id)
    await rig.meds.request_refill(PAT.id, med_id)

    assert len(await rig.texts(ANNA.id)) >= 2  # close family did hear
    assert any("Ibuprofen" in t for t in await rig.texts(BEN.id))
    # Errand helpers hear of the refill request (a need), and of nothing else.
    [request] = await rig.outbox(ERRI.id)
    assert request.kind == "need.offer"
    [need] = await needs_posted(rig)
    for text in (need.text, request.payload["text"]):
        assert "Ibuprofen" not in text and "400 mg" not in text
    with pytest.raises(MedsPrivate):
        await rig.meds.overview(ERRI.id)
    with pytest.raises(MedsPrivate):
        await rig.meds.adherence(ERRI.id)
    with pytest.raises(MedsPrivate):
        await rig.meds.medication(ERRI.id, med_id)


# --- time zones and DST -----------------------------------------------------------------------


async def test_changing_time_zone_moves_future_reminders_to_the_new_local_times(
    rig: Rig,
) -> None:
    await rig.add("Ibuprofen | 400 mg | 08:00")
    assert await rig.meds.next_due() == rig.utc(7, day=3)  # 08:00 Berlin tomorrow
    await rig.circles.set_timezone(PAT.id, "America/New_York")
    assert await rig.meds.next_due() == rig.utc(13)  # 08:00 New York: today, still ahead
    await rig.circles.set_timezone(PAT.id, "Asia/Kolkata")
    assert await rig.meds.next_due() == rig.utc(2, 30, day=3)  # 08:00 Kolkata tomorrow


async def test_a_zone_change_never_repeats_todays_dose(rig: Rig) -> None:
    await rig.add("Ibuprofen | 400 mg | 11:00")
    await rig.reminded(rig.utc(10, 0))  # 11:00 Berlin, today
    rig.clock.set(rig.utc(10, 30))
    await rig.circles.set_timezone(PAT.id, "Europe/London")  # 11:00 London is 11:00 UTC
    await rig.run_at(rig.utc(11, 0))
    assert len(await rig.doses()) == 1
    assert [t for t in await rig.texts(PAT.id) if "Time for" in t] != []
    assert len([t for t in await rig.texts(PAT.id) if "Time for" in t]) == 1
    async with rig.db.transaction() as session:
        next_due = await session.scalar(select(Medication.next_due_at))
    assert next_due == rig.utc(11, day=3), "today's 11:00 dose is done; tomorrow in London"


async def test_reminders_follow_local_time_through_a_dst_change(rig: Rig) -> None:
    await rig.circles.set_timezone(PAT.id, "America/New_York")
    rig.clock.set(dt.datetime(2026, 3, 6, 0, 0, tzinfo=UTC))
    await rig.add("Ibuprofen | 400 mg | 08:00")
    seen = []
    for _ in range(4):
        due = await rig.meds.next_due()
        assert due is not None
        await rig.run_at(due)
        seen.append(due)
        async with rig.db.transaction() as session:  # answer it so only reminders are due
            await session.execute(update(DoseOccurrence).values(next_action_at=None))
    # 08:00 EST is 13:00 UTC; from Sunday 8 March, 08:00 EDT is 12:00 UTC.
    expected = ["06 13:00", "07 13:00", "08 12:00", "09 12:00"]
    assert [s.strftime("%d %H:%M") for s in seen] == expected


# --- downtime ---------------------------------------------------------------------------------


async def test_after_downtime_a_recent_reminder_is_sent_once_marked_late(rig: Rig) -> None:
    await rig.add("Ibuprofen | 400 mg | 11:00, 11:30")
    # The bot was down from before 11:00 until 12:45 Berlin (grace: 120 minutes).
    await rig.run_at(rig.utc(11, 45))
    texts = await rig.texts(PAT.id)
    assert len(texts) == 1, "one reminder, the newest: never two doses at once"
    assert "This was due at 11:30" in texts[0]
    states = [(d.slot, d.state, d.late) for d in await rig.doses()]
    assert states == [("2026-03-02T11:00", "missed", True), ("2026-03-02T11:30", "sent", True)]
    assert await rig.texts(ANNA.id) == []
    assert await rig.run_at(rig.utc(11, 46)) == 0
    # The late reminder gets its full time before the family is told.
    await rig.run_at(rig.utc(12, 29))
    assert await rig.texts(ANNA.id) == []
    await rig.run_at(rig.utc(12, 30))
    assert len(await rig.texts(ANNA.id)) == 1


async def test_after_long_downtime_old_doses_are_missed_and_alerted_once(rig: Rig) -> None:
    await rig.add("Ibuprofen | 400 mg | 11:00, 12:00")
    await rig.run_at(rig.utc(15, 0))  # 16:00 Berlin: both are more than 2 hours old
    assert await rig.texts(PAT.id) == []
    assert [d.state for d in await rig.doses()] == ["missed", "missed"]
    [alert] = await rig.texts(ANNA.id)
    assert "due 12:00" in alert
    assert await rig.run_at(rig.utc(15, 1)) == 0


# --- managing -----------------------------------------------------------------------------------


async def test_a_deleted_medications_old_reminder_button_says_so(rig: Rig) -> None:
    med_id = await rig.add("Ibuprofen | 400 mg | 11:00")
    dose_id = await rig.reminded(rig.utc(10, 0), deliver=False)
    assert await rig.meds.delete(PAT.id, med_id) == "Ibuprofen"
    with pytest.raises(MedicationGone):
        await rig.meds.take(PAT.id, dose_id)
    with pytest.raises(MedicationGone):
        await rig.meds.snooze(PAT.id, dose_id, 10)
    assert [r.state for r in await rig.outbox(PAT.id)] == ["cancelled"]  # never went out
    assert (await rig.dose(dose_id)).state == "cancelled"
    assert await rig.meds.next_due() is None
    assert await rig.run_at(rig.utc(12)) == 0
    with pytest.raises(MedicationGone):
        await rig.meds.delete(PAT.id, med_id)


async def test_the_same_medication_twice_is_refused(rig: Rig) -> None:
    med_id = await rig.add("Ibuprofen | 400 mg | 11:00")
    with pytest.raises(DuplicateMedication):
        await rig.add(" IBUPROFEN | 200 mg | 12:00")
    await rig.meds.start_add(PAT.id)
    with pytest.raises(DuplicateMedication):
        await rig.meds.add_answer(PAT.id, "ibuprofen")
    await rig.meds.delete(PAT.id, med_id)
    await rig.add("Ibuprofen | 200 mg | 12:00")  # fine once the old one is gone


async def test_helpers_change_medications_only_if_allowed_and_the_patient_is_told(
    rig: Rig,
) -> None:
    with pytest.raises(MedsNotAllowed):
        await rig.add("Ibuprofen | 400 mg | 11:00", who=ANNA)
    with pytest.raises(MedsNotAllowed):
        await rig.meds.start_add(ANNA.id)
    with pytest.raises(MedsPrivate):
        await rig.meds.start_add(ERRI.id)
    await rig.setting("helpers_manage_meds", True)
    med_id = await rig.add("Ibuprofen | 400 mg | 11:00", who=ANNA)
    await rig.meds.set_paused(ANNA.id, med_id, True)
    await rig.meds.begin_edit(ANNA.id, med_id, "times")
    await rig.meds.edit_answer(ANNA.id, "09:00, 21:00")
    told = await rig.texts(PAT.id)
    assert len(told) == 3
    assert "<b>Anna</b> added <b>Ibuprofen</b> 400 mg" in told[0]
    assert "paused" in told[1] and "09:00, 21:00" in told[2]
    with pytest.raises(MedsPrivate):
        await rig.meds.set_paused(ERRI.id, med_id, False)
    with pytest.raises(StaleAction):
        await rig.meds.set_paused(999, med_id, False)  # a stranger


async def test_only_who_may_manage_opens_a_medication_to_change_it(rig: Rig) -> None:
    """The alert choices and "Delete?" answer only someone who may manage the medication;
    for anyone else the button is stale (they see the medication, without those buttons)."""
    med_id = await rig.add("Ibuprofen | 400 mg | 11:00")
    assert (await rig.meds.managed(PAT.id, med_id)).med.id == med_id
    assert not (await rig.meds.medication(ANNA.id, med_id)).can_manage
    with pytest.raises(StaleAction):
        await rig.meds.managed(ANNA.id, med_id)
    with pytest.raises(MedsPrivate):
        await rig.meds.managed(ERRI.id, med_id)
    await rig.setting("helpers_manage_meds", True)
    assert (await rig.meds.managed(ANNA.id, med_id)).can_manage


async def test_pause_and_resume(rig: Rig) -> None:
    med_id = await rig.add("Ibuprofen | 400 mg | 11:00")
    detail = await rig.meds.set_paused(PAT.id, med_id, True)
    assert detail.med.paused and await rig.meds.next_due() is None
    assert await rig.run_at(rig.utc(10)) == 0
    detail = await rig.meds.set_paused(PAT.id, med_id, False)
    assert detail.med.next_due_at == rig.utc(10, day=3)


async def test_the_add_walkthrough_keeps_its_place_through_bad_answers(rig: Rig) -> None:
    meds = rig.meds
    prompt = await meds.start_add(PAT.id)
    assert prompt.step == "name"
    for bad in ("", "x" * 200):
        with pytest.raises(MedInputError):
            await meds.add_answer(PAT.id, bad)
    assert (await meds.add_answer(PAT.id, "Ibu *bold* <b>")).step == "dose"
    assert (await meds.add_answer(PAT.id, "400 mg")).step == "times"
    for bad, why in (("25:00", "time_bad"), ("8", "time_bare_hour"), ("08:00,,", "times_gap")):
        with pytest.raises(MedInputError) as refused:
            await meds.add_answer(PAT.id, bad)
        assert refused.value.reason == why
    assert (await meds.add_answer(PAT.id, "every 8 hours from 7am")).step == "note"
    assert (await meds.add_answer(PAT.id, "with food")).step == "max"
    assert (await meds.add_skip(PAT.id)).step == "gap"
    prompt = await meds.add_skip(PAT.id)
    assert prompt.step == "confirm" and prompt.draft["times"] == ["07:00", "15:00", "23:00"]
    detail = await meds.add_save(PAT.id)
    assert detail.med.name == "Ibu *bold* <b>" and detail.med.every_hours == 8
    assert (await rig.circles.standing(PAT.id)).awaiting is None
    with pytest.raises(StaleAction):
        await meds.add_save(PAT.id)  # a second tap on Save adds nothing


# --- label limits ------------------------------------------------------------------------------


async def _limits(rig: Rig, med_id: int) -> tuple[int | None, float | None]:
    async with rig.db.transaction() as session:
        med = await session.get(Medication, med_id)
        assert med is not None
        return med.max_per_24h, med.min_hours_between


async def test_a_scheduled_medication_can_have_both_limits_in_the_walkthrough(rig: Rig) -> None:
    meds = rig.meds
    await meds.start_add(PAT.id)
    for answer in ("Medicine A", "1 tablet", "08:00, 20:00", "skip"):
        await meds.add_answer(PAT.id, answer)
    prompt = await meds.add_answer(PAT.id, "4 doses")
    assert prompt.step == "gap", "a scheduled medication is asked for the minimum gap too"
    assert "Got it: at most 4 doses in 24 hours" in texts.add_prompt(prompt)
    prompt = await meds.add_answer(PAT.id, "6 hours")
    assert prompt.step == "confirm"
    assert "at most 4 doses in 24 hours; at least 6 hours between doses" in texts.add_prompt(prompt)
    detail = await meds.add_save(PAT.id)
    assert await _limits(rig, detail.med.id) == (4, 6.0)
    added = texts.med_added(detail.med, detail.patient_name, detail.for_patient, rig.utc(9))
    assert "Label limits: at most 4 doses in 24 hours; at least 6 hours between doses" in added


async def test_an_unclear_limit_is_refused_and_the_step_kept(rig: Rig) -> None:
    meds = rig.meds
    await meds.start_add(PAT.id)
    for answer in ("Medicine B", "1 tablet", "as needed", "skip"):
        await meds.add_answer(PAT.id, answer)
    for bad, why in (
        ("in 24 hours at most 4", "max_numbers"),
        ("8 tablets (4 doses)", "max_numbers"),
        ("-4", "max_range"),
    ):
        with pytest.raises(MedInputError) as refused:
            await meds.add_answer(PAT.id, bad)
        assert refused.value.reason == why
    assert (await meds.add_answer(PAT.id, "4")).step == "gap"
    for bad, why in (("1 day", "gap_unit"), ("1 hour 30 min", "gap_numbers"), ("-4", "gap_range")):
        with pytest.raises(MedInputError) as refused:
            await meds.add_answer(PAT.id, bad)
        assert refused.value.reason == why
    assert (await meds.add_answer(PAT.id, "4.5")).step == "confirm"
    detail = await meds.add_save(PAT.id)
    assert await _limits(rig, detail.med.id) == (4, 4.5)


async def test_the_one_line_form_saves_both_limits_and_echoes_them(rig: Rig) -> None:
    detail = await rig.meds.add_line(
        PAT.id, "Medicine A | 1 tablet | 08:00, 20:00 | with food | max 4 | gap 6h"
    )
    assert await _limits(rig, detail.med.id) == (4, 6.0)
    assert detail.med.note == "with food"
    added = texts.med_added(detail.med, detail.patient_name, detail.for_patient, rig.utc(9))
    assert "at most 4 doses in 24 hours; at least 6 hours between doses" in added
    plain = await rig.meds.add_line(PAT.id, "Medicine B | 1 tablet | as needed")
    assert await _limits(rig, plain.med.id) == (None, None)
    added = texts.med_added(plain.med, plain.patient_name, plain.for_patient, rig.utc(9))
    assert "Label limits: not saved" in added
    with pytest.raises(MedInputError) as refused:
        await rig.meds.add_line(PAT.id, "Medicine C | 1 tablet | 08:00 | max in 24 hours at most 4")
    assert refused.value.reason == "max_numbers"
    async with rig.db.transaction() as session:
        names = set(await session.scalars(select(Medication.name)))
    assert names == {"Medicine A", "Medicine B"}, "a refused line saves nothing"


async def test_times_that_pass_the_label_get_a_heads_up_when_saved(rig: Rig) -> None:
    detail = await rig.meds.add_line(
        PAT.id, "Medicine A | 1 tablet | 08:00, 10:00 | max 1 | gap 6h"
    )
    added = texts.med_added(detail.med, detail.patient_name, detail.for_patient, rig.utc(9))
    assert "These times are 2 doses a day; the label says at most 1 dose in 24 hours." in added
    assert "08:00 and 10:00 are 2 h apart; the label says at least 6 hours" in added
    await rig.meds.begin_edit(PAT.id, detail.med.id, "times")
    moved = await rig.meds.edit_answer(PAT.id, "08:00, 20:00")
    assert "apart" not in texts.edit_reply(moved) and "doses a day" in texts.edit_reply(moved)


async def test_both_limits_of_a_scheduled_medication_can_be_changed_in_meds(rig: Rig) -> None:
    med_id = await rig.add("Medicine A | 1 tablet | 08:00, 20:00")
    meds = rig.meds
    prompt = await meds.begin_edit(PAT.id, med_id, "max")
    assert prompt.field == "max"
    prompt = await meds.edit_answer(PAT.id, "3")
    assert prompt.field == "gap", "the gap comes next, whatever the kind"
    assert "Saved: at most 3 doses in 24 hours" in texts.edit_reply(prompt)
    prompt = await meds.edit_answer(PAT.id, "5.5 hours")
    assert prompt.field is None
    assert await _limits(rig, med_id) == (3, 5.5)
    assert texts.edit_reply(prompt).startswith(
        "Saved: at most 3 doses in 24 hours; at least 5.5 hours between doses"
    )
    assert (await rig.circles.standing(PAT.id)).awaiting is None

    # Only the gap: keep the maximum as it is, then clear the gap.
    await meds.begin_edit(PAT.id, med_id, "max")
    prompt = await meds.edit_keep(PAT.id)
    assert prompt.field == "gap" and await _limits(rig, med_id) == (3, 5.5)
    prompt = await meds.edit_answer(PAT.id, None)
    assert prompt.field is None and await _limits(rig, med_id) == (3, None)
    assert "no minimum gap saved" in texts.edit_reply(prompt)
    # Straight to the gap, and an unclear answer keeps the step.
    await meds.begin_edit(PAT.id, med_id, "gap")
    with pytest.raises(MedInputError):
        await meds.edit_answer(PAT.id, "1 hour 30 min")
    assert (await meds.edit_answer(PAT.id, "2")).field is None
    assert await _limits(rig, med_id) == (3, 2.0)
    with pytest.raises(StaleAction):
        await meds.edit_keep(PAT.id)  # nothing is being edited now


async def test_a_helper_changing_the_limits_tells_the_patient_the_values(rig: Rig) -> None:
    await rig.setting("helpers_manage_meds", True)
    med_id = await rig.add("Medicine A | 1 tablet | as needed | max 4", who=ANNA)
    await rig.meds.begin_edit(ANNA.id, med_id, "max")
    await rig.meds.edit_keep(ANNA.id)  # unchanged: the patient isn't told
    await rig.meds.edit_answer(ANNA.id, "gap 6")
    told = await rig.texts(PAT.id)
    assert len(told) == 2 and "at most 4 doses in 24 hours" in told[0]
    assert "updated the label limits" in told[1]
    assert "at most 4 doses in 24 hours; at least 6 hours between doses" in told[1]


# --- refills -----------------------------------------------------------------------------------


async def test_the_refill_forecast_offers_a_pharmacy_need(rig: Rig) -> None:
    med_id = await rig.add("Ibuprofen | 400 mg | 08:00, 14:00, 20:00")
    await rig.meds.begin_edit(PAT.id, med_id, "supply")
    await rig.meds.edit_answer(PAT.id, "10")  # 3 a day: 3.3 days
    assert await rig.texts(PAT.id) == []
    await rig.meds.took(PAT.id, med_id=med_id, request_key="r1", confirmed=True)
    [offer] = await rig.outbox(PAT.id)
    assert "9 doses of <b>Ibuprofen</b> left — about 3 days" in offer.payload["text"]
    labels = [b["text"] for row in offer.payload["buttons"] for b in row]
    assert "Ask helpers to pick up a refill" in labels
    await rig.meds.took(PAT.id, med_id=med_id, request_key="r2", confirmed=True)
    assert len(await rig.outbox(PAT.id)) == 1, "offered once"

    posted = await rig.meds.request_refill(PAT.id, med_id)
    [need] = await needs_posted(rig)
    assert need.posted_by == PAT.id and need.category == "pharmacy"
    assert need.deadline_at is not None and posted.need_id == need.id == 1
    with pytest.raises(StaleAction):
        await rig.meds.request_refill(PAT.id, med_id)  # a double tap posts one need
    assert len(await needs_posted(rig)) == 1


async def test_without_the_needs_feature_the_refill_button_explains(rig: Rig) -> None:
    # The app always wires the needs feature in; a service built without it:
    meds = MedicationService(
        rig.db, rig.clock, rig.notifier, rig.circles, MedTiming.from_settings(rig.settings)
    )
    med_id = await rig.add("Ibuprofen | 400 mg | 08:00")
    with pytest.raises(RefillUnavailable):
        await meds.request_refill(PAT.id, med_id)


async def test_running_out_tells_close_family(rig: Rig) -> None:
    med_id = await rig.add("Ibuprofen | 400 mg | 08:00")
    await rig.meds.begin_edit(PAT.id, med_id, "supply")
    await rig.meds.edit_answer(PAT.id, "1")
    await rig.meds.took(PAT.id, med_id=med_id, request_key="x", confirmed=True)
    [note] = await rig.texts(ANNA.id)
    assert "run out of <b>Ibuprofen</b>" in note


# --- /took and /adherence ---------------------------------------------------------------------


async def test_a_resent_took_logs_one_dose(rig: Rig) -> None:
    await rig.add("Paracetamol | 500 mg | as needed")
    first = await rig.meds.took(PAT.id, name="paracetamol", request_key="took:100:7")
    again = await rig.meds.took(PAT.id, name="paracetamol", request_key="took:100:7")
    assert first.dose is not None and again.already_logged
    assert len(await rig.doses()) == 1


async def test_took_and_log_buttons_key_each_message_once(rig: Rig) -> None:
    """The service builds the keys the handlers used to (rows already hold them)."""
    med_id = await rig.add("Paracetamol | 500 mg | as needed")
    first = await rig.meds.took_named(PAT.id, "paracetamol", 7)
    again = await rig.meds.took_named(PAT.id, "paracetamol", 7)  # resent by Telegram
    assert first.dose is not None and again.already_logged
    logged = await rig.meds.log_pressed(PAT.id, med_id, 8, confirmed=True)
    assert logged.dose is not None
    tapped = await rig.meds.log_pressed(PAT.id, med_id, 9)
    assert tapped.warning is not None  # a second dose so soon is asked about first
    keys = {dose.request_key for dose in await rig.doses()}
    assert keys == {"took:100:7", "xok:100:8"}
    assert (await rig.meds.log_pressed(PAT.id, med_id, 8, confirmed=True)).already_logged


async def test_took_answers_the_open_reminder(rig: Rig) -> None:
    await rig.add("Ibuprofen | 400 mg | 11:00")
    dose_id = await rig.reminded(rig.utc(10, 0))
    outcome = await rig.meds.took(PAT.id, name="ibu", request_key="t")
    assert outcome.dose is not None and outcome.dose.occurrence_id == dose_id
    assert (await rig.dose(dose_id)).state == "taken"
    assert await rig.meds.next_due() == rig.utc(10, day=3)


async def test_adherence_over_seven_days(rig: Rig) -> None:
    await rig.add("Ibuprofen | 400 mg | 11:00")
    outcomes = ["on time", "late", "skipped", "missed", "on time"]
    for day, outcome in enumerate(outcomes, start=2):
        dose_id = await rig.reminded(rig.utc(10, day=day))
        if outcome == "on time":
            rig.clock.set(rig.utc(10, 5, day=day))
            await rig.meds.take(PAT.id, dose_id)
        elif outcome == "skipped":
            await rig.meds.skip(PAT.id, dose_id)
        else:
            await rig.run_at(rig.utc(10, 45, day=day))
            if outcome == "late":
                rig.clock.set(rig.utc(11, 30, day=day))
                await rig.meds.take(PAT.id, dose_id)
    [report] = await rig.meds.adherence(PAT.id)
    [row] = report.rows
    assert (row.on_time, row.late, row.skipped, row.missed) == (2, 1, 1, 1)
    [for_anna] = await rig.meds.adherence(ANNA.id)
    assert not for_anna.for_patient and for_anna.patient_name == "Pat"
