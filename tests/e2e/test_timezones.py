"""Time zones over HTTP: a shared location, offsets as people mean them, and what they see."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from zoneinfo import ZoneInfo

from playground.sim import FakeBotApi, FakeUser
from tests.e2e.conftest import BotProcess

SAO_PAULO = (-23.55, -46.63)
MUNICH = (48.14, 11.58)
NOW_THERE = re.compile(r"it's (\d\d:\d\d) there now")


def keyboard_labels(user: FakeUser) -> list[str]:
    rows = (user.reply_keyboard or {}).get("keyboard", [])
    return [b["text"] if isinstance(b, dict) else b for b in itertools.chain.from_iterable(rows)]


def asks_location(user: FakeUser) -> bool:
    rows = (user.reply_keyboard or {}).get("keyboard", [])
    return any(isinstance(b, dict) and b.get("request_location") for b in itertools.chain(*rows))


def shows_local_time(text: str, zone: str) -> bool:
    """The confirmation's clock is the zone's clock now (give or take the minute turning)."""
    match = NOW_THERE.search(text)
    assert match, text
    now = dt.datetime.now(ZoneInfo(zone))
    return match[1] in {f"{now - dt.timedelta(minutes=m):%H:%M}" for m in (0, 1)}


async def test_sharing_a_location_sets_the_zone_and_shows_time_and_offset(
    fake_api: FakeBotApi, bot: BotProcess
) -> None:
    patient = fake_api.user(1301, "Pat")
    await patient.send("/start")
    welcome = await patient.wait_for("Who are you here as?")
    await patient.press(welcome, "I'm recovering")
    await patient.wait_for_edit(welcome["message_id"], text_contains="which time zone")

    # Onboarding: the 📍 button comes on a reply keyboard, and goes once the zone is set.
    await patient.press(welcome, "Share location")
    await patient.wait_for("I keep only the time zone")
    assert asks_location(patient)
    await patient.share_location(*SAO_PAULO)
    confirmed = await patient.wait_for("Time zone set")
    assert "America/Sao_Paulo" in confirmed["text"]
    assert "(UTC-03:00)" in confirmed["text"]  # no daylight saving there since 2019
    assert shows_local_time(confirmed["text"], "America/Sao_Paulo")
    assert patient.reply_keyboard is None
    question = await patient.wait_for("how is your back today?")
    await patient.press(question, "Acute flare")
    await patient.wait_for("Send this link")
    menu = keyboard_labels(patient)
    assert menu and not asks_location(patient)

    # Later, from /timezone: the patient's menu stays under the 📍 button and comes back after.
    await patient.send("/timezone")
    current = await patient.wait_for("Your time zone is")
    assert "America/Sao_Paulo" in current["text"] and "UTC-03:00" in current["text"]
    await patient.press(current, "Share location")
    await patient.wait_for("I keep only the time zone")
    assert asks_location(patient) and set(menu) <= set(keyboard_labels(patient))
    await patient.share_location(*MUNICH)
    moved = await patient.wait_for("Time zone set")
    assert "Europe/Berlin" in moved["text"]
    berlin_offset = dt.datetime.now(ZoneInfo("Europe/Berlin")).strftime("%z")
    assert f"(UTC{berlin_offset[:3]}:{berlin_offset[3:]})" in moved["text"]
    assert shows_local_time(moved["text"], "Europe/Berlin")
    assert keyboard_labels(patient) == menu and not asks_location(patient)

    # A place shared unasked (say, where to meet for a ride) moves nothing.
    await patient.send_location(*SAO_PAULO)
    await patient.wait_for("I only use a location to set your time zone")
    assert keyboard_labels(patient) == menu
    await patient.send("/timezone")
    assert "Europe/Berlin" in (await patient.wait_for("Your time zone is"))["text"]

    assert not [c for c in fake_api.calls if c.status == 400], "the fake answered 400"


async def test_offsets_and_cities_are_understood_as_people_mean_them(
    fake_api: FakeBotApi, bot: BotProcess
) -> None:
    helper = fake_api.user(2301, "Anna")
    await helper.send("/start")
    await helper.wait_for("Who are you here as?")

    await helper.send("/timezone GMT+2")
    fixed = await helper.wait_for("Time zone set")
    assert "UTC+02:00" in fixed["text"] and "Etc/GMT" not in fixed["text"]
    assert "daylight saving" in fixed["text"]
    assert shows_local_time(fixed["text"], "Etc/GMT-2")  # two hours ahead, not behind

    await helper.send("/timezone UTC+5:30")
    await helper.wait_for("isn't a whole hour")
    await helper.send("/timezone Etc/GMT+2")
    await helper.wait_for("flip the sign")

    await helper.send("/timezone São Paulo")
    city = await helper.wait_for("Time zone set")
    assert "America/Sao_Paulo" in city["text"] and "(UTC-03:00)" in city["text"]
    await helper.send("/timezone munich")
    assert "Europe/Berlin" in (await helper.wait_for("Time zone set"))["text"]
    assert helper.reply_keyboard is None  # a helper has no menu to restore

    assert not [c for c in fake_api.calls if c.status == 400], "the fake answered 400"
