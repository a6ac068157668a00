"""Someone always hears, over HTTP: the only close-family helper has blocked the bot, so the
missed dose reaches the patient — and the errand helper, asked to look in without a word
about medication."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import update

from bot.db.models import Medication
from bot.db.session import Database
from playground.sim import FakeBotApi
from tests.e2e.conftest import BotProcess
from tests.e2e.test_circle_journey import onboard_patient
from tests.e2e.test_meds import errand_code, join, texts

BERLIN = ZoneInfo("Europe/Berlin")


async def dose_missed_while_down(database_url: str, due: dt.datetime) -> None:
    """As if the bot had been down at the dose's time: it falls due hours ago, past the
    reminder grace, so the bot records it missed and alerts at once."""
    db = Database(database_url)
    try:
        async with db.transaction() as session:
            await session.execute(update(Medication).values(next_due_at=due.astimezone(dt.UTC)))
    finally:
        await db.dispose()


async def test_the_only_close_family_blocked_the_bot_and_the_patient_is_told(
    fake_api: FakeBotApi, tmp_path: Path, e2e_database_url: str
) -> None:
    process = BotProcess(fake_api, tmp_path, e2e_database_url, SWEEP_INTERVAL_SECONDS="1")
    await process.start()
    patient = fake_api.user(1201, "Pat")
    anna = fake_api.user(2201, "Anna")  # close family
    erri = fake_api.user(3201, "Erri")  # errand helper
    await join(anna, await onboard_patient(fake_api, patient))
    await join(erri, await errand_code(patient))

    # The patient lets errand helpers be asked to look in.
    await patient.send("/circle")
    circle = await patient.wait_for("Your circle")
    await patient.press(circle, "Settings")
    await patient.wait_for_edit(circle, text_contains="Circle settings")
    await patient.press(circle, "Ask errand helpers to look in")
    await patient.wait_for_edit(
        circle,
        predicate=lambda m: any(b.startswith("✅") and "errand helpers" in b for b in m["buttons"]),
    )

    due = (dt.datetime.now(BERLIN) - dt.timedelta(hours=3)).replace(second=0, microsecond=0)
    await patient.send(f"/addmed Medicine A | 1 tablet | {due:%H:%M}")
    added = await patient.wait_for("Added Medicine A")
    assert "Anna would be told" in added["text"]

    anna.block()
    await dose_missed_while_down(e2e_database_url, due)

    told = await patient.wait_for("couldn't tell anyone", timeout=30)
    assert "Medicine A" in told["text"] and f"due {due:%H:%M}" in told["text"]
    assert "/invite" in told["text"] and "Erri" in told["text"]
    await patient.wait_for("I can't reach Anna")
    assert not [t for t in texts(fake_api, anna.id) if "Medicine" in t]  # blocked: nothing

    ask = await erri.wait_for("Pat may need a hand")
    await erri.press(ask, "I'll check on them")
    await erri.wait_for_edit(ask, text_contains="you're checking on Pat")
    await patient.wait_for("Erri is going to check on you")

    await patient.send("/meds")
    listing = await patient.wait_for("Your medications")
    assert "Erri would be asked to look in" in listing["text"]

    # The errand helper never saw what it was about.
    for text in texts(fake_api, erri.id):
        assert "Medicine" not in text and "tablet" not in text and f"{due:%H:%M}" not in text
    refused = [
        (c.method, c.status, c.error)
        for c in fake_api.calls
        if c.status in (400, 429) and "not modified" not in (c.error or "")
    ]
    assert refused == []

    assert await process.stop() == 0
    output = process.output()
    assert "Traceback" not in output, output
    assert "Medicine A" not in output, "no medication names in the logs"
