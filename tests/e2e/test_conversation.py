"""One chat, one conversation, in order: quick answers fill their own steps, /cancel ends
any flow and says what was dropped, and another command in the middle of a flow ends it."""

from __future__ import annotations

import asyncio

from playground.sim import FakeBotApi, FakeUser
from tests.e2e.conftest import BotProcess
from tests.e2e.test_circle_journey import onboard_patient


async def answers_in_a_burst(user: FakeUser, *answers: str, gap: float = 0.005) -> None:
    """Typed quickly (or queued while the bot was down): all within 50 ms."""
    for text in answers:
        await user.send(text)
        await asyncio.sleep(gap)


async def test_three_answers_within_50_ms_fill_three_steps(
    fake_api: FakeBotApi, bot: BotProcess
) -> None:
    patient = fake_api.user(1301, "Pat")
    await onboard_patient(fake_api, patient)
    for round_ in range(3):
        name = f"Medicine {'ABC'[round_]}"
        await patient.send("/addmed")
        await patient.wait_for("What's the medication called?")
        await answers_in_a_burst(patient, name, "1 tablet", "08:00, 20:00")
        note = await patient.wait_for("Anything to remember with it")
        await patient.press(note, "Skip")
        await patient.wait_for_edit(note, text_contains="at most how many doses in 24 hours")
        # The three answers are where they belong: the summary shows all of them.
        await patient.send("/cancel")
        dropped = await patient.wait_for("Nothing was saved")
        assert name in dropped["text"]
    texts = [m["text"] or "" for m in fake_api.sent_messages(patient.id)]
    assert not any("already on your list" in t for t in texts), texts
    assert not any("couldn't read" in t.lower() for t in texts), texts
    bad = [c for c in fake_api.calls if c.status in (400, 429)]
    assert bad == [], bad


async def test_cancel_ends_any_flow_and_says_so_kindly_when_there_is_none(
    fake_api: FakeBotApi, bot: BotProcess
) -> None:
    patient = fake_api.user(1302, "Pat")
    await onboard_patient(fake_api, patient)
    await patient.send("/cancel")
    await patient.wait_for("nothing to cancel")

    await patient.send("/addmed")
    await patient.wait_for("What's the medication called?")
    await patient.send("Medicine A")
    await patient.wait_for("How much is one dose")
    await patient.send("/cancel")
    dropped = await patient.wait_for("Nothing was saved")
    assert "Medicine A" in dropped["text"]
    await patient.send("1 tablet")
    await patient.wait_for("/help")  # not read as a dose any more


async def test_another_command_in_the_middle_of_a_flow_ends_it(
    fake_api: FakeBotApi, bot: BotProcess
) -> None:
    patient = fake_api.user(1303, "Pat")
    await onboard_patient(fake_api, patient)
    await patient.send("/addmed")
    await patient.wait_for("What's the medication called?")
    await patient.send("/help")
    await patient.wait_for("not a medical device")
    await patient.send("thanks!")
    reply = await patient.wait_for("/help")
    assert "How much is one dose" not in reply["text"]
    await patient.send("/meds")
    listing = await patient.wait_for("medications")
    assert "thanks" not in listing["text"].lower(), "'thanks!' was never saved as a name"
