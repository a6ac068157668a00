"""The areas as create_services wires them: a refill becomes a need, a time zone moves
everything, /progress counts doses. Each test uses the real services, not doubles."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator

import pytest
from pydantic import SecretStr
from sqlalchemy import delete, select

from bot.app import Services, create_services
from bot.clock import FrozenClock
from bot.config import Settings
from bot.db.models import Medication, OutboxMessage, RecoveryPlan
from bot.db.session import Database
from bot.domain.recovery import Stage
from bot.services.circles import Person

PAT = Person(100, "Pat")
ANNA = Person(201, "Anna")
ERRI = Person(203, "Erri")


@pytest.fixture
async def services(db: Database, database_url: str, clock: FrozenClock) -> AsyncIterator[Services]:
    # `db` is asked for only so the database starts empty (it is shared on PostgreSQL).
    settings = Settings(bot_token=SecretStr("1:test"), database_url=database_url)
    built = create_services(settings, clock)
    circles = built.circles
    await circles.touch(PAT)
    await circles.become_patient(PAT.id)
    await circles.set_timezone(PAT.id, "Europe/Berlin")
    await built.recovery.choose_stage(PAT.id, Stage.ACUTE)
    for helper, access in ((ANNA, "close"), (ERRI, "errand")):
        await circles.touch(helper)
        await circles.join(helper.id, (await circles.invite(PAT.id, access, replace=True)).code)
    async with built.db.transaction() as session:
        await session.execute(delete(OutboxMessage))
    yield built
    await built.db.dispose()


async def outbox(services: Services, chat_id: int) -> list[OutboxMessage]:
    async with services.db.transaction() as session:
        query = select(OutboxMessage).where(OutboxMessage.chat_id == chat_id)
        return list(await session.scalars(query.order_by(OutboxMessage.id)))


async def test_a_refill_request_reaches_every_helper_as_a_pharmacy_need(
    services: Services,
) -> None:
    med = (await services.meds.add_line(PAT.id, "Ibuprofen | 400 mg | 08:00, 20:00")).med
    await services.meds.begin_edit(PAT.id, med.id, "supply")
    await services.meds.edit_answer(PAT.id, "4")
    await services.meds.took(PAT.id, med_id=med.id, request_key="r1", confirmed=True)
    posted = await services.meds.request_refill(PAT.id, med.id)

    [need] = (await services.needs.overview(PAT.id)).own
    assert need.card.id == posted.need_id
    for helper in (ANNA, ERRI):
        offers = [m for m in await outbox(services, helper.id) if m.kind.startswith("need")]
        assert offers, f"{helper.first_name} was not asked"
        # Errand helpers see requests, never a medication name.
        assert "Ibuprofen" not in offers[0].payload["text"]


async def test_a_new_time_zone_moves_reminders_and_daily_tips_together(
    services: Services,
) -> None:
    med = (await services.meds.add_line(PAT.id, "Ibuprofen | 400 mg | 20:00")).med
    await services.circles.set_timezone(PAT.id, "Asia/Kolkata")
    circle_id = (await services.circles.standing(PAT.id)).patient_circle_id
    async with services.db.transaction() as session:
        medication = await session.get(Medication, med.id)
        plan = await session.get(RecoveryPlan, circle_id)
    assert medication is not None and plan is not None
    # The clock says 09:00 UTC on 2 March: 14:30 in Kolkata.
    assert medication.next_due_at == dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC)  # 20:00 IST
    assert plan.next_tip_at == dt.datetime(2026, 3, 3, 4, 30, tzinfo=dt.UTC)  # 10:00 IST


async def test_progress_counts_the_doses_taken_each_day(
    services: Services, clock: FrozenClock
) -> None:
    circle_id = (await services.circles.standing(PAT.id)).patient_circle_id
    assert circle_id is not None
    today = dt.date(2026, 3, 2)
    assert await services.meds.doses_per_day(circle_id, [today]) is None  # no medications
    med = (await services.meds.add_line(PAT.id, "Ibuprofen | 400 mg | as needed")).med
    await services.meds.took(PAT.id, med_id=med.id, request_key="a", confirmed=True)
    clock.advance(hours=6)
    await services.meds.took(PAT.id, med_id=med.id, request_key="b", confirmed=True)
    counts = await services.meds.doses_per_day(circle_id, [today - dt.timedelta(days=1), today])
    assert counts == {today - dt.timedelta(days=1): 0, today: 2}
    progress = await services.recovery.progress(PAT.id)
    assert progress is not None
