"""Grouped reminders: doses of one patient due in the same minute arrive as one message, a
line and buttons each and "Took all"; every dose keeps its own state machine.

The clock starts on Monday 2 March 2026, 09:00 UTC: 10:00 in Berlin, where Pat lives.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from bot.db.models import OutboxMessage
from bot.domain.errors import DoseAlreadyRecorded, StaleAction
from tests.people import ANNA, BEN, ERRI, PAT
from tests.rig import Rig, open_rig

pytestmark = pytest.mark.usefixtures("family")  # Pat in Berlin, Anna, Ben and Erri


def labels(message: OutboxMessage) -> list[str]:
    return [b["text"] for row in message.payload.get("buttons", []) for b in row]


async def three_at_eleven(rig: Rig) -> list[int]:
    """Medicines A, B and C at 11:00 Berlin (10:00 UTC), reminded; their dose ids."""
    for letter in "ABC":
        await rig.add(f"Medicine {letter} | 1 tablet | 11:00")
    await rig.run_at(rig.utc(10, 0))
    return [d.id for d in await rig.doses()]


async def test_three_doses_in_a_minute_arrive_as_one_message(rig: Rig) -> None:
    await rig.add("Medicine D | 1 tablet | 11:30")  # another minute: a message of its own
    ids = await three_at_eleven(rig)
    [reminder] = await rig.outbox(PAT.id)
    text = reminder.payload["text"]
    assert text.startswith("💊 Time for your 11:00 medicines:")
    assert all(text.count(f"<b>Medicine {x}</b>") == 1 for x in "ABC")
    assert "Medicine D" not in text
    assert labels(reminder) == [
        *("✅ Medicine A", "Skip", "⏰ Later"),
        *("✅ Medicine B", "Skip", "⏰ Later"),
        *("✅ Medicine C", "Skip", "⏰ Later"),
        "✅ Took all",
    ]
    assert reminder.key == f"doses:{min(ids)}:reminder" and reminder.priority == 0
    assert {d.group_id for d in await rig.doses()} == {min(ids)}
    await rig.run_at(rig.utc(10, 30))
    [_, alone] = [m.payload["text"] for m in await rig.outbox("dose.reminder")]
    assert alone.startswith("💊 Time for <b>Medicine D</b>")


async def test_two_doses_group_and_one_answered_alone_redraws_the_message(rig: Rig) -> None:
    for letter in "AB":
        await rig.add(f"Medicine {letter} | 1 tablet | 11:00")
    await rig.run_at(rig.utc(10, 0))
    a, b = [d.id for d in await rig.doses()]
    rig.clock.set(rig.utc(10, 3))
    outcome = await rig.meds.take(PAT.id, a, message_id=None)
    assert outcome.group is not None and [d.state for d in outcome.group.doses] == [
        "taken",
        "sent",
    ]
    [edit] = await rig.outbox(PAT.id, op="edit")
    assert edit.ref_key == f"doses:{a}:reminder"
    assert "✅ <b>Medicine A</b> 1 tablet — taken at 11:03" in edit.payload["text"]
    assert labels(edit) == ["✅ Medicine B", "Skip", "⏰ Later"]  # no "Took all" for one
    await rig.meds.skip(PAT.id, b)
    states = [(await rig.dose(i)).state for i in (a, b)]
    assert states == ["taken", "skipped"]
    last = (await rig.outbox(PAT.id, op="edit"))[-1]
    assert "all answered" in last.payload["text"] and labels(last) == []


async def test_took_all_after_one_was_skipped_takes_only_the_others(rig: Rig) -> None:
    a, b, c = await three_at_eleven(rig)
    rig.clock.set(rig.utc(10, 2))
    await rig.meds.skip(PAT.id, b)
    rig.clock.set(rig.utc(10, 4))
    result = await rig.meds.take_all(PAT.id, a)
    assert result.taken == 2 and result.warnings == ()
    assert [(await rig.dose(i)).state for i in (a, b, c)] == ["taken", "skipped", "taken"]
    assert [d.state for d in result.group.doses] == ["taken", "skipped", "taken"]
    # A double tap (or the same update again) records nothing twice.
    versions = [(await rig.dose(i)).version for i in (a, b, c)]
    again = await rig.meds.take_all(PAT.id, a)
    assert again.taken == 0
    assert [(await rig.dose(i)).version for i in (a, b, c)] == versions
    with pytest.raises(DoseAlreadyRecorded):
        await rig.meds.take(PAT.id, c)
    # Nothing is left for the scheduler: no nudge, no alert.
    await rig.run_at(rig.utc(11, 0))
    assert await rig.texts(ANNA.id) == []
    assert len(await rig.texts(PAT.id)) == 1


async def test_took_all_leaves_a_dose_past_the_label_limit_waiting_with_a_warning(
    rig: Rig,
) -> None:
    await rig.add("Medicine A | 1 tablet | 11:00")
    b_med = await rig.add("Medicine B | 1 tablet | 11:00")
    await rig.meds.begin_edit(PAT.id, b_med, "max")
    await rig.meds.edit_answer(PAT.id, "1")  # B's label: at most one in 24 hours
    rig.clock.set(rig.utc(8, 0))  # two hours before, an extra dose of B
    await rig.meds.took(PAT.id, med_id=b_med, request_key="early", confirmed=True)
    await rig.run_at(rig.utc(10, 0))
    a, b = [d.id for d in await rig.doses() if d.slot]
    rig.clock.set(rig.utc(10, 1))
    result = await rig.meds.take_all(PAT.id, a)
    [warning] = result.warnings
    assert warning.occurrence_id == b and warning.name == "Medicine B"
    assert result.taken == 1
    assert [(await rig.dose(i)).state for i in (a, b)] == ["taken", "sent"]
    # "Log it anyway" on the warning takes it, as for a dose reminded alone.
    confirmed = await rig.meds.take(PAT.id, b, confirmed=True, warned_at=warning.shown_at)
    assert confirmed.dose is not None and (await rig.dose(b)).state == "taken"


async def test_two_taps_at_once_on_took_all_and_a_line_take_each_dose_once(rig: Rig) -> None:
    a, b, c = await three_at_eleven(rig)
    other = rig.new_process().meds
    rig.clock.set(rig.utc(10, 1))
    results = await asyncio.gather(
        rig.meds.take_all(PAT.id, a),
        other.take_all(PAT.id, a),
        rig.meds.take(PAT.id, b),
        return_exceptions=True,
    )
    taken = sum(r.taken for r in results[:2] if not isinstance(r, BaseException))
    line = results[2]
    assert taken + (0 if isinstance(line, BaseException) else 1) == 3, results
    assert [(await rig.dose(i)).state for i in (a, b, c)] == ["taken"] * 3


async def test_a_grouped_nudge_and_one_family_alert_listing_what_is_unconfirmed(
    rig: Rig,
) -> None:
    a, b, c = await three_at_eleven(rig)
    rig.clock.set(rig.utc(10, 5))
    await rig.meds.take(PAT.id, a)
    await rig.run_at(rig.utc(10, 15))
    nudges = [m for m in await rig.outbox(PAT.id, op="send") if m.kind == "dose.nudge"]
    [nudge] = nudges
    assert nudge.key == f"doses:{a}:nudge" and "Just checking in" in nudge.payload["text"]
    assert labels(nudge)[-1] == "✅ Took all" and "✅ Medicine A" not in labels(nudge)
    await rig.run_at(rig.utc(10, 45))
    for helper in (ANNA, BEN):
        [alert] = await rig.outbox(helper.id, op="send")
        text = alert.payload["text"]
        assert "<b>Pat</b> hasn't confirmed their 11:00 medicines:" in text
        assert "<b>Medicine B</b>" in text and "<b>Medicine C</b>" in text
        assert "Medicine A" not in text  # taken: not part of the alert
        assert alert.key == f"dose:{b}:alert:{helper.id}"
    assert await rig.texts(ERRI.id) == []  # errand helpers hear nothing about medication
    assert [(await rig.dose(i)).state for i in (b, c)] == ["missed", "missed"]
    # The first helper to check on Pat is the one, for both doses; the other is told.
    mine = await rig.meds.check_on(ANNA.id, b)
    theirs = await rig.meds.check_on(BEN.id, b)
    assert mine.by_me and not theirs.by_me and theirs.checker_name == "Anna"
    assert {(await rig.dose(i)).checker_id for i in (b, c)} == {ANNA.id}
    [ben_edit] = await rig.outbox(BEN.id, op="edit")
    assert "<b>Anna</b> is checking on them." in ben_edit.payload["text"]
    # A late "Took all" resolves the alert for everyone.
    rig.clock.set(rig.utc(11, 0))
    result = await rig.meds.take_all(PAT.id, a)
    assert result.taken == 2
    last = (await rig.outbox(BEN.id, op="edit"))[-1]
    assert "Resolved" in last.payload["text"] or "✅" in last.payload["text"]


async def test_a_helper_marks_one_dose_of_a_grouped_alert_as_given(rig: Rig) -> None:
    await rig.setting("helpers_mark_given", True)
    a, b, c = await three_at_eleven(rig)
    await rig.run_at(rig.utc(10, 45))
    [alert] = await rig.outbox(ANNA.id, op="send")
    assert labels(alert) == [
        "I'll check on them",
        "Mark given: Medicine A",
        "Mark given: Medicine B",
        "Mark given: Medicine C",
    ]
    outcome = await rig.meds.give(ANNA.id, b)
    assert outcome.batch_alert
    redrawn = (await rig.outbox(ANNA.id, op="edit"))[-1]
    assert "given by Anna" in redrawn.payload["text"]
    assert "Mark given: Medicine B" not in labels(redrawn)
    assert [(await rig.dose(i)).state for i in (a, b, c)] == ["missed", "taken", "missed"]


async def test_a_snoozed_line_comes_back_as_a_message_of_its_own(rig: Rig) -> None:
    a, b, _c = await three_at_eleven(rig)
    rig.clock.set(rig.utc(10, 1))
    view, lead = await rig.meds.later(PAT.id, b)
    assert lead == a and view.name == "Medicine B"
    outcome = await rig.meds.snooze(PAT.id, b, 10)
    assert outcome.group is not None
    assert [d.state for d in outcome.group.doses] == ["sent", "snoozed", "sent"]
    await rig.run_at(rig.utc(10, 11))
    again = (await rig.texts(PAT.id))[-1]
    assert again.startswith("💊 Time for <b>Medicine B</b>")


async def test_a_grouped_reminder_survives_a_restart(rig: Rig) -> None:
    for letter in "AB":
        await rig.add(f"Medicine {letter} | 1 tablet | 11:00")
    await rig.run_at(rig.utc(10, 0), deliver=False)  # queued, then the process dies
    rig.restart()
    assert await rig.run_at(rig.utc(10, 0, 30)) == 0  # nothing is queued twice
    [reminder] = await rig.outbox(PAT.id)
    a, _b = [d.id for d in await rig.doses()]
    assert reminder.key == f"doses:{a}:reminder" and reminder.state == "sent"
    result = await rig.meds.take_all(PAT.id, a)
    assert result.taken == 2


async def test_nobody_else_can_answer_a_group_and_forged_ids_are_stale(rig: Rig) -> None:
    a, b, _ = await three_at_eleven(rig)
    with pytest.raises(Exception) as refused:
        await rig.meds.take_all(ANNA.id, a)
    assert not isinstance(refused.value, AssertionError)
    with pytest.raises(StaleAction):
        await rig.meds.take_all(PAT.id, b)  # not the lead: no such group
    with pytest.raises(StaleAction):
        await rig.meds.take_all(PAT.id, 10_000)
    assert {d.state for d in await rig.doses()} == {"sent"}


async def test_with_grouping_off_each_dose_has_its_own_message(database_url: str, rig: Rig) -> None:
    async with open_rig(database_url, rig.clock, group_reminders=False) as solo:
        for letter in "AB":
            await solo.add(f"Medicine {letter} | 1 tablet | 11:00")
        await solo.run_at(solo.utc(10, 0))
        reminders = await solo.texts(PAT.id)
        assert len(reminders) == 2 and all(t.startswith("💊 Time for <b>") for t in reminders)
        assert {d.group_id for d in await solo.doses()} == {None}


async def test_a_dose_due_a_minute_later_is_not_grouped(rig: Rig) -> None:
    await rig.add("Medicine A | 1 tablet | 11:00")
    await rig.add("Medicine B | 1 tablet | 11:01")
    await rig.run_at(rig.utc(10, 1))  # both due by now (the scheduler woke late)
    sent = await rig.texts(PAT.id)
    assert len(sent) == 2
    assert {d.group_id for d in await rig.doses()} == {None}


async def test_one_bad_medication_holds_up_no_other_reminder_of_the_patient(
    rig: Rig, monkeypatch: pytest.MonkeyPatch
) -> None:
    good = await rig.add("Medicine A | 1 tablet | 11:00")
    bad = await rig.add("Medicine B | 1 tablet | 11:00")
    meds = rig.meds
    real = meds._due

    def failing(ctx: Any, slots: Any, now: dt.datetime) -> Any:
        if ctx.med.id == bad:
            raise RuntimeError("a poison row")
        return real(ctx, slots, now)

    monkeypatch.setattr(meds, "_due", failing)
    await rig.run_at(rig.utc(10, 0))
    [reminder] = await rig.outbox(PAT.id)
    assert "Medicine A" in reminder.payload["text"] and "Medicine B" not in reminder.payload["text"]
    assert [d.medication_id for d in await rig.doses()] == [good]
    monkeypatch.setattr(meds, "_due", real)
    await rig.run_at(rig.utc(10, 0, 30))  # the next sweep: B is reminded after all, alone
    assert [d.medication_id for d in await rig.doses()] == [good, bad]
    assert len(await rig.outbox("dose.reminder")) == 2
