"""The areas as create_services wires them: a refill becomes a need, a time zone moves
everything, /progress counts doses. Each test uses the real services, not doubles."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.db.models import Medication, RecoveryPlan
from bot.domain.recovery import Stage
from bot.services.meds.reminders import CIRCLES_AT_ONCE, CIRCLES_AT_ONCE_QUIET
from tests.people import ANNA, ERRI, PAT
from tests.rig import Rig


@pytest.fixture(autouse=True)
async def circle(rig: Rig) -> None:
    """Pat in Berlin, in the acute stage, with Anna (close family) and Erri (errands)."""
    await rig.patient(stage=Stage.ACUTE)
    await rig.join(ANNA)
    await rig.join(ERRI, access="errand")
    await rig.clear_outbox()


async def test_a_refill_request_reaches_every_helper_as_a_pharmacy_need(
    rig: Rig,
) -> None:
    med = (await rig.meds.add_line(PAT.id, "Ibuprofen | 400 mg | 08:00, 20:00")).med
    await rig.meds.begin_edit(PAT.id, med.id, "supply")
    await rig.meds.edit_answer(PAT.id, "4")
    await rig.meds.took(PAT.id, med_id=med.id, request_key="r1", confirmed=True)
    posted = await rig.meds.request_refill(PAT.id, med.id)

    [need] = (await rig.needs.overview(PAT.id)).own
    assert need.card.id == posted.need_id
    for helper in (ANNA, ERRI):
        offers = [m for m in await rig.outbox(helper.id) if m.kind.startswith("need")]
        assert offers, f"{helper.first_name} was not asked"
        # Errand helpers see requests, never a medication name.
        assert "Ibuprofen" not in offers[0].payload["text"]


async def test_a_new_time_zone_moves_reminders_and_daily_tips_together(
    rig: Rig,
) -> None:
    med = (await rig.meds.add_line(PAT.id, "Ibuprofen | 400 mg | 20:00")).med
    await rig.circles.set_timezone(PAT.id, "Asia/Kolkata")
    circle_id = (await rig.circles.standing(PAT.id)).patient_circle_id
    async with rig.db.transaction() as session:
        medication = await session.get(Medication, med.id)
        plan = await session.get(RecoveryPlan, circle_id)
    assert medication is not None and plan is not None
    # The clock says 09:00 UTC on 2 March: 14:30 in Kolkata.
    assert medication.next_due_at == dt.datetime(2026, 3, 2, 14, 30, tzinfo=dt.UTC)  # 20:00 IST
    assert plan.next_tip_at == dt.datetime(2026, 3, 3, 4, 30, tzinfo=dt.UTC)  # 10:00 IST


async def test_progress_counts_the_doses_taken_each_day(rig: Rig) -> None:
    circle_id = (await rig.circles.standing(PAT.id)).patient_circle_id
    assert circle_id is not None
    today = dt.date(2026, 3, 2)
    assert await rig.meds.doses_per_day(circle_id, [today]) is None  # no medications
    med = (await rig.meds.add_line(PAT.id, "Ibuprofen | 400 mg | as needed")).med
    await rig.meds.took(PAT.id, med_id=med.id, request_key="a", confirmed=True)
    rig.clock.advance(hours=6)
    await rig.meds.took(PAT.id, med_id=med.id, request_key="b", confirmed=True)
    counts = await rig.meds.doses_per_day(circle_id, [today - dt.timedelta(days=1), today])
    assert counts == {today - dt.timedelta(days=1): 0, today: 2}
    progress = await rig.recovery.progress(PAT.id)
    assert progress is not None


async def test_the_morning_sweep_goes_in_smaller_batches_while_people_are_answered(
    rig: Rig,
) -> None:
    """One Foreground is shared by the update processor and the sweep (bot.foreground)."""
    foreground = rig.services.foreground
    assert rig.meds._foreground is foreground
    assert rig.meds._circles_at_once() == CIRCLES_AT_ONCE_QUIET, "nobody answered yet"
    with foreground.update():
        assert rig.meds._circles_at_once() == CIRCLES_AT_ONCE
