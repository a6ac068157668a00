"""The needs journeys over HTTP: a patient and three helpers, media, the clock, bad input."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from playground.sim import FakeBotApi, FakeUser
from tests.e2e.conftest import (
    BotProcess,
    assert_answered_first,
    assert_telegram_never_refused,
    menu_of,
)
from tests.e2e.test_circle_journey import LINK, onboard_patient

JSON = dict[str, Any]
OFFER = "needs a hand"


async def join(patient: FakeUser, helper: FakeUser, code: str | None = None) -> None:
    """The helper joins the patient's circle (with a fresh single-use invite if none given)."""
    if code is None:
        await patient.send("/invite")
        invite = await patient.wait_for("Send this link")
        match = LINK.search(invite["text"])
        assert match, invite["text"]
        code = match.group(2)
    await helper.send(f"/join {code}")
    await helper.wait_for("You're now in")
    await patient.wait_for(f"{helper.first_name} joined your circle")


async def circle(fake: FakeBotApi, *names: str, patient_id: int = 1101) -> list[FakeUser]:
    """A patient (first) and helpers who have joined, in this order."""
    patient = fake.user(patient_id, "Pat")
    code: str | None = await onboard_patient(fake, patient)
    helpers = []
    for i, name in enumerate(names):
        helper = fake.user(patient_id + 1000 + i, name)
        await join(patient, helper, code)
        code = None
        helpers.append(helper)
    return [patient, *helpers]


def callback(message: JSON, label: str) -> str:
    [data] = [b["callback_data"] for b in message["inline_buttons"] if label in b["text"]]
    return str(data)


def need_id_of(offer: JSON) -> int:
    return int(callback(offer, "I'll do it").split(":")[3])


def quiet_range_around_now() -> str:
    """Quiet hours from an hour ago to an hour from now, in Berlin (the helpers' zone)."""
    now = dt.datetime.now(ZoneInfo("Europe/Berlin"))
    start, end = now - dt.timedelta(hours=1), now + dt.timedelta(hours=1)
    return f"{start:%H:%M}-{end:%H:%M}"


async def test_patient_and_three_helpers(fake_api: FakeBotApi, bot: BotProcess) -> None:
    pat, anna, ben, cara = await circle(fake_api, "Anna", "Ben", "Cara")
    assert ["🙋 I need something"] in [row for row in _keyboard_rows(pat)]

    # Two taps from the menu: "I need something", then "Ice pack".
    await pat.send("🙋 I need something")
    menu = await pat.wait_for("What do you need?")
    await pat.press(menu, "Ice pack")
    posted = await pat.wait_for_edit(menu, text_contains="Sent")
    assert "An ice pack" in posted["text"] and "Anna, Ben and Cara" in posted["text"]
    assert "Make it urgent" in " ".join(posted["buttons"])

    offers = {h.first_name: await h.wait_for(OFFER) for h in (anna, ben, cara)}
    for offer in offers.values():
        assert "Pat" in offer["text"] and "An ice pack" in offer["text"]
        assert offer["buttons"] == ["🙋 I'll do it", "Can't now"]

    # Anna and Ben press "I'll do it" at the same moment: exactly one owner.
    presses = await asyncio.gather(
        anna.press(offers["Anna"], "I'll do it"), ben.press(offers["Ben"], "I'll do it")
    )
    answers = [await p.answer() for p in presses]
    refused = [a for a in answers if a.get("text")]
    assert len(refused) == 1 and refused[0]["text"].startswith("Already taken by")
    owner, other = (anna, ben) if not answers[0].get("text") else (ben, anna)
    mine = await owner.wait_for_edit(offers[owner.first_name], text_contains="You're on it")
    assert mine["buttons"] == ["✅ Done", "Can't make it after all"]
    for helper in (other, cara):
        taken = await helper.wait_for_edit(
            offers[helper.first_name], text_contains=f"Taken by {owner.first_name}"
        )
        assert taken["buttons"] == []
    await pat.wait_for(f"{owner.first_name} is on it")

    # Done → the patient is told and can thank; the thanks reach the helper.
    await owner.press(mine, "Done")
    await owner.wait_for_edit(mine, text_contains="Done — thank you")
    done = await pat.wait_for(f"{owner.first_name} has done it")
    await pat.press(done, "Thank you")
    await pat.wait_for_edit(done, text_contains="passed your thanks")
    await owner.wait_for("Pat says thank you")

    # Released → open again and sent to the others, not to the one who let go.
    await pat.send("/need Please pick up my prescription")
    await pat.wait_for("Sent")
    second = {h.first_name: await h.wait_for("prescription") for h in (anna, ben, cara)}
    await anna.press(second["Anna"], "I'll do it")
    on_it = await anna.wait_for_edit(second["Anna"], text_contains="You're on it")
    await pat.wait_for("Anna is on it")
    await anna.press(on_it, "Can't make it after all")
    await anna.wait_for_edit(second["Anna"], text_contains="asked the others")
    released = await pat.wait_for("can't make it after all")
    assert "Ben" in released["text"] and "Cara" in released["text"]
    again = {h.first_name: await h.wait_for("prescription") for h in (ben, cara)}
    await anna.expect_no_message(within=1.0, text_contains="prescription")
    await cara.press(again["Cara"], "I'll do it")
    await pat.wait_for("Cara is on it")
    await ben.wait_for_edit(again["Ben"], text_contains="Taken by Cara")

    # Quiet hours hold a non-urgent need; an urgent one goes through.
    await cara.send(f"/quiet {quiet_range_around_now()}")
    await cara.wait_for("Quiet hours set")
    await pat.send("/need Some water please")
    held = await pat.wait_for("Sent")
    assert "Cara</b> has quiet hours" in held["raw_text"] or "Cara has quiet hours" in held["text"]
    await anna.wait_for("Some water")
    await ben.wait_for("Some water")
    await pat.send("/need Help, I can't get up")
    urgent = await pat.wait_for("can't get up")
    await pat.press(urgent, "Make it urgent")
    await pat.wait_for_edit(urgent, text_contains="Marked urgent")
    reached = await cara.wait_for("can't get up")
    assert "urgent" in reached["text"]
    await cara.expect_no_message(within=1.5, text_contains="Some water")

    # A stranger forging a callback changes nothing.
    stranger = fake_api.user(3101, "Mallory")
    await stranger.send("/start")
    await stranger.wait_for("Who are you here as?")
    urgent_offer = await anna.wait_for("can't get up")
    need_id = need_id_of(urgent_offer)
    for data in (f"1:need:claim:{need_id}", f"1:need:cxy:{need_id}", f"1:need:done:{need_id}"):
        press = await stranger.press_data(1, data)
        assert (await press.answer())["text"] == "This request is no longer available."
    await pat.expect_no_message(within=1.0, text_contains="is on it")
    await anna.press(urgent_offer, "I'll do it")  # still open, still Anna's to take
    await pat.wait_for("Anna is on it")
    assert_telegram_never_refused(fake_api)


async def test_photo_and_voice_needs_reach_every_helper_with_their_media(
    fake_api: FakeBotApi, bot: BotProcess
) -> None:
    pat, anna, ben = await circle(fake_api, "Anna", "Ben", patient_id=1201)

    await pat.send_photo(caption="The pill box is empty")
    ask = await pat.wait_for("Send this photo to your helpers?")
    await pat.press(ask, "Send it")
    await pat.wait_for_edit(ask, text_contains="Sent")
    for helper in (anna, ben):
        offer = await helper.wait_for("pill box is empty")
        assert offer["photo"], offer
        assert offer["buttons"] == ["🙋 I'll do it", "Can't now"]

    await pat.send_voice(duration=4)
    ask = await pat.wait_for("Send this voice note")
    await pat.send("Could someone bring this?")
    await pat.wait_for("Sent")
    offers = [await h.wait_for("Could someone bring this?") for h in (anna, ben)]
    assert all(o["voice"] for o in offers)

    # Taking a voice need edits its caption for the others.
    await anna.press(offers[0], "I'll do it")
    await anna.wait_for_edit(offers[0], text_contains="You're on it")
    taken = await ben.wait_for_edit(offers[1], text_contains="Taken by Anna")
    assert taken["voice"] and taken["buttons"] == []


async def test_reminder_honest_note_and_a_restart(
    fake_api: FakeBotApi, tmp_path: Path, e2e_database_url: str
) -> None:
    process = BotProcess(
        fake_api,
        tmp_path,
        e2e_database_url,
        NEED_REMIND_MINUTES="0.1",
        SWEEP_INTERVAL_SECONDS="1",
    )
    await process.start()
    try:
        pat, anna = await circle(fake_api, "Anna", patient_id=1301)
        await pat.send("/need A hot water bottle")
        await pat.wait_for("Sent")
        await anna.wait_for(OFFER)
        # The bot goes down and comes back: the reminder still comes, once.
        assert await process.stop() == 0
        await process.start()
        reminder = await anna.wait_for("Still needed", timeout=30)
        assert reminder["buttons"] == ["🙋 I'll do it", "Can't now"]
        note = await pat.wait_for("No one has taken", timeout=30)
        assert note["buttons"] == ["🔁 Send again", "✖️ Cancel it"]
        await pat.press(note, "Send again")
        await pat.wait_for_edit(note, text_contains="Sent again")
        await anna.wait_for(OFFER)
        await anna.expect_no_message(within=1.0, text_contains="Still needed")
    finally:
        code = await process.stop()
    assert code == 0
    assert "Traceback" not in process.output()


async def test_each_press_changes_the_helpers_message_once(
    fake_api: FakeBotApi, tmp_path: Path, e2e_database_url: str
) -> None:
    """Claiming from the reminder and finishing from the offer: the pressed message is the
    handler's to change, the other one the outbox's; neither is edited twice (Telegram would
    answer "message is not modified"), not even on a double tap."""
    process = BotProcess(
        fake_api,
        tmp_path,
        e2e_database_url,
        NEED_REMIND_MINUTES="0.1",
        SWEEP_INTERVAL_SECONDS="1",
    )
    await process.start()
    try:
        pat, anna = await circle(fake_api, "Anna", patient_id=1701)
        await pat.send("/need A glass of water")
        await pat.wait_for("Sent")
        offer = await anna.wait_for(OFFER)
        reminder = await anna.wait_for("Still needed", timeout=30)

        def edits(message: JSON) -> int:
            return sum(
                1
                for c in fake_api.calls
                if c.method.startswith("editMessage")
                and c.chat_id == anna.chat_id
                and c.params.get("message_id") == message["message_id"]
            )

        before = {"offer": edits(offer), "reminder": edits(reminder)}
        taps = await asyncio.gather(
            anna.press(reminder, "I'll do it"), anna.press(reminder, "I'll do it")
        )
        assert [(await tap.answer()).get("text") for tap in taps] == [None, None]
        await anna.wait_for_edit(reminder, text_contains="You're on it")
        await anna.wait_for_edit(offer, text_contains="You're on it")
        await pat.wait_for("Anna is on it")
        await fake_api.wait_idle(settle=2.5)
        assert (edits(offer), edits(reminder)) == (before["offer"] + 1, before["reminder"] + 1)

        await anna.press(offer, "Done")
        await anna.wait_for_edit(offer, text_contains="Done — thank you")
        await anna.wait_for_edit(reminder, text_contains="Done — thank you")
        await pat.wait_for("Anna has done it")
        await fake_api.wait_idle(settle=2.5)
        assert (edits(offer), edits(reminder)) == (before["offer"] + 2, before["reminder"] + 2)
        assert_telegram_never_refused(fake_api)
    finally:
        code = await process.stop()
    assert code == 0
    assert "Traceback" not in process.output()


async def test_lists_cancel_quiet_away_and_odd_input(fake_api: FakeBotApi, bot: BotProcess) -> None:
    pat, anna = await circle(fake_api, "Anna", patient_id=1401)

    await pat.send("/need " + "<b>Soup</b> & bread " * 400)  # ~8000 characters of HTML-ish text
    long = await pat.wait_for("Sent")
    assert "kept the first part" in long["text"] and "<b>Soup</b>" in long["text"]
    offer = await anna.wait_for(OFFER)
    assert "<b>Soup</b> &amp; bread" in offer["raw_text"].replace("&lt;", "<").replace("&gt;", ">")
    await pat.send("/need 🧊💧")
    await pat.wait_for("🧊💧")
    ice = await anna.wait_for("🧊💧")
    await pat.send("/need ...")
    await pat.wait_for("Tell me what you need")
    await pat.send("/need مياه من فضلك")
    await pat.wait_for("مياه")

    await pat.send("/needs")
    listing = await pat.wait_for("Your requests")
    cancel = next(b for b in listing["buttons"] if "🧊💧" in b)
    await pat.press(listing, cancel)
    await pat.wait_for_edit(listing, predicate=lambda m: cancel not in m["buttons"])
    await anna.wait_for_edit(ice, text_contains="doesn't need this any more")

    await anna.send("/needs")
    open_list = await anna.wait_for("Open requests")
    await anna.press(open_list, lambda b: "I'll do it" in b["text"] and "مياه" in b["text"])
    await anna.wait_for_edit(open_list, text_contains="You're on")
    await anna.send("/mytasks")
    await anna.wait_for("مياه")

    await anna.send("/quiet")
    quiet = await anna.wait_for("no quiet hours")
    await anna.press(quiet, "22:00–07:00")
    await anna.wait_for_edit(quiet, text_contains="Quiet hours set")
    await anna.send("/quiet 25:00-26:00")
    await anna.wait_for("couldn't read that")
    await anna.send("/quiet off")
    await anna.wait_for("Quiet hours off")
    await anna.send("/away")
    away = await anna.wait_for("How long will you be away?")
    await anna.press(away, "3 days")
    await anna.wait_for_edit(away, text_contains="you're away until")
    await pat.send("/need Tea")
    skipped = await pat.wait_for("Tea")
    assert "Anna</b> is away" in skipped["raw_text"]
    await anna.send("/back")
    await anna.wait_for("Welcome back")
    await pat.send("/quiet 22:00-07:00")
    await pat.wait_for("for helpers")

    await pat.send("/circle")
    circle_view = await pat.wait_for("Your circle")
    assert "No requests done" in circle_view["text"]

    assert {"need", "needs"} <= await menu_of(fake_api, pat.chat_id, has={"need"})
    helpers = {"needs", "mytasks", "quiet", "away", "back"}
    assert helpers <= await menu_of(fake_api, anna.chat_id, has=helpers)
    assert_telegram_never_refused(fake_api)


async def test_the_walk_through_and_its_details(fake_api: FakeBotApi, bot: BotProcess) -> None:
    pat, anna = await circle(fake_api, "Anna", patient_id=1601)
    await pat.send("/need")
    menu = await pat.wait_for("What do you need?")
    await pat.press(menu, "Something else")
    await pat.wait_for_edit(menu, text_contains="few words")
    await pat.send("My reading glasses from the kitchen")
    posted = await pat.wait_for("Sent")
    offer = await anna.wait_for("reading glasses")

    press = await pat.press(posted, "Add a note")
    await pat.wait_for("Type your note")
    await assert_answered_first(fake_api, press, "Type your note")
    await pat.send("They're <next> to the kettle")
    await pat.wait_for("Note added")
    await anna.wait_for_edit(offer, text_contains="They're <next> to the kettle")

    press = await pat.press(posted, "By a time")
    when = await pat.wait_for("By when?")
    await assert_answered_first(fake_api, press, "By when?")
    await pat.press(when, "In 1 hour")
    await pat.wait_for_edit(when, text_contains="Got it")
    await anna.wait_for_edit(offer, text_contains="⏰ by")
    await pat.press(posted, "By a time")
    await pat.wait_for("By when?")
    await pat.send("sometime soon")
    await pat.wait_for("couldn't read one clear time")
    await pat.send("the shop closes at 23:59")
    await pat.wait_for("Got it")

    await pat.send_photo()
    ask = await pat.wait_for("Send this photo")
    await pat.press(ask, "Don't send")
    await pat.wait_for_edit(ask, text_contains="won't send")
    await anna.send_photo(caption="a cat")
    await anna.wait_for("didn't quite catch that")

    await anna.press(offer, "I'll do it")
    mine = await anna.wait_for_edit(offer, text_contains="You're on it")
    await pat.wait_for("Anna is on it")
    await anna.press(mine, "Done")
    await pat.wait_for("Anna has done it")
    await pat.send("/needs")
    listing = await pat.wait_for("Your requests")
    assert "done by Anna" in listing["text"]
    await pat.press(listing, "Thank:")
    await pat.wait_for_edit(listing, text_contains="thanked")
    await anna.wait_for("Pat says thank you")
    assert_telegram_never_refused(fake_api)


async def test_a_patient_with_no_helpers_is_told_to_invite(
    fake_api: FakeBotApi, bot: BotProcess
) -> None:
    pat = fake_api.user(1501, "Pat")
    await onboard_patient(fake_api, pat)
    await pat.send("🙋 I need something")
    await pat.wait_for("/invite")
    await pat.send("/need water")
    refused = await pat.wait_for("no one in your circle")
    assert "/invite" in refused["text"]


def _keyboard_rows(user: FakeUser) -> list[list[str]]:
    keyboard = (user.reply_keyboard or {}).get("keyboard", [])
    return [[b["text"] if isinstance(b, dict) else b for b in row] for row in keyboard]
