"""Data rights over HTTP: /export sends a JSON file; /deletemydata asks, deletes, tells the
helpers, and the person is a stranger afterwards. Double taps and forged presses change nothing."""

from __future__ import annotations

import json
from typing import Any

from playground.sim import FakeBotApi, FakeUser
from tests.e2e.conftest import BotProcess
from tests.e2e.test_circle_journey import LINK, onboard_patient


async def exported(fake: FakeBotApi, user: FakeUser) -> dict[str, Any]:
    """Send /export and return the JSON document the bot uploaded."""
    before = len([c for c in fake.calls_to("sendDocument") if c.chat_id == user.id])
    await user.send("/export")
    message = await user.wait_for(predicate=lambda m: m["document"] is not None)
    assert message["method"] == "sendDocument"
    assert message["document"]["file_name"].startswith("carecircle-export-")
    assert message["document"]["file_name"].endswith(".json")
    assert "copy of everything I keep about you" in message["caption"]
    calls = [c for c in fake.calls_to("sendDocument") if c.chat_id == user.id]
    assert len(calls) == before + 1 and not calls[-1].error
    document: dict[str, Any] = json.loads(calls[-1].params["document"].data)
    return document


async def test_export_then_delete_my_data(fake_api: FakeBotApi, bot: BotProcess) -> None:
    patient = fake_api.user(1701, "Pat")
    anna = fake_api.user(2701, "Anna")
    ben = fake_api.user(2702, "Ben")
    code = await onboard_patient(fake_api, patient)
    await anna.send(f"/join {code}")
    await anna.wait_for("You're now in")
    await patient.send("/invite")
    link = LINK.search((await patient.wait_for("Send this link"))["text"])
    assert link is not None
    await ben.send(f"/start join_{link.group(2)}")
    await ben.wait_for("You're now in")

    await patient.send("/need Please pick up my prescription")
    offer = await anna.wait_for("Please pick up my prescription")
    await ben.wait_for("Please pick up my prescription")
    await anna.press(offer, "I'll do it")
    await patient.wait_for("is on it")

    mine = await exported(fake_api, patient)
    assert mine["format"] == "carecircle-export/1"
    assert mine["profile"]["first_name"] == "Pat"
    assert mine["profile"]["time_zone"] == "Europe/Berlin"
    [need] = mine["my_circle"]["needs"]
    assert (need["text"], need["taken_by"]) == ("Please pick up my prescription", "Anna")
    assert [m["name"] for m in mine["my_circle"]["members"]] == ["you", "Anna", "Ben"]

    # A helper's export: what she took, nothing else of Pat's.
    hers = await exported(fake_api, anna)
    assert hers["my_circle"] is None
    assert [n["text"] for n in hers["helping"][0]["needs_taken"]] == [
        "Please pick up my prescription"
    ]
    his = await exported(fake_api, ben)
    assert "prescription" not in json.dumps(his)  # offered to him, but he did not take it

    # Delete: the question says what goes; "Keep my data" keeps it.
    await patient.send("/deletemydata")
    question = await patient.wait_for("Delete all your data?")
    assert "Anna and Ben will be told it has closed" in question["text"]
    assert "1 request and who took them" in question["text"]
    assert question["buttons"] == ["Yes, delete everything", "Keep my data"]
    await patient.press(question, "Keep my data")
    await patient.wait_for_edit(question["message_id"], text_contains="Nothing was deleted")

    # Someone else forging the confirm changes nothing.
    yes_data = question["inline_buttons"][0]["callback_data"]
    forged = await anna.press_data(offer["message_id"], yes_data)
    assert (await forged.answer())["text"] == "This request is no longer available."

    await patient.send("/deletemydata")
    question = await patient.wait_for("Delete all your data?")
    await patient.press(question, "Yes, delete everything")
    done = await patient.wait_for_edit(question["message_id"], text_contains="deleted your data")
    assert "I've let 2 helpers know" in done["text"]
    await patient.wait_for("send /start")
    assert patient.reply_keyboard is None  # the patient's menu is gone
    for helper in (anna, ben):
        await helper.wait_for("Pat has closed their care circle. Thank you for helping.")

    # Pressing yes again (a double tap, or the old message) says so and deletes nothing.
    again = await patient.press_data(question["message_id"], yes_data)
    assert "already deleted" in (await again.answer())["text"]
    await anna.send("/circle")
    await anna.wait_for("not in a care circle")

    # A stranger again: /start starts fresh, and the old request is gone for good.
    await patient.send("/start")
    await patient.wait_for("Who are you here as?")
    stale = await anna.press(offer, "Done")
    assert "no longer available" in (await stale.answer())["text"]
    await patient.expect_no_message(within=1.0, text_contains="has done it")
    after = await exported(fake_api, patient)
    assert after["memberships"] == [] and after["my_circle"] is None

    await patient.send("/deletemydata")
    await patient.wait_for("There's nothing to delete")


async def test_a_helper_deletes_and_their_request_goes_back(
    fake_api: FakeBotApi, bot: BotProcess
) -> None:
    patient = fake_api.user(1702, "Pat")
    anna = fake_api.user(2703, "Anna")
    code = await onboard_patient(fake_api, patient)
    await anna.send(f"/join {code}")
    await anna.wait_for("You're now in")
    await patient.send("/need Some soup, please")
    offer = await anna.wait_for("Some soup, please")
    await anna.press(offer, "I'll do it")
    await patient.wait_for("is on it")

    await anna.send("/deletemydata")
    question = await anna.wait_for("Delete all your data?")
    assert "your place in Pat's circle" in question["text"]
    assert "1 request you've taken will go back" in question["text"]
    await anna.press(question, "Yes, delete everything")
    await anna.wait_for_edit(question["message_id"], text_contains="deleted your data")
    await patient.wait_for("Anna has left your circle")
    await patient.wait_for("Some soup, please")  # open again, and Pat hears it

    await anna.send("/start")
    await anna.wait_for("Who are you here as?")
