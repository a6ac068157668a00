"""Health data never reaches the logs at INFO: need texts, medication names, pain scores."""

from __future__ import annotations

import re

from playground.sim import FakeBotApi
from tests.e2e.conftest import BotProcess
from tests.e2e.test_circle_journey import onboard_patient

NEED_WORD = "Zqxrhubarbtea"
MED_WORD = "Zqxtramadolium"
NOTE_WORD = "Zqxwithbiscuits"


async def test_what_people_type_about_their_health_stays_out_of_the_log(
    fake_api: FakeBotApi, bot: BotProcess
) -> None:
    patient = fake_api.user(1401, "Priya", username="priya_private")
    helper = fake_api.user(2401, "Hana")
    code = await onboard_patient(fake_api, patient)
    await helper.send(f"/join {code}")
    await helper.wait_for("You're now in")

    await patient.send(f"/need Please bring {NEED_WORD} from the kitchen")
    offer = await helper.wait_for(NEED_WORD)
    await helper.press(offer, "I'll do it")
    await patient.wait_for("is on it")

    await patient.send(f"/addmed {MED_WORD} | 50 mg | as needed | {NOTE_WORD}")
    await patient.wait_for("Added")
    await patient.send(f"/took {MED_WORD}")
    await patient.wait_for(MED_WORD)

    await patient.send("/pain 7")
    await patient.wait_for("7")

    log = bot.output()
    assert "event=" in log, "the bot logged nothing: the test would prove nothing"
    for secret in (NEED_WORD, MED_WORD, NOTE_WORD, "priya_private", "Priya", "Hana"):
        assert secret not in log, f"{secret!r} reached the log"
    # Pain scores are numbers, so look for them by name rather than by value.
    assert not re.search(r"\b(pain|score|level)=\d", log), "a pain score reached the log"
