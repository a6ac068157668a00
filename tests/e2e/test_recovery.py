"""Recovery over HTTP: stages, tips by stage, pain check-ins and suggestions, /progress."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.db.models import PainReport, RecoveryPlan
from bot.db.session import Database
from bot.domain.recovery import Stage
from bot.domain.tips import Tip, load_tips
from playground.sim import FakeBotApi
from tests.e2e.conftest import BotProcess, assert_answered_first, menu_of
from tests.e2e.test_circle_journey import onboard_patient

TIPS = load_tips()


async def a_day_earlier(database_url: str) -> None:
    """Move the stage's start and every pain report back one day, as if sent yesterday."""
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            for plan in list(await session.scalars(select(RecoveryPlan))):
                plan.stage_since -= dt.timedelta(days=1)
            for report in list(await session.scalars(select(PainReport))):
                report.reported_at -= dt.timedelta(days=1)
                report.local_date -= dt.timedelta(days=1)
    finally:
        await db.dispose()


def tip_in(text: str) -> Tip:
    """The tip a message carries, found by its text in tips.toml."""
    found = [tip for tip in TIPS.tips if tip.text in text]
    assert len(found) == 1, text
    return found[0]


async def test_tips_follow_the_stage(fake_api: FakeBotApi, bot: BotProcess) -> None:
    patient = fake_api.user(1101, "Pat")
    await onboard_patient(fake_api, patient)

    await patient.send("/stage acute")
    await patient.wait_for("Acute flare")
    await patient.send("/tip")
    first = await patient.wait_for("A tip for your stage")
    tip = tip_in(first["text"])
    assert Stage.ACUTE in tip.stages and tip.audience == "patient"

    await patient.press(first, "Another tip")
    again = await patient.wait_for_edit(first["message_id"])
    other = tip_in(again["text"])
    assert other.id != tip.id and Stage.ACUTE in other.stages

    await patient.send("/stage Strengthening")
    await patient.wait_for("Stage set: Strengthening")
    await patient.send("🌿 A care tip")  # the menu button
    strengthening = await patient.wait_for("A tip for your stage")
    assert Stage.STRENGTHENING in tip_in(strengthening["text"]).stages

    await patient.send("/stage")
    shown = await patient.wait_for("Your recovery stage")
    assert "✅ Strengthening" in shown["buttons"]
    await patient.press(shown, "Staying well")
    await patient.wait_for_edit(shown["message_id"], text_contains="Stage set: Staying well")

    await patient.send("/stage recovered")
    await patient.wait_for("don't know that stage")


async def test_two_low_scores_in_acute_suggest_easing(
    fake_api: FakeBotApi, bot: BotProcess, e2e_database_url: str
) -> None:
    patient = fake_api.user(1102, "Pat")
    await onboard_patient(fake_api, patient)

    await patient.send("/pain 3")
    first = await patient.wait_for("Noted: 3/10")
    assert "easing" not in first["text"] and not first["buttons"]
    await patient.send("/pain 3")
    again = await patient.wait_for("Noted: 3/10")
    assert "easing" not in again["text"] and not again["buttons"]  # minutes apart: one day
    await a_day_earlier(e2e_database_url)
    await patient.send("/pain 3")
    second = await patient.wait_for("Noted: 3/10")
    assert "easing" in second["text"]
    assert "Yes, switch to easing" in second["buttons"] and "Not now" in second["buttons"]

    await patient.press(second, "Yes, switch to easing")
    await patient.wait_for_edit(second["message_id"], text_contains="you're in Easing now")
    await patient.send("/tip")
    tip = await patient.wait_for("A tip for your stage")
    assert Stage.EASING in tip_in(tip["text"]).stages

    for bad in ("/pain 11", "/pain -1", "/pain ten"):
        await patient.send(bad)
        await patient.wait_for("from 0 (no pain) to 10")


async def test_a_flare_up_in_easing_asks_back_to_acute_and_holds_exercise_tips(
    fake_api: FakeBotApi, bot: BotProcess
) -> None:
    patient = fake_api.user(1108, "Pat")
    await onboard_patient(fake_api, patient, stage="Easing")

    await patient.send("/pain 8")
    flare = await patient.wait_for("Noted: 8/10")
    assert "Back to acute?" in flare["text"]
    assert flare["buttons"] == ["Yes, back to acute", "Not now"]
    easing = len(TIPS.for_stage(Stage.EASING, "patient", exercise=False))
    for _ in range(easing + 1):
        await patient.send("/tip")
        tip = await patient.wait_for("A tip for your stage")
        assert "Exercise tips wait" in tip["text"]
        assert not tip_in(tip["text"]).exercise

    await patient.press(flare, "Not now")
    await patient.wait_for_edit(flare["message_id"], text_contains="exercise tips are back")
    await patient.send("/tip")
    tip = await patient.wait_for("A tip for your stage")
    assert "Exercise tips wait" not in tip["text"]

    await patient.send("/pain 9")  # severe: asked again despite "Not now", and the doctor
    severe = await patient.wait_for("Noted: 9/10")
    assert "contact your doctor" in severe["text"] and "Back to acute?" in severe["text"]
    await patient.press(severe, "Yes, back to acute")
    moved = await patient.wait_for_edit(
        severe["message_id"], text_contains="you're in Acute flare now"
    )
    # Answering the question keeps the severe-pain advice and "Let my helpers know".
    assert "contact your doctor" in moved["text"]
    assert moved["buttons"] == ["Let my helpers know"]
    await patient.press(moved, "Let my helpers know")
    await patient.wait_for("no close family in your circle")


async def test_progress_returns_a_chart_photo(fake_api: FakeBotApi, bot: BotProcess) -> None:
    patient = fake_api.user(1103, "Pat")
    await onboard_patient(fake_api, patient)
    await patient.send("/progress")
    await patient.wait_for("No pain scores in the last 14 days")

    await patient.send("/pain")
    scale = await patient.wait_for("How's your back right now?")
    assert scale["buttons"] == [str(n) for n in range(11)]
    await patient.press(scale, "6")
    await patient.wait_for_edit(scale["message_id"], text_contains="Noted: 6/10")

    await patient.send("/progress")
    chart = await patient.wait_for(predicate=lambda m: m["photo"] is not None)
    assert chart["method"] == "sendPhoto"
    assert "Your last 14 days" in chart["caption"] and "6/10" in chart["caption"]
    assert "Acute flare" in chart["caption"]
    [call] = [c for c in fake_api.calls_to("sendPhoto") if c.chat_id == patient.id]
    assert not call.error
    assert call.params["photo"].data.startswith(b"\x89PNG\r\n\x1a\n")  # a real PNG upload


async def test_severe_pain_and_helper_tips(fake_api: FakeBotApi, bot: BotProcess) -> None:
    patient = fake_api.user(1104, "Pat")
    helper = fake_api.user(2104, "Anna")
    code = await onboard_patient(fake_api, patient)
    await helper.send(f"/join {code}")
    await helper.wait_for("You're now in")

    await helper.send("/tips helper on")
    await helper.wait_for("a short tip a day on helping Pat")
    await helper.send("/tips")
    settings = await helper.wait_for("Tips for helping")
    await helper.press(settings, "Tips for helping Pat")
    await helper.wait_for_edit(
        settings["message_id"], predicate=lambda m: "⬜ Tips for helping Pat" in m["buttons"]
    )
    await helper.send("/pain 5")
    await helper.wait_for("for the person recovering")

    await patient.send("/pain 9")
    severe = await patient.wait_for("Noted: 9/10")
    assert "contact your doctor" in severe["text"]
    press = await patient.press(severe, "Let my helpers know")
    await patient.wait_for("I've let Anna know")
    await assert_answered_first(fake_api, press, "I've let")
    alert = await helper.wait_for("very bad right now")
    assert "9/10" in alert["text"]

    # Forged or stale buttons change nothing and get a short answer.
    for data in ("1:stage:go:bogus:acute", "1:pain:ci:999:3", "1:pain:tell:999", "1:tip:hmore:x"):
        press = await patient.press_data(severe["message_id"], data)
        assert (await press.answer()).get("text"), data

    await patient.send("/checkin")
    status = await patient.wait_for("every day at 11:00")
    await patient.press(status, "Turn check-ins off")
    await patient.wait_for_edit(status["message_id"], text_contains="check-ins are off")
    await patient.send("/tips 9am")
    await patient.wait_for("every day at 09:00")
    await patient.send("/tips whenever")
    await patient.wait_for("couldn't read that")


async def test_daily_tip_and_checkin_arrive_once_across_a_restart(
    fake_api: FakeBotApi, tmp_path: Path, e2e_database_url: str
) -> None:
    process = BotProcess(fake_api, tmp_path, e2e_database_url)
    await process.start()
    patient = fake_api.user(1105, "Pat")
    await onboard_patient(fake_api, patient)
    # The coming minute in Berlin, with time to spare for the commands and the restart.
    now = dt.datetime.now(ZoneInfo("Europe/Berlin"))
    due = (now + dt.timedelta(seconds=12)).replace(second=0, microsecond=0)
    due += dt.timedelta(minutes=1)
    at = due.strftime("%H:%M")
    await patient.send(f"/tips {at}")
    await patient.wait_for(f"every day at {at}")
    await patient.send(f"/checkin {at}")
    await patient.wait_for(f"every day at {at}")

    assert await process.stop() == 0
    await process.start()

    wait = (due - dt.datetime.now(ZoneInfo("Europe/Berlin"))).total_seconds() + 30
    tip = await patient.wait_for("Today's tip", timeout=wait)
    assert Stage.ACUTE in tip_in(tip["text"]).stages
    question = await patient.wait_for("How's your back today?", timeout=30)
    await patient.press(question, "2")
    await patient.wait_for_edit(question["message_id"], text_contains="Noted: 2/10")
    await patient.expect_no_message(within=2.0, text_contains="Today's tip")
    await patient.expect_no_message(within=0.5, text_contains="How's your back today?")

    assert await process.stop() == 0
    assert "Traceback" not in process.output()


async def test_onboarding_stage_can_be_typed_and_resumes_after_start(
    fake_api: FakeBotApi, bot: BotProcess
) -> None:
    patient = fake_api.user(1106, "Pat")
    await patient.send("/start")
    welcome = await patient.wait_for("Who are you here as?")
    await patient.press(welcome, "I'm recovering")
    await patient.wait_for_edit(welcome["message_id"], text_contains="which time zone")
    await patient.send("/timezone Europe/London")
    await patient.wait_for("Europe/London")
    question = await patient.wait_for("how is your back today?")
    assert len(question["buttons"]) == 5

    await patient.send("/start")  # came back later: the question is asked again
    await patient.wait_for("how is your back today?")
    await patient.send("better, thanks")
    await patient.wait_for("don't know that stage")
    await patient.send("Easing")
    await patient.wait_for("Got it: Easing")
    await patient.wait_for("Send this link")
    await patient.send("/stage")
    await patient.wait_for("Your recovery stage: Easing")

    wanted = {"stage", "tip", "pain", "progress", "checkin", "settings"}
    assert await menu_of(fake_api, patient.chat_id, has=wanted) >= wanted
    await patient.send("/help")
    help_text = await patient.wait_for("How carecircle works")
    assert "/progress" in help_text["text"] and "/pain" in help_text["text"]


async def test_answering_the_onboarding_question_with_a_command_still_brings_the_link(
    fake_api: FakeBotApi, bot: BotProcess
) -> None:
    patient = fake_api.user(1107, "Pat")
    await patient.send("/start")
    welcome = await patient.wait_for("Who are you here as?")
    await patient.press(welcome, "I'm recovering")
    await patient.wait_for_edit(welcome["message_id"], text_contains="which time zone")
    await patient.press(welcome, "Berlin")
    await patient.wait_for("how is your back today?")
    await patient.send("/stage staying_well")
    await patient.wait_for("Stage set: Staying well")
    invite = await patient.wait_for("Send this link")
    assert patient.reply_keyboard
    assert "https://t.me/" in invite["text"]
    await patient.send("/stage easing")
    await patient.wait_for("Stage set: Easing")
    await patient.expect_no_message(within=1.0, text_contains="Send this link")
