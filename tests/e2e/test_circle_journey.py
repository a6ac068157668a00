"""The foundation journeys over HTTP: onboarding, invites, joining, removal, bad input."""

from __future__ import annotations

import re

from playground.sim import FakeBotApi, FakeUser
from tests.e2e.conftest import BotProcess, menu_of

LINK = re.compile(r"https://t\.me/(\w+)\?start=join_([A-Za-z0-9_-]+)")


async def onboard_patient(fake: FakeBotApi, patient: FakeUser, stage: str = "Acute flare") -> str:
    """Walk a patient through /start → role → time zone → stage; returns their invite code."""
    await patient.send("/start")
    welcome = await patient.wait_for("Who are you here as?")
    assert "not a medical device" in welcome["text"]
    await patient.press(welcome, "I'm recovering")
    await patient.wait_for_edit(welcome["message_id"], text_contains="which time zone")
    await patient.press(welcome, "Berlin")
    await patient.wait_for_edit(welcome["message_id"], text_contains="Europe/Berlin")
    question = await patient.wait_for("how is your back today?")
    await patient.press(question, stage)
    await patient.wait_for_edit(question["message_id"], text_contains="Got it")
    await patient.wait_for("You're all set")  # with the menu, just before the link
    invite = await patient.wait_for("Send this link")
    match = LINK.search(invite["text"])
    assert match, invite["text"]
    assert patient.reply_keyboard, "onboarding ends with the patient's menu"
    assert match.group(1) == fake.bot_username
    return match.group(2)


async def test_patient_invites_helper_then_removes_them(
    fake_api: FakeBotApi, bot: BotProcess
) -> None:
    patient = fake_api.user(1001, "Pat")
    helper = fake_api.user(2001, "Anna")

    code = await onboard_patient(fake_api, patient)

    await helper.send(f"/start join_{code}")
    joined = await helper.wait_for("care circle")
    assert "Pat" in joined["text"]
    await patient.wait_for("Anna joined your circle")

    await patient.send("/circle")
    circle = await patient.wait_for("Your circle")
    assert "Anna" in circle["text"]
    await patient.press(circle, "Remove Anna")
    await patient.wait_for_edit(circle["message_id"], text_contains="Remove Anna from your circle?")
    await patient.press(circle, "Yes, remove")
    await patient.wait_for_edit(circle["message_id"], text_contains="no longer in your circle")
    await helper.wait_for("no longer part of Pat")

    await helper.send("/circle")
    refused = await helper.wait_for("not in a care circle")
    assert "/start" in refused["text"]


async def test_invite_command_gives_a_fresh_link_on_request(
    fake_api: FakeBotApi, bot: BotProcess
) -> None:
    patient = fake_api.user(1002, "Pat")
    first_code = await onboard_patient(fake_api, patient)

    await patient.send("/invite")
    again = await patient.wait_for("Send this link")
    assert first_code in again["text"]
    await patient.press(again, "Make a new link")
    fresh = await patient.wait_for_edit(again["message_id"], text_contains="old one no longer")
    new_code = LINK.search(fresh["text"]).group(2)  # type: ignore[union-attr]
    assert new_code != first_code

    late = fake_api.user(2002, "Ben")
    await late.send(f"/join {first_code}")
    await late.wait_for("replaced by a newer one")
    await late.send(f"/join {new_code}")
    await late.wait_for("You're now in")

    await patient.send("/invite errand")
    errand = await patient.wait_for("won't see your medication")
    assert LINK.search(errand["text"])


async def test_helper_without_invite_is_told_what_to_do(
    fake_api: FakeBotApi, bot: BotProcess
) -> None:
    helper = fake_api.user(2003, "Cara")
    await helper.send("/start")
    welcome = await helper.wait_for("Who are you here as?")
    await helper.press(welcome, "I'm helping someone")
    await helper.wait_for_edit(welcome["message_id"], text_contains="invite link")
    await helper.send("made-up-code")
    await helper.wait_for("don't recognise that invite code")


async def test_bad_input_gets_short_clear_replies(fake_api: FakeBotApi, bot: BotProcess) -> None:
    patient = fake_api.user(1004, "Pat")
    stranger = fake_api.user(3001, "Stranger")
    code = await onboard_patient(fake_api, patient)

    await patient.send(f"/start join_{code}")
    await patient.wait_for("your own invite link")

    await stranger.send("/frobnicate")
    await stranger.wait_for("don't know that command")
    await stranger.send("/invite")
    await stranger.wait_for("not in a care circle yet")
    await stranger.send("/join nope")
    await stranger.wait_for("don't recognise that invite code")
    await stranger.send("hello?")
    await stranger.wait_for("didn't quite catch that")

    # A stranger pressing buttons they were never sent, with forged data.
    circle_msg = patient.last_message
    for data in ("1:circle:rmyes:1004", "1:circle:rmyes:abc", "garbage", "1:inv:new:close"):
        press = await stranger.press_data(circle_msg["message_id"], data)
        answer = await press.answer()
        assert answer.get("text"), data

    await patient.send("/timezone Mars/Olympus")
    await patient.wait_for("couldn't find a time zone")
    await patient.send("/timezone america/new_york")
    await patient.wait_for("America/New_York")


async def test_settings_access_and_leaving(fake_api: FakeBotApi, bot: BotProcess) -> None:
    patient = fake_api.user(1005, "Pat")
    helper = fake_api.user(2005, "Dana")
    code = await onboard_patient(fake_api, patient)
    await helper.send(f"/join {code}")
    await helper.wait_for("You're now in")

    await patient.send("/circle")
    circle = await patient.wait_for("Your circle")
    await patient.press(circle, "Dana: make errand helper")
    await patient.wait_for_edit(circle["message_id"], text_contains="errand helper")
    await helper.wait_for("made you an errand helper")

    await patient.send("👥 My circle")  # the menu button
    circle = await patient.wait_for("Your circle")
    await patient.press(circle, "Settings")
    settings = await patient.wait_for_edit(circle["message_id"], text_contains="Circle settings")
    assert any(b.startswith("⬜ Ask helpers one at a time") for b in settings["buttons"])
    await patient.press(circle, "one at a time")
    await patient.wait_for_edit(
        circle["message_id"],
        predicate=lambda m: any(b.startswith("✅ Ask helpers one at a time") for b in m["buttons"]),
    )

    await helper.send("/leave")
    confirm = await helper.wait_for("Leave")
    await helper.press(confirm, "Yes, leave")
    await helper.wait_for_edit(confirm["message_id"], text_contains="You've left")
    await patient.wait_for("Dana has left your circle")

    # Each chat has its role's menu: Dana left, so hers is the default (a newcomer's) again.
    patients = {"start", "help", "circle", "invite", "settings", "privacy"}
    assert patients <= await menu_of(fake_api, patient.chat_id, has=patients)
    assert await menu_of(fake_api, helper.chat_id, has=set()) == set()
    assert {c["command"] for c in fake_api.commands()} == {"start", "help", "settings", "privacy"}
