"""Two circles side by side: nobody in circle A can see, claim, cancel, change or be told
anything of circle B — not even by replaying B's own buttons or naming B's things."""

from __future__ import annotations

from typing import Any

from playground.sim import FakeBotApi, FakeUser
from tests.e2e.conftest import BotProcess
from tests.e2e.test_circle_journey import onboard_patient

B_NEED = "Zqxbravo soup"
B_MED = "Bravomycin"


def button_data(message: dict[str, Any]) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [
        button["callback_data"]
        for row in markup.get("inline_keyboard", [])
        for button in row
        if "callback_data" in button
    ]


async def joined(helper: FakeUser, code: str) -> None:
    await helper.send(f"/join {code}")
    await helper.wait_for("You're now in")


async def test_circle_a_cannot_reach_into_circle_b(fake_api: FakeBotApi, bot: BotProcess) -> None:
    alice, anna = fake_api.user(1501, "Alice"), fake_api.user(2501, "Anna")
    bert, boris = fake_api.user(1502, "Bert"), fake_api.user(2502, "Boris")
    await joined(anna, await onboard_patient(fake_api, alice))
    await joined(boris, await onboard_patient(fake_api, bert))

    # Circle B's life: a need, a medication, a reminder-like list with buttons.
    await bert.send(f"/need {B_NEED}")
    offer = await boris.wait_for(B_NEED)
    await bert.send(f"/addmed {B_MED} | 10 mg | as needed")
    await bert.wait_for("Added")
    await bert.send("/meds")
    b_meds = await bert.wait_for("Your medications")
    await bert.send("/needs")
    b_needs = await bert.wait_for(B_NEED)
    await bert.send("/circle")
    b_circle = await bert.wait_for("Your circle")
    stolen = button_data(offer) + button_data(b_meds) + button_data(b_needs) + button_data(b_circle)
    assert len(stolen) >= 5, stolen

    # Circle A's people replay every one of B's buttons on a message of their own. A button
    # that names something of B's (an id) must be refused; one that names nothing (like
    # "Settings") acts on the presser's own circle — what it shows is checked below.
    naming = [data for data in stolen if any(part.isdigit() for part in data.split(":")[3:])]
    assert len(naming) >= 4, stolen
    for intruder in (anna, alice):
        target = intruder.last_message
        assert target is not None
        for data in stolen:
            press = await intruder.press_data(target["message_id"], data)
            answer = await press.answer()
            if data in naming:
                refused = answer.get("text") or (await intruder.wait_for("", timeout=3))["text"]
                assert refused, f"{intruder.chat_id} pressing {data} got no refusal"

    # … and name B's things in commands.
    await anna.send("/needs")
    anna_needs = await anna.wait_for("")
    assert B_NEED not in anna_needs["text"]
    await anna.send("/meds")
    anna_meds = await anna.wait_for("")
    assert B_MED not in anna_meds["text"]

    # Nothing of B changed: the need is still open for Boris, the medication still there.
    await boris.press(offer, "I'll do it")
    await bert.wait_for("Boris is on it")
    await bert.send("/meds")
    assert B_MED in (await bert.wait_for("Your medications"))["text"]
    # And circle A was never told anything about circle B.
    for person in (alice, anna):
        for message in person.messages:
            assert B_NEED not in (message["text"] or "") and B_MED not in (message["text"] or "")
    # Naming B's medication logs nothing for Alice: she has no such medication.
    await alice.send(f"/took {B_MED}")
    await alice.wait_for("")
    await bert.send("/adherence")
    assert "Alice" not in (await bert.wait_for(""))["text"]
