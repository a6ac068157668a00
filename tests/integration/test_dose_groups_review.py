"""Hostile review of grouped reminders (issue 16 item 1): each test here failed on ce476dc.

The clock starts on Monday 2 March 2026, 09:00 UTC: 10:00 in Berlin, where Pat lives.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from bot.db.models import OutboxMessage
from bot.domain.errors import DoseNotOpen
from tests.people import ANNA, BEN, PAT
from tests.rig import Rig

pytestmark = pytest.mark.usefixtures("family")  # Pat in Berlin, Anna, Ben and Erri


def labels(message: OutboxMessage) -> list[str]:
    return [b["text"] for row in message.payload.get("buttons", []) for b in row]


def visible(text: str) -> str:
    """What Telegram counts against its 4,096 characters: the text after HTML parsing."""
    return (
        re.sub(r"<[^>]+>", "", text).replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    )


async def three_at_eleven(rig: Rig) -> list[int]:
    for letter in "ABC":
        await rig.add(f"Medicine {letter} | 1 tablet | 11:00")
    await rig.run_at(rig.utc(10, 0))
    return [d.id for d in await rig.doses()]


async def snoozed_line_then_alert(rig: Rig) -> list[int]:
    """B is snoozed from the group and comes back alone; nobody answers anything, and at
    10:45 UTC A, B and C all count as missed in the same sweep."""
    a, b, c = await three_at_eleven(rig)
    rig.clock.set(rig.utc(10, 1))
    await rig.meds.snooze(PAT.id, b, 10)
    for minute in (11, 15, 26, 45):
        await rig.run_at(rig.utc(10, minute))
    assert [(await rig.dose(i)).state for i in (a, b, c)] == ["missed"] * 3
    return [a, b, c]


async def test_a_snoozed_line_missed_with_its_group_is_one_alert_per_helper(rig: Rig) -> None:
    await snoozed_line_then_alert(rig)
    for helper in (ANNA, BEN):
        alerts = [m for m in await rig.outbox(helper.id, op="send") if m.kind == "dose.alert"]
        mentions = sum(visible(m.payload["text"]).count("Medicine A") for m in alerts)
        # Each helper should hear once that Medicine A is unconfirmed; on ce476dc they get
        # two alerts, the second (keyed on B) listing A, B and C again.
        assert len(alerts) == 1 and mentions == 1, [m.payload["text"] for m in alerts]


async def test_every_alert_of_a_grouped_miss_is_resolved_after_took_all(rig: Rig) -> None:
    a, _b, _c = await snoozed_line_then_alert(rig)
    rig.clock.set(rig.utc(11, 0))
    result = await rig.meds.take_all(PAT.id, a)
    assert result.taken == 3
    await rig.deliver()
    for helper in (ANNA, BEN):
        sent = [m for m in await rig.outbox(helper.id, op="send") if m.kind == "dose.alert"]
        edits = await rig.outbox(helper.id, op="edit")
        for alert in sent:
            mine = [e for e in edits if e.ref_key == alert.key]
            # An alert nobody redraws keeps asking "Could someone check on them?" with its
            # buttons, about doses Pat has long taken.
            assert mine and labels(mine[-1]) == [], (alert.key, [e.ref_key for e in edits])


async def test_a_grouped_reminder_never_has_more_than_100_buttons(rig: Rig) -> None:
    for n in range(34):  # a long list, but nothing stops it: 34 × 3 + "Took all" = 103
        await rig.add(f"Medicine {n:02d} | 1 tablet | 11:00")
    await rig.run_at(rig.utc(10, 0))
    reminders = await rig.outbox(PAT.id, op="send")
    assert reminders, "no reminder at all"
    for reminder in reminders:
        assert len(labels(reminder)) <= 100, len(labels(reminder))  # Telegram's limit
    assert {d.state for d in await rig.doses()} == {"sent"}


async def test_a_grouped_reminder_fits_telegrams_4096_characters(rig: Rig) -> None:
    name, dose, note = "N" * 55, "D" * 40, "x" * 120  # each within what /addmed accepts
    for n in range(19):
        await rig.add(f"{name}{n:02d} | {dose} | 11:00 | {note}")
    await rig.run_at(rig.utc(10, 0))
    for reminder in await rig.outbox(PAT.id, op="send"):
        # Telegram answers 400 "message is too long": the reminder would be lost.
        assert len(visible(reminder.payload["text"])) <= 4096


async def test_a_grouped_family_alert_fits_telegrams_limits(rig: Rig) -> None:
    await rig.setting("helpers_mark_given", True)
    name, dose = "N" * 55, "D" * 40
    for n in range(40):
        await rig.add(f"{name}{n:02d} | {dose} | 11:00")
    await rig.run_at(rig.utc(10, 0))
    await rig.run_at(rig.utc(10, 15))
    await rig.run_at(rig.utc(10, 45))
    alerts = [m for m in await rig.outbox(ANNA.id, op="send") if m.kind == "dose.alert"]
    assert alerts
    for alert in alerts:
        assert len(labels(alert)) <= 100
        assert len(visible(alert.payload["text"])) <= 4096


async def test_doses_missed_together_during_downtime_are_one_alert_per_helper(rig: Rig) -> None:
    for letter in "ABC":
        await rig.add(f"Medicine {letter} | 1 tablet | 11:00")
    await rig.run_at(rig.utc(13, 30))  # the bot was down from before 11:00 until 14:30
    assert {d.state for d in await rig.doses()} == {"missed"}
    alerts = [m for m in await rig.outbox(ANNA.id, op="send") if m.kind == "dose.alert"]
    # "The nudge and the family alert are grouped the same way": here Anna gets three.
    assert len(alerts) == 1, [m.payload["text"] for m in alerts]


async def test_a_403_on_a_grouped_alert_does_not_call_a_taken_dose_unconfirmed(rig: Rig) -> None:
    await rig.circles.remove_helper(PAT.id, BEN.id)
    a, _b, _c = await three_at_eleven(rig)
    rig.clock.set(rig.utc(10, 45))
    await rig.meds.run_due(rig.utc(10, 45))  # Anna's alert (A, B, C) is queued, not sent
    rig.clock.set(rig.utc(10, 46))
    await rig.meds.take(PAT.id, a)  # Pat answers Medicine A after all
    await rig.circles.mark_unreachable(ANNA.id)  # then Anna turns out to have blocked the bot
    [told] = [m for m in await rig.outbox(PAT.id) if m.kind == "dose.nobody"]
    text = visible(told.payload["text"])
    assert "Medicine B" in text and "Medicine C" in text
    # On ce476dc: "Your Medicine A 1 tablet, Medicine B …, Medicine C … aren't confirmed".
    assert "Medicine A" not in text, text


async def test_later_on_a_missed_line_offers_only_choices_that_work(rig: Rig) -> None:
    a, b, _c = await three_at_eleven(rig)
    await rig.run_at(rig.utc(10, 15))
    await rig.run_at(rig.utc(10, 45))  # all three count as missed
    rig.clock.set(rig.utc(10, 50))
    await rig.meds.take(PAT.id, a)  # late: the group is redrawn now, B and C missed
    await rig.deliver()
    redrawn = (await rig.outbox(PAT.id, op="edit"))[-1]
    # On ce476dc "⏰ Later" was drawn for the missed lines B and C, and each of the snooze
    # choices it offered was refused. A missed dose can be taken (now or at a typed time) or
    # skipped, not snoozed.
    assert labels(redrawn) == [
        *("✅ Medicine B", "Skip", "🕗 Took it at…"),
        *("✅ Medicine C", "Skip", "🕗 Took it at…"),
        "✅ Took all",
    ]
    with pytest.raises(DoseNotOpen):
        await rig.meds.later(PAT.id, b)  # an old "Later" button says it can't be snoozed
    assert a < b


async def test_a_group_on_the_spring_forward_night_says_each_medicines_own_time(
    rig: Rig,
) -> None:
    rig.clock.set(dt.datetime(2026, 3, 28, 12, 0, tzinfo=dt.UTC))
    await rig.add("Medicine A | 1 tablet | 02:30")  # 02:30 does not exist on 29 March: 03:00
    await rig.add("Medicine B | 1 tablet | 03:00")
    await rig.run_at(dt.datetime(2026, 3, 29, 1, 0, tzinfo=dt.UTC))  # 03:00 CEST
    # On ce476dc one message said "💊 Time for your 02:30 medicines:" — Medicine B's 03:00
    # said nowhere. Two times on one instant are two reminders.
    reminders = [visible(m.payload["text"]) for m in await rig.outbox(PAT.id, op="send")]
    assert len(reminders) == 2, reminders
    assert not any("02:30 medicines" in t for t in reminders), reminders


async def test_a_grouped_nudge_for_one_dose_left_offers_no_missing_took_all(rig: Rig) -> None:
    a, b, _c = await three_at_eleven(rig)
    rig.clock.set(rig.utc(10, 3))
    await rig.meds.take(PAT.id, a)
    await rig.meds.take(PAT.id, b)
    await rig.run_at(rig.utc(10, 15))
    [nudge] = [m for m in await rig.outbox(PAT.id, op="send") if m.kind == "dose.nudge"]
    assert "✅ Took all" not in labels(nudge)  # one dose left: no such button …
    assert "Took all" not in nudge.payload["text"], nudge.payload["text"]  # … nor word of it
