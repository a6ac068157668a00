"""Medication reminders over HTTP: on the minute, once across a restart, then the family.

The first test waits for a real wall-clock minute (between 25 and 85 seconds), so it is the
slow one; everything it checks shares that wait.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from playground.sim import JSON, FakeBotApi, FakeUser
from tests.e2e.conftest import BotProcess, assert_answered_first, menu_of
from tests.e2e.test_circle_journey import LINK, onboard_patient

BERLIN = ZoneInfo("Europe/Berlin")  # where onboard_patient() puts the patient


def next_whole_minute(at_least_seconds: float) -> dt.datetime:
    """The next whole minute in Berlin that is at least this far away."""
    soon = dt.datetime.now(BERLIN) + dt.timedelta(seconds=at_least_seconds)
    return soon.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)


async def join(helper: FakeUser, code: str) -> None:
    await helper.send(f"/join {code}")
    await helper.wait_for("You're now in")


async def errand_code(patient: FakeUser) -> str:
    await patient.send("/invite errand")
    invite = await patient.wait_for("won't see your medication")
    match = LINK.search(invite["text"])
    assert match
    return match.group(2)


def data_of(message: JSON, label: str) -> str:
    [button] = [b for b in message["inline_buttons"] if label in b["text"]]
    return str(button["callback_data"])


def texts(fake: FakeBotApi, chat_id: int) -> list[str]:
    return [m["text"] or m["caption"] or "" for m in fake.sent_messages(chat_id)]


@pytest.mark.timing  # it measures how late the reminder is on the wall clock
async def test_a_reminder_on_the_minute_once_across_a_restart_then_the_family_hears(
    fake_api: FakeBotApi, tmp_path: Path, e2e_database_url: str
) -> None:
    process = BotProcess(
        fake_api,
        tmp_path,
        e2e_database_url,
        REMINDER_NUDGE_MINUTES="0.1",  # 6 s
        MISSED_DOSE_ALERT_MINUTES="0.3",  # 18 s
    )
    await process.start()
    patient = fake_api.user(1101, "Pat")
    anna = fake_api.user(2101, "Anna")  # close family
    erri = fake_api.user(3101, "Erri")  # errand helper
    await join(anna, await onboard_patient(fake_api, patient))
    await join(erri, await errand_code(patient))

    due = next_whole_minute(25)
    at = due.strftime("%H:%M")
    await patient.send(f"/addmed Ibuprofen | 400 mg | {at} | with food")
    added = await patient.wait_for("Added")
    assert f"First reminder: today {at}" in added["text"] or "tomorrow" in added["text"]
    await patient.send(f"/addmed Vitamin D | 1 tablet | {at}")
    await patient.wait_for("Added")
    await patient.send(f"/addmed Zinc | 1 tablet | {at}")
    await patient.wait_for("Added")

    # A deploy between adding and the due time.
    assert await process.stop() == 0
    await process.start()
    assert time.time() < due.timestamp() - 5, "the restart took too long for this test"

    # All three are due in the same minute: one message, a line and buttons each.
    group = await patient.wait_for(f"Time for your {at} medicines", timeout=120)
    late_by = time.time() - due.timestamp()
    assert -0.5 < late_by < 3, f"reminder arrived {late_by:.1f}s after its minute"
    for line in ("Ibuprofen 400 mg (with food)", "Vitamin D 1 tablet", "Zinc 1 tablet"):
        assert line in group["text"], group["text"]
    labels = [b["text"] for b in group["inline_buttons"]]
    assert labels == [
        *("✅ Ibuprofen", "Skip", "⏰ Later"),
        *("✅ Vitamin D", "Skip", "⏰ Later"),
        *("✅ Zinc", "Skip", "⏰ Later"),
        "✅ Took all",
    ]
    skip_ibuprofen = str(group["inline_buttons"][1]["callback_data"])

    # "Later" on a line shows its choices; "‹ Back" brings the list back.
    await patient.press(
        group, lambda b: b["callback_data"] == group["inline_buttons"][5]["callback_data"]
    )
    await patient.wait_for_edit(group, text_contains="remind you again in")
    await patient.press(group, "‹ Back")
    await patient.wait_for_edit(group, text_contains=f"Your {at} medicines:")

    await patient.press(group, "✅ Ibuprofen")
    taken = await patient.wait_for_edit(group, text_contains="taken at")
    assert [b["text"] for b in taken["inline_buttons"]] == [
        *("✅ Vitamin D", "Skip", "⏰ Later"),
        *("✅ Zinc", "Skip", "⏰ Later"),
        "✅ Took all",
    ]

    # The other two go unanswered: one nudge for both, then one alert for both.
    nudge = await patient.wait_for("Just checking in", timeout=20)
    assert "Vitamin D" in nudge["text"] and "Zinc" in nudge["text"]
    alert = await anna.wait_for(f"Pat hasn't confirmed their {at} medicines", timeout=30)
    assert "Vitamin D 1 tablet" in alert["text"] and "Zinc 1 tablet" in alert["text"]
    assert "Ibuprofen" not in alert["text"]  # taken: not part of the alert
    await anna.press(alert, "I'll check on them")
    await anna.wait_for_edit(alert, text_contains="you're checking on Pat")
    await patient.wait_for("Anna is going to check on you")

    # Answered late after all, with Took all on the nudge: both count, both messages show
    # it, and Anna's alert says it is resolved.
    await patient.press(nudge, "✅ Took all")
    await patient.wait_for_edit(nudge, text_contains="all answered")
    done = await patient.wait_for_edit(group, text_contains="all answered")
    assert done["text"].count("taken late") == 2 and done["inline_buttons"] == []
    await anna.wait_for_edit(alert, text_contains="Resolved: Pat answered their")

    # Exactly one reminder for the minute, the restart notwithstanding (messages as first
    # sent: the reminder itself has since been edited to show the answers).
    sent = [
        str(call.params.get("text"))
        for call in fake_api.calls_to("sendMessage")
        if call.ok and str(call.params.get("chat_id")) == str(patient.id)
    ]
    assert len([t for t in sent if "Time for" in t]) == 1, sent
    assert len([t for t in sent if "Just checking in" in t]) == 1, sent
    delivered = {m["message_id"] for m in fake_api.sent_messages(patient.id)}
    assert {group["message_id"], nudge["message_id"]} <= delivered
    # The errand helper heard nothing about medication.
    for text in texts(fake_api, erri.id):
        assert "Ibuprofen" not in text and "Vitamin" not in text and "Zinc" not in text, text

    # Delete Ibuprofen from /meds; its old reminder's button then says so.
    await patient.send("💊 My medications")
    listing = await patient.wait_for("Your medications")
    assert "Ibuprofen" in listing["text"] and "next tomorrow" in listing["text"]
    await patient.press(listing, "Ibuprofen")
    await patient.wait_for_edit(listing, text_contains="Label limits")
    await patient.press(listing, "Delete")
    await patient.wait_for_edit(listing, text_contains="Delete Ibuprofen?")
    await patient.press(listing, "Yes, delete")
    await patient.wait_for_edit(listing, text_contains="is deleted")
    press = await patient.press_data(group["message_id"], skip_ibuprofen)
    assert "deleted" in (await press.answer()).get("text", "")

    assert await process.stop() == 0
    output = process.output()
    assert "Traceback" not in output, output
    for name in ("Ibuprofen", "Vitamin", "Zinc"):
        assert name not in output, "no names in the logs"


async def test_adding_step_by_step_and_bad_input(fake_api: FakeBotApi, bot: BotProcess) -> None:
    patient = fake_api.user(1102, "Pat")
    anna = fake_api.user(2102, "Anna")
    await join(anna, await onboard_patient(fake_api, patient))

    await patient.send("💊 My medications")
    await patient.wait_for("Nothing here yet")
    await patient.send("/addmed")
    await patient.wait_for("What's the medication called")
    await patient.send("x" * 200)
    await patient.wait_for("too long")
    await patient.send("Ibu_*profen* <b>")
    await patient.wait_for("How much is one dose of Ibu_*profen* <b>")
    await patient.send("400 mg")
    await patient.wait_for("When is it taken")
    for typed, answer in (
        ("25:00", "couldn't read “25:00”"),
        ("8", "could be morning or evening"),
        ("08:00,,", "empty spot between commas"),
        ("noonish", "couldn't read"),
    ):
        await patient.send(typed)
        await patient.wait_for(answer)
    await patient.send("8am, 8:30 pm")
    question = await patient.wait_for("Anything to remember")
    await patient.press(question, "Skip")
    await patient.wait_for_edit(question, text_contains="at most how many doses")
    # The label's limits are read exactly, or refused with a hint; the value is read back.
    for typed, hint in (
        ("8 tablets (4 doses)", "more than one number"),
        ("-4", "from 1 to 48"),
        ("4 tablets", "not tablets or mg"),
    ):
        await patient.send(typed)
        await patient.wait_for(hint)
    await patient.send("4")
    gap = await patient.wait_for("Got it: at most 4 doses in 24 hours")
    assert "at least how many hours between doses" in gap["text"]
    await patient.send("1 hour 30 min")
    await patient.wait_for("more than one number")
    await patient.press(gap, "Skip")
    summary = await patient.wait_for_edit(gap, text_contains="Save it?")
    assert "08:00, 20:30" in summary["text"]
    assert "Label limits: at most 4 doses in 24 hours; no minimum gap saved" in summary["text"]
    await patient.press(gap, "Save")
    await patient.wait_for_edit(gap, text_contains="Added Ibu_*profen* <b> 400 mg")

    await patient.send("/addmed ibu_*PROFEN* <b> | 200 mg | 09:00")
    await patient.wait_for("already on the list")
    await patient.send("/addmed Melatonin | 1 mg | 8")
    await patient.wait_for("could be morning or evening")
    await patient.send("/addmed | 1 mg | 08:00")
    await patient.wait_for("Please send the medication's name")

    # A helper the patient has not allowed.
    await anna.send("/addmed Melatonin | 1 mg | 22:00")
    await anna.wait_for("Only the person recovering can change their medications")

    # As needed, with /took and "Can I take another?"; the one-line form sets both limits.
    await patient.send("/addmed Medicine C | 1 tablet | as needed | max in 24 hours at most 4")
    await patient.wait_for("more than one number")
    await patient.send("/addmed Paracetamol | 500 mg | as needed | max 4 | gap 6h")
    added = await patient.wait_for("Added Paracetamol 500 mg")
    assert (
        "Label limits: at most 4 doses in 24 hours; at least 6 hours between doses" in added["text"]
    )
    await patient.send("/took para")
    logged = await patient.wait_for("Logged: Paracetamol 500 mg")
    press = await patient.press(logged, "Can I take another?")
    answer = await patient.wait_for("what's logged here")
    await assert_answered_first(fake_api, press, "what's logged here")
    assert "Last 24 hours: 1" in answer["text"] and "isn't advice" in answer["text"]
    await patient.send("/took aspirin")
    await patient.wait_for("I couldn't find “aspirin”")

    await patient.send("/adherence")
    await patient.wait_for("Your last 7 days")

    # Forged and stale button data.
    for data in ("1:dose:take:999999", "1:dose:take:abc", "1:med:delyes:424242", "1:dose:zap"):
        press = await patient.press_data(logged["message_id"], data)
        assert (await press.answer()).get("text"), data

    assert "addmed" in await menu_of(fake_api, patient.chat_id, has={"addmed"})


async def test_managing_from_meds_and_the_helpers_view(
    fake_api: FakeBotApi, bot: BotProcess
) -> None:
    patient = fake_api.user(1103, "Pat")
    anna = fake_api.user(2103, "Anna")
    erri = fake_api.user(3103, "Erri")
    await join(anna, await onboard_patient(fake_api, patient))
    await join(erri, await errand_code(patient))
    await patient.send("/addmed Ibuprofen | 400 mg | 08:00, 20:00")
    await patient.wait_for("Added")

    await patient.send("/meds")
    card = await patient.wait_for("Your medications")
    await patient.press(card, "Ibuprofen")
    await patient.wait_for_edit(card, text_contains="When: 08:00, 20:00")
    await patient.press(card, "Pause")
    await patient.wait_for_edit(card, text_contains="Paused")
    await patient.press(card, "Resume")
    await patient.wait_for_edit(card, text_contains="Next:")
    await patient.press(card, "Alert after 45 min")
    await patient.wait_for_edit(card, text_contains="when should close family be told")
    await patient.press(card, "1 h 30 min")
    await patient.wait_for_edit(card, text_contains="told after 1 h 30 min")

    await patient.press(card, "Supply")
    await patient.wait_for("How many doses of Ibuprofen")
    await patient.send("lots")
    await patient.wait_for("like 30")
    await patient.send("4")  # two a day: two days left
    await patient.wait_for("Saved.")
    offer = await patient.wait_for("You have 4 doses of Ibuprofen left — about 2 days")
    await patient.press(offer, "Ask helpers to pick up a refill")
    await patient.wait_for_edit(offer, predicate=lambda m: not m["buttons"])
    # It goes out as a pharmacy request to every helper — the errand helper too, so it
    # must not name the medication.
    for helper in (anna, erri):
        request = await helper.wait_for("pharmacy")
        assert "Ibuprofen" not in request["text"] and "I'll do it" in str(request["buttons"])

    # Both label limits of a scheduled medication, one changed and one kept.
    await patient.press(card, "Label limits")
    await patient.wait_for("at most how many doses of Ibuprofen")
    await patient.send("3 doses")
    limits = await patient.wait_for("Saved: at most 3 doses in 24 hours")
    assert "at least how many hours between doses of Ibuprofen" in limits["text"]
    await patient.press(limits, "Keep as it is")
    await patient.wait_for_edit(
        limits, text_contains="Saved: at most 3 doses in 24 hours; no minimum gap saved"
    )

    # Close family sees the list; with permission they may change it, and Pat hears.
    await anna.send("/meds")
    theirs = await anna.wait_for("Pat's medications")
    assert "Ibuprofen" in theirs["text"] and "Add a medication" not in str(theirs["buttons"])
    await erri.send("/meds")
    await erri.wait_for("shared with close family only")
    await anna.send("/adherence")
    await anna.wait_for("Pat's last 7 days")

    await patient.send("/circle")
    circle = await patient.wait_for("Your circle")
    await patient.press(circle, "Settings")
    await patient.wait_for_edit(circle, text_contains="Circle settings")
    await patient.press(circle, "add or change my medications")
    await patient.wait_for_edit(
        circle,
        predicate=lambda m: any(b.startswith("✅ Close family may add") for b in m["buttons"]),
    )
    await anna.send("/addmed Melatonin | 1 mg | 22:00")
    await anna.wait_for("Added Melatonin 1 mg to Pat's medications")
    await patient.wait_for("Anna added Melatonin 1 mg to your medications")
    assert not [t for t in texts(fake_api, erri.id) if "Melatonin" in t or "Ibuprofen" in t]
