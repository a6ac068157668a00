"""A Bot API outage over the minute of 16 reminders and a burst of need offers, over HTTP.

Telegram is down (every connection dropped, polling too) from just before the minute until
more than a minute after it. Afterwards nothing is lost, each reminder arrived once, and
each says it is late. The 6- and 50-minute outages run on an injected clock in
tests/integration/test_outage.py; this one waits for a real wall-clock minute and a real
outage of a little over a minute, so it is slow (2–3 min).
"""

from __future__ import annotations

import asyncio
import collections
import time
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.app import create_services
from bot.clock import SystemClock
from bot.config import Settings
from playground.sim import FakeBotApi
from tests.e2e.conftest import BotProcess
from tests.e2e.test_circle_journey import onboard_patient
from tests.e2e.test_meds import join, next_whole_minute

MEDS = [f"Medicine {letter}" for letter in "ABCDEFGH"]
NEEDS_EACH = 3


def sent_texts(fake: FakeBotApi, chat_id: int, contains: str) -> list[str]:
    """Every message that reached this chat with these words, as first sent (before edits)."""
    return [
        str(call.params.get("text"))
        for call in fake.calls_to("sendMessage")
        if call.ok
        and str(call.params.get("chat_id")) == str(chat_id)
        and contains in str(call.params.get("text"))
    ]


async def post_needs(database_url: str, token: str, patient_ids: list[int]) -> None:
    """Each patient asks for a hand while Telegram is down (say, on another replica, or
    from a timer): the offers are queued in the bot's database, as the service queues them."""
    services = create_services(
        Settings(bot_token=SecretStr(token), database_url=database_url), SystemClock()
    )
    try:
        for patient_id in patient_ids:
            for i in range(NEEDS_EACH):
                await services.needs.post_need(patient_id, f"errand {i}")
    finally:
        await services.db.dispose()


@pytest.mark.timing  # a real minute, and a real outage of a little over a minute
async def test_an_outage_over_a_burst_of_reminders_and_offers_loses_nothing(
    fake_api: FakeBotApi, tmp_path: Path, e2e_database_url: str
) -> None:
    # Scaled down with the outage (a minute, not five): three tries would be used up in
    # seconds if the outage counted them.
    process = BotProcess(fake_api, tmp_path, e2e_database_url, OUTBOX_MAX_ATTEMPTS="3")
    await process.start()
    pat, quinn = fake_api.user(1301, "Pat"), fake_api.user(1302, "Quinn")
    anna, ben = fake_api.user(2301, "Anna"), fake_api.user(2302, "Ben")
    await join(anna, await onboard_patient(fake_api, pat))
    await join(ben, await onboard_patient(fake_api, quinn))
    due = next_whole_minute(35)  # six /addmed answers on a busy machine, and 6 s to spare
    at = due.strftime("%H:%M")
    for patient in (pat, quinn):
        for name in MEDS:
            await patient.send(f"/addmed {name} | 1 tablet | {at}")
            await patient.wait_for(f"Added {name} 1 tablet", timeout=10)
    assert time.time() < due.timestamp() - 6, "the setup took too long for this test"

    # Down from 5 s before the minute until 65 s after it: every reminder will be late.
    await asyncio.sleep(due.timestamp() - 5 - time.time())
    fake_api.faults.down()
    down_at = time.monotonic()
    await asyncio.sleep(15)
    await post_needs(e2e_database_url, fake_api.token, [pat.id, quinn.id])
    await asyncio.sleep(due.timestamp() + 65 - time.time())
    fake_api.faults.up()
    failed = [c for c in fake_api.calls_to("sendMessage") if c.at >= down_at and c.status == 0]
    assert failed, "the sender did not try during the outage"
    print(f"\noutage: {len(failed)} sends failed while Telegram was down")

    # Back up: the probe finds it within its pause (at most 15 s), then one message a
    # patient for the minute, listing every medication.
    groups = [
        await patient.wait_for(f"Time for your {at} medicines", timeout=45)
        for patient in (pat, quinn)
    ]
    for _ in range(NEEDS_EACH):  # at most one a second to each helper
        await anna.wait_for("needs a hand", timeout=20)
        await ben.wait_for("needs a hand", timeout=20)
    await fake_api.wait_idle(timeout=20)

    for patient in (pat, quinn):
        reminders = sent_texts(fake_api, patient.id, "Time for")
        per_med = collections.Counter(n for n in MEDS for t in reminders if f"<b>{n}</b>" in t)
        assert per_med == {name: 1 for name in MEDS}, reminders
        late = f"This was due at {at} — sorry, I couldn't send it on time."
        assert all(late in t for t in reminders), reminders
    # "Took all" answers the whole late reminder at once.
    await pat.press(groups[0], "✅ Took all")
    done = await pat.wait_for_edit(groups[0], text_contains="all answered")
    assert done["inline_buttons"] == [] and done["text"].count(" — taken at ") == len(MEDS)
    for helper in (anna, ben):
        offers = sent_texts(fake_api, helper.id, "needs a hand")
        assert sorted(offers) == sorted(set(offers)) and len(offers) == NEEDS_EACH, offers
    output = process.output()
    assert "event=outbox.gave_up" not in output
    assert "event=outbox.dropped" not in output  # every reminder still mattered
    assert await process.stop() == 0
    assert "Traceback" not in process.output()
