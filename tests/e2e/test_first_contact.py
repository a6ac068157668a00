"""First contact in Telegram, over HTTP: the description an invited relative meets, a menu
that follows each person's role, /settings and /privacy, and an invite shared in two taps."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot import texts
from playground.sim import FakeBotApi, FakeUser
from tests.e2e.conftest import BotProcess, menu_of
from tests.e2e.test_circle_journey import LINK, onboard_patient

NEWCOMER = {"start", "help", "settings", "privacy"}
PATIENT = {"need", "addmed", "invite", "settings", "privacy", "cancel"}
HELPER = {"mytasks", "quiet", "leave", "settings", "privacy", "cancel"}


def share_url(message: dict[str, Any]) -> str:
    urls = [b["url"] for b in message["inline_buttons"] if "url" in b]
    assert len(urls) == 1, urls
    return str(urls[0])


async def test_start_up_describes_the_bot_and_gives_newcomers_a_short_menu(
    fake_api: FakeBotApi, bot: BotProcess
) -> None:
    assert fake_api.descriptions[("description", "")] == texts.BOT_DESCRIPTION
    assert fake_api.descriptions[("short_description", "")] == texts.BOT_SHORT_DESCRIPTION
    assert {c["command"] for c in fake_api.commands()} == NEWCOMER

    # A restart finds both in place and leaves them alone (Telegram limits changing them).
    await bot.stop()
    since = len(fake_api.calls)
    await bot.start()
    methods = [c.method for c in fake_api.calls[since:]]
    assert "getMyDescription" in methods and "setMyDescription" not in methods
    assert "setMyShortDescription" not in methods


async def test_each_persons_menu_follows_their_role(fake_api: FakeBotApi, bot: BotProcess) -> None:
    pat = fake_api.user(1901, "Pat")
    anna = fake_api.user(2901, "Anna")

    code = await onboard_patient(fake_api, pat)
    assert await menu_of(fake_api, pat.chat_id, has=PATIENT) >= PATIENT
    assert not {"mytasks", "quiet"} & await menu_of(fake_api, pat.chat_id)

    await anna.send("/help")
    await anna.wait_for("How carecircle works")
    assert await menu_of(fake_api, anna.chat_id, has=set()) == set()  # the default: a newcomer's

    await anna.send(f"/start join_{code}")
    await anna.wait_for("You're now in")
    menu = await menu_of(fake_api, anna.chat_id, has=HELPER)
    assert menu >= HELPER and not {"addmed", "invite", "need"} & menu

    # Pat removes Anna: her menu goes back to the newcomer's when she next writes.
    await pat.send("/circle")
    circle = await pat.wait_for("Your circle")
    await pat.press(circle, "Remove Anna")
    await pat.press(
        await pat.wait_for_edit(circle, text_contains="Remove Anna from"), "Yes, remove"
    )
    await anna.wait_for("no longer part of Pat")
    await anna.send("/mytasks")
    await anna.wait_for("not in a care circle")
    assert await menu_of(fake_api, anna.chat_id, has=set()) == set()

    # Pat deletes their data: no circle, so the newcomer's menu again.
    await pat.send("/deletemydata")
    await pat.press(await pat.wait_for("Delete all your data?"), "Yes, delete everything")
    await pat.wait_for("need me again")
    assert await menu_of(fake_api, pat.chat_id, has=set()) == set()


async def test_invites_share_in_two_taps_and_a_join_offers_the_next_link(
    fake_api: FakeBotApi, bot: BotProcess
) -> None:
    pat = fake_api.user(1902, "Pat")
    anna = fake_api.user(2902, "Anna")
    code = await onboard_patient(fake_api, pat)

    invite = next(m for m in reversed(pat.messages) if "Send this link" in m["text"])
    shared = urlsplit(share_url(invite))
    assert (shared.netloc, shared.path) == ("t.me", "/share/url")
    query = parse_qs(shared.query)
    assert query["url"] == [f"https://t.me/{fake_api.bot_username}?start=join_{code}"]
    assert query["text"] == [texts.invite_share("close")]

    await anna.send(f"/start join_{code}")
    joined = await pat.wait_for("Anna joined your circle")
    await pat.press(joined, "Invite someone else")
    fresh = await pat.wait_for("Send this link")
    match = LINK.search(fresh["text"])
    assert match and match.group(2) != code  # Anna's link is used up: a new one
    assert "start%3Djoin_" + match.group(2) in share_url(fresh)
    ben = fake_api.user(2903, "Ben")
    await ben.send(f"/join {match.group(2)}")
    await ben.wait_for("You're now in")
    # The join notice stays as it was.
    [notice] = [m for m in pat.messages if m["message_id"] == joined["message_id"]]
    assert "Anna joined your circle" in notice["text"]


async def open_from_hub(person: FakeUser, label: str, expect: str) -> None:
    await person.send("/settings")
    hub = await person.wait_for("Your settings")
    await person.press(hub, label)
    await person.wait_for(expect)


async def test_settings_and_privacy_for_each_role(fake_api: FakeBotApi, bot: BotProcess) -> None:
    pat = fake_api.user(1903, "Pat")
    erri = fake_api.user(3903, "Erri")
    stranger = fake_api.user(9903, "Mallory")

    await stranger.send("/settings")
    hub = await stranger.wait_for("Your settings")
    assert hub["buttons"] == ["🕰 Time zone", "🔒 Privacy and your data"]
    await stranger.press(hub, "Privacy")
    privacy = await stranger.wait_for("Your privacy")
    assert "/deletemydata" in privacy["text"] and "not a medical device" in privacy["text"]

    code = await onboard_patient(fake_api, pat)
    await pat.send("/settings")
    hub = await pat.wait_for("Your settings")
    assert "🌙 Quiet hours" not in hub["buttons"] and "👥 Circle settings" in hub["buttons"]
    await open_from_hub(pat, "Time zone", "Your time zone is")
    await open_from_hub(pat, "Daily care tips", "10:00")
    await open_from_hub(pat, "Daily check-in", "11:00")
    await pat.send("/settings")
    hub = await pat.wait_for("Your settings")
    await pat.press(hub, "Circle settings")
    await pat.wait_for_edit(hub, text_contains="Circle settings")

    await pat.send("/invite errand")
    errand = LINK.search((await pat.wait_for("won't see your medication"))["text"])
    assert errand
    await erri.send(f"/join {errand.group(2)}")
    await erri.wait_for("You're now in")
    await erri.send("/settings")
    hub = await erri.wait_for("Your settings")
    assert "🌙 Quiet hours" in hub["buttons"] and "👥 Circle settings" not in hub["buttons"]
    await open_from_hub(erri, "Quiet hours", "no quiet hours")

    # An old hub button that no longer applies (the check-in is the patient's) is refused.
    press = await erri.press_data(hub["message_id"], "1:hub:checkin")
    assert (await press.answer()).get("text")
    await erri.send("/privacy")
    await erri.wait_for("Errand helpers")
    assert code
